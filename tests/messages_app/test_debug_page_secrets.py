"""With DEBUG on, Django's error page lists every frame's local variables: the functions that hold
a mail password mark them sensitive, so a crash while saving an account shows no password."""

import pytest
from django.test import Client
from django.urls import reverse

from messages_app.services import connection_test
from tests.messages_app.test_account_views import form_data

SECRET = "Tr0ub4dor-SEKRIT-9"


@pytest.mark.parametrize("where", ["connection test", "save"])
def test_the_debug_error_page_shows_no_mail_password(settings, owner, mail_user, monkeypatch, where):
    settings.DEBUG = True
    settings.MAIL_CONNECTION_TESTS_PER_HOUR = 1000

    def crash(**kwargs):
        raise RuntimeError("an unexpected bug")

    if where == "connection test":
        monkeypatch.setattr("messages_app.views.settings_accounts.connection_test_run", crash)
    else:
        passed = {"ok": True, "code": "login_ok"}
        monkeypatch.setattr(connection_test, "_check_imap", lambda account: passed)
        monkeypatch.setattr(connection_test, "_check_smtp", lambda account: passed)
        monkeypatch.setattr("messages_app.services.accounts.MailAccount.save", lambda *a, **k: crash())
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.post(reverse("messages_app:account_create"),
                           form_data(mail_user, password=SECRET, smtp_password=SECRET, smtp_username="smtp-user"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "an unexpected bug" in page  # the technical page it is
    assert SECRET not in page
