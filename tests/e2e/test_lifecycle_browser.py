"""The message lifecycle as a user sees it, at 1440×900 and 390×844: a message the server dropped
but the CRM still refers to reads on in Importata, with its attachment; a follow-up step that failed
for good is listed, with its reason, on the sync health page."""

import pytest
from playwright.sync_api import expect

from messages_app.arrival import steps
from messages_app.exceptions import MailError
from messages_app.models import Message
from messages_app.services.message_body import message_source_keep
from messages_app.services.sync import account_sync
from messages_app.sync import identity
from tests.conftest import account_on
from tests.e2e.conftest import log_in
from tests.e2e.test_mailbox_ux_browser import SIZES, open_tab, shot
from tests.messages_app.views import mails

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


def refuse(message_ids):
    raise MailError("the CRM refused the link: record 42 is archived", permanent=True)


def test_a_dropped_message_reads_on_in_importata_and_a_failed_step_shows_on_sync_health(
        browser, size, live_server, owner, mail_user):
    dovecot = mail_user.dovecot
    dovecot.append(mail_user.login, "INBOX", mails.plain(
        "Contratto Edilnord firmato", "Buongiorno,\nin allegato il contratto firmato.", minutes=0,
        attachments=[("contratto.pdf", "application/pdf", b"%PDF-1.4 contratto")]))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    contract = Message.objects.get(account=account, subject="Contratto Edilnord firmato")
    message_source_keep(message=contract)
    referred = {contract.pk}

    def refers(ids):
        return referred & set(ids)

    identity.register_referrer(refers)
    steps.register(steps.Step("crm_link", refuse))
    try:
        dovecot.expunge(mail_user.login, "INBOX", contract.uid)
        dovecot.append(mail_user.login, "INBOX", mails.plain("Richiesta sopralluogo", "Quando passate?", minutes=5))
        account_sync(account.pk)
    finally:
        steps.unregister("crm_link")
        identity.unregister_referrer(refers)
    assert Message.objects.get(pk=contract.pk).account_id is None

    context, tab = open_tab(browser, size)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/special/imported/")
        row = tab.locator("#list").get_by_text("Contratto Edilnord firmato")
        expect(row).to_be_visible()
        shot(tab, "lifecycle-importata", size)
        row.click()
        reading = tab.locator("#reading")
        expect(reading.get_by_text("contratto.pdf")).to_be_visible()
        shot(tab, "lifecycle-importata-reading", size)
        tab.goto(f"{live_server.url}/messages/settings/accounts/{account.pk}/health/")
        failures = tab.locator(".arrival-failures")
        expect(failures.get_by_text("Richiesta sopralluogo")).to_be_visible()
        expect(failures.get_by_text("the CRM refused the link: record 42 is archived")).to_be_visible()
        shot(tab, "lifecycle-sync-health", size)
    finally:
        context.close()
