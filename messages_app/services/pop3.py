"""POP3 download: new messages of each active box are APPENDed to the box's IMAP folder, where
the normal sync picks them up (and the arrival steps treat them as new mail).

Invariants:
- Nothing is downloaded twice: every UIDL gets a Pop3Seen row, written `appending` (with the
  content's hash and Message-ID) before the APPEND and `done` after it.
- A crash between the APPEND and `done` does not duplicate: a row still `appending` is first
  looked for in the folder (same Message-ID, or the same Date, and the same content hash).
- With delete-after-download a message is deleted on the POP3 server only once it is `done`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from messages_app.exceptions import MailError
from messages_app.mime.headers import header_items, parse_header_block
from messages_app.models import MailAccount, Pop3Box, Pop3Seen
from messages_app.services.connections import imap_connect, pop3_connect

logger = logging.getLogger(__name__)


@dataclass
class Pop3Result:
    downloaded: int = 0
    already_there: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)


def content_hash(raw: bytes) -> str:
    """The same message whatever line ends a server gives it."""
    normal = raw.replace(b"\r\n", b"\n").rstrip(b"\n \t")
    return hashlib.sha256(normal).hexdigest()


def pop3_box_save(*, box: Pop3Box, password: str | None = None) -> Pop3Box:
    if password is not None:
        box.set_password(password)
    box.folder = (box.folder or "INBOX").strip()
    box.full_clean(exclude=["account"])
    if not box.password_encrypted:
        raise ValidationError({"password": ["A POP3 box needs a password."]})
    box.save()
    return box


def pop3_box_delete(*, box_id: int, account_ids) -> bool:
    return bool(Pop3Box.objects.filter(pk=box_id, account_id__in=list(account_ids)).delete()[0])


def _already_in_folder(conn, folder: str, raw: bytes, row: Pop3Seen) -> bool:
    conn.select(folder, readonly=True)
    if row.message_id:
        uids = conn.search_header("Message-ID", row.message_id)
    else:
        dates = header_items(raw).get("date", [])
        uids = conn.search_header("Date", dates[0].strip()) if dates else set()
    candidates = sorted(uids)[-20:]
    return any(content_hash(found) == row.content_hash for found in conn.fetch_raw_many(candidates).values())


def _mark_done(row: Pop3Seen) -> None:
    Pop3Seen.objects.filter(pk=row.pk).update(state=Pop3Seen.State.DONE)


def pop3_fetch(*, box: Pop3Box) -> Pop3Result:
    """One download pass of one box. Errors are recorded on the box in words and re-raised."""
    result = Pop3Result()
    try:
        with pop3_connect(box) as pop, imap_connect(box.account) as imap:
            if box.folder not in {f.name for f in imap.list_folders()}:
                imap.create_folder(box.folder)
            on_server = pop.uidls()
            known = {row.uidl: row for row in Pop3Seen.objects.filter(box=box, uidl__in=list(on_server))}
            for uidl, number in on_server.items():
                row = known.get(uidl)
                if row is not None and row.state == Pop3Seen.State.DONE:
                    if box.delete_after_download:
                        pop.delete(number)
                        result.deleted += 1
                    continue
                raw = pop.retrieve(number)
                if row is None:
                    row = Pop3Seen.objects.create(box=box, uidl=uidl, content_hash=content_hash(raw),
                                                  message_id=parse_header_block(raw).message_id[:998])
                    there = False
                else:
                    there = _already_in_folder(imap, box.folder, raw, row)
                if there:
                    result.already_there += 1
                else:
                    imap.append(box.folder, raw)
                    result.downloaded += 1
                _mark_done(row)
                if box.delete_after_download:
                    pop.delete(number)
                    result.deleted += 1
    except MailError as exc:
        Pop3Box.objects.filter(pk=box.pk).update(last_error=exc.user_message(), last_fetched_at=timezone.now())
        raise
    Pop3Box.objects.filter(pk=box.pk).update(last_error="", last_fetched_at=timezone.now())
    return result


def pop3_fetch_boxes(*, account_id: int | None = None) -> Pop3Result:
    """A pass over every active box (of one account, or all); one box failing does not stop the rest."""
    total = Pop3Result()
    boxes = Pop3Box.objects.filter(is_active=True).select_related("account__owner")
    if account_id is not None:
        boxes = boxes.filter(account_id=account_id)
    for box in boxes:
        try:
            result = pop3_fetch(box=box)
        except MailError as exc:
            total.errors.append(f"{box}: {exc.user_message()}")
            logger.info("POP3 box %s: %s", box.pk, exc)
            continue
        total.downloaded += result.downloaded
        total.already_there += result.already_there
        total.deleted += result.deleted
    return total


def pop3_boxes_of(account: MailAccount):
    return Pop3Box.objects.filter(account=account)
