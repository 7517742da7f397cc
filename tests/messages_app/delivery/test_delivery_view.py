"""The reading pane of a sent message shows what became of each recipient, in words, in Italian
and English; only to the user who sent it."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.selectors.messages import local_messages
from messages_app.services.delivery import delivery_record
from messages_app.services.outbox import outbox_queue, outbox_send_due

HTMX_READING = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reading"}


@pytest.fixture
def bounced(owner, mail_account, smtp_server):
    """Sent to three: one refused by the server as nonexistent, one bounced later by a DSN."""
    ghost, bounced_to, fine = (f"{kind}-{uuid.uuid4().hex[:6]}@example.test" for kind in ("ghost", "gone", "fine"))
    smtp_server.refuse_recipient(ghost, "550 5.1.1 No such user here")
    item = outbox_queue(user=owner, account=mail_account, to=[ghost, bounced_to, fine], subject="Preventivo",
                        text="Buongiorno", undo_seconds=0)
    assert outbox_send_due().sent == 1
    delivery_record(outbox=item, address=bounced_to, status=DeliveryStatus.NOT_DELIVERED, source=DeliverySource.DSN,
                    detail="550 5.2.1 Mailbox disabled", code=550, enhanced="5.2.1")
    return item, ghost, bounced_to, fine, local_messages(owner).get(message_id=item.message_id)


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Not delivered", ": the address does not exist", "(550 5.1.1 No such user here)",
            ": the mailbox is disabled", "(550 5.2.1 Mailbox disabled)", "Accepted by the server"]),
    ("it", ["Mancata consegna", ": l&#x27;indirizzo non esiste", ": la casella è disattivata", "Accettato dal server",
            "Consegna"]),
])
def test_the_reading_pane_shows_each_recipients_delivery_in_words(owner, owner_client, bounced, language, words):
    item, ghost, bounced_to, fine, imported = bounced
    owner.language = language  # the reader's chosen language
    owner.save(update_fields=["language"])
    response = owner_client.get(reverse("messages_app:message", args=[imported.pk]), **HTMX_READING)
    assert response.status_code == 200
    html = response.content.decode()
    for expected in words:
        assert expected in html
    lines = {line.address: line.status for line in response.context["delivery"]}
    assert lines == {ghost: "not_delivered", bounced_to: "not_delivered", fine: "accepted"}


def test_nobody_else_sees_the_delivery_of_a_message_they_did_not_send(colleague, bounced):
    *_, imported = bounced
    client = Client()
    client.force_login(colleague)
    assert client.get(reverse("messages_app:message", args=[imported.pk]), **HTMX_READING).status_code == 404


def test_mail_not_sent_through_the_outbox_shows_no_delivery_section(owner_client, owner):
    from tests.messages_app.views.test_imported import local_message

    message = local_message(owner, "Arrivata")
    response = owner_client.get(reverse("messages_app:message", args=[message.pk]), **HTMX_READING)
    assert response.status_code == 200 and response.context["delivery"] == []
    assert 'class="delivery"' not in response.content.decode()


def test_a_linked_records_timeline_shows_the_smtp_and_dsn_delivery_small_and_in_words(owner, owner_client, bounced):
    from django.utils import translation

    from crm.services import contact_create
    from messages_app.services.crm_links import link_add

    item, ghost, bounced_to, fine, imported = bounced
    contact = contact_create(owner=owner, first_name="Ufficio", last_name="Acquisti", emails=[fine])
    link_add(user=owner, message=imported, kind="contact", record_id=contact.pk)
    owner.language = "en"
    owner.save(update_fields=["language"])
    with translation.override("en"):
        html = owner_client.get(reverse("messages_app:record_timeline", args=["contact", contact.pk])).content.decode()
    section = html.split('class="timeline-delivery"', 1)[1].split("</ul>", 1)[0]
    assert f'data-address="{ghost}"' in section and "the address does not exist" in section
    assert f'data-address="{bounced_to}"' in section and "the mailbox is disabled" in section
    assert section.count(">Not delivered<") == 2 and section.count(">Accepted by the server<") == 1
    assert "PEC" not in section
