"""The outbox: queue, take back, send and reconcile outgoing mail (models/outbox.py holds the states).

Invariants:
- A message leaves at most once without the user saying otherwise: a row is sent only by the
  worker whose conditional UPDATE (scheduled and due -> sending, checked by its rowcount) won it.
- A row left `sending` after its claim lapsed (the worker died mid-send) is reconciled before any
  retry: its Message-ID found in the account's Sent folder -> sent (and the after-send steps the
  dead worker missed run then, once); not found -> uncertain, and only the user sends it again
  (`outbox_resend`). Never silently lost, never blindly sent twice.
- Order of a send: SMTP, then the copy in Sent, then the database. A worker killed between the
  first two leaves `uncertain`; after the copy is in Sent, reconciliation finds it.
- Transient failures (4xx, unreachable) go back to scheduled with a later send_at (backoff);
  permanent ones (5xx) end as failed with the server's reason.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from messages_app.enums import DeliverySource, DeliveryStatus, FolderRole, OutboxState, Preset
from messages_app.exceptions import MailError, RecipientsRefused, is_transient
from messages_app.mime.build import (
    Attachment,
    InlineImage,
    as_bytes,
    build_message,
    envelope_recipients,
    new_message_id,
)
from messages_app.models import Folder, MailAccount, OutgoingMessage, OutgoingRecipient
from messages_app.selectors import sender_accounts_for
from messages_app.services.connections import imap_connect, smtp_connect
from messages_app.sync.roles import role_from_flags, role_from_name

logger = logging.getLogger(__name__)

# After this many transient failures a message stops retrying and shows as failed.
MAX_ATTEMPTS = 8
# Providers that file a copy of what their SMTP sends into Sent by themselves.
PRESETS_FILING_SENT = frozenset({Preset.GMAIL, Preset.OFFICE365})


class SenderNotAllowed(PermissionDenied):
    """The user neither owns the account nor may use it as a shared sender."""


def claim_lease() -> timedelta:
    """How long a claim holds: longer than one send can take (connect, login, DATA and the
    Sent append, each bounded by the connect timeout), so only a dead worker's claim lapses."""
    return timedelta(seconds=max(8 * settings.MAIL_CONNECT_TIMEOUT, 60))


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


# --- queueing -----------------------------------------------------------------------------------

Address = str | tuple[str, str]


def _pairs(addresses: Sequence[Address] | None) -> list[tuple[str, str]]:
    return [("", item) if isinstance(item, str) else (item[0], item[1]) for item in (addresses or ())]


def _check_size(attachments: Sequence[Attachment], inline_images: Sequence[InlineImage]) -> None:
    total = sum(len(item.data) for item in [*attachments, *inline_images])
    limit_mb = settings.MAIL_MAX_ATTACHMENT_MB
    if total > limit_mb * 1024 * 1024:
        raise ValidationError(
            _("The attachments add up to %(size).1f MB, more than the %(limit)s MB allowed."),
            params={"size": total / 1024 / 1024, "limit": limit_mb}, code="attachments_too_large")


def _sender_name(user, account: MailAccount) -> str:
    if account.owner_id == user.pk:
        return user.get_full_name()
    return account.description  # a shared sender speaks as itself, not as whoever uses it


def _pec_headers(account: MailAccount) -> dict[str, str] | None:
    """On a PEC account, the delivery receipt form chosen once for the account (PEC.md)."""
    return {"X-TipoRicevuta": account.pec_receipt_type} if account.pec_receipt_type else None


def outbox_queue(*, user, account: MailAccount, to: Sequence[Address], cc: Sequence[Address] = (),
                 bcc: Sequence[Address] = (), subject: str, text: str | None = None, html: str | None = None,
                 attachments: Sequence[Attachment] = (), inline_images: Sequence[InlineImage] = (),
                 in_reply_to: str | None = None, references: Sequence[str] | str = (),
                 send_at: datetime | None = None, undo_seconds: int | None = None) -> OutgoingMessage:
    """Build the message and store it as scheduled: at `send_at`, or once the undo window
    (`undo_seconds`, default MAIL_UNDO_SEND_SECONDS) has passed. Raises SenderNotAllowed for an
    account the user may not send from, ValidationError for a message that cannot be sent."""
    if account.pk not in {allowed.pk for allowed in sender_accounts_for(user)}:
        raise SenderNotAllowed(f"{user} may not send from account {account.pk}")
    if not (to or cc or bcc):
        raise ValidationError(_("A message needs at least one recipient."), code="no_recipients")
    _check_size(attachments, inline_images)
    if undo_seconds is None:
        undo_seconds = settings.MAIL_UNDO_SEND_SECONDS
    message_id = new_message_id(account.email)
    bcc_pairs = _pairs(bcc)
    try:
        message = build_message(
            from_addr=account.email, from_name=_sender_name(user, account), to=_pairs(to), cc=_pairs(cc),
            bcc=bcc_pairs, subject=subject, text=text, html=html, attachments=attachments,
            inline_images=inline_images, in_reply_to=in_reply_to, references=references, message_id=message_id,
            extra_headers=_pec_headers(account))
        recipients = envelope_recipients(message, bcc_pairs)
    except ValueError as exc:
        raise ValidationError(str(exc), code="unsendable") from None
    now = timezone.now()
    return OutgoingMessage.objects.create(
        owner=user, account=account, state=OutboxState.SCHEDULED,
        send_at=send_at or now + timedelta(seconds=undo_seconds), message_id=message_id,
        subject=subject[:998], envelope_from=account.email, envelope_to=recipients, raw=as_bytes(message))


def outbox_cancel(*, user, outbox_id: int) -> bool:
    """Take back a scheduled message (undo within the window, or delete one from Programmati).
    False when it is no longer scheduled: a worker claimed it, so it is too late."""
    return OutgoingMessage.objects.filter(pk=outbox_id, owner=user, state=OutboxState.SCHEDULED).update(
        state=OutboxState.CANCELLED, claim_token="", claimed_until=None) == 1


def outbox_resend(*, user, outbox_id: int) -> bool:
    """The user's choice for an uncertain message: send it again now. False if it is not uncertain."""
    return OutgoingMessage.objects.filter(pk=outbox_id, owner=user, state=OutboxState.UNCERTAIN).update(
        state=OutboxState.SCHEDULED, send_at=timezone.now(), error="", claim_token="", claimed_until=None) == 1


def outbox_reschedule(*, user, outbox_id: int, send_at: datetime) -> bool:
    """Move a scheduled message to another time ("send now" is `send_at=now`). False if it is
    no longer scheduled."""
    return OutgoingMessage.objects.filter(pk=outbox_id, owner=user, state=OutboxState.SCHEDULED).update(
        send_at=send_at) == 1


# --- sending ------------------------------------------------------------------------------------


@dataclass
class SendDueResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    reconciled_sent: int = 0
    uncertain: int = 0
    ids: list[int] = field(default_factory=list)


def outbox_send_due(*, now: datetime | None = None, limit: int = 500) -> SendDueResult:
    """Reconcile lapsed claims, then send every scheduled message due at `now`, each claimed
    atomically, so any number of workers may run this at once."""
    now = now or timezone.now()
    result = SendDueResult()
    with _Sessions() as sessions:
        _reconcile_lapsed(now, sessions, result)
        candidates = list(OutgoingMessage.objects.filter(state=OutboxState.SCHEDULED, send_at__lte=now)
                          .order_by("send_at", "id").values_list("pk", flat=True)[:limit])
        for outbox_id in candidates:
            token = _claim(outbox_id, now)
            if token is None:
                continue  # another worker won it, or the user took it back
            _send_claimed(OutgoingMessage.objects.select_related("account__owner").get(pk=outbox_id),
                          token, sessions, result)
    return result


def _claim(outbox_id: int, now: datetime) -> str | None:
    token = uuid.uuid4().hex
    claimed = OutgoingMessage.objects.filter(pk=outbox_id, state=OutboxState.SCHEDULED, send_at__lte=now).update(
        state=OutboxState.SENDING, claim_token=token, claimed_until=timezone.now() + claim_lease(),
        attempts=F("attempts") + 1)
    return token if claimed == 1 else None


def _finish(item: OutgoingMessage, token: str, **fields) -> bool:
    """Write the outcome only while the claim is ours (a lapsed one was reconciled by another)."""
    return OutgoingMessage.objects.filter(pk=item.pk, claim_token=token, state=OutboxState.SENDING).update(
        claim_token="", claimed_until=None, **fields) == 1


def envelope_id(message_id: str) -> str:
    """The ENVID sent with MAIL FROM (RFC 3461): the Message-ID without its brackets, which
    delivery reports return as Original-Envelope-Id."""
    return message_id.strip().strip("<>")[:100]


def pending_recipients(item: OutgoingMessage, settled: list[tuple[str, str]] | None = None) -> list[str]:
    """The envelope recipients still to be tried: a recipient the server already took (or refused
    for good) on an earlier attempt is never sent the message again. `settled`: the item's
    (address, status) rows when the caller has them."""
    if settled is None:
        settled = list(item.recipients.values_list("address", "status"))
    done = {address.lower() for address, _status in settled}
    return [address for address in item.envelope_to if address.lower() not in done]


def _send_claimed(item: OutgoingMessage, token: str, sessions: _Sessions, result: SendDueResult) -> None:
    account = item.account
    raw = bytes(item.raw)
    settled = list(item.recipients.values_list("address", "status"))
    recipients = pending_recipients(item, settled)
    # A retry after a partial send: the copy is in Sent already, from the first attempt.
    first_delivery = not any(status == DeliveryStatus.ACCEPTED for _address, status in settled)
    with sessions.lease.hold(item.pk, token):
        try:
            outcome = sessions.smtp(account).send(sender=item.envelope_from, recipients=recipients, message=raw,
                                                  envelope_id=envelope_id(item.message_id))
        except MailError as exc:
            sessions.drop_smtp(account)
            _record_failure(item, token, exc, result)
            return
        note = _file_in_sent(account, raw, sessions) if first_delivery else ""
    now = timezone.now()
    deferred = [refusal for refusal in outcome.refused if not refusal.permanent]
    retry = bool(deferred) and item.attempts < MAX_ATTEMPTS
    with transaction.atomic():
        if retry:
            # Sent to the others; those the server asked us to try later get it on the next attempt.
            fields = {"state": OutboxState.SCHEDULED, "send_at": now + retry_delay(item.attempts),
                      "sent_at": item.sent_at or now, "error": _deferred_note(deferred)}
        else:
            fields = {"state": OutboxState.SENT, "sent_at": item.sent_at or now,
                      "error": note or (_deferred_note(deferred, final=True) if deferred else "")}
        # Our claim may have lapsed while the server was slow and a reconciler, not finding the
        # copy yet, called it uncertain: we know better now (a user's resend is theirs).
        if not (_finish(item, token, **fields)
                or OutgoingMessage.objects.filter(pk=item.pk, state=OutboxState.UNCERTAIN).update(**fields) == 1):
            return
        rows = [OutgoingRecipient(message=item, address=address, status=DeliveryStatus.ACCEPTED, at=now,
                                  source=DeliverySource.SMTP, smtp_code=250) for address in outcome.accepted]
        rows += [_refused_row(item, refusal, now) for refusal in outcome.refused
                 if refusal.permanent or not retry]
        OutgoingRecipient.objects.bulk_create(rows, ignore_conflicts=True)
        if first_delivery:
            _log_shared_sender_use(item, now)
    if retry:
        result.retried += 1
        return
    result.sent += 1
    result.ids.append(item.pk)
    _after_sent(item)


def _after_sent(item: OutgoingMessage) -> None:
    """What the compose page asked for once the message has left (flag the original, remove the
    draft): never a reason to call a sent message anything but sent."""
    from messages_app.services.compose import compose_after_sent

    try:
        compose_after_sent(item=item)
    except Exception:
        logger.exception("outbox: after-send steps of %s failed", item.pk)


def _deferred_note(deferred, *, final: bool = False) -> str:
    reasons = "; ".join(str(refusal) for refusal in deferred)
    if final:
        return _("Sent to the other recipients; the server kept asking to try later for: %(reasons)s") % {
            "reasons": reasons}
    return _("Sent to the other recipients; the server asked to try later for: %(reasons)s") % {"reasons": reasons}


def _log_shared_sender_use(item: OutgoingMessage, now: datetime) -> None:
    """Who sent what from a shared sender (the admin site lists it): written with the sent state."""
    account = item.account
    if not account.is_shared_sender:
        return
    from messages_app.models import SharedSenderUse

    SharedSenderUse.objects.get_or_create(outgoing=item, defaults={
        "account": account, "user_id": item.owner_id, "sent_at": now, "message_id": item.message_id,
        "subject": item.subject, "recipients": list(item.envelope_to)})


def _refused_row(item: OutgoingMessage, refusal, now: datetime) -> OutgoingRecipient:
    # 5xx ("5.1.1 no such user", "5.2.1 disabled"): that address will never get it. A 4xx for one
    # recipient still refused after the last attempt is kept as failed with the server's words.
    status = DeliveryStatus.NOT_DELIVERED if refusal.permanent else DeliveryStatus.FAILED
    return OutgoingRecipient(message=item, address=refusal.recipient, status=status, at=now,
                             source=DeliverySource.SMTP, smtp_code=refusal.code, smtp_enhanced=refusal.enhanced,
                             smtp_text=refusal.text[:2000])


def _record_failure(item: OutgoingMessage, token: str, exc: MailError, result: SendDueResult) -> None:
    reason = exc.user_message()
    now = timezone.now()
    refusals = exc.refusals if isinstance(exc, RecipientsRefused) else []
    if is_transient(exc) and item.attempts < MAX_ATTEMPTS:  # item was read after the claim counted it
        delay = retry_delay(item.attempts)
        with transaction.atomic():
            if not _finish(item, token, state=OutboxState.SCHEDULED, send_at=now + delay, error=reason):
                return
            # Refused for good now: not tried again with the others.
            OutgoingRecipient.objects.bulk_create([_refused_row(item, refusal, now) for refusal in refusals
                                                   if refusal.permanent], ignore_conflicts=True)
        result.retried += 1
        return
    # Some recipients took it on an earlier attempt: the message was sent, to them.
    partly_sent = item.recipients.filter(status=DeliveryStatus.ACCEPTED).exists()
    with transaction.atomic():
        if not _finish(item, token, state=OutboxState.SENT if partly_sent else OutboxState.FAILED, error=reason):
            return
        OutgoingRecipient.objects.bulk_create([_refused_row(item, refusal, now) for refusal in refusals],
                                              ignore_conflicts=True)
    if partly_sent:
        result.sent += 1
        result.ids.append(item.pk)
        _after_sent(item)
    else:
        result.failed += 1


# --- Sent folder and reconciliation -------------------------------------------------------------


def role_folder_name(account: MailAccount, connection, role: str) -> str | None:
    """The account's folder for `role` (Sent, Drafts): the one the sync assigned, else what the
    server's LIST says (special-use flags first, then the usual names)."""
    name = Folder.objects.filter(account=account, role=role).values_list("name", flat=True).first()
    if name:
        return name
    folders = connection.list_folders()
    for info in folders:
        if role_from_flags(info.flags) == role:
            return info.name
    for info in folders:
        if role_from_name(info.name, info.delimiter) == role:
            return info.name
    return None


def sent_folder_name(account: MailAccount, connection) -> str | None:
    return role_folder_name(account, connection, FolderRole.SENT)


def _file_in_sent(account: MailAccount, raw: bytes, sessions: _Sessions) -> str:
    """Append the copy; "" when done or not needed, else why it is missing (the message was sent)."""
    if account.preset in PRESETS_FILING_SENT:
        return ""
    try:
        connection = sessions.imap(account)
        folder = sessions.sent_folder(account, connection)
        if folder is None:
            return _("Sent, but the account has no Sent folder for a copy.")
        connection.append(folder, raw, flags=["\\Seen"], when=timezone.now())
    except MailError as exc:
        sessions.drop_imap(account)  # and the folder name it found: looked up afresh next time
        logger.warning("outbox: copy to Sent of account %s failed: %s", account.pk, exc)
        return _("Sent, but the copy could not be saved in Sent: %(reason)s") % {"reason": exc.user_message()}
    return ""


def _reconcile_lapsed(now: datetime, sessions: _Sessions, result: SendDueResult) -> None:
    lapsed = list(OutgoingMessage.objects.filter(state=OutboxState.SENDING, claimed_until__lt=now)
                  .values_list("pk", flat=True))
    for outbox_id in lapsed:
        token = uuid.uuid4().hex
        # Take the lapsed claim over, so two reconcilers do not both decide.
        taken = OutgoingMessage.objects.filter(pk=outbox_id, state=OutboxState.SENDING, claimed_until__lt=now).update(
            claim_token=token, claimed_until=timezone.now() + claim_lease())
        if taken != 1:
            continue
        item = OutgoingMessage.objects.select_related("account__owner").get(pk=outbox_id)
        try:
            # After a partial send the copy in Sent is from the first attempt: no proof of this one.
            found = (not item.recipients.filter(status=DeliveryStatus.ACCEPTED).exists()
                     and _in_sent(item, sessions))
        except MailError as exc:
            # Cannot look now: leave it sending; the claim lapses again and the next poll retries.
            sessions.drop_imap(item.account)
            logger.info("outbox: reconciling %s postponed: %s", outbox_id, exc)
            continue
        if found:
            if _finish(item, token, state=OutboxState.SENT, sent_at=timezone.now(), error=""):
                result.reconciled_sent += 1
                # The dead worker never got to them: flag the original, remove the draft (once).
                _after_sent(item)
        elif _finish(item, token, state=OutboxState.UNCERTAIN,
                     error=_("The sending was interrupted and the message is not in Sent: it may or may not "
                                 "have left. Send it again if the recipients did not get it.")):
            result.uncertain += 1


def _in_sent(item: OutgoingMessage, sessions: _Sessions) -> bool:
    connection = sessions.imap(item.account)
    folder = sessions.sent_folder(item.account, connection)
    if folder is None:
        return False
    connection.select(folder, readonly=True)
    try:
        return bool(connection.search_header("Message-ID", item.message_id))
    finally:
        connection.release_selection()


class _LeaseKeeper:
    """Renews the claim being sent every third of its lease while a big message crawls to a slow
    server, so only a dead worker's claim lapses (the sync lock's heartbeat, for the outgoing
    message in hand). One thread per pass, started with the first send, not one per message."""

    def __init__(self):
        self._current: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def hold(self, outbox_id: int, token: str):
        # Inside a caller's transaction (the tests') its own connection would wait on that
        # transaction's write lock and could not see the claim anyway.
        if self._thread is None and not db_connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, name="outbox-lease", daemon=True)
            self._thread.start()
        with self._lock:
            self._current = (outbox_id, token)
        try:
            yield
        finally:
            with self._lock:
                self._current = None

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stopped.wait(claim_lease().total_seconds() / 3):
                with self._lock:
                    current = self._current
                if current is not None:
                    OutgoingMessage.objects.filter(pk=current[0], claim_token=current[1],
                                                   state=OutboxState.SENDING).update(
                        claimed_until=timezone.now() + claim_lease())
        finally:
            db_connection.close()  # this thread's own connection


class _Sessions:
    """One SMTP and one IMAP connection per account for the length of a pass, and the account's
    Sent folder as found once on that connection (a database query, and a LIST when the account
    has not synced its folders yet: per message they cost about as much as the copy itself)."""

    def __init__(self):
        self._smtp: dict[int, object] = {}
        self._imap: dict[int, object] = {}
        self._sent: dict[int, str | None] = {}
        self.lease = _LeaseKeeper()

    def __enter__(self) -> _Sessions:
        return self

    def __exit__(self, *exc_info) -> None:
        self.lease.stop()
        for connection in [*self._smtp.values(), *self._imap.values()]:
            with contextlib.suppress(Exception):
                connection.close()

    def smtp(self, account: MailAccount):
        if account.pk not in self._smtp:
            self._smtp[account.pk] = smtp_connect(account)
        return self._smtp[account.pk]

    def imap(self, account: MailAccount):
        if account.pk not in self._imap:
            self._imap[account.pk] = imap_connect(account)
        return self._imap[account.pk]

    def drop_smtp(self, account: MailAccount) -> None:
        connection = self._smtp.pop(account.pk, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def sent_folder(self, account: MailAccount, connection) -> str | None:
        if account.pk not in self._sent:
            self._sent[account.pk] = sent_folder_name(account, connection)
        return self._sent[account.pk]

    def drop_imap(self, account: MailAccount) -> None:
        self._sent.pop(account.pk, None)
        connection = self._imap.pop(account.pk, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

