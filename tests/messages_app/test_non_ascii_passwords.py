"""Passwords beyond ASCII (issue 16, item 4): imaplib's LOGIN cannot carry them, so the gateway
logs in with AUTHENTICATE PLAIN in UTF-8, and a server that offers only LOGIN gets a clear
refusal, never a UnicodeEncodeError (a 500 in the form, a traceback in the commands)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from messages_app.exceptions import PasswordNotEncodable
from messages_app.models import MailAccount, Message
from messages_app.services.connection_test import connection_test_run
from messages_app.services.connections import imap_connect, smtp_connect
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.test_account_views import form_data
from tests.servers.fixtures import new_mail_user

PASSWORD = "pässwörd-€-ñ"
NOT_ACCEPTED = "contains characters this server cannot accept"


@pytest.fixture
def accented_user(dovecot, smtp_server):
    """A user whose password is not ASCII, on Dovecot and aiosmtpd alike."""
    return new_mail_user(dovecot, smtp_server, password=PASSWORD)


@pytest.fixture
def login_only_dovecot(make_dovecot):
    """A server whose only way in is LOGIN (no AUTH=PLAIN)."""
    return make_dovecot(extra_conf="auth_mechanisms = login")


def test_imap_and_smtp_log_in_with_a_non_ascii_password(owner, accented_user):
    account = account_on(owner, accented_user)
    with imap_connect(account) as conn:
        assert conn.select("INBOX").exists == 0
    with smtp_connect(account) as conn:
        conn.send(sender=accented_user.email, recipients=["bob@example.test"],
                  message=b"Subject: accenti\r\n\r\nCiao.\r\n")
    assert accented_user.smtp.wait_for(1, login=accented_user.login)[0].rcpt_tos == ["bob@example.test"]


def test_the_sync_runs_with_a_non_ascii_password(owner, accented_user):
    accented_user.dovecot.append(accented_user.login, "INBOX", make_message("Caffè"))
    account = account_on(owner, accented_user)
    assert account_sync(account.pk).new == 1
    assert Message.objects.filter(account=account, subject="Caffè").exists()


def test_a_server_without_auth_plain_refuses_in_words(owner, login_only_dovecot, smtp_server):
    user = new_mail_user(login_only_dovecot, smtp_server, password=PASSWORD)
    account = MailAccount(owner=owner, preset="custom", username=user.login,
                          imap_host=user.host, imap_port=user.imap_port, imap_security="none",
                          smtp_host=user.smtp_host, smtp_port=user.smtp_port, smtp_security="none")
    account.set_password(PASSWORD)
    with pytest.raises(PasswordNotEncodable) as refused:
        imap_connect(account)
    assert refused.value.permanent
    report = connection_test_run(account=account, rate_limited=False)
    with translation.override("en"):  # a report speaks the language it is read in
        assert not report.imap_ok and NOT_ACCEPTED in report.imap_message


def test_the_account_form_saves_a_non_ascii_password(owner_client, owner, accented_user):
    response = owner_client.post(reverse("messages_app:account_create"), form_data(accented_user))
    assert response.status_code == 302, response.content.decode()[:2000]
    account = MailAccount.objects.get(owner=owner)
    assert account.last_test_ok is True and account.get_password() == PASSWORD


def test_the_account_form_says_why_a_login_only_server_cannot_take_it(owner_client, owner, login_only_dovecot,
                                                                      smtp_server):
    owner.language = "en"  # the page speaks the user's language
    owner.save()
    data = form_data(new_mail_user(login_only_dovecot, smtp_server, password=PASSWORD))
    with translation.override("en"):
        response = owner_client.post(reverse("messages_app:account_create"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert NOT_ACCEPTED in response.content.decode()
    assert not MailAccount.objects.filter(owner=owner).exists()


def test_diagnose_says_why_in_one_line(owner, login_only_dovecot, smtp_server, monkeypatch):
    user = new_mail_user(login_only_dovecot, smtp_server, password=PASSWORD)
    monkeypatch.setenv("TEST_MAIL_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command("mail_account", "create", "--user", "owner", "--preset", "custom", "--username", user.login,
                 "--password-env", "TEST_MAIL_PASSWORD", "--imap-host", user.host,
                 "--imap-port", str(user.imap_port), "--imap-security", "none",
                 "--smtp-host", user.smtp_host, "--smtp-port", str(user.smtp_port), "--smtp-security", "none",
                 stdout=out)
    account_id = out.getvalue().split()[-1]
    with translation.override("en"), pytest.raises(CommandError, match=NOT_ACCEPTED):
        call_command("mail_account", "diagnose", account_id, stdout=io.StringIO())

