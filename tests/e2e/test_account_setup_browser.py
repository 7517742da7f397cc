"""In a real browser: sign in, add a Custom account on the private Dovecot, see its test result."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import sync_playwright

from messages_app.models import MailAccount

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def chromium_page(monkeypatch):
    # Playwright's sync API keeps an event loop running in this thread; Django's ORM would then
    # refuse every query of the test itself. The queries are synchronous and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        try:
            yield page
        finally:
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_a_user_adds_a_custom_account_and_sees_it_tested(live_server, chromium_page, mail_user):
    get_user_model().objects.create_user("giulia", password="giulia-pass-1", first_name="Giulia")
    page = chromium_page
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "giulia")
    page.fill("input[name=password]", "giulia-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/messages/**")

    page.goto(f"{live_server.url}/messages/settings/accounts/new/")
    page.select_option("select[name=kind]", "custom")
    page.fill("input[name=username]", mail_user.login)
    page.fill("input[name=password]", mail_user.password)
    page.fill("input[name=imap_host]", mail_user.host)
    page.fill("input[name=imap_port]", str(mail_user.imap_port))
    page.select_option("select[name=imap_security]", "none")
    page.fill("input[name=smtp_host]", mail_user.host)
    page.fill("input[name=smtp_port]", str(mail_user.smtp_port))
    page.select_option("select[name=smtp_security]", "none")
    page.screenshot(path=str(ARTIFACTS / "account-form.png"), full_page=True)
    page.click("#account-form button[type=submit]")
    try:
        page.wait_for_url("**/settings/accounts/", timeout=20000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "account-saved.png"), full_page=True)

    row = page.locator(f"tr[data-account] >> text={mail_user.login}")
    assert row.count() >= 1
    assert page.locator("td.test-result .ok").count() == 1
    page.screenshot(path=str(ARTIFACTS / "account-list.png"), full_page=True)
    account = MailAccount.objects.get(owner__username="giulia")
    assert account.last_test_ok and account.email == mail_user.login and account.is_primary
