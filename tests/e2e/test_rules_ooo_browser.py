"""Filtri and Fuori ufficio in Chromium at 1440×900 and 390×844: a rule built in the page, applied
now with its progress bar, its messages then in the target folder; out-of-office set in the page
and the banner that says it is on; the POP3 page."""

import threading

import pytest
from playwright.sync_api import expect

from messages_app.models import Folder, Message, OutOfOffice
from messages_app.tasks import rule_job_task
from messages_app.views import settings_rules
from tests.conftest import account_on
from tests.e2e.conftest import log_in
from tests.e2e.test_mailbox_ux_browser import SIZES, open_tab, shot
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.views.conftest import server_subjects

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


@pytest.fixture
def worker(monkeypatch):
    """The Celery worker: runs the queued "apply now" job in a thread once released, so the page
    shows the job waiting first."""
    release = threading.Event()
    threads: list[threading.Thread] = []

    def dispatch(job_id):
        def run():
            release.wait(20)
            rule_job_task(job_id)
        thread = threading.Thread(target=run, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(settings_rules, "dispatch_job", dispatch)
    yield release
    release.set()
    for thread in threads:
        thread.join(30)


def test_build_a_rule_apply_it_now_and_find_the_messages_in_the_target_folder(browser, size, live_server, owner,
                                                                              mail_user, worker):
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    mail_user.dovecot.write_maildir(mail_user.login, "INBOX", [
        (make_message(f"Richiesta {i}", minutes=i,
                      sender="Mario Rossi <mario@cliente.test>" if i % 3 == 0 else "Anna <anna@altro.test>"), "")
        for i in range(120)])
    account = account_on(owner, mail_user, is_primary=True)
    from messages_app.services.sync import account_sync

    account_sync(account.pk)
    context, tab = open_tab(browser, size)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/settings/filters/")
        expect(tab.locator("h1")).to_have_text("Filtri")
        tab.fill("#rule-name", "Clienti")
        tab.select_option("select[name=cond_field_0]", "from")
        tab.select_option("select[name=cond_op_0]", "ends_with")
        tab.fill("input[name=cond_value_0]", "@cliente.test")
        tab.select_option("select[name=act_kind_0]", "move")
        tab.select_option("select[name=act_folder_0]", "Clienti")
        tab.select_option("select[name=act_kind_1]", "mark_read")
        shot(tab, "filters-new-rule", size)
        tab.click("button[value=add]")
        expect(tab.locator(".rule-list .rule")).to_have_count(1)
        expect(tab.locator(".rule-text")).to_contain_text("Clienti")
        tab.click(".rule-apply button")
        progress = tab.locator(".rule-job progress")
        expect(progress).to_be_visible()
        shot(tab, "filters-apply-progress", size)
        worker.set()
        expect(tab.locator(".rule-job-report")).to_contain_text("120", timeout=20_000)
        expect(tab.locator(".rule-job-moved")).to_contain_text("40 in Clienti")
        shot(tab, "filters-apply-done", size)
        assert len(server_subjects(mail_user, "Clienti")) == 40
        clienti = Folder.objects.get(account=account, name="Clienti")
        assert Message.objects.filter(folder=clienti, is_seen=True).count() == 40  # and marked read
        tab.goto(f"{live_server.url}/messages/folder/{clienti.pk}/")
        expect(tab.locator("#rows > li.row")).to_have_count(40)
        expect(tab.locator("#rows > li.row").first).to_contain_text("Mario Rossi")
        shot(tab, "filters-target-folder", size)
        assert tab.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    finally:
        context.close()


def test_set_out_of_office_and_see_the_banner(browser, size, live_server, owner, mail_user):
    account = account_on(owner, mail_user, is_primary=True)
    context, tab = open_tab(browser, size)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        expect(tab.locator(".ooo-banner")).to_have_count(0)
        tab.goto(f"{live_server.url}/messages/settings/out-of-office/")
        expect(tab.locator("h1")).to_have_text("Fuori ufficio")
        tab.fill("input[name=subject]", "Fuori ufficio fino al 7 dicembre")
        tab.fill("textarea[name=body]", "Buongiorno, sono fuori ufficio fino al 7 dicembre.\nPer urgenze: "
                                        "ufficio@crm.test")
        tab.fill("input[name=end]", "2099-12-07T18:00")
        shot(tab, "ooo-form", size)
        tab.click("button[value=on]")
        banner = tab.locator(".ooo-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(account.email)
        shot(tab, "ooo-on", size)
        tab.goto(f"{live_server.url}/messages/")
        expect(tab.locator(".ooo-banner")).to_be_visible()
        shot(tab, "ooo-banner-mailbox", size)
        assert OutOfOffice.objects.get(account=account).is_active
        tab.goto(f"{live_server.url}/messages/settings/pop3/")
        expect(tab.locator("h1")).to_have_text("POP3")
        shot(tab, "pop3-page", size)
        assert tab.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    finally:
        context.close()
