"""TLS (issue 16, item 21): a STARTTLS account whose server stops offering STARTTLS is refused
in words and never downgraded to plain text: the password is not sent. (An untrusted
self-signed certificate, and MAIL_TLS_CA_FILE making it trusted, are in test_connection_test.py.)"""

import socket
import threading

import pytest
from django.utils import translation

from messages_app.exceptions import ProtocolError
from messages_app.services.connection_test import connection_test_run
from messages_app.services.connections import imap_connect, smtp_connect
from tests.servers.fake_imap import FakeImap, fake_account


@pytest.fixture
def imap_without_starttls():
    server = FakeImap(capabilities="IMAP4rev1 AUTH=PLAIN").start()  # STARTTLS no longer offered
    yield server
    server.stop()


@pytest.fixture
def smtp_without_starttls():
    """An SMTP server whose EHLO no longer lists STARTTLS; it records every command it gets."""
    listener = socket.create_server(("127.0.0.1", 0))
    commands: list[str] = []

    def serve():
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with sock, sock.makefile("rb") as reader:
                sock.sendall(b"220 fake ESMTP\r\n")
                for line in reader:
                    command = line.decode(errors="replace").strip()
                    commands.append(command)
                    if command.upper().startswith("EHLO"):
                        sock.sendall(b"250-fake\r\n250 AUTH PLAIN LOGIN\r\n")
                    elif command.upper().startswith("QUIT"):
                        sock.sendall(b"221 bye\r\n")
                        break
                    else:
                        sock.sendall(b"235 ok\r\n" if command.upper().startswith("AUTH") else b"250 ok\r\n")
    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], commands
    listener.close()


def test_imap_starttls_is_never_downgraded(owner, imap_without_starttls):
    account = fake_account(owner, imap_without_starttls, imap_security="starttls")
    with pytest.raises(ProtocolError) as refused:
        imap_connect(account)
    assert "STARTTLS" in str(refused.value)
    assert "LOGIN" not in imap_without_starttls.commands and "AUTHENTICATE" not in imap_without_starttls.commands


def test_smtp_starttls_is_never_downgraded(owner, imap_without_starttls, smtp_without_starttls):
    port, commands = smtp_without_starttls
    account = fake_account(owner, imap_without_starttls, smtp_port=port, smtp_security="starttls")
    with pytest.raises(ProtocolError):
        smtp_connect(account)
    assert not any(c.upper().startswith("AUTH") for c in commands), commands
    with translation.override("en"):
        report = connection_test_run(account=account, rate_limited=False)
    assert not report.smtp_ok and report.smtp_message
    assert not any(c.upper().startswith("AUTH") for c in commands), commands
