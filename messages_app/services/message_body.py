"""Bodies on first open: fetched from IMAP, parsed, stored with the attachment list, reused after.

The raw message is kept in the cache for a few minutes, so the inline images and attachments of
a message just opened do not each cost another download.
"""

import io
import logging
import re
import zipfile
from collections.abc import Iterator

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from messages_app.exceptions import MailError
from messages_app.mailbox.search import index_bodies, index_body
from messages_app.mime.html_text import html_to_text
from messages_app.mime.parse import get_part_payload, iter_part_payloads, parse_message
from messages_app.models import Attachment, MailAccount, Message, MessageBody, MessageSource
from messages_app.services.imap_session import imap_call, imap_session, raw_recall, raw_remember
from messages_app.services.message_actions import message_flags_set

logger = logging.getLogger(__name__)

RAW_CACHE_SECONDS = 600
RAW_CACHE_MAX_BYTES = 5 * 1024 * 1024
ZIP_MAX_BYTES = 100 * 1024 * 1024  # content of one "download all": bounded memory and time
# One FETCH asks for this many messages at most, and for fewer when their sizes (RFC822.SIZE, as
# the sync stored it) add up to more than PREFETCH_BATCH_BYTES: few round trips, bounded memory.
PREFETCH_BATCH = 500
PREFETCH_BATCH_BYTES = 16 * 1024 * 1024


class MessageGone(MailError):
    """The server no longer has the message (moved or deleted by another client)."""

    permanent = True


def _raw_key(message: Message) -> str:
    return f"postino:raw:{message.pk}:{message.folder_id}:{message.uid}"


def message_raw(message: Message) -> bytes:
    """The whole message: the kept source when there is one (local messages, and those something
    refers to), else as the server has it (BODY.PEEK: reading it sets no flag)."""
    kept = MessageSource.objects.filter(message_id=message.pk).values_list("raw", flat=True).first()
    if kept is not None:
        return bytes(kept)
    if message.folder_id is None:
        raise MessageGone(_("The stored copy of this message is missing."))
    raw = cache.get(_raw_key(message))
    if raw is not None:
        return raw
    folder_name, uid = message.folder.name, message.uid

    def fetch(conn) -> bytes | None:
        # Read-write, as marking it read next selects it (BODY.PEEK sets no flag either way):
        # on a kept connection the second costs a NOOP, not another SELECT.
        conn.select_for_uids(folder_name)
        return conn.fetch_raw(uid)

    raw = imap_call(message.account, fetch)  # a kept connection: no login per open
    if raw is None:
        raise MessageGone(f"UID {message.uid} is no longer in {message.folder.name}")
    if len(raw) <= RAW_CACHE_MAX_BYTES:
        cache.set(_raw_key(message), raw, RAW_CACHE_SECONDS)
    return raw


def message_body_get(*, message: Message) -> MessageBody:
    """The stored body, or fetch, parse and store it now. Raises MailError when the server
    cannot deliver it (unreachable: transient; message gone: MessageGone)."""
    body = MessageBody.objects.filter(message=message).first()
    if body is not None:
        return body
    return _store_body(message, message_raw(message))


def _parse_for_reading(message: Message, raw: bytes):
    """A PEC envelope is read as the message it carries (postacert.eml), with that message's
    attachments; anything else as itself."""
    if message.x_trasporto:
        from messages_app.pec.envelope import parse_inner

        inner = parse_inner(raw)
        if inner is not None:
            return inner
    return parse_message(raw)


def _body_fields(parsed) -> dict:
    # HTML-only mail gets its visible text here too: it is what search reads.
    return {"text": parsed.text or html_to_text(parsed.html), "html": parsed.html, "notes": parsed.notes}


def _attachment_rows(message: Message, parsed) -> list[Attachment]:
    return [Attachment(message=message, part_path=part.part_path, filename=part.filename[:255],
                       content_type=part.content_type[:255], size=part.size,
                       content_id=part.content_id[:255], is_inline=inline)
            for inline, parts in ((True, parsed.inline_parts), (False, parsed.attachments))
            for part in parts]


def _store_body(message: Message, raw: bytes) -> MessageBody:
    parsed = _parse_for_reading(message, raw)
    with transaction.atomic():
        # The message row's lock orders this against a batch storing the same body (_store_bodies).
        list(Message.objects.select_for_update().filter(pk=message.pk).values_list("pk", flat=True))
        body, created = MessageBody.objects.get_or_create(message=message, defaults=_body_fields(parsed))
        if created:
            Attachment.objects.bulk_create(_attachment_rows(message, parsed))
            # The sync guessed from the top-level content type; now we know. A row already right
            # is not rewritten (an UPDATE writes a new version of the whole row and its indexes).
            Message.objects.filter(pk=message.pk).exclude(has_attachments=bool(parsed.attachments)) \
                .update(has_attachments=bool(parsed.attachments))
            index_body(message.pk, body.text)
    return body


def message_source_keep(*, message: Message) -> MessageSource:
    """Keep the whole message here (and its parsed body), so that it keeps every part should the
    server drop it: called by whatever starts referring to a message (a CRM link, a share)."""
    kept = MessageSource.objects.filter(message=message).first()
    if kept is not None:
        return kept
    raw = message_raw(message)
    if not MessageBody.objects.filter(message=message).exists():
        _store_body(message, raw)
    kept, _created = MessageSource.objects.get_or_create(message=message, defaults={"raw": raw})
    return kept


def message_bodies_prefetch(*, account: MailAccount, limit: int = 500) -> int:
    """Fetch the bodies not fetched yet (newest first), so that search finds words beyond the
    preview in mail nobody opened (the history a first sync stored). Returns how many were stored."""
    ids = list(Message.objects.filter(account=account, body__isnull=True, folder__isnull=False)
               .order_by("-date", "-id").values_list("pk", flat=True)[:limit])
    return message_bodies_fetch(message_ids=ids)


def message_mark_read_on_open(*, user, message: Message) -> None:
    """Opening marks read (on the server first, like every action); a failure must not stop
    the user from reading, so it is logged and left for the next open."""
    if message.is_seen:
        return
    try:
        message_flags_set(user=user, message_ids=[message.pk], add=("\\Seen",))
    except MailError as exc:
        logger.warning("could not mark message %s read: %s", message.pk, exc)
        return
    message.is_seen = True


def attachment_payload(*, attachment: Attachment) -> bytes:
    return get_part_payload(message_raw(attachment.message), attachment.part_path)


# What Windows refuses in a file name (Explorer fails the whole extraction on one bad entry):
# the reserved characters, control characters, trailing dots and spaces, and device names.
_WINDOWS_FORBIDDEN_RE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_WINDOWS_DEVICE_RE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)", re.IGNORECASE)


def windows_safe_name(name: str) -> str:
    name = _WINDOWS_FORBIDDEN_RE.sub("_", name).rstrip(". ")
    return f"_{name}" if _WINDOWS_DEVICE_RE.match(name) else name


def unique_names(names: list[str]) -> list[str]:
    """Names for a zip: never a path, safe on Windows, never twice the same ("a.pdf", "a (2).pdf")."""
    used: set[str] = set()
    next_copy: dict[str, int] = {}  # where the search for a free "(n)" resumes: linear, not quadratic
    result = []
    for index, name in enumerate(names, start=1):
        name = windows_safe_name(name or "").lstrip(".") or f"attachment-{index}"
        stem, dot, extension = name.rpartition(".")
        if not dot:
            stem, extension = name, ""
        candidate, copy = name, next_copy.get(name.lower(), 2)
        while candidate.lower() in used:
            candidate = f"{stem} ({copy}){dot}{extension}"
            copy += 1
        next_copy[name.lower()] = copy
        used.add(candidate.lower())
        result.append(candidate)
    return result


class ZipTooLarge(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("These attachments are too large to download together: download them one by one.")


def attachments_zip(*, message: Message, attachments: list[Attachment]) -> bytes:
    """One zip of the attachments, from one parse of the message (not one per attachment), and
    no bigger than ZIP_MAX_BYTES of content (the parser's own limits bound its time)."""
    raw = message_raw(message)
    buffer = io.BytesIO()
    names = unique_names([a.filename for a in attachments])
    total = 0
    payloads = iter_part_payloads(raw, [a.part_path for a in attachments])
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, (_path, payload) in zip(names, payloads, strict=True):
            total += len(payload)
            if total > ZIP_MAX_BYTES:
                raise ZipTooLarge(f"attachments of message {message.pk} exceed {ZIP_MAX_BYTES} bytes")
            archive.writestr(name, payload)
    return buffer.getvalue()


def _batches(messages: list[Message]) -> Iterator[list[Message]]:
    """Runs of at most PREFETCH_BATCH messages and PREFETCH_BATCH_BYTES (a bigger one alone)."""
    batch: list[Message] = []
    size = 0
    for message in messages:
        if batch and (len(batch) >= PREFETCH_BATCH or size + message.size > PREFETCH_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.size
    if batch:
        yield batch


def _server_raw_batches(messages: list[Message]) -> Iterator[list[tuple[Message, bytes]]]:
    """Lists of (message, raw) for messages in folders, in UID order: one connection per account
    (the run's, or a kept one: see imap_session), one `UID FETCH <set> (BODY.PEEK[])` per batch.
    What the run fetched already is not downloaded again; a message the server no longer has is
    skipped (the next pass detaches it)."""
    by_folder: dict[int, list[Message]] = {}
    recalled = []
    for message in sorted(messages, key=lambda m: (m.account_id, m.folder_id, m.uid)):
        if (raw := raw_recall(message.pk)) is not None:
            recalled.append((message, raw))
        else:
            by_folder.setdefault(message.folder_id, []).append(message)
    if recalled:
        yield recalled
    for folder_messages in by_folder.values():
        with imap_session(folder_messages[0].account) as conn:
            # The listener lends its connection with the Inbox selected: a NOOP, not a SELECT
            # that re-reads a big Maildir's index for each new message.
            conn.select_for_uids(folder_messages[0].folder.name, readonly=True)
            for chunk in _batches(folder_messages):
                raws = conn.fetch_raw_many([m.uid for m in chunk])
                found = []
                for message in chunk:
                    if (raw := raws.get(message.uid)) is not None:
                        raw_remember(message.pk, raw)
                        found.append((message, raw))
                yield found


def _server_raws(messages: list[Message]) -> Iterator[tuple[Message, bytes]]:
    for batch in _server_raw_batches(messages):
        yield from batch


def _store_bodies(fetched: list[tuple[Message, bytes]]) -> int:
    """_store_body for a batch: parsed first, then one transaction with the rows in bulk. A body
    stored meanwhile (an open) is left as it is; a message deleted meanwhile is skipped."""
    parsed = [(message, _parse_for_reading(message, raw)) for message, raw in fetched]
    if not parsed:
        return 0
    with transaction.atomic():
        ids = [message.pk for message, _parsed in parsed]
        present = set(Message.objects.select_for_update().filter(pk__in=ids).order_by("pk")
                      .values_list("pk", flat=True))
        present -= set(MessageBody.objects.filter(message_id__in=ids).values_list("message_id", flat=True))
        fresh = [(message, item) for message, item in parsed if message.pk in present]
        bodies = [MessageBody(message=message, **_body_fields(item)) for message, item in fresh]
        MessageBody.objects.bulk_create(bodies, batch_size=500)
        Attachment.objects.bulk_create([row for message, item in fresh for row in _attachment_rows(message, item)],
                                       batch_size=1000)
        # The sync guessed from the top-level content type; now we know (rows already right stay).
        for value in (True, False):
            Message.objects.filter(pk__in=[m.pk for m, item in fresh if bool(item.attachments) == value]) \
                .exclude(has_attachments=value).update(has_attachments=value)
        index_bodies({body.message_id: body.text for body in bodies})
    return len(fresh)


def message_bodies_fetch(*, message_ids: list[int]) -> int:
    """Fetch and store the bodies of these messages that have none yet. Idempotent. Returns how
    many were stored."""
    pending = list(Message.objects.filter(pk__in=message_ids, body__isnull=True, folder__isnull=False)
                   .select_related("folder", "account"))
    return sum(_store_bodies(batch) for batch in _server_raw_batches(pending))


def message_sources_keep(*, message_ids: list[int]) -> int:
    """message_source_keep for many messages. Messages already kept, local or detached are
    skipped, and so are those the server no longer has. Returns how many were kept."""
    pending = list(Message.objects.filter(pk__in=message_ids, source__isnull=True, folder__isnull=False)
                   .select_related("folder", "account"))
    kept = 0
    for message, raw in _server_raws(pending):
        if not MessageBody.objects.filter(message=message).exists():
            _store_body(message, raw)
        MessageSource.objects.get_or_create(message=message, defaults={"raw": raw})
        kept += 1
    return kept
