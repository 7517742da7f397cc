"""Overall deadlines (issue 16, item 2): a server that sends one byte every second never trips
the per-read timeout, but cannot hold a connection test past MAIL_CONNECTION_TEST_SECONDS; a
literal above MAIL_MAX_LITERAL_BYTES is refused before it is read; Celery has time limits."""

import socket
import time

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from messages_app.exceptions import ConnectTimeout, LiteralTooLarge
from messages_app.models import MailAccount
from messages_app.services.connection_test import connection_test_run
from messages_app.services.connections import imap_connect
from tests.servers.fake_imap import FakeImap, fake_account
from tests.servers.raw_tcp import raw_tcp_server


def drip(sock: socket.socket) -> None:
    for _ in range(60):
        sock.sendall(b"*")
        time.sleep(1)


@pytest.fixture
def dripping_port():
    """Greets one byte a second, for a minute: IMAP and SMTP clients alike wait for a line."""
    with raw_tcp_server(drip) as port:
        yield port


def test_a_dripping_server_cannot_hold_a_connection_test(settings, owner, dripping_port):
    settings.MAIL_CONNECT_TIMEOUT = 3  # per read: the drip never trips it
    settings.MAIL_CONNECTION_TEST_SECONDS = 3
    account = MailAccount(owner=owner, preset="custom", username="u", imap_host="127.0.0.1",
                          imap_port=dripping_port, imap_security="none", smtp_host="127.0.0.1",
                          smtp_port=dripping_port, smtp_security="none")
    account.set_password("p")
    started = time.monotonic()
    with translation.override("en"):
        report = connection_test_run(account=account, rate_limited=False)
    elapsed = time.monotonic() - started
    assert not report.imap_ok and not report.smtp_ok
    with translation.override("en"):  # a report speaks the language it is read in
        assert "in time" in report.imap_message and "in time" in report.smtp_message, report.summary
    assert elapsed < 2 * 3 + 3, elapsed  # two servers, three seconds each, and some slack


def test_a_huge_literal_is_refused_unread(settings, owner):
    settings.MAIL_MAX_LITERAL_BYTES = 1024 * 1024
    server = FakeImap(folders=["x" * (2 * 1024 * 1024)], literal_names=True).start()
    try:
        account = fake_account(owner, server)
        with imap_connect(account) as conn, pytest.raises(LiteralTooLarge):
            conn.list_folders()
    finally:
        server.stop()


def test_the_deadline_error_is_a_timeout(owner, dripping_port):
    account = MailAccount(owner=owner, preset="custom", username="u", imap_host="127.0.0.1",
                          imap_port=dripping_port, imap_security="none", smtp_host="127.0.0.1",
                          smtp_port=dripping_port, smtp_security="none")
    account.set_password("p")
    with pytest.raises(ConnectTimeout):
        imap_connect(account, deadline=2)


def test_celery_tasks_have_time_limits():
    assert django_settings.CELERY_TASK_SOFT_TIME_LIMIT > django_settings.MAIL_SYNC_PASS_SECONDS
    assert django_settings.CELERY_TASK_TIME_LIMIT > django_settings.CELERY_TASK_SOFT_TIME_LIMIT
