"""Proof that the stand-in identity provider speaks OAuth2 as Google and Microsoft do, and that the
OAuth-enabled Dovecot and aiosmtpd ask it about every token."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import smtplib
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.servers.oauth_provider import CLIENT_ID, CLIENT_SECRET

pytest_plugins = ["tests.servers.fixtures"]


def _post(provider, path: str, form: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{provider.base_url}{path}", data=urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, context=provider.client_context(), timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _code(provider, email: str, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": "https://client.test/cb", "response_type": "code",
                       "scope": "https://mail.google.com/", "state": "s1", "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    location = provider.sign_in(f"{provider.base_url}/google/authorize?{query}", email)
    answer = parse_qs(urlparse(location).query)
    assert answer["state"] == ["s1"]
    return answer["code"][0]


def _exchange(provider, code: str, verifier: str) -> tuple[int, dict]:
    return _post(provider, "/google/token", {"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": "https://client.test/cb", "code_verifier": verifier,
                                             "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})


def test_the_code_needs_the_pkce_verifier_and_works_once(oauth_provider):
    verifier = secrets.token_urlsafe(48)
    code = _code(oauth_provider, "pkce@example.test", verifier)
    assert _exchange(oauth_provider, code, "not-the-verifier") == (
        400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
    code = _code(oauth_provider, "pkce@example.test", verifier)
    status, tokens = _exchange(oauth_provider, code, verifier)
    assert status == 200 and tokens["token_type"] == "Bearer" and tokens["refresh_token"]
    assert _exchange(oauth_provider, code, verifier)[1]["error"] == "invalid_grant"  # single use


def test_refresh_tokens_rotate_and_a_spent_one_is_invalid_grant(oauth_provider):
    first = oauth_provider.issue("rotate@example.test")
    form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token_path = "/ms/common/oauth2/v2.0/token"
    status, second = _post(oauth_provider, token_path, {**form, "refresh_token": first["refresh_token"]})
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    status, error = _post(oauth_provider, token_path, {**form, "refresh_token": first["refresh_token"]})
    assert (status, error["error"]) == (400, "invalid_grant")
    assert _post(oauth_provider, "/introspect", {"token": first["access_token"]})[1] == {"active": False}
    assert _post(oauth_provider, "/introspect", {"token": second["access_token"]})[1]["email"] == "rotate@example.test"
    assert _post(oauth_provider, "/google/token", {**form, "client_secret": "wrong"})[1]["error"] == "invalid_client"


def test_dovecot_and_smtp_accept_a_live_token_and_refuse_an_expired_one(oauth_provider, oauth_mail_user):
    tokens = oauth_provider.issue(oauth_mail_user.login)
    client = IMAPClient(oauth_mail_user.host, oauth_mail_user.imap_port, ssl=False, timeout=10)
    assert client.oauth2_login(oauth_mail_user.login, tokens["access_token"]) == [b"Logged in"]
    client.logout()
    with smtplib.SMTP(oauth_mail_user.smtp_host, oauth_mail_user.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        assert "XOAUTH2" in smtp.esmtp_features["auth"]
        blob = f"user={oauth_mail_user.login}\x01auth=Bearer {tokens['access_token']}\x01\x01"
        assert smtp.docmd("AUTH", "XOAUTH2 " + base64.b64encode(blob.encode()).decode())[0] == 235

    oauth_provider.expire_access_tokens(oauth_mail_user.login)
    client = IMAPClient(oauth_mail_user.host, oauth_mail_user.imap_port, ssl=False, timeout=10)
    with pytest.raises(LoginError):
        client.oauth2_login(oauth_mail_user.login, tokens["access_token"])
    with smtplib.SMTP(oauth_mail_user.smtp_host, oauth_mail_user.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        code, challenge = smtp.docmd("AUTH", "XOAUTH2 " + base64.b64encode(blob.encode()).decode())
        assert code == 334 and json.loads(base64.b64decode(challenge))["status"] == "401"
        assert smtp.docmd("")[0] == 535
