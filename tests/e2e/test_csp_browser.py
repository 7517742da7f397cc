"""The Content-Security-Policy (django-csp) in Chromium: every screen works without a single violation."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox

pytestmark = pytest.mark.django_db(transaction=True)


def test_no_screen_breaks_the_content_security_policy(page, live_server, owner, mail_user):
    box = make_mailbox(owner, mail_user, [
        ("INBOX", mails.html("Newsletter", "<h1>Novità</h1><p>Saldi</p>"), ()),
        ("INBOX", mails.plain("Verbale", "Presenti: Olga."), ()),
    ])
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    # Violations inside frames and of eval() are reported as events too, not always on the console.
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))")

    log_in(page, live_server, "owner", "owner-pass-1")
    page.locator("#rows > li.row", has_text="Newsletter").click()
    expect(page.frame_locator("iframe.body-frame").locator("h1")).to_have_text("Novità")
    page.keyboard.press("j")
    for path in ("/messages/settings/accounts/", f"/messages/settings/accounts/{box.account.pk}/",
                 "/messages/settings/accounts/new/", "/messages/settings/layout/", "/accounts/preferences/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")

    assert violations == []
