"""A real SMTP submission server for tests (aiosmtpd), with AUTH and TLS variants.

It accepts every recipient and keeps what it received in `.messages`, so a test
can send through Postino and then look at the exact bytes that left it. A test
can make it refuse: `refuse_recipient(address, "550 5.1.1 No such user")` answers
that RCPT so, and `refuse_data_from(sender, "554 5.6.0 ...")` answers the DATA of
that envelope sender so (both keyed by address, so tests sharing the session's
server do not see each other's refusals).
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from .ports import HOST, free_port
from .tls import TlsFiles, client_context, make_tls_files, server_context

TlsMode = Literal["implicit", "starttls"] | None


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # the DATA exactly as received (CRLF line ends, dot-unstuffed)
    login: str | None  # who authenticated for this transaction
    tls: bool  # whether the transaction ran over TLS (implicit or after STARTTLS)


class _AuthSMTP(SMTP):
    """SMTP that requires AUTH but not TLS for it, without aiosmtpd's warning.

    aiosmtpd calls warnings.warn for that combination once per connection, from
    its server thread; under pytest that warning lands in whichever test is
    running (or fails it with -W error). Here it is deliberate: build the
    session without the requirement and switch it on afterwards.
    """

    def __init__(self, handler, **kwargs) -> None:
        super().__init__(handler, auth_required=False, auth_require_tls=False, **kwargs)
        self._auth_required = True


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _AuthSMTP(self.handler, **self.SMTP_kwargs)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options) -> str:
        reply = self._server.recipient_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope) -> str:
        reply = self._server.data_replies.get((envelope.mail_from or "").lower())
        if reply:
            return reply
        auth = session.auth_data
        self._server._received(
            ReceivedMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.original_content,
                login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                tls=smtp.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 OK queued"


class _OAuthHandler(_Handler):
    """Adds AUTH XOAUTH2 and OAUTHBEARER: the bearer token is checked at the identity provider's
    introspection endpoint (RFC 7662), as Dovecot's oauth2 passdb does. A refused token gets
    Google's answer: a 334 challenge carrying a JSON error, then 535 after the client's empty reply."""

    def _introspect(self, token: str) -> dict:
        server = self._server
        request = urllib.request.Request(server.introspection_url, method="POST",
                                         data=urllib.parse.urlencode({"token": token}).encode())
        context = ssl.create_default_context(cafile=str(server.introspection_ca)) if server.introspection_ca else None
        with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310 - test https URL
            return json.loads(response.read())

    async def _bearer(self, smtp, args: list[str], parse) -> AuthResult:
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False)
        else:
            blob = await smtp.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        user, token = parse(blob.decode("utf-8", "replace"))
        answer = await asyncio.get_running_loop().run_in_executor(None, self._introspect, token)
        if answer.get("active") and user and answer.get("email") == user:
            self._server.oauth_logins.append(user)
            return AuthResult(success=True, handled=False, auth_data=LoginPassword(user.encode(), b""))
        await smtp.challenge_auth(json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}))
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, smtp, args):  # noqa: N802 - aiosmtpd finds mechanisms by this name
        def parse(text: str) -> tuple[str, str]:
            fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
            return fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        return await self._bearer(smtp, args, parse)

    async def auth_OAUTHBEARER(self, smtp, args):  # noqa: N802
        def parse(text: str) -> tuple[str, str]:
            head, _, rest = text.partition("\x01")
            user = next((p[2:] for p in head.split(",") if p.startswith("a=")), "")
            fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
            return user, fields.get("auth", "").removeprefix("Bearer ")
        return await self._bearer(smtp, args, parse)


class SmtpServer:
    """aiosmtpd on a free loopback port; AUTH PLAIN/LOGIN required for MAIL FROM.

    tls=None: plain text only. tls="starttls": plain port offering STARTTLS
    (not required). tls="implicit": TLS from the first byte (port 465 style).
    AUTH is allowed without TLS (auth_require_tls=False): on loopback the
    client under test may use either. Clients trust `ca_path`.
    """

    host = HOST

    def __init__(self, tls: TlsMode = None, users: dict[str, str] | None = None, *,
                 introspection_url: str = "", introspection_ca: Path | None = None) -> None:
        if tls not in (None, "implicit", "starttls"):
            raise ValueError(f"tls must be None, 'implicit' or 'starttls', not {tls!r}")
        self.tls = tls
        self.port = free_port()
        self.users: dict[str, str] = dict(users or {})
        self.messages: list[ReceivedMessage] = []
        self.recipient_replies: dict[str, str] = {}
        self.data_replies: dict[str, str] = {}
        # With an introspection URL it also offers AUTH XOAUTH2 and OAUTHBEARER (see _OAuthHandler).
        self.introspection_url = introspection_url
        self.introspection_ca = introspection_ca
        self.oauth_logins: list[str] = []
        self._changed = threading.Condition()
        self._tmp: Path | None = None
        self._tls_files: TlsFiles | None = None
        self.ca_path: Path | None = None
        if tls:
            self._tmp = Path(tempfile.mkdtemp(prefix="postino-smtp-"))
            self._tls_files = make_tls_files(self._tmp)
            self.ca_path = self._tls_files.ca
        self._controller: _Controller | None = None

    def add_user(self, login: str, password: str) -> None:
        self.users[login] = password

    def refuse_recipient(self, address: str, reply: str) -> None:
        """Answer RCPT TO:<address> with `reply` ("550 5.1.1 No such user")."""
        self.recipient_replies[address.lower()] = reply

    def refuse_data_from(self, sender: str, reply: str) -> None:
        """Answer the DATA of mail from `sender` with `reply` ("554 5.6.0 Rejected")."""
        self.data_replies[sender.lower()] = reply

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = login in self.users and self.users[login] == password
        # handled=False: aiosmtpd answers 535 itself on failure.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("SMTP server already running")
        kwargs = {}
        if self.tls == "starttls":
            assert self._tls_files is not None
            kwargs = {"tls_context": server_context(self._tls_files), "require_starttls": False}
        self._controller = _Controller(
            (_OAuthHandler if self.introspection_url else _Handler)(self),
            hostname=self.host,
            port=self.port,
            ssl_context=server_context(self._tls_files) if self.tls == "implicit" else None,
            server_hostname="localhost",
            authenticator=self._authenticate,
            enable_SMTPUTF8=True,
            ready_timeout=5.0,
            **kwargs,
        )
        # start() returns once the server answered a test connection.
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def cleanup(self) -> None:
        self.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def ssl_context(self):
        """Client SSL context trusting this server's CA (None without TLS)."""
        return client_context(self.ca_path) if self.ca_path else None

    # -------------------------------------------------------------- messages

    def _received(self, message: ReceivedMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(
        self, count: int, timeout: float = 5.0, *, login: str | None = None
    ) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived; return them.

        login: count only messages sent by that authenticated user, which keeps
        tests independent on a server shared by the whole session.
        Raises TimeoutError naming how many did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := self._matching(login)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {count} message(s) within {timeout}s, got {len(found)}")
                self._changed.wait(remaining)
            return found

    def _matching(self, login: str | None) -> list[ReceivedMessage]:
        return [m for m in self.messages if login is None or m.login == login]

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()
