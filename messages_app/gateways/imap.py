"""A narrow IMAP adapter over imapclient: connect, log in, and the handful of commands the sync
and the write path need. Nothing outside gateways/ imports imapclient.

Connections go to the address netguard checked (Endpoint.address) while TLS verifies the name.
"""

import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc
from imapclient.imap_utf7 import decode as utf7_decode
from imapclient.response_parser import parse_response

from messages_app.enums import Security
from messages_app.exceptions import AuthFailed, ConnectionDropped, MailError, PasswordNotEncodable, ProtocolError
from messages_app.gateways.errors import client_ssl_context, network_errors
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
    password: str = field(repr=False, default="")
    timeout: float = 15.0


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

    def __init__(self, host: str, port: int, address: str, ssl_context: ssl.SSLContext | None, timeout: float):
        self._address = address
        self._ssl_context = ssl_context
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._address, self.port), timeout=timeout)
        if self._ssl_context is not None:
            return self._ssl_context.wrap_socket(sock, server_hostname=self.host)
        return sock


class _PinnedClient(IMAPClient):
    def __init__(self, endpoint: Endpoint, implicit_tls: bool, ssl_context: ssl.SSLContext, timeout: float):
        self._endpoint = endpoint
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
                            self._timeout.connect)


class ImapConnection:
    """One authenticated IMAP connection. Use as a context manager or call close()."""

    def __init__(self, client: IMAPClient, config: ImapConfig):
        self._client = client
        self.config = config
        self.capabilities = {c.decode().upper() for c in client.capabilities()}
        self.selected: str | None = None
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

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    @contextmanager
    def _errors(self) -> Iterator[None]:
        with network_errors(self.config.endpoint.host, self.config.endpoint.port, connected=True):
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
        statuses = _parse_status_lines(status_lines)
        folders = []
        for line in _join_literals(list_lines):
            flags, delimiter, raw_name = parse_response([line])
            name = _decode_name(raw_name)
            folders.append(FolderInfo(
                name=name,
                delimiter=delimiter.decode() if isinstance(delimiter, bytes) else (delimiter or ""),
                flags=tuple(f.decode() if isinstance(f, bytes) else str(f) for f in flags),
                status=statuses.get(name),
            ))
        return folders

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
        return {k.decode().upper(): int(v) for k, v in raw.items()}

    def create_folder(self, name: str) -> None:
        with self._errors():
            self._client.create_folder(name)

    def select(self, name: str, *, readonly: bool = False) -> SelectInfo:
        with self._errors():
            info = self._client.select_folder(name, readonly=readonly)
        self.selected = name
        modseq = info.get(b"HIGHESTMODSEQ")
        return SelectInfo(
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info.get(b"UIDNEXT", 0)),
            exists=int(info.get(b"EXISTS", 0)),
            highest_modseq=int(modseq) if modseq is not None else None,
        )

    # -- messages -------------------------------------------------------------------------
    def fetch_meta(self, uid_range: str) -> list[FetchedMeta]:
        """Metadata of the messages in a UID range ("lo:hi") of the selected folder."""
        items = ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", _HEADER_ITEM]
        if self.has("CONDSTORE"):
            items.append("MODSEQ")
        if self.has("X-GM-EXT-1"):
            items.append("X-GM-MSGID")
        if self.has("PREVIEW"):
            items.append("PREVIEW")
        with self._errors():
            response = self._client.fetch(uid_range, items)
        fetched = []
        for uid, data in response.items():
            modseq = data.get(b"MODSEQ")
            preview = data.get(b"PREVIEW") or b""
            fetched.append(FetchedMeta(
                uid=int(uid),
                flags=tuple(_flag(f) for f in data.get(b"FLAGS", ())),
                internal_date=data.get(b"INTERNALDATE"),
                size=int(data.get(b"RFC822.SIZE") or 0),
                header_bytes=data.get(_HEADER_KEY) or _find_header_item(data),
                modseq=int(modseq[0]) if modseq else None,
                gm_msgid=int(data[b"X-GM-MSGID"]) if b"X-GM-MSGID" in data else None,
                preview=preview.decode("utf-8", "replace") if isinstance(preview, bytes) else str(preview),
            ))
        return fetched

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
            response = self._client.fetch(uid_range, items, modifiers=modifiers)
            vanished_lines = self._client._imap.untagged_responses.pop("VANISHED", [])
        flags = {int(uid): tuple(_flag(f) for f in data.get(b"FLAGS", ())) for uid, data in response.items()}
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
    with network_errors(endpoint.host, endpoint.port):
        try:
            client = _PinnedClient(endpoint, config.security == Security.SSL, context, config.timeout)
        except imaplib.IMAP4.error as exc:  # garbage greeting, or an IMAP older than IMAP4rev1
            detail = NO_IMAP4REV1 if "IMAP4 compliant" in str(exc) else str(exc)
            raise ProtocolError(detail, host=endpoint.host, port=endpoint.port) from None
    try:
        with network_errors(endpoint.host, endpoint.port, connected=True):
            if config.security == Security.STARTTLS:
                try:
                    client.starttls(context)
                except imap_exc.IMAPClientError as exc:
                    raise ProtocolError(f"STARTTLS refused: {exc}", host=endpoint.host, port=endpoint.port) from None
            capabilities = {c.decode().upper() for c in client.capabilities()}
            if "IMAP4REV1" not in capabilities and "IMAP4REV2" not in capabilities:
                raise ProtocolError(NO_IMAP4REV1, host=endpoint.host, port=endpoint.port)
            try:
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


# -- response helpers ---------------------------------------------------------------------------
def _flag(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _strip_secret(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _decode_name(raw) -> str:
    if isinstance(raw, int):
        raw = str(raw).encode()
    if isinstance(raw, str):
        raw = raw.encode()
    return utf7_decode(raw)


def _find_header_item(data: dict) -> bytes:
    for key, value in data.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[HEADER"):
            return value or b""
    return b""


def _join_literals(lines: list) -> list[bytes]:
    """imaplib returns a line with a literal as a tuple (prefix, literal); flatten it back."""
    joined = []
    for line in lines:
        if isinstance(line, tuple):
            prefix, literal = line
            joined.append(prefix + literal)
        elif line is not None:
            joined.append(line)
    return joined


def _parse_status_lines(lines: list) -> dict[str, dict]:
    statuses = {}
    for line in _join_literals(lines):
        parsed = parse_response([line])
        if len(parsed) < 2:
            continue
        name, values = _decode_name(parsed[0]), parsed[1]
        statuses[name] = {
            values[i].decode().upper(): int(values[i + 1]) for i in range(0, len(values) - 1, 2)
        }
    return statuses


_ESEARCH_ALL_RE = re.compile(rb"\bALL\s+([0-9:,]+)", re.IGNORECASE)
_VANISHED_RE = re.compile(rb"^\(EARLIER\)\s+(.*)$", re.IGNORECASE)


def _parse_vanished(lines: list) -> set[int]:
    uids: set[int] = set()
    for line in _join_literals(lines):
        match = _VANISHED_RE.match(line.strip())
        text = match.group(1) if match else line.strip()
        uids |= parse_uid_set(text.decode())
    return uids


_COPYUID_RE = re.compile(rb"COPYUID\s+(\d+)\s+([0-9:,]+)\s+([0-9:,]+)")


def _expand_ordered(text: str) -> list[int]:
    uids: list[int] = []
    for chunk in text.split(","):
        if ":" in chunk:
            low, high = (int(x) for x in chunk.split(":", 1))
            step = 1 if high >= low else -1
            uids.extend(range(low, high + step, step))
        elif chunk:
            uids.append(int(chunk))
    return uids


def _parse_copyuid(value) -> dict[int, int]:
    """COPYUID <uidvalidity> <source set> <destination set>: the sets pair up in order."""
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        return {}
    match = _COPYUID_RE.search(value)
    if not match:
        return {}
    source = _expand_ordered(match.group(2).decode())
    target = _expand_ordered(match.group(3).decode())
    return dict(zip(source, target, strict=False)) if len(source) == len(target) else {}


def parse_uid_set(text: str) -> set[int]:
    uids: set[int] = set()
    for chunk in text.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        if ":" in chunk:
            low, high = (int(x) for x in chunk.split(":", 1))
            uids.update(range(min(low, high), max(low, high) + 1))
        else:
            uids.add(int(chunk))
    return uids
