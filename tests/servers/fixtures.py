"""pytest plugin: real mail servers for the test session.

Load it with `pytest_plugins = ["tests.servers.fixtures"]` in the root
conftest. It needs no Django. Servers start lazily, once per session, the first
time a test asks for them. A missing or broken Dovecot FAILS the tests that need
it (never skips): CI must not pass without the real server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from .dovecot import Dovecot
from .oauth_provider import OAuthProvider
from .smtp import SmtpServer


@dataclass
class MailUser:
    """One mailbox on `dovecot`, with the same credentials on `smtp_server`."""

    login: str  # also the e-mail address
    password: str
    host: str
    imap_port: int
    pop3_port: int
    sieve_port: int
    smtp_host: str
    smtp_port: int
    dovecot: Dovecot = field(repr=False)
    smtp: SmtpServer = field(repr=False)

    @property
    def email(self) -> str:
        return self.login


def new_mail_user(dovecot: Dovecot, *smtp_servers: SmtpServer, password: str | None = None) -> MailUser:
    """A fresh Dovecot user, also allowed to send through each SMTP server given.

    The first SMTP server fills the smtp_* fields. For tests that need the user
    on the TLS servers too: new_mail_user(dovecot, smtp_server_tls).
    password: a chosen one (say, not ASCII) instead of a random one.
    """
    login, password = dovecot.add_user(password=password)
    for smtp in smtp_servers:
        smtp.add_user(login, password)
    smtp = smtp_servers[0]
    return MailUser(
        login=login,
        password=password,
        host=dovecot.host,
        imap_port=dovecot.imap_port,
        pop3_port=dovecot.pop3_port,
        sieve_port=dovecot.sieve_port,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        dovecot=dovecot,
        smtp=smtp,
    )


def _run_dovecot(**kwargs) -> Iterator[Dovecot]:
    try:
        server = Dovecot(**kwargs)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        server.start()
    except RuntimeError as exc:
        server.cleanup()
        pytest.fail(f"Dovecot did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.cleanup()


def _run_smtp(tls) -> Iterator[SmtpServer]:
    server = SmtpServer(tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """Shared plain-text Dovecot. Do not stop it; use make_dovecot for that."""
    yield from _run_dovecot()


@pytest.fixture(scope="session")
def dovecot_tls() -> Iterator[Dovecot]:
    """Dovecot with ssl=required: implicit TLS on imap_port and pop3_port; trust .ca_path."""
    yield from _run_dovecot(tls=True)


@pytest.fixture(scope="session")
def dovecot_no_condstore() -> Iterator[Dovecot]:
    """Dovecot that does not advertise CONDSTORE/QRESYNC.

    Dovecot still accepts them if sent, so this one also keeps a rawlog:
    `assert b"CONDSTORE" not in dovecot_no_condstore.imap_rawlog(login)`.
    """
    yield from _run_dovecot(hide_condstore=True, rawlog=True)


@pytest.fixture
def make_dovecot() -> Iterator[Callable[..., Dovecot]]:
    """Factory for private, started instances (for tests that stop or restart
    the server or need extra_conf); all are removed at the end of the test."""
    made: list[Dovecot] = []

    def make(**kwargs) -> Dovecot:
        server = Dovecot(**kwargs)
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.cleanup()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """Plain-text SMTP with AUTH PLAIN/LOGIN required."""
    yield from _run_smtp(None)


@pytest.fixture(scope="session")
def smtp_server_tls() -> Iterator[SmtpServer]:
    """SMTP with implicit TLS (port 465 style); trust .ca_path."""
    yield from _run_smtp("implicit")


@pytest.fixture(scope="session")
def smtp_server_starttls() -> Iterator[SmtpServer]:
    """Plain SMTP offering STARTTLS; trust .ca_path."""
    yield from _run_smtp("starttls")


@pytest.fixture
def mail_user(dovecot: Dovecot, smtp_server: SmtpServer) -> MailUser:
    """A fresh user on `dovecot`, with the same login/password on `smtp_server`.

    Filter shared-server messages by it: smtp_server.wait_for(1, login=mail_user.login).
    """
    return new_mail_user(dovecot, smtp_server)


@pytest.fixture(scope="session")
def oauth_provider() -> Iterator[OAuthProvider]:
    """The local identity provider (Google under /google, Microsoft under /ms/common), over HTTPS."""
    provider = OAuthProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.cleanup()


@pytest.fixture(scope="session")
def dovecot_oauth(oauth_provider: OAuthProvider) -> Iterator[Dovecot]:
    """Dovecot whose oauth2 passdb validates XOAUTH2/OAUTHBEARER tokens at `oauth_provider`."""
    yield from _run_dovecot(extra_conf=oauth_provider.dovecot_conf())


@pytest.fixture(scope="session")
def smtp_server_oauth(oauth_provider: OAuthProvider) -> Iterator[SmtpServer]:
    """aiosmtpd offering AUTH XOAUTH2/OAUTHBEARER, checked at `oauth_provider`'s introspection."""
    server = SmtpServer(introspection_url=oauth_provider.introspection_url, introspection_ca=oauth_provider.ca_path)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def oauth_mail_user(dovecot_oauth: Dovecot, smtp_server_oauth: SmtpServer) -> MailUser:
    """A fresh user on the OAuth-enabled Dovecot and SMTP server."""
    return new_mail_user(dovecot_oauth, smtp_server_oauth)
