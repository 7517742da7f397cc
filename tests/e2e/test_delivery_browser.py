"""Delivery per recipient in Chromium at 1440×900 and 390×844: the reading pane of a sent message
(here its copy in Importata) says who got it and who did not, and why; the admin site lists the
outbox with its delivery and the shared sender log."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.selectors.messages import local_messages
from messages_app.services.delivery import delivery_record
from messages_app.services.outbox import outbox_queue, outbox_send_due
from tests.conftest import account_on
from tests.e2e.conftest import log_in
from tests.e2e.test_mailbox_ux_browser import SIZES, open_tab, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


@pytest.fixture
def sent(owner, colleague, mail_user, smtp_server):
    """The colleague sends from the owner's shared sender; one address is refused, one bounces later."""
    shared = account_on(owner, mail_user, description="Ufficio vendite")
    shared.is_shared_sender = True
    shared.save(update_fields=["is_shared_sender"])
    tag = uuid.uuid4().hex[:6]
    ghost, gone = f"mario.rossi.{tag}@cliente.test", f"ufficio.acquisti.{tag}@fornitore.test"
    fine = f"giulia.bianchi.{tag}@cliente.test"
    smtp_server.refuse_recipient(ghost, "550 5.1.1 No such user here")
    item = outbox_queue(user=colleague, account=shared, to=[("Mario Rossi", ghost), ("Giulia Bianchi", fine)],
                        cc=[gone], subject="Preventivo ristrutturazione uffici", text="Buongiorno,\nin allegato.",
                        undo_seconds=0)
    assert outbox_send_due().sent == 1
    delivery_record(outbox=item, address=gone, status=DeliveryStatus.NOT_DELIVERED, source=DeliverySource.DSN,
                    detail="550 5.2.1 The email account that you tried to reach is disabled", code=550,
                    enhanced="5.2.1")
    return item


def test_the_reading_pane_shows_each_recipients_delivery(browser, size, live_server, colleague, sent):
    imported = local_messages(colleague).get(message_id=sent.message_id)
    context, tab = open_tab(browser, size)
    try:
        log_in(tab, live_server, "colleague", "colleague-pass-1")
        tab.goto(live_server.url + reverse("messages_app:message", args=[imported.pk]))
        section = tab.locator("section.delivery")
        expect(section).to_be_visible()
        expect(section.locator("li.delivery-not_delivered")).to_have_count(2)
        expect(section).to_contain_text("Mancata consegna: l'indirizzo non esiste")
        expect(section).to_contain_text("la casella è disattivata")
        expect(section.locator("li.delivery-accepted")).to_contain_text("Accettato dal server")
        section.scroll_into_view_if_needed()
        shot(tab, "delivery-reading", size)
    finally:
        context.close()


def test_the_admin_lists_the_outbox_with_delivery_and_the_shared_sender_log(browser, size, live_server, sent):
    get_user_model().objects.create_superuser("root", "root@crm.test", "root-pass-1")
    context, tab = open_tab(browser, size)
    try:
        tab.goto(f"{live_server.url}/admin/login/")
        tab.fill("input[name=username]", "root")
        tab.fill("input[name=password]", "root-pass-1")
        tab.click("input[type=submit]")
        tab.goto(f"{live_server.url}/admin/messages_app/outgoingmessage/")
        expect(tab.locator("#result_list")).to_contain_text("Preventivo ristrutturazione uffici")
        expect(tab.locator("#result_list")).to_contain_text("1 Accettato · 2 Non consegnato")
        shot(tab, "delivery-admin-outbox", size)
        tab.goto(f"{live_server.url}/admin/messages_app/outgoingmessage/{sent.pk}/change/")
        expect(tab.locator("body")).to_contain_text("Mancata consegna: la casella è disattivata")
        tab.locator(".inline-group").scroll_into_view_if_needed()
        shot(tab, "delivery-admin-outbox-item", size)
        tab.goto(f"{live_server.url}/admin/messages_app/sharedsenderuse/")
        expect(tab.locator("#result_list")).to_contain_text("colleague")
        shot(tab, "delivery-admin-shared-sender-log", size)
    finally:
        context.close()
