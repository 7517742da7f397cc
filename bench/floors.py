"""The floors, measured in the same run as the product: what the server, the IMAP client library
and the database can do at best with exactly the product's work.

- raw: one `UID FETCH 1:* (<the product's items>)` over a plain socket; the reply is read and
  framed (literals skipped by length) but not parsed. The item list is captured from the
  product's own `fetch_meta` on the wire, so it stays exact when the product changes it.
- imapclient: the same items through the client library the product uses, in the product's
  batch size, parsed into dicts (what `fetch_meta` receives before building its dataclasses).
- copy: prebuilt rows COPYed into the product's message table (its indexes, its generated
  search column) inside a transaction that is rolled back; `orm`: the same rows through
  `bulk_create`, which is what the product's store calls.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from dataclasses import dataclass

from imapclient import IMAPClient, imap_utf7


@dataclass
class FloorResult:
    messages: int
    seconds: float
    bytes: int = 0
    stages: dict | None = None

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        out = {"messages": self.messages, "s": round(self.seconds, 3), "msgs_per_s": round(self.per_s)}
        if self.bytes:
            out["mb"] = round(self.bytes / 1e6, 1)
        if self.stages:
            out["stages"] = self.stages
        return out


def capture_fetch_items(conn, uid: int = 1) -> str:
    """The parenthesised item list the product's fetch_meta sends, read off the wire."""
    imap = conn._client._imap
    sent: list[bytes] = []
    original = imap.send

    def recording_send(data):
        sent.append(bytes(data))
        return original(data)

    imap.send = recording_send
    try:
        conn.fetch_meta(str(uid))
    finally:
        imap.send = original
    wire = b"".join(sent).decode("ascii", "replace")
    match = re.search(r"UID FETCH \S+ (\(.*\))\s*$", wire.strip(), re.IGNORECASE | re.DOTALL)
    if not match:
        raise RuntimeError(f"could not read the FETCH items from {wire!r}")
    return match.group(1)


class RawImap:
    """Just enough IMAP over a socket to log in, select and time a FETCH."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.tag = 0
        self.received = 0
        self._line()  # greeting

    def _fill(self) -> None:
        if self.pos > 1 << 22:
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.received += len(chunk)
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def command(self, text: str) -> tuple[bytes, int]:
        """Send a command; read to its tagged reply. Returns (tagged line, FETCH responses seen)."""
        self.tag += 1
        tag = f"B{self.tag:04d}".encode()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        fetches = 0
        while True:
            line = self._line()
            if line.endswith(b"}"):  # a literal follows: skip it by length, the response goes on
                size = int(line[line.rindex(b"{") + 1:-1].rstrip(b"+"))
                while len(self.buf) - self.pos < size:
                    self._fill()
                self.pos += size
            if line.startswith(b"* ") and b" FETCH " in line[:40]:
                fetches += 1
            elif line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text.split()[0]} failed: {line!r}")
                return line, fetches

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the server hangs up after BYE; nothing to save
            self.command("LOGOUT")
        self.sock.close()


def raw_fetch(host: str, port: int, login: str, password: str, folder: str, items: str,
              *, qresync: bool = True) -> FloorResult:
    imap = RawImap(host, port)
    try:
        imap.command(f'LOGIN "{login}" "{password}"')
        if qresync:
            imap.command("ENABLE QRESYNC")
        imap.command(f'EXAMINE "{imap_utf7.encode(folder).decode("ascii")}"')
        before = imap.received
        started = time.perf_counter()
        _tagged, fetches = imap.command(f"UID FETCH 1:* {items}")
        seconds = time.perf_counter() - started
        return FloorResult(fetches, seconds, imap.received - before)
    finally:
        imap.close()


def _items_list(items: str) -> list[str]:
    """'(UID FLAGS BODY.PEEK[HEADER.FIELDS (A B)])' -> ['UID', 'FLAGS', 'BODY.PEEK[HEADER.FIELDS (A B)]']."""
    inner = items.strip()[1:-1]
    parts, depth, current = [], 0, []
    for char in inner:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == " " and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def imapclient_fetch(host: str, port: int, login: str, password: str, folder: str, items: str,
                     batch: int, *, qresync: bool = True) -> FloorResult:
    client = IMAPClient(host, port, ssl=False, timeout=60)
    client.normalise_times = False
    try:
        client.login(login, password)
        if qresync and b"QRESYNC" in client.capabilities():
            client.enable("QRESYNC")
        info = client.select_folder(folder, readonly=True)
        top = int(info[b"UIDNEXT"]) - 1
        wanted = _items_list(items)
        count = 0
        started = time.perf_counter()
        # Newest first in the product's batch size, as the first sync does.
        for high in range(top, 0, -batch):
            low = max(1, high - batch + 1)
            count += len(client.fetch(f"{low}:{high}", wanted))
        return FloorResult(count, time.perf_counter() - started)
    finally:
        with contextlib.suppress(Exception):
            client.logout()


class _Rollback(Exception):
    pass


def insert_floors(metas: list, orm_sample: int) -> dict:
    """COPY every prebuilt row, then bulk_create a sample, each in a rolled-back transaction."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from bench.bulkload import RowFactory, copy_rows, message_columns
    from messages_app.models import Folder, MailAccount, Message

    columns = message_columns()
    results = {}

    def scratch_folder():
        user = get_user_model().objects.create_user("floor-scratch")
        account = MailAccount.objects.create(owner=user, username="floor", email="floor@postino.test",
                                             description="floor", imap_host="127.0.0.1", smtp_host="127.0.0.1")
        return account, Folder.objects.create(account=account, name="INBOX")

    # COPY: rows prebuilt as tuples before the clock starts.
    try:
        with transaction.atomic():
            account, folder = scratch_folder()
            factory = RowFactory(columns, account.pk, folder.pk)
            rows = [factory.row(meta, uid) for uid, meta in enumerate(metas, start=1)]
            raw = connection.cursor().cursor
            started = time.perf_counter()
            copied = copy_rows(raw, "messages_app_message", columns, rows)
            results["copy"] = FloorResult(copied, time.perf_counter() - started)
            raise _Rollback
    except _Rollback:
        pass
    # bulk_create of Message objects, as store.store_new_messages does (batch_size=1000).
    try:
        with transaction.atomic():
            account, folder = scratch_folder()
            objects = []
            for uid, meta in enumerate(metas[:orm_sample], start=1):
                objects.append(Message(
                    folder_id=folder.pk, account_id=account.pk, uid=uid, dedup_key=f"h:{uid}",
                    message_id=meta.message_id, in_reply_to=meta.in_reply_to, references=" ".join(meta.references),
                    subject=meta.subject, from_name=meta.from_name, from_addr=meta.from_addr,
                    to=[list(p) for p in meta.to], cc=[], date=meta.date, internal_date=meta.date, size=meta.size,
                    preview=meta.preview, has_attachments=meta.has_attachments, is_seen=meta.seen,
                    is_flagged=meta.flagged, is_answered=meta.answered, keywords=[],
                ))
            started = time.perf_counter()
            Message.objects.bulk_create(objects, batch_size=1000)
            results["orm"] = FloorResult(len(objects), time.perf_counter() - started)
            raise _Rollback
    except _Rollback:
        pass
    return results


def idle_floor(host: str, port: int, login: str, password: str, samples: int) -> list[float]:
    """Seconds from an APPEND (another connection) to the `* n EXISTS` pushed to an idling
    client: what the server itself takes to notify (Dovecot 2.3 waits about half a second)."""
    from bench.mailgen import MailboxGenerator

    watcher = IMAPClient(host, port, ssl=False, timeout=60)
    writer = IMAPClient(host, port, ssl=False, timeout=60)
    latencies = []
    try:
        watcher.login(login, password)
        writer.login(login, password)
        watcher.select_folder("INBOX", readonly=True)
        watcher.idle()
        for item in MailboxGenerator(f"idle-floor-{login}", samples):
            started = time.perf_counter()
            writer.append("INBOX", item.raw)
            while True:
                responses = watcher.idle_check(timeout=10)
                if not responses:
                    raise TimeoutError("no EXISTS within 10 s")
                if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                    break
            latencies.append(time.perf_counter() - started)
        watcher.idle_done()
    finally:
        for client in (watcher, writer):
            with contextlib.suppress(Exception):
                client.logout()
    return latencies


def open_floor(host: str, port: int, login: str, password: str, uids: list[int]) -> list[float]:
    """Per message: connect, LOGIN, EXAMINE INBOX, UID FETCH BODY.PEEK[], LOGOUT (what the
    product's first open does on the wire, with no parsing, database or rendering)."""
    latencies = []
    for uid in uids:
        started = time.perf_counter()
        client = IMAPClient(host, port, ssl=False, timeout=60)
        client.login(login, password)
        client.select_folder("INBOX", readonly=True)
        client.fetch([uid], ["BODY.PEEK[]"])
        client.logout()
        latencies.append(time.perf_counter() - started)
    return latencies


def fetch_body_kept_floor(host: str, port: int, login: str, password: str, uids: list[int],
                          folder: str = "INBOX") -> list[float]:
    """Per message: one UID FETCH BODY.PEEK[] on a connection logged in and with the folder
    selected beforehand (not timed): what a first open costs on the wire at best once the
    connection is kept, with no parsing, database or rendering."""
    latencies = []
    client = IMAPClient(host, port, ssl=False, timeout=60)
    try:
        client.login(login, password)
        client.select_folder(folder, readonly=True)
        for uid in uids:
            started = time.perf_counter()
            client.fetch([uid], ["BODY.PEEK[]"])
            latencies.append(time.perf_counter() - started)
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return latencies
