"""Writing mail: a message from the compose page queued through the outbox, its draft kept in the
account's Drafts folder on the server (one copy, replaced on each save), and what happens once it
has left (the original flagged \\Answered or $Forwarded, the draft removed).

Invariants:
- The body the user wrote and the quoted original are sanitized here, whatever the page sent.
- The signature of the From account is added here, once, above the quoted text.
- A draft is identified by its X-Postino-Draft-Id header: a save APPENDs the new version, then
  deletes every older one with that id, so the folder never holds two copies for long.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email import policy as email_policy
from email.parser import BytesParser
from email.utils import getaddresses

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from messages_app.enums import FolderRole, OutboxState, PendingActionKind
from messages_app.exceptions import MailError
from messages_app.mime.build import (
    Attachment,
    InlineImage,
    as_bytes,
    build_message,
    new_content_id,
    new_message_id,
    reply_headers,
)
from messages_app.mime.reply import format_address_list, split_saved_body
from messages_app.mime.sanitize import clean_html
from messages_app.models import ComposeUpload, Folder, MailAccount, Message, OutgoingContext, OutgoingMessage
from messages_app.selectors import own_accounts, sender_accounts_for, visible_messages
from messages_app.selectors.uploads import own_uploads
from messages_app.services.connections import imap_connect
from messages_app.services.outbox import SenderNotAllowed, outbox_cancel, outbox_queue, role_folder_name
from messages_app.services.signatures import signature_for
from messages_app.signatures import signature_text
from messages_app.signatures.placement import with_signature
from messages_app.sync.pending import apply_action

logger = logging.getLogger(__name__)

DRAFT_HEADER = "X-Postino-Draft-Id"
BCC_HEADER = "X-Postino-Bcc"
CONTEXT_HEADER = "X-Postino-Context"  # "reply 123" / "forward 123": the original's id here
ACCOUNT_HEADER = "X-Postino-Account"  # the From account's id (a shared sender's draft lives elsewhere)
_DRAFT_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_DATA_IMG_RE = re.compile(r"""(<img\b[^>]*\bsrc=")data:(image/(?:png|jpe?g|gif|webp));base64,([A-Za-z0-9+/=\s]+)(")""",
                          re.IGNORECASE)

Pair = tuple[str, str]


@dataclass
class ComposeData:
    """One message as the compose page describes it (addresses already parsed)."""

    account: MailAccount
    to: list[Pair] = field(default_factory=list)
    cc: list[Pair] = field(default_factory=list)
    bcc: list[Pair] = field(default_factory=list)
    subject: str = ""
    body_html: str = ""
    quote_html: str = ""
    upload_ids: list[int] = field(default_factory=list)
    original: Message | None = None
    kind: str = ""  # "", "reply", "forward"
    draft_id: str = ""


def new_draft_id() -> str:
    return uuid.uuid4().hex


def valid_draft_id(value: str) -> str:
    return value if _DRAFT_ID_RE.fullmatch(value or "") else ""


# --- the message --------------------------------------------------------------------------------


def _sanitized(html: str) -> str:
    return clean_html(html or "", allow_remote=True).html


def _inline_data_images(html: str, from_addr: str) -> tuple[str, list[InlineImage]]:
    """Pasted images (data: URLs) become inline cid: parts, which mail clients show."""
    images: list[InlineImage] = []

    def replace(match: re.Match) -> str:
        try:
            data = base64.b64decode(re.sub(r"\s+", "", match.group(3)), validate=True)
        except ValueError:
            return match.group(0)
        cid = new_content_id(from_addr)
        subtype = match.group(2).split("/")[1]
        images.append(InlineImage(cid=cid, content_type=match.group(2).lower(), data=data,
                                  filename=f"image{len(images) + 1}.{subtype}"))
        return f"{match.group(1)}cid:{cid}{match.group(4)}"

    return _DATA_IMG_RE.sub(replace, html), images


def compose_body(*, user, data: ComposeData) -> tuple[str, str]:
    """(html, text) of the message: what the user wrote, the From account's signature, the quote."""
    body = _sanitized(data.body_html)
    quote = _sanitized(data.quote_html)
    signature_html, _signature_text = signature_for(user=user, account=data.account)
    html = with_signature(body + quote, signature_html)
    return html, signature_text(html)


def _uploads(user, ids) -> list[ComposeUpload]:
    return list(own_uploads(user, ids))


def compose_upload_add(*, user, filename: str, content_type: str, data: bytes) -> ComposeUpload:
    """A file attached to a message the user is writing (only they can attach it)."""
    return ComposeUpload.objects.create(
        owner=user, filename=(filename or "attachment")[:255],
        content_type=(content_type or "application/octet-stream")[:255], data=data, size=len(data))


def compose_uploads_expire(*, user, before: datetime) -> int:
    """Remove the user's uploads made before `before` (of messages never sent)."""
    return own_uploads(user).filter(created_at__lt=before).delete()[0]


def _attachments(uploads: list[ComposeUpload]) -> list[Attachment]:
    return [Attachment(filename=u.filename, content_type=u.content_type, data=bytes(u.data)) for u in uploads]


def _threading(data: ComposeData) -> dict:
    if data.kind == OutgoingContext.Kind.REPLY and data.original is not None and data.original.message_id:
        return reply_headers(data.original.message_id, data.original.references)
    return {"in_reply_to": None, "references": ()}


def _check_original(user, data: ComposeData) -> None:
    if data.original is not None and not visible_messages(user).filter(pk=data.original.pk).exists():
        data.original, data.kind = None, ""


def compose_send(*, user, data: ComposeData, send_at: datetime | None = None,
                 replaces: int | None = None) -> OutgoingMessage:
    """Queue the message (after the undo window, or at `send_at`). `replaces`: a scheduled (or
    just taken back) outbox item of the user's that this edit supersedes; it is cancelled in the
    same transaction. Raises SenderNotAllowed, ValidationError."""
    if data.account.pk not in {a.pk for a in sender_accounts_for(user)}:
        raise SenderNotAllowed(f"{user} may not send from account {data.account.pk}")
    _check_original(user, data)
    html, text = compose_body(user=user, data=data)
    html, images = _inline_data_images(html, data.account.email)
    uploads = _uploads(user, data.upload_ids)
    with transaction.atomic():
        if replaces is not None:
            previous = OutgoingMessage.objects.filter(pk=replaces, owner=user).first()
            if previous is not None and previous.state == OutboxState.SCHEDULED and not outbox_cancel(
                    user=user, outbox_id=previous.pk):
                raise ValidationError(_("Too late to change it: the message is already being sent."),
                                      code="too_late")
            if previous is not None and previous.state not in (OutboxState.SCHEDULED, OutboxState.CANCELLED):
                raise ValidationError(_("Too late to change it: the message is already being sent."),
                                      code="too_late")
        item = outbox_queue(user=user, account=data.account, to=data.to, cc=data.cc, bcc=data.bcc,
                            subject=data.subject, text=text, html=html, attachments=_attachments(uploads),
                            inline_images=images, send_at=send_at, **_threading(data))
        OutgoingContext.objects.create(
            message=item, kind=data.kind, original=data.original, draft_id=valid_draft_id(data.draft_id),
            draft_account=draft_store_account(user, data.account) if data.draft_id else None)
        ComposeUpload.objects.filter(pk__in=[u.pk for u in uploads]).delete()
    return item


def compose_after_sent(*, item: OutgoingMessage) -> None:
    """Once the outbox has sent `item`: flag the original on the server and remove the draft.
    Runs once (the context row is claimed); a server that fails here leaves the message sent."""
    if OutgoingContext.objects.filter(message_id=item.pk, done=False).update(done=True) != 1:
        return
    context = OutgoingContext.objects.select_related("original", "draft_account").get(message_id=item.pk)
    if context.original_id and context.kind:
        from messages_app.services.message_actions import message_flags_set

        flag = "\\Answered" if context.kind == OutgoingContext.Kind.REPLY else "$Forwarded"
        try:
            message_flags_set(user=item.owner, message_ids=[context.original_id], add=(flag,))
        except MailError as exc:
            logger.warning("compose: flagging the original of outbox %s failed: %s", item.pk, exc)
    if context.draft_id and context.draft_account is not None:
        try:
            draft_delete(account=context.draft_account, draft_id=context.draft_id)
        except MailError as exc:
            logger.warning("compose: removing the draft of outbox %s failed: %s", item.pk, exc)


# --- drafts -------------------------------------------------------------------------------------


def draft_store_account(user, account: MailAccount) -> MailAccount:
    """Where a draft from `account` is kept: that account's Drafts, or for a shared sender (which
    the user cannot read) the user's own primary account's."""
    if account.owner_id == user.pk:
        return account
    return own_accounts(user).first() or account


def drafts_folder_name(account: MailAccount, connection) -> str | None:
    return role_folder_name(account, connection, FolderRole.DRAFTS)


def draft_raw(*, user, data: ComposeData) -> bytes:
    html, text = compose_body(user=user, data=data)
    extra = {DRAFT_HEADER: data.draft_id, ACCOUNT_HEADER: str(data.account.pk)}
    if data.bcc:
        extra[BCC_HEADER] = format_address_list(data.bcc)
    if data.original is not None and data.kind:
        extra[CONTEXT_HEADER] = f"{data.kind} {data.original.pk}"
    try:
        message = build_message(
            from_addr=data.account.email, from_name=user.get_full_name(), to=data.to, cc=data.cc,
            subject=data.subject, text=text, html=html, attachments=_attachments(_uploads(user, data.upload_ids)),
            message_id=new_message_id(data.account.email), extra_headers=extra, **_threading(data))
    except ValueError as exc:
        raise ValidationError(str(exc), code="unsavable") from None
    return as_bytes(message)


def _delete_uids(connection, account: MailAccount, folder_name: str, uids: list[int]) -> int:
    """Delete these UIDs of the (selected) Drafts folder, and their local rows."""
    if not uids:
        return 0
    folder = Folder.objects.filter(account=account, name=folder_name).first()
    if folder is not None:
        apply_action(connection, folder, uids, PendingActionKind.DELETE, {})  # the local rows go too
    else:
        connection.select(folder_name)
        connection.delete_permanently(uids)
    return len(uids)


def draft_save(*, user, data: ComposeData, previous_account: MailAccount | None = None) -> MailAccount:
    """Store the draft (APPEND the new version, then delete the older ones with its id). Returns
    the account that now holds it. Raises MailError, ValidationError."""
    if data.account.pk not in {a.pk for a in sender_accounts_for(user)}:
        raise SenderNotAllowed(f"{user} may not write from account {data.account.pk}")
    if not valid_draft_id(data.draft_id):
        raise ValidationError("bad draft id", code="bad_draft_id")
    _check_original(user, data)
    store = draft_store_account(user, data.account)
    raw = draft_raw(user=user, data=data)
    with imap_connect(store) as connection:
        folder_name = drafts_folder_name(store, connection)
        if folder_name is None:
            raise ValidationError(_("The account %(email)s has no Drafts folder.") % {"email": store.email},
                                  code="no_drafts")
        connection.select(folder_name)
        older = sorted(connection.search_header(DRAFT_HEADER, data.draft_id))
        connection.append(folder_name, raw, flags=["\\Draft", "\\Seen"], when=timezone.now())
        _delete_uids(connection, store, folder_name, older)  # only after the new copy is safe
    if previous_account is not None and previous_account.pk != store.pk and previous_account.owner_id == user.pk:
        try:
            draft_delete(account=previous_account, draft_id=data.draft_id)
        except MailError as exc:
            logger.info("compose: old draft in account %s not removed: %s", previous_account.pk, exc)
    return store


def draft_delete(*, account: MailAccount, draft_id: str) -> int:
    """Remove every copy of the draft from the account's Drafts folder; how many went."""
    if not valid_draft_id(draft_id):
        return 0
    with imap_connect(account) as connection:
        folder_name = drafts_folder_name(account, connection)
        if folder_name is None:
            return 0
        connection.select(folder_name)
        return _delete_uids(connection, account, folder_name, sorted(connection.search_header(DRAFT_HEADER, draft_id)))


def draft_discard_message(*, user, message_id: int) -> bool:
    """Delete a draft another program wrote, once ours (with its own id) replaces it."""
    message = (visible_messages(user).filter(pk=message_id, folder__role=FolderRole.DRAFTS)
               .select_related("folder__account").first())
    if message is None or message.uid is None:
        return False
    with imap_connect(message.folder.account) as connection:
        apply_action(connection, message.folder, [message.uid], PendingActionKind.DELETE, {})
    return True


# --- reopening ----------------------------------------------------------------------------------


@dataclass
class ComposeState:
    """What the compose page opens with."""

    account_id: int | None = None
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body_html: str = ""
    quote_html: str = ""
    uploads: list[ComposeUpload] = field(default_factory=list)
    original_id: int | None = None
    kind: str = ""
    draft_id: str = ""
    draft_account_id: int | None = None
    send_at: datetime | None = None
    replaces: int | None = None
    replaces_draft: int | None = None  # a draft of another program, deleted once ours is saved


def _header_pairs(message, name: str) -> list[Pair]:
    return [(n, a) for n, a in getaddresses([str(v) for v in message.get_all(name, [])]) if a]


def state_from_raw(*, user, raw: bytes) -> ComposeState:
    """A message we built (a draft, or an outbox item) back into the compose form; its
    attachments become uploads of the user's again."""
    message = BytesParser(policy=email_policy.default).parsebytes(raw)
    state = ComposeState(subject=str(message.get("Subject", "")))
    state.to = format_address_list(_header_pairs(message, "To"))
    state.cc = format_address_list(_header_pairs(message, "Cc"))
    state.bcc = format_address_list(_header_pairs(message, BCC_HEADER))
    state.draft_id = valid_draft_id(str(message.get(DRAFT_HEADER, "")).strip())
    account_value = str(message.get(ACCOUNT_HEADER, "")).strip()
    if account_value.isdigit():
        state.account_id = int(account_value)
    kind, _sep, original = str(message.get(CONTEXT_HEADER, "")).strip().partition(" ")
    if kind in (OutgoingContext.Kind.REPLY, OutgoingContext.Kind.FORWARD) and original.isdigit() and (
            visible_messages(user).filter(pk=int(original)).exists()):
        state.kind, state.original_id = kind, int(original)
    body = message.get_body(("html", "plain"))
    if body is not None:
        content = body.get_content()
        if body.get_content_type() == "text/plain":
            from messages_app.mime.sanitize import text_to_html

            content = text_to_html(content).replace("\n", "<br>")
        written, quote = split_saved_body(content)
        state.body_html, state.quote_html = _sanitized(written), _sanitized(quote)
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else data
        if data is None:
            continue
        state.uploads.append(compose_upload_add(
            user=user, filename=part.get_filename() or "attachment", content_type=part.get_content_type(),
            data=data))
    return state


def state_from_outbox(*, user, item: OutgoingMessage) -> ComposeState:
    """An outbox item (scheduled, or just taken back) in the compose form again."""
    state = state_from_raw(user=user, raw=bytes(item.raw))
    message = BytesParser(policy=email_policy.default).parsebytes(bytes(item.raw), headersonly=True)
    shown = {a.lower() for name in ("To", "Cc") for _n, a in _header_pairs(message, name)}
    state.bcc = format_address_list([("", a) for a in item.envelope_to if a.lower() not in shown])
    state.account_id = item.account_id
    context = OutgoingContext.objects.filter(message=item).first()
    if context is not None:
        if context.original_id and visible_messages(user).filter(pk=context.original_id).exists():
            state.kind, state.original_id = context.kind, context.original_id
        state.draft_id = context.draft_id
        state.draft_account_id = context.draft_account_id
    if item.state == OutboxState.SCHEDULED:
        state.send_at = item.send_at
        state.replaces = item.pk
    elif item.state == OutboxState.CANCELLED:
        state.replaces = item.pk
    return state
