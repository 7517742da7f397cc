"""PEC as the user sees it, at 1440×900 and 390×844: a certified message read as the message it
carries, under its PEC badge; a message sent to three PEC recipients showing in Inviata as
consegnata for two and mancata consegna for the third; the Ricevute PEC page."""

import pytest
from playwright.sync_api import expect

from messages_app.models import Message
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.e2e.conftest import log_in
from tests.e2e.test_mailbox_ux_browser import SIZES, open_tab, shot
from tests.messages_app.pec.samples import original_message, provider, tamper
from tests.messages_app.pec.test_pec_mailbox import FAILURE, RECIPIENTS, deliver, receipts_for, send_to_three

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


def test_a_pec_reads_with_its_badge_and_the_sent_message_shows_delivery_per_recipient(
        browser, size, live_server, owner, mail_user, settings, tmp_path):
    settings.MAIL_PEC_TRUST_FILE = provider().write_ca(tmp_path / "pec-ca.pem")
    account = account_on(owner, mail_user, pec_receipt_type="completa")
    account_sync(account.pk)
    item = send_to_three(owner, account)
    incoming = original_message(sender="avv.bianchi@pec.studio.test", to=[mail_user.email],
                                subject="Contestazione fattura 2026/118",
                                text="Egregi Signori,\ncontestiamo la fattura in oggetto per i motivi allegati.\n",
                                attachment=("contestazione.pdf", b"%PDF-1.4 contestazione"))
    altered = original_message(sender="fornitore@pec.fornitore.test", to=[mail_user.email], subject="Offerta economica",
                               name="Forniture Rossi S.r.l.", text="Importo complessivo: 10.000 euro.\n")
    deliver(mail_user, provider().envelope(incoming), *receipts_for(item, mail_user.email),
            tamper(provider().envelope(altered), b"10.000 euro", b"1.000 euro"))
    account_sync(account.pk)
    sent = Message.objects.get(account=account, folder__name="Sent")

    context, tab = open_tab(browser, size)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/unified/inbox/")
        rows = tab.locator("#list")
        expect(rows.locator(".subject", has_text="Contestazione fattura 2026/118")).to_be_visible()
        expect(rows.get_by_text("CONSEGNA:")).to_have_count(0)
        expect(rows.get_by_text("ACCETTAZIONE:")).to_have_count(0)
        expect(rows.get_by_text("Per conto di")).to_have_count(0)
        if size == "desktop":  # the phone shows the folder column behind its menu
            expect(tab.locator(".pec-receipts-link")).to_have_text("Ricevute PEC")
        rows.locator(".subject", has_text="Contestazione fattura 2026/118").click()
        reading = tab.locator("#reading")
        badge = reading.locator(".pec-badge")
        expect(badge).to_be_visible()
        expect(badge.locator(".pec-mark")).to_have_text("PEC")
        expect(badge).to_contain_text("Firma valida, gestore attendibile")
        expect(reading.get_by_text("contestiamo la fattura in oggetto")).to_be_visible()
        expect(reading.get_by_text("contestazione.pdf")).to_be_visible()
        badge.locator("summary").click()
        expect(badge.locator(".pec-provider")).to_have_text("Gestore di prova PEC S.p.A.")
        expect(badge.locator(".pec-sender")).to_have_text("avv.bianchi@pec.studio.test")
        shot(tab, "pec-envelope-badge", size)

        tab.goto(f"{live_server.url}/messages/m/{Message.objects.get(subject='Offerta economica').pk}/")
        expect(tab.locator("#reading .pec-badge.pec-sig-tampered .pec-signature")).to_have_text(
            "Il messaggio è stato alterato dopo la firma del gestore")
        shot(tab, "pec-envelope-tampered", size)

        tab.goto(f"{live_server.url}/messages/m/{sent.pk}/")
        delivery = tab.locator("#reading .pec-delivery")
        expect(delivery).to_be_visible()
        for address in RECIPIENTS[:2]:
            expect(delivery.locator(f'[data-address="{address}"] .pec-status')).to_have_text("consegnata")
        expect(delivery.locator(f'[data-address="{RECIPIENTS[2]}"] .pec-status')).to_have_text("mancata consegna")
        expect(delivery.locator(f'[data-address="{RECIPIENTS[2]}"] .pec-reason')).to_have_text(FAILURE)
        delivery.scroll_into_view_if_needed()
        shot(tab, "pec-sent-delivery", size)

        delivery.get_by_role("link", name="Tutte le ricevute PEC").click()
        expect(tab.locator("table.pec-receipts tbody tr")).to_have_count(4)
        shot(tab, "pec-receipts", size)
    finally:
        context.close()


def test_a_pec_account_chooses_its_receipt_type_once(browser, size, live_server, owner, mail_user):
    account = account_on(owner, mail_user, preset="pec_aruba", pec_receipt_type="completa")
    context, tab = open_tab(browser, size)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/settings/accounts/{account.pk}/")
        field = tab.get_by_label("Ricevuta di consegna PEC")
        expect(field).to_have_value("completa")
        field.select_option("sintetica")
        field.scroll_into_view_if_needed()
        shot(tab, "pec-account-receipt-type", size)
    finally:
        context.close()


def test_the_contact_of_a_pec_recipient_shows_the_delivery_in_its_timeline(
        browser, size, live_server, owner, mail_user, settings, tmp_path):
    from crm.services import contact_create

    settings.MAIL_PEC_TRUST_FILE = provider().write_ca(tmp_path / "pec-ca.pem")
    comune = contact_create(owner=owner, first_name="Ufficio", last_name="Protocollo", emails=[RECIPIENTS[0]],
                            company_name="Comune di Prova")
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    item = send_to_three(owner, account)
    deliver(mail_user, *receipts_for(item, mail_user.email))
    account_sync(account.pk)  # the Sent copy linked to the contact by its To, the receipts recorded
    context, tab = open_tab(browser, size)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/crm/contact/{comune.pk}/")
        delivery = tab.locator("#timeline .timeline-delivery")
        expect(delivery).to_be_visible()
        for address in RECIPIENTS[:2]:
            expect(delivery.locator(f'[data-address="{address}"] .delivery-words')).to_have_text("consegnata")
        expect(delivery.locator(f'[data-address="{RECIPIENTS[2]}"] .delivery-words')).to_have_text("mancata consegna")
        expect(delivery.locator(f'[data-address="{RECIPIENTS[2]}"] .delivery-reason')).to_have_text(f"({FAILURE})")
        delivery.scroll_into_view_if_needed()
        shot(tab, "crm-timeline-pec-delivery", size)
    finally:
        context.close()
