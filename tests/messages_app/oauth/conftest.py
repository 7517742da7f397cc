"""OAuth2 against the local identity provider (tests/servers/oauth_provider.py), the Dovecot whose
oauth2 passdb asks it about every token, and the aiosmtpd that does the same."""

import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from messages_app.models import MailAccount
from messages_app.oauth.tokens import tokens_store
from messages_app.services.accounts import mail_account_save


@pytest.fixture
def oauth_settings(settings, oauth_provider):
    for name, value in {**oauth_provider.google_settings(), **oauth_provider.microsoft_settings()}.items():
        setattr(settings, name, value)
    settings.OAUTH_CA_FILE = str(oauth_provider.ca_path)
    return settings


def form_fields(server_user, **overrides) -> dict:
    """The account form as the user filled it before clicking Connect (a Custom account on the test servers)."""
    data = {"kind": "custom", "auth_method": "oauth2", "username": server_user.login, "email": "",
            "description": "", "imap_host": server_user.host, "imap_port": str(server_user.imap_port),
            "imap_security": "none", "smtp_host": server_user.smtp_host, "smtp_port": str(server_user.smtp_port),
            "smtp_security": "none", "smtp_auth_required": "on"}
    data.update(overrides)
    return data


def connect(client, oauth_provider, server_user, provider="google", *, sign_in_as=None, **overrides):
    """Click Connect, consent at the provider, follow its redirect back: the callback's response."""
    start = client.post(reverse("messages_app:oauth_start", args=[provider]), form_fields(server_user, **overrides))
    assert start.status_code == 302, start
    location = oauth_provider.sign_in(start["Location"], sign_in_as or server_user.login)
    back = urlparse(location)
    return start, client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})


def oauth_account_on(user, server_user, oauth_provider, *, provider="google", expires_in=3600):
    """A saved OAuth2 account of `user` on the OAuth test servers, signed in already."""
    from messages_app.gateways.oauth import TokenSet

    issued = oauth_provider.issue(server_user.login)
    account = MailAccount(owner=user, preset="custom", username=server_user.login, auth_method="oauth2",
                          imap_host=server_user.host, imap_port=server_user.imap_port, imap_security="none",
                          smtp_host=server_user.smtp_host, smtp_port=server_user.smtp_port, smtp_security="none")
    tokens_store(account=account, provider=provider, tokens=TokenSet(
        access_token=issued["access_token"], refresh_token=issued["refresh_token"],
        expires_at=time.time() + expires_in))
    return mail_account_save(account=account, actor=user)
