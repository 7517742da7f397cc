"""Saved connection-test results are codes, read in the reader's language; the admin's labels are
translated and its account form takes a write-only password."""

import socket
import threading

from django.urls import reverse
from django.utils import translation

from messages_app.models import MailAccount
from messages_app.services.connection_test import connection_report_store, connection_test_run
from tests.conftest import account_on
from tests.servers.ports import free_port


def test_a_result_saved_in_italian_reads_in_english_for_an_english_reader(owner, mail_user):
    account = account_on(owner, mail_user)
    closed = free_port()
    account.smtp_port = closed
    with translation.override("it"):
        report = connection_test_run(account=account, rate_limited=False)
        connection_report_store(account=account, report=report)
    stored = MailAccount.objects.get(pk=account.pk)
    assert stored.last_test_result["smtp"]["code"] == "ConnectionRefused"
    assert stored.last_test_message == ""
    with translation.override("en"):
        english = stored.last_test_text
    with translation.override("it"):
        italian = stored.last_test_text
    assert english.startswith("IMAP: login succeeded\nSMTP: ")
    assert f"refused the connection on port {closed}" in english
    assert italian.startswith("IMAP: accesso riuscito\nSMTP: ")
    assert f"porta {closed}" in italian and "refused" not in italian


def test_the_account_list_renders_the_saved_result_in_the_users_language(owner_client, owner, mail_user):
    account = account_on(owner, mail_user)
    with translation.override("it"):
        connection_report_store(account=account, report=connection_test_run(account=account, rate_limited=False))
    owner.language = "en"
    owner.save()
    page = owner_client.get(reverse("messages_app:account_list")).content.decode()
    assert "IMAP: login succeeded" in page and "accesso riuscito" not in page


def test_a_server_that_hangs_up_before_greeting_is_said_in_words(owner, mail_user):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def hang_up():
        conn, _ = listener.accept()
        conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    account = account_on(owner, mail_user)
    account.smtp_port = port
    with translation.override("en"):
        report = connection_test_run(account=account, rate_limited=False)
    listener.close()
    assert not report.smtp_ok
    assert report.smtp["code"] == "NoGreeting"
    assert report.smtp_message == (f"{mail_user.host} closed the connection on port {port} before greeting: check "
                                   "the port and the security setting (SSL/TLS or STARTTLS).")
    assert "Error connecting" not in report.smtp_message and "None" not in report.smtp_message


def superuser_client(client, staff):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


def test_the_admin_speaks_italian_throughout(client, staff, owner, mail_user):
    account = account_on(owner, mail_user)
    admin = superuser_client(client, staff)
    listing = admin.get(reverse("admin:messages_app_mailaccount_changelist"), HTTP_ACCEPT_LANGUAGE="it")
    page = listing.content.decode()
    for label in ("Account di posta", "Proprietario", "Ultimo test riuscito"):
        assert label in page, label
    for english in ("Mail accounts", "Owner", "Last test ok"):
        assert english not in page, english
    change = admin.get(reverse("admin:messages_app_mailaccount_change", args=[account.pk]),
                       HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Ultimo test il" in change and "Last tested at" not in change


def admin_form(owner, mail_user, **overrides):
    fields = {"owner": owner.pk, "preset": "custom", "username": mail_user.login, "auth_method": "password",
              "email": "olga@crm.test", "description": "Olga", "imap_host": mail_user.host,
              "imap_port": mail_user.imap_port, "imap_security": "none", "smtp_host": mail_user.host,
              "smtp_port": mail_user.smtp_port, "smtp_security": "none", "smtp_auth_required": "on"}
    fields.update(overrides)
    return fields


def test_an_account_made_in_the_admin_can_log_in(client, staff, owner, mail_user):
    admin = superuser_client(client, staff)
    add = reverse("admin:messages_app_mailaccount_add")
    assert 'type="password"' in admin.get(add).content.decode()
    refused = admin.post(add, admin_form(owner, mail_user), HTTP_ACCEPT_LANGUAGE="it")
    assert refused.status_code == 200 and "ha bisogno della sua password" in refused.content.decode()
    assert admin.post(add, admin_form(owner, mail_user, password=mail_user.password)).status_code == 302
    account = MailAccount.objects.get(owner=owner)
    assert account.get_password() == mail_user.password
    assert mail_user.password not in account.password_encrypted
    assert account.is_primary  # through the one write path: the first account is the primary
    assert connection_test_run(account=account, rate_limited=False).ok
    change = reverse("admin:messages_app_mailaccount_change", args=[account.pk])
    assert mail_user.password not in admin.get(change).content.decode()  # write-only
    assert admin.post(change, admin_form(owner, mail_user, description="Olga 2")).status_code == 302
    assert MailAccount.objects.get(pk=account.pk).get_password() == mail_user.password  # empty keeps it
