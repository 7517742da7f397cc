"""Local messages: mail that lives only here (Importata), made from whole RFC 822 messages.

The shape every producer uses (mail_import, undeliverable sent mail): a Message row with no
account and no folder, `local_owner` set, its whole source in MessageSource, its parsed body and
attachment list stored at once, filed into the owner's conversations.

Deduplicated by Message-ID plus a content hash (`import_key`): importing the same file twice, or
two files holding the same message, stores it once per owner.
"""

import hashlib
import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction

from messages_app.mime.headers import parse_header_block
from messages_app.mime.html_text import make_preview
from messages_app.models import Message, MessageSource
from messages_app.services.message_body import _store_body
from messages_app.sync.store import _lifecycle_headers
from messages_app.sync.threads import assign_threads

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BATCH = 200


def import_key(raw: bytes, message_id: str) -> str:
    digest = hashlib.sha256(message_id.encode() + b"\0" + hashlib.sha256(raw).digest()).hexdigest()[:40]
    return f"imp:{digest}"


def _normalise_newlines(raw: bytes) -> bytes:
    """mbox and Maildir files keep local line ends: the same message from both hashes the same."""
    return raw.replace(b"\r\n", b"\n")


def build_local_message(owner_id: int, raw: bytes) -> Message:
    headers = parse_header_block(raw)
    when = headers.date or _EPOCH
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return Message(
        account=None, folder=None, uid=None, local_owner_id=owner_id,
        dedup_key=import_key(_normalise_newlines(raw), headers.message_id),
        message_id=headers.message_id[:998], in_reply_to=headers.in_reply_to[:998],
        references=" ".join(headers.references)[:20000], subject=headers.subject[:1000],
        from_name=headers.from_name[:255], from_addr=headers.from_addr[:320],
        to=[list(pair) for pair in headers.to[:50]], cc=[list(pair) for pair in headers.cc[:50]],
        date=when, internal_date=when, size=len(raw), list_id=headers.list_id[:255],
        auto_submitted=headers.auto_submitted[:64], precedence=headers.precedence[:32],
        is_seen=True, **_lifecycle_headers(headers),
    )


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    message_ids: list[int] | None = None


def local_messages_create(*, owner, raws: list[bytes], seen_keys: set[str] | None = None) -> ImportResult:
    """Store these whole messages as local messages of `owner`, skipping the ones the owner
    already has (same Message-ID and content). One transaction per call."""
    result = ImportResult(message_ids=[])
    seen_keys = seen_keys if seen_keys is not None else set()
    rows, sources = [], {}
    for raw in raws:
        row = build_local_message(owner.pk, raw)
        if row.dedup_key in seen_keys:
            result.duplicates += 1
            continue
        seen_keys.add(row.dedup_key)
        rows.append(row)
        sources[row.dedup_key] = raw
    existing = set(Message.objects.filter(local_owner=owner, account__isnull=True,
                                          dedup_key__in=[r.dedup_key for r in rows])
                   .values_list("dedup_key", flat=True))
    result.duplicates += len(existing)
    rows = [row for row in rows if row.dedup_key not in existing]
    if not rows:
        return result
    with transaction.atomic():
        assign_threads(owner.pk, rows)
        Message.objects.bulk_create(rows, batch_size=500)
        MessageSource.objects.bulk_create([MessageSource(message=row, raw=sources[row.dedup_key]) for row in rows],
                                          batch_size=200)
        for row in rows:
            body = _store_body(row, sources[row.dedup_key])
            row.preview = make_preview(body.text, body.html)
            Message.objects.filter(pk=row.pk).update(preview=row.preview[:300])
    result.imported = len(rows)
    result.message_ids = [row.pk for row in rows]
    return result


def count_messages(path: Path) -> int:
    """How many messages a file or Maildir holds (for a progress bar), without parsing them."""
    if path.is_dir():
        return sum(len(os.listdir(path / sub)) for sub in ("cur", "new") if (path / sub).is_dir())
    with path.open("rb") as handle:
        head = handle.read(5)
        if head != b"From ":
            return 1
        handle.seek(0)
        return sum(1 for line in handle if line.startswith(b"From "))


def read_messages(path: Path) -> Iterator[bytes]:
    """The whole messages of an .eml file, an mbox file or a Maildir directory."""
    if path.is_dir():
        if not any((path / sub).is_dir() for sub in ("cur", "new")):
            raise ValueError(f"{path} is a directory but not a Maildir (no cur/ or new/)")
        box = mailbox.Maildir(str(path), factory=None, create=False)
        for key in box.iterkeys():
            yield box.get_bytes(key)
        return
    with path.open("rb") as handle:
        head = handle.read(5)
    if head == b"From ":
        box = mailbox.mbox(str(path), factory=None, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key)
        finally:
            box.close()
        return
    yield path.read_bytes()
