"""A narrow POP3 adapter over poplib (stdlib): connect, log in, list UIDLs, fetch and delete.
Nothing outside gateways/ imports poplib. Connections go to the address netguard checked
(Endpoint.address) while TLS verifies the name."""

import contextlib
import poplib
import socket
import ssl
from dataclasses import dataclass, field

from messages_app.enums import Security
from messages_app.exceptions import AuthFailed, MailError, MissingCapability, ProtocolError
from messages_app.gateways.errors import client_ssl_context, network_errors
from messages_app.netguard import Endpoint

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Pop3Config:
    endpoint: Endpoint
    security: str
    username: str
    password: str = field(repr=False, default="")
    timeout: float = 15.0


class _PinnedPOP3(poplib.POP3):
    def __init__(self, endpoint: Endpoint, context: ssl.SSLContext | None, timeout: float):
        self._address = endpoint.address
        self._context = context
        super().__init__(endpoint.host, endpoint.port, timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._address, self.port), timeout)
        if self._context is not None:
            return self._context.wrap_socket(sock, server_hostname=self.host)
        return sock


class Pop3Connection:
    def __init__(self, client: poplib.POP3, config: Pop3Config):
        self._client = client
        self.config = config

    def __enter__(self) -> "Pop3Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _errors(self):
        return network_errors(self.config.endpoint.host, self.config.endpoint.port, connected=True)

    def uidls(self) -> dict[str, int]:
        """{UIDL: message number} of the messages on the server now."""
        with self._errors():
            try:
                _response, lines, _octets = self._client.uidl()
            except poplib.error_proto as exc:
                raise MissingCapability(f"the POP3 server does not support UIDL: {exc}",
                                        host=self.config.endpoint.host) from None
        result = {}
        for line in lines:
            number, uidl = line.decode("ascii", "replace").split(" ", 1)
            result[uidl.strip()] = int(number)
        return result

    def retrieve(self, number: int) -> bytes:
        with self._errors():
            try:
                _response, lines, octets = self._client.retr(number)
            except poplib.error_proto as exc:
                raise ProtocolError(f"RETR {number} refused: {exc}", host=self.config.endpoint.host) from None
        if octets > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"message {number} is larger than {MAX_MESSAGE_BYTES} bytes",
                                host=self.config.endpoint.host)
        return b"\r\n".join(lines) + b"\r\n"

    def delete(self, number: int) -> None:
        with self._errors():
            try:
                self._client.dele(number)
            except poplib.error_proto as exc:
                raise ProtocolError(f"DELE {number} refused: {exc}", host=self.config.endpoint.host) from None

    def close(self) -> None:
        """QUIT: the server carries out the deletions only now."""
        with contextlib.suppress(OSError, poplib.error_proto, MailError), self._errors():
            self._client.quit()
        with contextlib.suppress(OSError):
            self._client.close()


def connect(config: Pop3Config) -> Pop3Connection:
    endpoint = config.endpoint
    context = client_ssl_context()
    with network_errors(endpoint.host, endpoint.port):
        try:
            client = _PinnedPOP3(endpoint, context if config.security == Security.SSL else None, config.timeout)
        except poplib.error_proto as exc:
            raise ProtocolError(f"not a POP3 greeting: {exc}", host=endpoint.host, port=endpoint.port) from None
    try:
        with network_errors(endpoint.host, endpoint.port, connected=True):
            if config.security == Security.STARTTLS:
                try:
                    client.stls(context)
                except poplib.error_proto as exc:
                    raise ProtocolError(f"STLS refused: {exc}", host=endpoint.host, port=endpoint.port) from None
            try:
                client.user(config.username)
                client.pass_(config.password)
            except poplib.error_proto as exc:
                text = str(exc).replace(config.password, "***") if config.password else str(exc)
                raise AuthFailed(text, host=endpoint.host) from None
        return Pop3Connection(client, config)
    except BaseException:
        with contextlib.suppress(Exception):
            client.close()
        raise
