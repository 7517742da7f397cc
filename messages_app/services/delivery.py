"""What became of each recipient of a sent message after the SMTP reply: delivery reports (DSN)
matched to the outbox, and the one write path PEC receipts use too (`delivery_record`).

Invariants:
- One row per (outgoing message, recipient); a later report replaces an earlier one, except that
  "accepted" never overwrites a final word (delivered, not delivered, failed).
- A report is matched only to mail sent from the account whose mailbox received it (bounces go to
  the envelope sender), by the returned Message-ID or the ENVID we sent: mail from elsewhere
  cannot mark another account's message.
- A message with a recipient not delivered is also kept in Importata (a local copy owned by the
  user who sent it), once.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.mime.dsn import DeliveryReport, DsnRecipient, parse_dsn
from messages_app.mime.headers import parse_header_block
from messages_app.models import Attachment, Message, MessageSource, OutgoingMessage, OutgoingRecipient

logger = logging.getLogger(__name__)

_FINAL = (DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED, DeliveryStatus.FAILED)
# Who sends bounces, by the local part of From.
_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|mdaemon|bounces?)@", re.I)
_BOUNCE_SUBJECT = re.compile(r"undeliver|delivery (status|fail|report)|returned mail|non[- ]?recapitabil|"
                             r"mancata consegna|failure notice|not delivered|delivery has failed", re.I)
_REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")


def _outgoing(outbox_or_message_id: int | str | OutgoingMessage, account_id: int | None = None):
    if isinstance(outbox_or_message_id, OutgoingMessage):
        return outbox_or_message_id
    if isinstance(outbox_or_message_id, int):
        return OutgoingMessage.objects.filter(pk=outbox_or_message_id).first()
    bare = str(outbox_or_message_id).strip().strip("<>")
    if not bare:
        return None
    items = OutgoingMessage.objects.filter(message_id=f"<{bare}>")
    if account_id is not None:
        items = items.filter(account_id=account_id)
    return items.order_by("-id").first()


def _recipient_for(item: OutgoingMessage, addresses: list[str]) -> str:
    """The envelope recipient a report names (case aside); a report about a one-recipient message
    whose address was rewritten on the way (a forward, an alias) is about that one."""
    sent = {address.lower(): address for address in item.envelope_to}
    for address in addresses:
        if address and address.lower() in sent:
            return sent[address.lower()]
    if len(sent) == 1:
        return next(iter(sent.values()))
    return next((address for address in addresses if address), "")


def delivery_record(*, outbox: int | str | OutgoingMessage, address: str, status: str, source: str,
                    at: datetime | None = None, detail: str = "", code: int | None = None, enhanced: str = "",
                    account_id: int | None = None, also: tuple[str, ...] = ()) -> OutgoingRecipient | None:
    """Record what became of `address` for one outgoing message: `outbox` is its id, the object, or
    its Message-ID (with or without <>; `account_id` narrows that to one sending account).
    `status` a DeliveryStatus, `source` a DeliverySource (smtp, dsn, pec), `detail` the words of
    the report (a diagnostic, a PEC error), `code`/`enhanced` the SMTP codes where known, `also`
    other names of the same recipient (a DSN's Final-Recipient beside its Original-Recipient).
    Returns the row, or None when no such outgoing message exists. Idempotent."""
    if status not in DeliveryStatus.values or source not in DeliverySource.values:
        raise ValueError(f"unknown delivery status {status!r} or source {source!r}")
    item = _outgoing(outbox, account_id)
    if item is None:
        return None
    recipient = _recipient_for(item, [address, *also])
    if not recipient:
        return None
    at = at or timezone.now()
    with transaction.atomic():
        row = (OutgoingRecipient.objects.select_for_update()
               .filter(message=item, address__iexact=recipient).first())
        if row is not None and status == DeliveryStatus.ACCEPTED and row.status in _FINAL:
            return row  # a late "accepted" never undoes a final word
        fields = {"status": status, "source": source, "at": at, "smtp_code": code,
                  "smtp_enhanced": enhanced[:16], "smtp_text": detail[:2000]}
        if row is None:
            row = OutgoingRecipient.objects.create(message=item, address=recipient[:320], **fields)
        else:
            OutgoingRecipient.objects.filter(pk=row.pk).update(**fields)
            for name, value in fields.items():
                setattr(row, name, value)
        if status == DeliveryStatus.NOT_DELIVERED:
            outgoing_keep_imported(item=item)
    return row


def outgoing_keep_imported(*, item: OutgoingMessage) -> Message:
    """The sent message in its sender's Importata (vtenext keeps a message that was not delivered):
    a local copy with the bytes as they went out, made once."""
    existing = (Message.objects.filter(account__isnull=True, local_owner_id=item.owner_id, message_id=item.message_id)
                .order_by("id").first())
    if existing is not None:
        return existing
    raw = bytes(item.raw)
    headers = parse_header_block(raw)
    when = item.sent_at or item.send_at or timezone.now()
    local = Message.objects.create(
        account=None, folder=None, uid=None, local_owner_id=item.owner_id, dedup_key=f"outbox:{item.pk}",
        message_id=item.message_id[:998], in_reply_to=headers.in_reply_to[:998],
        references=" ".join(headers.references)[:20000], subject=headers.subject[:1000] or item.subject[:1000],
        from_name=headers.from_name[:255], from_addr=headers.from_addr[:320] or item.envelope_from,
        to=[list(pair) for pair in headers.to[:50]], cc=[list(pair) for pair in headers.cc[:50]],
        date=headers.date or when, internal_date=when, size=len(raw), is_seen=True,
        has_attachments=(headers.content_type or "").lower().startswith("multipart/mixed"))
    MessageSource.objects.create(message=local, raw=raw)
    return local


# --- the arrival step ---------------------------------------------------------------------------


def _dsn_status(recipient: DsnRecipient) -> str | None:
    if recipient.action == "failed":
        return DeliveryStatus.NOT_DELIVERED
    if recipient.action == "delivered":
        return DeliveryStatus.DELIVERED
    return None  # delayed, relayed, expanded: nothing final to say


def dsn_apply(*, report: DeliveryReport, account_id: int, at: datetime | None = None) -> OutgoingMessage | None:
    """Mark the recipients of the outgoing message (sent from `account_id`) that `report` is about.
    Returns the message, or None when the report matches nothing sent from that account."""
    items = OutgoingMessage.objects.filter(account_id=account_id).order_by("-id")
    item = None
    envid = report.envelope_id.strip().strip("<>")
    if envid:
        item = items.filter(message_id=f"<{envid}>").first()
        if item is None and len(envid) == 100:  # the ENVID we send is the Message-ID cut to 100 characters
            item = items.filter(message_id__startswith=f"<{envid}").first()
    if item is None and report.message_id:
        item = items.filter(message_id=report.message_id).first()
    if item is None:
        return None
    for recipient in report.recipients:
        status = _dsn_status(recipient)
        if status is None:
            continue
        delivery_record(outbox=item, address=recipient.address, also=(recipient.final_recipient,), status=status,
                        source=DeliverySource.DSN, at=at, detail=recipient.diagnostic or recipient.detail,
                        code=recipient.smtp_code, enhanced=recipient.status)
    return item


def _might_be_report(message: Message, kinds: set[str]) -> bool:
    if kinds:
        return bool(kinds & set(_REPORT_TYPES))
    return bool(_BOUNCE_SENDERS.match(message.from_addr or "") or _BOUNCE_SUBJECT.search(message.subject or "")
                or (message.auto_submitted or "").lower().startswith("auto-replied"))


def dsn_reports_step(message_ids: list[int]) -> None:
    """Arrival step: new mail that is a delivery report for something this account sent marks its
    recipients. Only mail on accounts that sent something is looked at, and only reports (by the
    parts the body prefetch found, else by sender and subject) are downloaded."""
    from messages_app.services.message_body import MessageGone, message_raw

    senders = set(OutgoingMessage.objects.filter(account__messages__id__in=message_ids)
                  .values_list("account_id", flat=True).distinct())
    if not senders:
        return
    messages = list(Message.objects.filter(pk__in=message_ids, account_id__in=senders, folder__isnull=False)
                    .select_related("folder", "account"))
    prefetched = set(Message.objects.filter(pk__in=[m.pk for m in messages], body__isnull=False)
                     .values_list("id", flat=True))
    kinds: dict[int, set[str]] = {}
    for message_id, content_type in Attachment.objects.filter(message_id__in=prefetched).values_list(
            "message_id", "content_type"):
        kinds.setdefault(message_id, set()).add(content_type.lower())
    for message in messages:
        seen = kinds.get(message.pk, set())
        if message.pk in prefetched and not seen:
            continue  # its parts are known and none is a report
        if not _might_be_report(message, seen):
            continue
        try:
            raw = message_raw(message)
        except MessageGone:
            continue  # deleted or moved by another client since: the next pass sees it where it went
        report = parse_dsn(raw)
        if report is None:
            continue
        item = dsn_apply(report=report, account_id=message.account_id, at=message.internal_date or message.date)
        if item is not None:
            logger.info("dsn: message %s reports on outgoing %s", message.pk, item.pk)
