"""PEC mail: what an envelope or receipt certifies, stored once, and each receipt's effect on the
delivery status of the sent message it is about (pec/ does the reading; see PEC.md).

Invariants:
- A PEC message is read from the server and never changed there: receipts are neither moved
  nor deleted, only left out of the lists (mailbox/listing.py) and shown on the sent message.
- Recording is idempotent: the arrival step, a re-run after a crash and a first open all upsert
  the same PecMessage row and set the same recipient statuses.
- Only an authentic receipt (its provider signature intact; trusted, when a trust file is set)
  changes a delivery status: X-Ricevuta is a header anybody can write.
- A recipient's status only moves forward: an acceptance never overwrites a delivery or a
  failure that arrived first (receipts can arrive in any order).

Recipient statuses are written through services.delivery.delivery_record, the one writer that
DSNs and SMTP replies share.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.mime.parse import parse_message
from messages_app.models import Message, OutgoingMessage, PecMessage, PecSignature
from messages_app.pec import kinds
from messages_app.pec.envelope import find_parts
from messages_app.pec.signature import check_signature
from messages_app.services.delivery import delivery_record
from messages_app.sync.threading import conversation_candidates
from messages_app.sync.threads import thread_links_learnt

logger = logging.getLogger(__name__)

FINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED, DeliveryStatus.FAILED})
UNCONFIRMED_AFTER_HOURS = 24  # the rules' time limit for a delivery receipt


def pec_kind(message: Message) -> str:
    return kinds.classify(x_trasporto=message.x_trasporto, x_ricevuta=message.x_ricevuta)


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def _outgoing_for(message: Message, message_id: str) -> OutgoingMessage | None:
    bare = _bare(message_id)
    if not bare or message.account_id is None:
        return None
    return (OutgoingMessage.objects.filter(owner_id=message.account.owner_id, message_id__in=[f"<{bare}>", bare])
            .order_by("-id").first())


def _apply_receipt(pec: PecMessage, daticert_recipients: list[str]) -> None:
    effect = kinds.DELIVERY_EFFECT.get(pec.kind, "")
    if pec.outgoing is None or not effect:
        return
    at = pec.certified_at or timezone.now()
    if pec.kind in (kinds.ACCEPTANCE, kinds.NON_ACCEPTANCE):
        addresses = daticert_recipients or list(pec.outgoing.envelope_to)
    else:
        addresses = [pec.recipient] if pec.recipient else []
    for address in addresses:
        delivery_record(outbox=pec.outgoing, address=address, status=effect, source=DeliverySource.PEC, at=at,
                        detail=pec.error_detail if effect != DeliveryStatus.ACCEPTED else "")


def receipt_is_authentic(signature: str) -> bool:
    """Anybody can write X-Ricevuta on a mail: a receipt changes a delivery status only when its
    provider signature is intact, and, with a trust file configured, from a trusted provider.
    Others are kept and shown with what their signature check found, and change nothing."""
    if settings.MAIL_PEC_TRUST_FILE:
        return signature == PecSignature.TRUSTED
    return signature in (PecSignature.TRUSTED, PecSignature.INTACT)


def pec_record(*, message: Message, raw: bytes | None = None) -> PecMessage | None:
    """Read a PEC message (its daticert.xml, signature and, for an envelope, the inner message's
    sender and subject for the lists) and apply a receipt to its sent message. None when the
    message is not PEC. Raises MailError when the server cannot give the message."""
    kind = pec_kind(message)
    if not kind:
        return None
    if raw is None:
        from messages_app.services.message_body import message_raw

        raw = message_raw(message)
    parts = find_parts(raw)
    check = check_signature(raw, trust_file=settings.MAIL_PEC_TRUST_FILE or "")
    data = parts.daticert
    notes = list(parts.notes) + (list(data.notes) if data else [])
    fields = {
        "kind": kind,
        "certified_sender": (data.mittente if data else "")[:320],
        "certified_at": data.data if data else None,
        "identifier": (data.identificativo if data else "")[:500],
        "provider": (data.gestore if data else "")[:500],
        "original_message_id": (data.msgid if data else "")[:998],
        "recipient": (data.consegna if data else "")[:320],
        "error": (data.errore if data else "")[:32],
        "error_detail": data.errore_esteso if data else "",
        "receipt_type": (data.ricevuta if data else "")[:16],
        "inner_part_path": parts.postacert_path,
        "signature": check.status,
        "signer": check.signer,
        "signature_detail": check.detail,
        "notes": notes[:20],
    }
    if kinds.is_receipt(kind):
        fields["outgoing"] = (_outgoing_for(message, message.x_riferimento_message_id)
                              or _outgoing_for(message, fields["original_message_id"]))
    with transaction.atomic():
        pec, _created = PecMessage.objects.update_or_create(message=message, defaults=fields)
        if kinds.is_envelope(kind) and parts.postacert:
            _adopt_inner_headers(message, parts.postacert)
        if kinds.is_receipt(kind) and receipt_is_authentic(check.status):
            _apply_receipt(pec, [r.address for r in data.destinatari] if data else [])
    return pec


def _adopt_inner_headers(message: Message, inner_raw: bytes) -> None:
    """Lists, search and CRM links show the real sender and subject, not "Per conto di: ..."."""
    parsed = parse_message(inner_raw)
    inner = parsed.headers
    update = {"subject": inner.subject[:1000], "from_name": inner.from_name[:255], "from_addr": inner.from_addr[:320],
              "to": [list(pair) for pair in inner.to[:50]], "cc": [list(pair) for pair in inner.cc[:50]],
              "preview": " ".join(parsed.preview.split())[:300], "has_attachments": bool(parsed.attachments)}
    links = ([inner.message_id] if inner.message_id else []) + conversation_candidates(
        inner.message_id, inner.in_reply_to, inner.references)
    update["in_reply_to"] = inner.in_reply_to[:998] or message.in_reply_to
    update["references"] = " ".join(inner.references)[:20000] or message.references
    Message.objects.filter(pk=message.pk).update(**update)
    for name, value in update.items():
        setattr(message, name, value)
    if message.account_id is not None:  # a reply sent by PEC joins the conversation it answers
        thread_links_learnt(message.account.owner_id, message, links)


def pec_of(*, message: Message) -> PecMessage | None:
    """The stored PEC data of a message, read now for PEC mail that arrived before the arrival
    step existed (history of a first sync). None for ordinary mail or when the server is away."""
    if not pec_kind(message):
        return None
    stored = PecMessage.objects.filter(message=message).select_related("outgoing").first()
    if stored is not None:
        return stored
    from messages_app.exceptions import MailError

    try:
        return pec_record(message=message)
    except MailError as exc:
        logger.warning("PEC data of message %s not read: %s", message.pk, exc)
        return None


def pec_receipts_step(message_ids: list[int]) -> None:
    """The arrival step: every new PEC envelope and receipt recorded (atomic per message)."""
    candidates = (Message.objects.filter(pk__in=message_ids, folder__isnull=False)
                  .exclude(x_ricevuta="", x_trasporto="").select_related("account", "folder"))
    from messages_app.exceptions import MailError
    from messages_app.services.message_body import MessageGone

    for message in candidates:
        try:
            pec_record(message=message)
        except MessageGone as exc:
            # Moved by another client meanwhile: the next pass re-homes the row (or deletes it, and
            # its marker with it), so try again later rather than lose a receipt.
            raise MailError(f"PEC message {message.pk} is not where it was: {exc}", permanent=False) from exc
