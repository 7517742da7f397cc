"""A narrow SMTP adapter over aiosmtplib: check credentials and send one message.

Like the IMAP gateway it dials the address netguard checked and verifies TLS against the name.
Every refusal keeps the server's reply (code, enhanced status code, text, and the recipient for
RCPT): 4xx is transient, 5xx permanent (exceptions.SmtpRefused).
"""

import asyncio
import base64
import contextlib
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

import aiosmtplib

from messages_app.enums import Security
from messages_app.exceptions import (
    AuthFailed,
    ConnectionDropped,
    ConnectTimeout,
    DataRefused,
    MailError,
    NoGreeting,
    PasswordNotEncodable,
    ProtocolError,
    RecipientRefused,
    RecipientsRefused,
    SenderRefused,
    SmtpRefused,
    TlsCertificateError,
    TlsError,
)
from messages_app.gateways.deadline import remaining
from messages_app.gateways.errors import client_ssl_context, network_errors
from messages_app.gateways.imap import bearer_mechanism, sasl_bearer
from messages_app.mime.dsn import xtext_encode
from messages_app.netguard import Endpoint


@dataclass(frozen=True)
class SmtpConfig:
    endpoint: Endpoint
    security: str
    username: str
    password: str = field(repr=False, default="")  # the OAuth2 access token when oauth2
    auth_required: bool = True
    timeout: float = 15.0
    deadline: float | None = None  # seconds for the whole session, whatever the server does
    oauth2: bool = False  # AUTH XOAUTH2 (OAUTHBEARER where only that is offered)


@dataclass(frozen=True)
class SendResult:
    """What the server did with one message: it was accepted for `accepted`; each of `refused`
    (a RecipientRefused: code, enhanced, text, recipient, permanent) was turned down."""

    accepted: tuple[str, ...]
    refused: tuple[RecipientRefused, ...] = ()


# RFC 3463 enhanced status code at the start of the reply text: "5.1.1 <x@y>: no such user".
_ENHANCED_RE = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)")


def split_reply(text: str) -> tuple[str, str]:
    """(enhanced status code or "", the rest of the text)."""
    text = text or ""
    match = _ENHANCED_RE.match(text)
    if not match:
        return "", text.strip()
    return match.group(1), text[match.end():].strip()


def _refusal(cls, exc: aiosmtplib.SMTPResponseException, host: str, port: int, recipient: str = "") -> SmtpRefused:
    enhanced, text = split_reply(exc.message)
    return cls(text, code=exc.code, enhanced=enhanced, recipient=recipient, host=host, port=port)


async def _oauth_login(client: aiosmtplib.SMTP, config: SmtpConfig) -> None:
    """AUTH XOAUTH2 / OAUTHBEARER with the access token as the initial response (aiosmtplib has no
    such mechanism). A refused token gets a 334 with a JSON error first: answered empty, then 535."""
    await client._ehlo_or_helo_if_needed()
    offered = {m.upper() for m in client.server_auth_methods}
    mechanism = bearer_mechanism(offered)
    initial = base64.b64encode(sasl_bearer(mechanism, config.username, config.password,
                                           config.endpoint.host, config.endpoint.port)).decode()
    response = await client.execute_command(b"AUTH", mechanism.encode(), initial.encode())
    if response.code == 334:
        response = await client.execute_command(b"")
    if response.code != 235:
        raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)


async def _login(client: aiosmtplib.SMTP, config: SmtpConfig) -> None:
    if config.oauth2:
        await _oauth_login(client, config)
        return
    try:
        # aiosmtplib encodes AUTH PLAIN/LOGIN/CRAM-MD5 credentials as UTF-8 (RFC 4616).
        await client.login(config.username, config.password)
    except UnicodeError:
        raise PasswordNotEncodable(host=config.endpoint.host, port=config.endpoint.port) from None


async def _open(config: SmtpConfig) -> aiosmtplib.SMTP:
    endpoint = config.endpoint
    with network_errors(endpoint.host, endpoint.port):
        sock = socket.create_connection((endpoint.address, endpoint.port), timeout=config.timeout)
    sock.setblocking(False)
    context = client_ssl_context()
    client = aiosmtplib.SMTP(
        hostname=endpoint.host,
        sock=sock,
        use_tls=config.security == Security.SSL,
        start_tls=config.security == Security.STARTTLS,
        tls_context=context,
        timeout=config.timeout,
    )
    try:
        await client.connect()
        if config.auth_required:
            await _login(client, config)
    except BaseException:
        client.close()
        raise
    return client


class SmtpConnection:
    """One authenticated SMTP session, for one message or several. Use as a context manager
    or call close(). aiosmtplib is asynchronous; the session keeps its own event loop so that
    synchronous callers (tasks, services, commands) can send over one connection."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        # The loop runs in a thread of its own: a caller whose thread already runs a loop (an
        # async view, a browser driver) can still send synchronously.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smtp-session", daemon=True)
        self._thread.start()
        self._client: aiosmtplib.SMTP | None = None
        self._expires_at = time.monotonic() + config.deadline if config.deadline else None

    def __enter__(self) -> "SmtpConnection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, make_coroutine):
        host, port = self.config.endpoint.host, self.config.endpoint.port
        left = remaining(self._expires_at)
        # wait_for's TimeoutError becomes ConnectTimeout in network_errors: a server dripping a
        # byte every few seconds cannot hold the session past its deadline.
        with network_errors(host, port, connected=True):
            return _translated(lambda: self._run(
                make_coroutine() if left is None else asyncio.wait_for(make_coroutine(), left)), host, port)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def open(self) -> None:
        self._client = self._call(lambda: _open(self.config))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # the server may be gone already; nothing to save
                self._run(client.quit())
            self._loop.call_soon_threadsafe(client.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def send(self, *, sender: str, recipients: list[str], message: bytes, envelope_id: str = "") -> SendResult:
        """Send `message` (the bytes as they are, headers included) from the envelope `sender`
        to `recipients`. Recipients the server refuses are reported in the result while the
        others get the message; when it refuses all of them nothing is sent and
        RecipientsRefused is raised. A refused MAIL FROM raises SenderRefused, a refused DATA
        DataRefused. `envelope_id` goes out as ENVID (with RET=HDRS) where the server offers DSN, so
        that its delivery reports name the message."""
        if self._client is None:
            raise MailError("the SMTP session is not open", host=self.config.endpoint.host)
        return self._call(lambda: _deliver(self._client, self.config, sender, list(recipients), message,
                                           envelope_id))


async def _deliver(client: aiosmtplib.SMTP, config: SmtpConfig, sender: str, recipients: list[str],
                   message: bytes, envelope_id: str = "") -> SendResult:
    host, port = config.endpoint.host, config.endpoint.port
    if client.is_ehlo_or_helo_needed:  # without AUTH nothing has said EHLO yet: the extensions are unknown
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            await client.helo()
    addresses = [sender, *recipients]
    utf8 = any(not a.isascii() for a in addresses)
    if utf8 and not client.supports_extension("smtputf8"):
        raise MailError("the server does not accept non-ASCII addresses (no SMTPUTF8)", host=host, port=port)
    encoding = "utf-8" if utf8 else "ascii"
    options = ["SMTPUTF8"] if utf8 else []
    if envelope_id and client.supports_extension("dsn"):
        options += ["RET=HDRS", f"ENVID={xtext_encode(envelope_id)}"]
    await client.mail(sender, options=options, encoding=encoding)
    accepted, refused = [], []
    for recipient in recipients:
        try:
            await client.rcpt(recipient, encoding=encoding)
        except aiosmtplib.SMTPRecipientRefused as exc:
            refused.append(_refusal(RecipientRefused, exc, host, port, recipient=recipient))
        else:
            accepted.append(recipient)
    if not accepted:
        await client.rset()  # leaves the session usable for the next message
        raise RecipientsRefused(refused, host=host, port=port)
    await client.data(message)
    return SendResult(accepted=tuple(accepted), refused=tuple(refused))


def _root_cause(exc: BaseException) -> BaseException | None:
    seen = exc.__cause__ or exc.__context__
    while seen is not None and (seen.__cause__ or seen.__context__) is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return seen


def _translated(run, host: str, port: int):
    # aiosmtplib's errors are also OSErrors: translate them before network_errors sees them.
    try:
        return run()
    except aiosmtplib.SMTPAuthenticationError as exc:
        if 400 <= exc.code < 500:  # 454 "temporary authentication failure": not the password
            raise _refusal(SmtpRefused, exc, host, port) from None
        raise AuthFailed(exc.message, host=host, port=port) from None
    except aiosmtplib.SMTPSenderRefused as exc:
        raise _refusal(SenderRefused, exc, host, port) from None
    except aiosmtplib.SMTPDataError as exc:
        raise _refusal(DataRefused, exc, host, port) from None
    except aiosmtplib.SMTPException as exc:
        cause = _root_cause(exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise TlsCertificateError(cause.verify_message or str(cause), host=host, port=port) from None
        if isinstance(cause, ssl.SSLError):
            raise TlsError(cause.reason or str(cause), host=host, port=port) from None
        # aiosmtplib reports handshake failures as SMTPConnectError with only the text kept.
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip()
            raise TlsCertificateError(detail, host=host, port=port) from None
        if "[SSL" in text:
            raise TlsError(text.split("[SSL", 1)[1].split("]", 1)[-1].strip(), host=host, port=port) from None
        if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError | aiosmtplib.SMTPTimeoutError):
            raise ConnectTimeout(str(exc), host=host, port=port) from None
        if isinstance(exc, aiosmtplib.SMTPConnectError) and isinstance(
                exc.__cause__, aiosmtplib.SMTPServerDisconnected):
            # aiosmtplib's own text is English and may name "port None": say it in words.
            raise NoGreeting(str(exc.__cause__), host=host, port=port) from None
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
            raise ConnectionDropped(str(exc), host=host, port=port) from None
        if "STARTTLS" in str(exc) or "AUTH" in str(exc).upper():
            raise ProtocolError(str(exc), host=host, port=port) from None
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            raise _refusal(SmtpRefused, exc, host, port) from None
        raise MailError(str(exc), host=host, port=port) from None


def connect(config: SmtpConfig) -> SmtpConnection:
    """Open, secure and authenticate a session; errors come back as MailError subclasses."""
    connection = SmtpConnection(config)
    try:
        connection.open()
    except BaseException:
        connection.close()
        raise
    return connection


def check(config: SmtpConfig) -> None:
    """Connect, secure and authenticate, then QUIT. Raises MailError on any failure."""
    with connect(config):
        pass


def send(config: SmtpConfig, *, sender: str, recipients: list[str], message: bytes) -> SendResult:
    """One message over a session of its own (SmtpConnection.send says what comes back)."""
    with connect(config) as connection:
        return connection.send(sender=sender, recipients=recipients, message=message)
