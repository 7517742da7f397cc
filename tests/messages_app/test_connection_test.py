"""The connection test against the real servers: each failure is reported in words."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache.backends import db as db_cache
from django.utils import timezone, translation

from messages_app.exceptions import RateLimited
from messages_app.models import MailAccount
from messages_app.services.connection_test import connection_test_run
from tests.servers.ports import free_port


@pytest.fixture(autouse=True)
def english():
    """A report renders in the language active when it is read, not when it ran: these read in English."""
    with translation.override("en"):
        yield


def unsaved(owner, mail_user, **overrides):
    fields = {
        "owner": owner, "preset": "custom", "username": mail_user.login,
        "imap_host": mail_user.host, "imap_port": mail_user.imap_port, "imap_security": "none",
        "smtp_host": mail_user.host, "smtp_port": mail_user.smtp_port, "smtp_security": "none",
    }
    password = overrides.pop("password", mail_user.password)
    fields.update(overrides)
    account = MailAccount(**fields)
    account.set_password(password)
    return account


def test_it_reports_success_for_good_settings(owner, mail_user):
    report = connection_test_run(account=unsaved(owner, mail_user))
    assert report.ok, report.summary


def test_it_says_the_password_was_refused(owner, mail_user):
    with translation.override("en"):
        report = connection_test_run(account=unsaved(owner, mail_user, password="wrong"))
    assert not report.imap_ok and not report.smtp_ok
    assert "Password refused by the server" in report.imap_message
    assert "Password refused by the server" in report.smtp_message


def test_it_says_the_port_is_closed(owner, mail_user):
    closed = free_port()
    with translation.override("en"):
        report = connection_test_run(account=unsaved(owner, mail_user, imap_port=closed, smtp_port=closed))
    assert f"refused the connection on port {closed}" in report.imap_message
    assert f"refused the connection on port {closed}" in report.smtp_message


def test_it_says_the_host_name_does_not_exist(owner, mail_user):
    with translation.override("en"):
        report = connection_test_run(account=unsaved(owner, mail_user, imap_host="imap.no-such-host.invalid",
                                                     smtp_host="smtp.no-such-host.invalid"))
    assert "imap.no-such-host.invalid was not found" in report.imap_message
    assert "smtp.no-such-host.invalid was not found" in report.smtp_message


def test_it_says_the_certificate_is_not_trusted(owner, dovecot_tls, smtp_server_tls):
    login, password = dovecot_tls.add_user()
    smtp_server_tls.add_user(login, password)
    account = MailAccount(owner=owner, preset="custom", username=login,
                          imap_host="127.0.0.1", imap_port=dovecot_tls.imap_port, imap_security="ssl",
                          smtp_host="127.0.0.1", smtp_port=smtp_server_tls.port, smtp_security="ssl")
    account.set_password(password)
    with translation.override("en"):
        report = connection_test_run(account=account)
    assert "is not trusted" in report.imap_message
    assert "is not trusted" in report.smtp_message


def test_tls_works_when_the_certificate_is_trusted(settings, tmp_path, owner, dovecot_tls, smtp_server_tls):
    bundle = tmp_path / "ca.pem"  # each test server made its own throwaway CA
    bundle.write_bytes(dovecot_tls.ca_path.read_bytes() + smtp_server_tls.ca_path.read_bytes())
    settings.MAIL_TLS_CA_FILE = str(bundle)
    login, password = dovecot_tls.add_user()
    smtp_server_tls.add_user(login, password)
    account = MailAccount(owner=owner, preset="custom", username=login,
                          imap_host="localhost", imap_port=dovecot_tls.imap_port, imap_security="ssl",
                          smtp_host="localhost", smtp_port=smtp_server_tls.port, smtp_security="ssl")
    account.set_password(password)
    report = connection_test_run(account=account)
    assert report.ok, report.summary


def test_it_says_when_tls_is_spoken_to_a_plain_port(owner, mail_user):
    with translation.override("en"):
        report = connection_test_run(account=unsaved(owner, mail_user, imap_security="ssl"))
    assert "secure (TLS) connection" in report.imap_message


def test_messages_follow_the_users_language(owner, mail_user):
    with translation.override("it"):
        report = connection_test_run(account=unsaved(owner, mail_user, password="wrong"))
        assert "Password rifiutata dal server" in report.imap_message


def test_a_regular_user_may_not_point_an_account_at_loopback(settings, owner, mail_user):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False
    with translation.override("en"):
        report = connection_test_run(account=unsaved(owner, mail_user))
    assert not report.imap_ok
    assert "local or private network address" in report.imap_message


def test_staff_may_point_an_account_at_loopback(settings, staff, mail_user):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False
    assert connection_test_run(account=unsaved(staff, mail_user)).ok


def test_connection_tests_are_rate_limited_per_user(settings, owner, colleague, mail_user):
    settings.MAIL_CONNECTION_TESTS_PER_HOUR = 2
    closed = free_port()
    for _ in range(2):
        connection_test_run(account=unsaved(owner, mail_user, imap_port=closed, smtp_port=closed))
    with pytest.raises(RateLimited):
        connection_test_run(account=unsaved(owner, mail_user, imap_port=closed, smtp_port=closed))
    connection_test_run(account=unsaved(colleague, mail_user, imap_port=closed, smtp_port=closed))



def test_the_hourly_limit_is_remembered_for_the_whole_hour(settings, monkeypatch, owner, mail_user):
    settings.MAIL_CONNECTION_TESTS_PER_HOUR = 2
    closed = free_port()
    real_now, hour = timezone.now(), datetime(2026, 3, 2, 10, 0, 10, tzinfo=UTC)

    def clock_at(later: timedelta) -> None:
        # The quota names the hour from timezone.now(); the database cache judges expiry by its own clock.
        monkeypatch.setattr(timezone, "now", lambda: hour + later)
        monkeypatch.setattr(db_cache, "tz_now", lambda: real_now + later)

    clock_at(timedelta(0))
    for _ in range(2):
        connection_test_run(account=unsaved(owner, mail_user, imap_port=closed, smtp_port=closed))

    clock_at(timedelta(minutes=50))  # same hour, well past the cache's 300-second default timeout
    with pytest.raises(RateLimited):
        connection_test_run(account=unsaved(owner, mail_user, imap_port=closed, smtp_port=closed))

    clock_at(timedelta(hours=1))  # the next hour starts afresh
    connection_test_run(account=unsaved(owner, mail_user, imap_port=closed, smtp_port=closed))


def test_it_says_when_the_server_does_not_speak_imap4rev1(owner, mail_user):
    """A tiny stand-in speaking just enough IMAP: an old IMAP2bis-only server."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"* OK [CAPABILITY IMAP2BIS] old server ready\r\n")
            data = conn.recv(1024)
            tag = data.split(b" ", 1)[0]
            conn.sendall(b"* CAPABILITY IMAP2BIS\r\n" + tag + b" OK done\r\n")
            conn.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with translation.override("en"):
        report = connection_test_run(account=unsaved(owner, mail_user, imap_port=port))
    listener.close()
    assert not report.imap_ok
    assert "does not speak the expected protocol" in report.imap_message
    assert "IMAP4rev1" in report.imap_message
