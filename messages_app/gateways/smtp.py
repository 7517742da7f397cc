"""A narrow SMTP adapter over aiosmtplib: check credentials and send one message.

Like the IMAP gateway it dials the address netguard checked and verifies TLS against the name.
"""

import asyncio
import socket
import ssl
from dataclasses import dataclass, field

import aiosmtplib

from messages_app.enums import Security
from messages_app.exceptions import (
    AuthFailed,
    ConnectionDropped,
    ConnectTimeout,
    MailError,
    ProtocolError,
    TlsCertificateError,
    TlsError,
)
from messages_app.gateways.errors import client_ssl_context, network_errors
from messages_app.netguard import Endpoint


@dataclass(frozen=True)
class SmtpConfig:
    endpoint: Endpoint
    security: str
    username: str
    password: str = field(repr=False, default="")
    auth_required: bool = True
    oauth_access_token: str = field(repr=False, default="")
    timeout: float = 15.0


async def _session(config: SmtpConfig, action) -> object:
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
            if config.oauth_access_token:
                await client.auth_xoauth2(config.username, config.oauth_access_token)
            else:
                await client.login(config.username, config.password)
        result = await action(client)
        await client.quit()
        return result
    finally:
        client.close()


def _root_cause(exc: BaseException) -> BaseException | None:
    seen = exc.__cause__ or exc.__context__
    while seen is not None and (seen.__cause__ or seen.__context__) is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return seen


def _run(config: SmtpConfig, action) -> object:
    host, port = config.endpoint.host, config.endpoint.port
    with network_errors(host, port, connected=True):
        return _run_translated(config, action, host, port)


def _run_translated(config: SmtpConfig, action, host: str, port: int) -> object:
    # aiosmtplib's errors are also OSErrors: translate them before network_errors sees them.
    try:
        return asyncio.run(_session(config, action))
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise AuthFailed(exc.message, host=host, port=port) from None
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
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
            raise ConnectionDropped(str(exc), host=host, port=port) from None
        if "STARTTLS" in str(exc) or "AUTH" in str(exc).upper():
            raise ProtocolError(str(exc), host=host, port=port) from None
        raise MailError(str(exc), host=host, port=port) from None


def check(config: SmtpConfig) -> None:
    """Connect, secure and authenticate, then QUIT. Raises MailError on any failure."""

    async def nothing(_client):
        return None

    _run(config, nothing)


def send(config: SmtpConfig, *, sender: str, recipients: list[str], message: bytes) -> dict:
    """Send one message; returns the server's per-recipient refusals (empty when all accepted)."""

    async def deliver(client):
        refused, _response = await client.sendmail(sender, recipients, message)
        return refused

    return _run(config, deliver)
