"""A narrow IMAP adapter over imapclient: connect, log in, and the handful of commands the sync
and the write path need. Nothing outside gateways/ imports imapclient.

Connections go to the address netguard checked (Endpoint.address) while TLS verifies the name.
"""

import contextlib
import imaplib
import select
import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc
from imapclient.imapclient import join_message_ids, seq_to_parenstr_upper

from messages_app.enums import Security
from messages_app.exceptions import (
    AuthFailed,
    ConnectionDropped,
    ConnectTimeout,
    LiteralTooLarge,
    MailError,
    MissingCapability,
    PasswordNotEncodable,
    ProtocolError,
)
from messages_app.gateways.deadline import SocketDeadline
from messages_app.gateways.errors import client_ssl_context, network_errors
from messages_app.gateways.fetch_scanner import scan_fetch
from messages_app.gateways.imap_responses import (
    _ESEARCH_ALL_RE,
    _find_header_item,
    _join_literals,
    _parse_copyuid,
    _parse_errors,
    _parse_list_lines,
    _parse_status_lines,
    _parse_vanished,
    parse_uid_set,
)
from messages_app.netguard import Endpoint

# The headers the sync stores for every message (threading, auto-reply detection, display).
SYNC_HEADER_FIELDS = (
    "From To Cc Reply-To Subject Date Message-ID In-Reply-To References List-Id "
    "Auto-Submitted Precedence X-Auto-Response-Suppress Content-Type "
    "Sender Return-Path Delivered-To List-Unsubscribe List-Unsubscribe-Post "
    "X-Autoreply X-Autorespond X-Spam-Flag Importance X-Priority "
    "X-Ricevuta X-Trasporto X-Riferimento-Message-ID X-TipoRicevuta X-VerificaSicurezza"
)
NO_IMAP4REV1 = "the server does not offer IMAP4rev1"
_HEADER_ITEM = f"BODY.PEEK[HEADER.FIELDS ({SYNC_HEADER_FIELDS})]"
_HEADER_KEY = f"BODY[HEADER.FIELDS ({SYNC_HEADER_FIELDS.upper()})]".encode()


@dataclass(frozen=True)
class ImapConfig:
    endpoint: Endpoint
    security: str
    username: str
    password: str = field(repr=False, default="")  # the OAuth2 access token when oauth2
    timeout: float = 15.0
    deadline: float | None = None  # seconds for the whole connection, whatever the server does
    oauth2: bool = False  # log in with SASL XOAUTH2 (OAUTHBEARER where only that is offered)
    max_literal: int | None = None  # bytes: a bigger literal (message, name) is refused unread


@dataclass(frozen=True)
class FolderInfo:
    name: str
    delimiter: str
    flags: tuple[str, ...]
    status: dict | None = None  # from LIST-STATUS, when the server offers it

    @property
    def selectable(self) -> bool:
        return not any(f.lower() in ("\\noselect", "\\nonexistent") for f in self.flags)


@dataclass(frozen=True)
class SelectInfo:
    uidvalidity: int
    uidnext: int
    exists: int
    highest_modseq: int | None


@dataclass(frozen=True)
class FetchedMeta:
    uid: int
    flags: tuple[str, ...]
    internal_date: datetime | None
    size: int
    header_bytes: bytes
    modseq: int | None
    gm_msgid: int | None
    preview: str


class _PinnedIMAP4(imaplib.IMAP4):
    """imaplib connection that dials a fixed address but keeps the host name for TLS."""

    def __init__(self, host: str, port: int, address: str, ssl_context: ssl.SSLContext | None, timeout: float,
                 config: ImapConfig | None = None, deadline: SocketDeadline | None = None):
        self._address = address
        self._deadline = deadline
        self._ssl_context = ssl_context
        self._config = config
        super().__init__(host, port, timeout)

    def read(self, size: int) -> bytes:
        # imaplib reads a literal whole into memory: refuse a huge one before reading a byte.
        limit = self._config.max_literal if self._config else None
        if limit is not None and size > limit:
            raise LiteralTooLarge(f"the server sent a literal of {size} bytes (the limit is {limit})",
                                  host=self.host, port=self.port)
        return super().read(size)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._address, self.port), timeout=timeout)
        if self._deadline is not None:
            self._deadline.attach(sock)
        if self._ssl_context is not None:
            return self._ssl_context.wrap_socket(sock, server_hostname=self.host)
        return sock


class _PinnedClient(IMAPClient):
    def __init__(self, endpoint: Endpoint, implicit_tls: bool, ssl_context: ssl.SSLContext, timeout: float,
                 config: ImapConfig | None = None, deadline: SocketDeadline | None = None):
        self._endpoint = endpoint
        self._config = config
        self.deadline = deadline
        self._implicit_tls = implicit_tls
        super().__init__(endpoint.host, endpoint.port, ssl=implicit_tls, ssl_context=ssl_context, timeout=timeout)
        # imapclient turns on imaplib's wire log at DEBUG: it would log LOGIN with the password.
        self._imap.debug = 0
        # Keep INTERNALDATE timezone-aware: normalising converts it to naive local time with
        # today's UTC offset, an hour off across daylight saving.
        self.normalise_times = False

    def _create_IMAP4(self):
        context = self.ssl_context if self._implicit_tls else None
        return _PinnedIMAP4(self._endpoint.host, self._endpoint.port, self._endpoint.address, context,
                            self._timeout.connect, self._config, self.deadline)


class ImapConnection:
    """One authenticated IMAP connection. Use as a context manager or call close()."""

    def __init__(self, client: IMAPClient, config: ImapConfig):
        self._client = client
        self.config = config
        self.capabilities = {c.decode().upper() for c in client.capabilities()}
        self.selected: str | None = None
        self.selected_readonly = False
        self.qresync_enabled = False
        self._personal_prefix: str | None = None

    # -- session --------------------------------------------------------------------------
    def __enter__(self) -> "ImapConnection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._client.logout()
        except Exception:  # the connection may already be gone; nothing to save
            with contextlib.suppress(Exception):
                self._client.shutdown()
        deadline = getattr(self._client, "deadline", None)
        if deadline is not None:
            deadline.cancel()

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    @contextmanager
    def _errors(self) -> Iterator[None]:
        with _deadline_errors(getattr(self._client, "deadline", None), self.config.endpoint), \
                network_errors(self.config.endpoint.host, self.config.endpoint.port, connected=True):
            try:
                yield
            except imap_exc.IMAPClientAbortError as exc:
                raise ConnectionDropped(str(exc), host=self.config.endpoint.host) from None
            except imaplib.IMAP4.abort as exc:
                raise ConnectionDropped(str(exc), host=self.config.endpoint.host) from None
            except imap_exc.IMAPClientError as exc:
                raise MailError(str(exc), host=self.config.endpoint.host) from None

    def enable_qresync(self) -> bool:
        """ENABLE QRESYNC (implies CONDSTORE); must happen before the first SELECT."""
        if self.qresync_enabled:
            return True
        if not self.has("QRESYNC"):
            return False
        with self._errors():
            enabled = self._client.enable("QRESYNC")
        self.qresync_enabled = bool(enabled)
        return self.qresync_enabled

    def noop(self) -> None:
        with self._errors():
            self._client.noop()

    def looks_alive(self) -> bool:
        """No round trip: a connection between commands has nothing to read, so anything waiting
        (the server's BYE, or the end of the stream after it hung up) means it is gone."""
        imap = self._client._imap
        sock = getattr(imap, "sock", None)
        if sock is None or sock.fileno() < 0:
            return False
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        try:
            readable, _w, _x = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    # -- folders --------------------------------------------------------------------------
    def release_selection(self) -> None:
        """Leave the selected folder. STATUS of the selected folder reports the session's own
        view, which lags behind changes other clients made (Dovecot does this on a kept
        connection): a pass that trusted it would skip real changes. UNSELECT never expunges;
        CLOSE could, so without UNSELECT a NOOP brings the view up to date instead."""
        if self.selected is None:
            return
        with self._errors():
            if self.has("UNSELECT"):
                self._client.unselect_folder()
            else:
                self._client.noop()
        self.selected = None

    def list_folders(self, *, with_status: bool = False) -> list[FolderInfo]:
        """LIST with SPECIAL-USE flags, and STATUS of every folder in the same round trip when
        the server offers LIST-STATUS (one round trip for the whole account)."""
        want_status = with_status and self.has("LIST-STATUS")
        if want_status:
            self.release_selection()
        returns = []
        if self.has("SPECIAL-USE"):
            returns.append("SPECIAL-USE")
        if want_status:
            items = "MESSAGES UIDNEXT UIDVALIDITY UNSEEN" + (" HIGHESTMODSEQ" if self.has("CONDSTORE") else "")
            returns.append(f"STATUS ({items})")
        args = ['""', '"*"']
        if returns:
            args += ["RETURN", "(" + " ".join(returns) + ")"]
        with self._errors():
            imap = self._client._imap
            typ, _ = imap._simple_command("LIST", *args)
            if typ != "OK":
                raise MailError("LIST failed", host=self.config.endpoint.host)
            list_lines = imap.untagged_responses.pop("LIST", [])
            status_lines = imap.untagged_responses.pop("STATUS", [])
        statuses = _parse_status_lines(status_lines, host=self.config.endpoint.host)
        return [FolderInfo(name=name, delimiter=delimiter, flags=flags, status=statuses.get(name))
                for flags, delimiter, name in _parse_list_lines(list_lines, host=self.config.endpoint.host)]

    def personal_prefix(self) -> str:
        """The prefix NAMESPACE gives the personal folders ("INBOX." on Courier), "" when there is
        none or the server has no NAMESPACE; asked once per connection."""
        if self._personal_prefix is None:
            prefix = ""
            personal = ()
            if self.has("NAMESPACE"):
                try:
                    with self._errors():
                        personal = self._client.namespace().personal or ()
                except ConnectionDropped:
                    raise
                except MailError:  # a NAMESPACE the server fumbles only costs the prettier names
                    personal = ()
                if personal:
                    prefix = personal[0][0] or ""
                    prefix = prefix.decode() if isinstance(prefix, bytes) else str(prefix)
            self._personal_prefix = prefix
        return self._personal_prefix

    def folder_status(self, name: str) -> dict:
        if name == self.selected:
            self.release_selection()
        items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"]
        if self.has("CONDSTORE"):
            items.append("HIGHESTMODSEQ")
        with self._errors():
            raw = self._client.folder_status(name, items)
        with _parse_errors("STATUS", self.config.endpoint.host):
            return {k.decode().upper(): int(v) for k, v in raw.items()}

    def create_folder(self, name: str) -> None:
        with self._errors():
            self._client.create_folder(name)

    def select(self, name: str, *, readonly: bool = False) -> SelectInfo:
        self.selected = None  # until the server says it is (a refused SELECT leaves none)
        with self._errors():
            info = self._client.select_folder(name, readonly=readonly)
        self.selected, self.selected_readonly = name, readonly
        modseq = info.get(b"HIGHESTMODSEQ")
        return SelectInfo(
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info.get(b"UIDNEXT", 0)),
            exists=int(info.get(b"EXISTS", 0)),
            highest_modseq=int(modseq) if modseq is not None else None,
        )

    def select_for_uids(self, name: str, *, readonly: bool = False) -> None:
        """Make `name` the selected folder for UID commands (fetch, flags, move). When a kept
        connection's last user left it selected in the same mode, a NOOP brings the session's
        view up to date (new mail, expunges) instead: a SELECT re-reads the folder's index, which
        on a large Maildir costs far more than the command that follows."""
        if self.selected == name and self.selected_readonly == readonly:
            self.noop()
            return
        self.select(name, readonly=readonly)

    # -- messages -------------------------------------------------------------------------
    def fetch_meta(self, uid_range: str) -> list[FetchedMeta]:
        """Metadata of the messages in a UID range ("lo:hi") of the selected folder. The
        responses go through the FETCH scanner (fetch_scanner.py), several times faster than
        imapclient's parser, which still reads whatever the scanner does not recognise."""
        with self._errors():
            by_uid, _fallbacks = scan_fetch(self._uid_fetch_records(uid_range, self.meta_items()))
        return [_meta_from_items(uid, data) for uid, data in by_uid.items()]

    def meta_items(self) -> list[str]:
        """The FETCH items of fetch_meta, as this server allows them."""
        items = ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", _HEADER_ITEM]
        if self.has("CONDSTORE"):
            items.append("MODSEQ")
        if self.has("X-GM-EXT-1"):
            items.append("X-GM-MSGID")
        if self.has("PREVIEW"):
            items.append("PREVIEW")
        return items

    def _uid_fetch_records(self, uid_range: str, items: list[str], modifiers: list[str] | None = None) -> list:
        """UID FETCH as imapclient's fetch() sends it (the same bytes on the wire), but the
        untagged records imaplib collected come back unparsed, for the FETCH scanner."""
        client = self._client
        imap = client._imap
        tag = imap._command("UID", "FETCH", join_message_ids(uid_range), seq_to_parenstr_upper(items),
                            seq_to_parenstr_upper(modifiers) if modifiers else None)  # imaplib skips None
        typ, data = imap._command_complete("FETCH", tag)
        client._checkok("fetch", typ, data)
        _typ, records = imap._untagged_response(typ, data, "FETCH")
        return records

    def fetch_flags(self, uid_range: str, *, changed_since: int | None = None) -> tuple[dict[int, tuple], set[int]]:
        """FLAGS of a range; with `changed_since` only what changed (CONDSTORE), and with
        QRESYNC enabled also the UIDs expunged since then (VANISHED). Returns (flags, vanished)."""
        modifiers = None
        if changed_since is not None:
            modifiers = [f"CHANGEDSINCE {changed_since}"]
            if self.qresync_enabled:
                modifiers.append("VANISHED")
        items = ["UID", "FLAGS"] + (["MODSEQ"] if changed_since is not None else [])
        with self._errors():
            # The FETCH scanner: a resync without CONDSTORE reads every message's flags.
            response, _fallbacks = scan_fetch(self._uid_fetch_records(uid_range, items, modifiers))
            vanished_lines = self._client._imap.untagged_responses.pop("VANISHED", [])
        flags = {uid: tuple(_flag(f) for f in data.get(b"FLAGS", ())) for uid, data in response.items()}
        return flags, _parse_vanished(vanished_lines)

    def fetch_uids(self, uid_range: str = "1:*") -> set[int]:
        """All UIDs of the selected folder. FETCH rather than SEARCH: imaplib caps one response
        line at 1 MB, which UID SEARCH ALL exceeds beyond about 140,000 messages."""
        with self._errors():
            response = self._client.fetch(uid_range, ["UID"])
        return {int(uid) for uid in response}

    def search_uids(self, uid_range: str) -> set[int]:
        """UIDs in a range, as compactly as the server allows (ESEARCH returns a sequence set
        such as 1:100000 instead of 100,000 numbers)."""
        if not self.has("ESEARCH"):
            return self.fetch_uids(uid_range)
        with self._errors():
            imap = self._client._imap
            typ, data = imap._simple_command("UID", "SEARCH", "RETURN", "(ALL)", "UID", uid_range)
            if typ != "OK":
                raise MailError(f"UID SEARCH failed: {data!r}", host=self.config.endpoint.host)
            lines = imap.untagged_responses.pop("ESEARCH", [])
        uids: set[int] = set()
        for line in _join_literals(lines):
            match = _ESEARCH_ALL_RE.search(line)
            if match:
                uids |= parse_uid_set(match.group(1).decode())
        return uids

    def search_header(self, name: str, value: str) -> set[int]:
        """UIDs in the selected folder whose header `name` contains `value` (SEARCH HEADER)."""
        with self._errors():
            return {int(uid) for uid in self._client.search(["HEADER", name, value])}

    def fetch_raw_many(self, uids: list[int]) -> dict[int, bytes]:
        """Whole messages of several UIDs in one round trip (BODY.PEEK: no \\Seen is set)."""
        if not uids:
            return {}
        with self._errors():
            response = self._client.fetch(uids, ["BODY.PEEK[]"])
        return {int(uid): data[b"BODY[]"] for uid, data in response.items() if data.get(b"BODY[]") is not None}

    def fetch_raw(self, uid: int) -> bytes | None:
        with self._errors():
            response = self._client.fetch([uid], ["BODY.PEEK[]"])
        data = response.get(uid)
        return None if data is None else data.get(b"BODY[]")

    def add_flags(self, uids: Iterable[int], flags: Iterable[str]) -> None:
        with self._errors():
            self._client.add_flags(list(uids), [f.encode() for f in flags], silent=True)

    def remove_flags(self, uids: Iterable[int], flags: Iterable[str]) -> None:
        with self._errors():
            self._client.remove_flags(list(uids), [f.encode() for f in flags], silent=True)

    def move(self, uids: list[int], destination: str) -> dict[int, int]:
        """Move messages; returns {old UID: new UID} when the server tells (UIDPLUS COPYUID)."""
        with self._errors():
            imap = self._client._imap
            imap.untagged_responses.pop("COPYUID", None)
            if self.has("MOVE"):
                tagged = self._client.move(uids, destination)
            else:
                tagged = self._client.copy(uids, destination)
                self._client.add_flags(uids, [b"\\Deleted"], silent=True)
                self._expunge(uids)
            untagged = imap.untagged_responses.pop("COPYUID", [])
        for source in [*(b"COPYUID " + line for line in _join_literals(untagged)), tagged]:
            mapping = _parse_copyuid(source)
            if mapping:
                return mapping
        return {}

    def copy(self, uids: list[int], destination: str) -> None:
        """Copy messages of the selected folder into another one (filters' "copy to")."""
        with self._errors():
            self._client.copy(uids, destination)

    def delete_permanently(self, uids: list[int]) -> None:
        with self._errors():
            self._client.add_flags(uids, [b"\\Deleted"], silent=True)
            self._expunge(uids)

    def _expunge(self, uids: list[int]) -> None:
        # UID EXPUNGE removes only these messages, not others another client marked \Deleted.
        if self.has("UIDPLUS"):
            self._client.uid_expunge(uids)
        else:
            self._client.expunge()

    def append(self, folder: str, raw: bytes, flags: Iterable[str] = (), when: datetime | None = None) -> None:
        with self._errors():
            self._client.append(folder, raw, flags=[f.encode() for f in flags], msg_time=when)

    # -- IDLE -----------------------------------------------------------------------------
    def idle_start(self) -> None:
        with self._errors():
            self._client.idle()

    def idle_wait(self, timeout: float) -> list:
        with self._errors():
            return self._client.idle_check(timeout=timeout)

    def idle_done(self) -> None:
        with self._errors():
            self._client.idle_done()


def connect(config: ImapConfig) -> ImapConnection:
    """Open, secure and authenticate a connection; errors come back as MailError subclasses."""
    endpoint = config.endpoint
    context = client_ssl_context()
    deadline = SocketDeadline(config.deadline) if config.deadline else None
    with _deadline_errors(deadline, endpoint), network_errors(endpoint.host, endpoint.port):
        try:
            client = _PinnedClient(endpoint, config.security == Security.SSL, context, config.timeout, config,
                                   deadline)
        except imaplib.IMAP4.error as exc:  # garbage greeting, or an IMAP older than IMAP4rev1
            if "IMAP4 compliant" in str(exc):
                raise MissingCapability(NO_IMAP4REV1, host=endpoint.host, port=endpoint.port) from None
            raise ProtocolError(str(exc), host=endpoint.host, port=endpoint.port) from None
    try:
        with _deadline_errors(deadline, endpoint), network_errors(endpoint.host, endpoint.port, connected=True):
            if config.security == Security.STARTTLS:
                try:
                    client.starttls(context)
                except imap_exc.IMAPClientError as exc:
                    raise ProtocolError(f"STARTTLS refused: {exc}", host=endpoint.host, port=endpoint.port) from None
            capabilities = {c.decode().upper() for c in client.capabilities()}
            if "IMAP4REV1" not in capabilities and "IMAP4REV2" not in capabilities:
                raise MissingCapability(NO_IMAP4REV1, host=endpoint.host, port=endpoint.port)
            try:
                if config.oauth2:
                    _oauth_login(client, config, capabilities)
                else:
                    _password_login(client, config, capabilities)
            except UnicodeError:
                raise PasswordNotEncodable(host=endpoint.host, port=endpoint.port) from None
            except imap_exc.LoginError as exc:
                raise AuthFailed(_strip_secret(str(exc), config.password), host=endpoint.host) from None
            except imap_exc.IMAPClientError as exc:
                raise AuthFailed(_strip_secret(str(exc), config.password), host=endpoint.host) from None
        client._cached_capabilities = None  # capabilities change after login
        return ImapConnection(client, config)
    except BaseException:
        with contextlib.suppress(Exception):
            client.shutdown()
        if deadline is not None:
            deadline.cancel()
        raise


def _password_login(client: IMAPClient, config: ImapConfig, capabilities: set[str]) -> None:
    """LOGIN where it can carry the credentials, AUTHENTICATE PLAIN (UTF-8, RFC 4616) where not.
    imaplib sends LOGIN's arguments as ASCII, so "pässwörd" cannot go that way; LOGIN stays the
    default because every server has it, PLAIN only where the server offers it."""
    if config.username.isascii() and config.password.isascii():
        client.login(config.username, config.password)
    elif "AUTH=PLAIN" in capabilities:
        client.plain_login(config.username, config.password)
    else:
        raise PasswordNotEncodable(host=config.endpoint.host, port=config.endpoint.port)


def sasl_bearer(mechanism: str, user: str, token: str, host: str, port: int) -> bytes:
    """The initial client response of SASL XOAUTH2 (Google's and Microsoft's) or OAUTHBEARER (RFC 7628)."""
    if mechanism == "OAUTHBEARER":
        return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def bearer_mechanism(offered: set[str]) -> str:
    """XOAUTH2, which Gmail and Office365 speak; OAUTHBEARER where the server offers only that."""
    if "OAUTHBEARER" in offered and "XOAUTH2" not in offered:
        return "OAUTHBEARER"
    return "XOAUTH2"


def _oauth_login(client: IMAPClient, config: ImapConfig, capabilities: set[str]) -> None:
    offered = {c.removeprefix("AUTH=") for c in capabilities if c.startswith("AUTH=")}
    mechanism = bearer_mechanism(offered)
    initial = sasl_bearer(mechanism, config.username, config.password, config.endpoint.host, config.endpoint.port)
    answered = []

    def respond(_challenge: bytes) -> bytes:
        # A refused token comes back as a challenge carrying a JSON error: the client answers it
        # with an empty response and the server then says NO (RFC 7628 3.2.3).
        if answered:
            return b""
        answered.append(True)
        return initial

    client._command_and_check("authenticate", mechanism, respond, unpack=True)


@contextmanager
def _deadline_errors(deadline: SocketDeadline | None, endpoint: Endpoint | None = None) -> Iterator[None]:
    """Whatever broke once the overall deadline shut the socket is a timeout, not a drop."""
    try:
        yield
    except (MailError, OSError, imaplib.IMAP4.error, imap_exc.IMAPClientError):
        if deadline is not None and deadline.expired:
            raise ConnectTimeout(f"no complete answer within {deadline.seconds:g} s",
                                 host=endpoint.host if endpoint else "",
                                 port=endpoint.port if endpoint else None) from None
        raise


# -- response helpers ---------------------------------------------------------------------------
def _meta_from_items(uid: int, data: dict) -> FetchedMeta:
    """FetchedMeta from one message's FETCH items, as imapclient's parser (or the scanner,
    which builds the same dict) returns them."""
    modseq = data.get(b"MODSEQ")
    preview = data.get(b"PREVIEW") or b""
    return FetchedMeta(
        uid=int(uid),
        flags=tuple(_flag(f) for f in data.get(b"FLAGS", ())),
        internal_date=data.get(b"INTERNALDATE"),
        size=int(data.get(b"RFC822.SIZE") or 0),
        header_bytes=data.get(_HEADER_KEY) or _find_header_item(data),
        modseq=int(modseq[0]) if modseq else None,
        gm_msgid=int(data[b"X-GM-MSGID"]) if b"X-GM-MSGID" in data else None,
        preview=preview.decode("utf-8", "replace") if isinstance(preview, bytes) else str(preview),
    )


def _flag(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _strip_secret(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
