"""Admin site: outgoing messages with their state and per-recipient delivery, and the log of who
sent what from a shared sender, read-only, for staff with the view permission only."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import translation

from messages_app.models import OutgoingMessage, SharedSenderUse
from messages_app.services.outbox import outbox_queue, outbox_send_due
from tests.conftest import account_on

OUTBOX = "admin:messages_app_outgoingmessage_changelist"
OUTBOX_ITEM = "admin:messages_app_outgoingmessage_change"
LOG = "admin:messages_app_sharedsenderuse_changelist"


@pytest.fixture
def root_client(db):
    root = get_user_model().objects.create_superuser("root", "root@crm.test", "root-pass-1", language="en")
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def shared_send(owner, colleague, mail_user, smtp_server):
    """The colleague sends from the owner's shared sender account; one recipient is refused."""
    shared = account_on(owner, mail_user, description="Ufficio vendite")
    shared.is_shared_sender = True
    shared.save(update_fields=["is_shared_sender"])
    smtp_server.refuse_recipient("nobody-admin@example.test", "550 5.1.1 No such user")
    item = outbox_queue(user=colleague, account=shared, to=["client@example.test", "nobody-admin@example.test"],
                        subject="Listino 2027", text="In allegato", undo_seconds=0)
    assert outbox_send_due().sent == 1
    return shared, item


def test_sending_from_a_shared_sender_writes_who_sent_what_once(shared_send, colleague):
    shared, item = shared_send
    use = SharedSenderUse.objects.get()
    assert (use.account, use.user, use.outgoing, use.subject, use.message_id) == (
        shared, colleague, item, "Listino 2027", item.message_id)
    assert use.recipients == ["client@example.test", "nobody-admin@example.test"]


def test_mail_from_an_own_account_that_is_no_shared_sender_is_not_logged(owner, mail_account, smtp_server):
    outbox_queue(user=owner, account=mail_account, to=["x@example.test"], subject="s", text="t", undo_seconds=0)
    assert outbox_send_due().sent == 1
    assert not SharedSenderUse.objects.exists()


def test_the_admin_lists_outgoing_messages_with_state_and_delivery_and_filters(root_client, shared_send):
    shared, item = shared_send
    with translation.override("en"):
        page = root_client.get(reverse(OUTBOX), {"state": "sent"})
        assert page.status_code == 200
        html = page.content.decode()
        assert "Listino 2027" in html and "1 Accepted · 1 Not delivered" in html
        assert "Listino 2027" not in root_client.get(reverse(OUTBOX), {"state": "failed"}).content.decode()
        assert "Listino 2027" in root_client.get(reverse(OUTBOX), {"shared_sender": shared.pk}).content.decode()
        detail = root_client.get(reverse(OUTBOX_ITEM, args=[item.pk])).content.decode()
        assert "nobody-admin@example.test" in detail and "Not delivered: the address does not exist" in detail
        assert 'name="_save"' not in detail  # read-only: no save button


def test_the_admin_shows_the_shared_sender_log_filtered_by_account(root_client, shared_send, colleague):
    shared, item = shared_send
    page = root_client.get(reverse(LOG), {"account__id__exact": shared.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Listino 2027" in html and colleague.username in html and "nobody-admin@example.test" in html


def test_nothing_can_be_added_changed_or_deleted_in_the_outbox_from_the_admin(root_client, shared_send):
    shared, item = shared_send
    assert root_client.get(reverse("admin:messages_app_outgoingmessage_add")).status_code == 403
    response = root_client.post(reverse(OUTBOX_ITEM, args=[item.pk]), {"state": "scheduled"})
    assert response.status_code == 403
    assert root_client.post(reverse("admin:messages_app_outgoingmessage_delete", args=[item.pk]),
                            {"post": "yes"}).status_code == 403
    assert OutgoingMessage.objects.get(pk=item.pk).state == "sent"


@pytest.mark.parametrize("url", [OUTBOX, LOG])
def test_a_user_who_is_not_staff_gets_no_access(owner_client, shared_send, url):
    response = owner_client.get(reverse(url))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_staff_without_the_view_permission_are_refused_and_with_it_may_look(shared_send, db):
    staff = get_user_model().objects.create_user("desk", "desk@crm.test", "desk-pass-1", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(reverse(OUTBOX)).status_code == 403
    assert client.get(reverse(LOG)).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_sharedsenderuse"))
    assert client.get(reverse(LOG)).status_code == 200
    assert client.get(reverse(OUTBOX)).status_code == 403
