"""In a real browser: Connetti con Google against the local identity provider, consent there, and
land on a synced inbox; then the provider revokes the grant and the folder tree says "accedi di
nuovo" with the button that starts the flow again. At 1440x900 and 390x844."""

import copy

import pytest
from playwright.sync_api import expect

from messages_app.exceptions import ReauthRequired
from messages_app.models import MailAccount
from messages_app.services.sync import account_sync
from tests.e2e.conftest import TIMEOUT_MS, log_in
from tests.e2e.test_mailbox_ux_browser import SIZES, shot
from tests.messages_app.sync.mailgen import make_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


def test_connetti_con_google_ends_with_a_synced_inbox(browser, size, live_server, owner, oauth_provider,
                                                      oauth_mail_user, settings, monkeypatch):
    from crm.celery import app

    for name, value in {**oauth_provider.google_settings(), **oauth_provider.microsoft_settings()}.items():
        setattr(settings, name, value)
    settings.OAUTH_CA_FILE = str(oauth_provider.ca_path)
    # What crm/settings.py derives from the provider URLs in the environment (form-action).
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = ["'self'", oauth_provider.base_url]
    settings.CONTENT_SECURITY_POLICY = policy
    settings.MAIL_SYNC_ON_SAVE = True
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the first sync runs in the request, no broker
    oauth_mail_user.dovecot.append(oauth_mail_user.login, "INBOX", make_message("Benvenuto in Postino"))

    # The stand-in provider's certificate comes from the tests' throwaway CA.
    context = browser.new_context(viewport=SIZES[size], locale="it-IT", ignore_https_errors=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/settings/accounts/new/")
        # Gmail offers Google, Office365 (its standard preset) Microsoft, Custom both.
        tab.select_option("select[name=kind]", "gmail")
        tab.select_option("select[name=auth_method]", "oauth2")
        expect(tab.get_by_role("button", name="Connetti con Google")).to_be_visible()
        expect(tab.get_by_role("button", name="Connetti con Microsoft")).to_be_hidden()
        shot(tab, "oauth-gmail-form", size)
        tab.select_option("select[name=kind]", "office365")
        expect(tab.get_by_role("button", name="Connetti con Microsoft")).to_be_visible()
        expect(tab.get_by_role("button", name="Connetti con Google")).to_be_hidden()
        tab.select_option("select[name=kind]", "custom")
        tab.select_option("select[name=auth_method]", "oauth2")
        expect(tab.locator("input[name=password]")).to_be_hidden()
        tab.fill("input[name=username]", oauth_mail_user.login)
        tab.locator("#advanced-servers summary").click() if not tab.locator(
            "input[name=imap_host]").is_visible() else None
        tab.fill("input[name=imap_host]", oauth_mail_user.host)
        tab.fill("input[name=imap_port]", str(oauth_mail_user.imap_port))
        tab.select_option("select[name=imap_security]", "none")
        tab.fill("input[name=smtp_host]", oauth_mail_user.smtp_host)
        tab.fill("input[name=smtp_port]", str(oauth_mail_user.smtp_port))
        tab.select_option("select[name=smtp_security]", "none")
        google = tab.get_by_role("button", name="Connetti con Google")
        expect(google).to_be_visible()
        expect(tab.get_by_role("button", name="Connetti con Microsoft")).to_be_visible()
        google.scroll_into_view_if_needed()
        shot(tab, "oauth-account-form", size)

        google.click()
        tab.wait_for_url(f"{oauth_provider.base_url}/google/authorize**")
        expect(tab.locator("input[name=email]")).to_have_value(oauth_mail_user.login)  # login_hint
        tab.get_by_role("button", name="Allow").click()
        tab.wait_for_url(f"{live_server.url}/messages/settings/accounts/")
        expect(tab.locator(".flash")).to_contain_text("Connesso con Google")
        shot(tab, "oauth-connected", size)

        account = MailAccount.objects.get(owner=owner)
        assert account.auth_method == "oauth2" and account.initial_sync_done
        tab.goto(f"{live_server.url}/messages/")
        expect(tab.get_by_text("Benvenuto in Postino").first).to_be_visible()
        shot(tab, "oauth-inbox", size)

        # The user revokes Postino at the provider: the next pass finds out, the tree says so.
        oauth_provider.revoke_all(oauth_mail_user.login)
        MailAccount.objects.filter(pk=account.pk).update(oauth_token_encrypted=_expired(account))
        with pytest.raises(ReauthRequired):
            account_sync(account.pk)
        tab.goto(f"{live_server.url}/messages/")
        if size == "phone":
            _open_folders(tab)
        reauth = tab.locator(f'[data-reauth="{account.pk}"]').first
        expect(reauth).to_contain_text("Accedi di nuovo")
        expect(reauth.get_by_role("button", name="Accedi di nuovo con Google")).to_be_visible()
        shot(tab, "oauth-reauth-tree", size)
        tab.goto(f"{live_server.url}/messages/settings/accounts/")
        expect(tab.locator(f'tr[data-account="{account.pk}"] .reauth')).to_be_visible()
        shot(tab, "oauth-reauth-settings", size)

        # An answer that does not belong to this session's sign-in (a forged link) is refused in words.
        tab.goto(f"{live_server.url}/messages/settings/accounts/oauth/google/callback/?code=x&state=forged")
        expect(tab.locator("h1")).to_have_text("Accesso rifiutato")
        shot(tab, "oauth-refused", size)
    finally:
        context.close()


def _expired(account: MailAccount) -> str:
    account = MailAccount.objects.get(pk=account.pk)
    account.set_oauth_tokens({**account.get_oauth_tokens(), "expires_at": 0})
    return account.oauth_token_encrypted


def _open_folders(tab) -> None:
    tab.locator('a[href="#folder-tree"]').first.click()  # the phone layout keeps the tree behind this link
