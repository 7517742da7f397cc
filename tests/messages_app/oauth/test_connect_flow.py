"""Connetti con Google / Microsoft: the authorization-code flow with PKCE and a session-bound state,
against the local identity provider, through google-auth-oauthlib and msal."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from messages_app.models import MailAccount, Message
from tests.messages_app.oauth.conftest import connect, form_fields
from tests.messages_app.sync.mailgen import make_message


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_connect_runs_pkce_with_state_and_the_account_syncs_with_its_token(
        provider, oauth_settings, oauth_provider, owner_client, owner, oauth_mail_user):
    oauth_mail_user.dovecot.append(oauth_mail_user.login, "INBOX", make_message(f"Benvenuto {provider}"))

    start, back = connect(owner_client, oauth_provider, oauth_mail_user, provider)

    query = parse_qs(urlparse(start["Location"]).query)
    assert start["Location"].startswith(oauth_provider.base_url)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and query["response_type"] == ["code"]
    assert "offline_access" in query["scope"][0] if provider == "microsoft" else \
        "https://mail.google.com/" in query["scope"][0]
    assert back.status_code == 302 and back["Location"] == reverse("messages_app:account_list")
    account = MailAccount.objects.get(owner=owner)
    assert (account.auth_method, account.oauth_provider, account.username) == ("oauth2", provider,
                                                                                oauth_mail_user.login)
    assert account.last_test_ok, account.last_test_result
    assert not account.password_encrypted and account.oauth_token_encrypted

    call_command("mail_sync", "--account", str(account.pk))
    assert Message.objects.filter(account=account, subject=f"Benvenuto {provider}").exists()


def test_an_answer_with_a_wrong_state_is_refused_and_attaches_nothing(
        oauth_settings, oauth_provider, owner_client, owner, oauth_mail_user):
    start = owner_client.post(reverse("messages_app:oauth_start", args=["google"]), form_fields(oauth_mail_user))
    back = urlparse(oauth_provider.sign_in(start["Location"], oauth_mail_user.login))
    answer = {k: v[0] for k, v in parse_qs(back.query).items()}

    forged = owner_client.get(back.path, {**answer, "state": "forged-by-someone-else"})
    # The page speaks the user's language (Italian here).
    assert forged.status_code == 400 and "non appartiene a un accesso avviato" in forged.content.decode()
    # The flow is spent: the genuine answer arriving afterwards is refused too.
    assert owner_client.get(back.path, answer).status_code == 400
    assert not MailAccount.objects.filter(owner=owner).exists()


def test_an_answer_in_another_users_session_is_refused(oauth_settings, oauth_provider, owner_client, colleague,
                                                        oauth_mail_user):
    from django.test import Client

    start = owner_client.post(reverse("messages_app:oauth_start", args=["google"]), form_fields(oauth_mail_user))
    back = urlparse(oauth_provider.sign_in(start["Location"], oauth_mail_user.login))
    other = Client()
    other.force_login(colleague)

    assert other.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()}).status_code == 400
    assert not MailAccount.objects.exists()


def test_deny_at_the_provider_says_so_and_creates_nothing(oauth_settings, oauth_provider, owner_client, owner,
                                                          oauth_mail_user):
    start = owner_client.post(reverse("messages_app:oauth_start", args=["google"]), form_fields(oauth_mail_user))
    back = urlparse(oauth_provider.sign_in(start["Location"], oauth_mail_user.login, decision="deny"))
    response = owner_client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()}, follow=True)
    assert "Google è stato annullato" in response.content.decode()
    assert not MailAccount.objects.filter(owner=owner).exists()


def test_connect_needs_post_and_a_configured_provider(settings, owner_client, oauth_mail_user):
    settings.OAUTH_GOOGLE_CLIENT_ID = ""
    assert owner_client.get(reverse("messages_app:oauth_start", args=["google"])).status_code == 405
    assert owner_client.post(reverse("messages_app:oauth_start", args=["google"]),
                             form_fields(oauth_mail_user)).status_code == 404


def test_the_form_shows_connect_buttons_only_for_configured_providers(settings, oauth_settings, owner_client):
    with translation.override("it"):
        page = owner_client.get(reverse("messages_app:account_create")).content.decode()
    assert "Connetti con Google" in page and "Connetti con Microsoft" in page
    settings.OAUTH_MICROSOFT_CLIENT_SECRET = ""
    with translation.override("it"):
        page = owner_client.get(reverse("messages_app:account_create")).content.decode()
    assert "Connetti con Google" in page and "Connetti con Microsoft" not in page


def test_the_admin_says_which_providers_are_configured(settings, oauth_settings, client, staff):
    settings.OAUTH_MICROSOFT_CLIENT_ID = ""
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    with translation.override("en"):
        page = client.get("/admin/messages_app/mailaccount/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "OAuth2 with Google: configured." in page or "OAuth2 con Google: configurato." in page
    assert "OAUTH_MICROSOFT_CLIENT_ID" in page


def test_each_account_type_offers_its_provider(oauth_settings):
    from messages_app.oauth.providers import providers_for_kind

    assert providers_for_kind("gmail") == ["google"]
    assert providers_for_kind("office365") == ["microsoft"]  # the standard preset, not a custom account
    assert providers_for_kind("custom") == ["google", "microsoft"]
    assert providers_for_kind("company:3") == ["google", "microsoft"]
    assert providers_for_kind("yahoo") == [] and providers_for_kind("pec_aruba") == []


def test_oauth2_without_signing_in_is_not_saved(oauth_settings, owner_client, owner, oauth_mail_user):
    from tests.messages_app.oauth.conftest import form_fields

    response = owner_client.post(reverse("messages_app:account_create"), form_fields(oauth_mail_user))
    assert response.status_code == 200 and "auth_method" in response.context["form"].errors
    assert not MailAccount.objects.filter(owner=owner).exists()
