"""Reads of the outbox: a user's outgoing messages, and the one row shape commands print."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import pgettext_lazy

from messages_app.enums import DeliverySource, DeliveryStatus, OutboxState
from messages_app.models import OutgoingMessage, OutgoingRecipient


def outbox_of(user):
    """The user's own outgoing messages (a shared sender's use is the user's, not the account owner's)."""
    return OutgoingMessage.objects.filter(owner=user)


# The name compose's views use: the same rows.
own_outgoing = outbox_of


def own_scheduled(user):
    """The user's messages waiting for their time (Programmati)."""
    return (outbox_of(user).filter(state=OutboxState.SCHEDULED)
            .select_related("account").order_by("send_at", "id"))


def own_unsent(user, *, since):
    """The user's messages that did not leave (failed, or uncertain after a dead worker) since then."""
    return (outbox_of(user).filter(state__in=[OutboxState.FAILED, OutboxState.UNCERTAIN], send_at__gte=since)
            .select_related("account").order_by("-send_at", "-id"))


def outbox_items(*, user=None, state: str | None = None):
    items = OutgoingMessage.objects.all() if user is None else outbox_of(user)
    if state:
        items = items.filter(state=state)
    return items.select_related("owner").prefetch_related("recipients").order_by("-send_at", "-id")


def _when(value):
    return value.isoformat() if value else None


def outbox_row(item: OutgoingMessage) -> dict:
    """The `mail_outbox` JSON object (DESIGN.md): `delivery` has one entry per recipient."""
    return {
        "id": item.pk,
        "account": item.account_id,
        "user": item.owner.get_username(),
        "state": item.state,
        "send_at": _when(item.send_at),
        "sent_at": _when(item.sent_at),
        "message_id": item.message_id,
        "subject": item.subject,
        "error": item.error,
        "attempts": item.attempts,
        "delivery": [
            {"address": r.address, "status": r.status, "at": _when(r.at), "source": r.source,
             "smtp_code": r.smtp_code, "smtp_enhanced": r.smtp_enhanced, "smtp_text": r.smtp_text}
            for r in item.recipients.all()
        ],
    }


# --- delivery in words (the reading pane, an outbox item) ---------------------------------------

# RFC 3463 codes a person can read, most specific first.
_REASONS = (
    ("5.1.1", pgettext_lazy("delivery reason", "the address does not exist")),
    ("5.1.10", pgettext_lazy("delivery reason", "the address does not exist")),
    ("5.1.2", pgettext_lazy("delivery reason", "the recipient's domain does not exist")),
    ("5.1.6", pgettext_lazy("delivery reason", "the recipient has moved")),
    ("5.2.1", pgettext_lazy("delivery reason", "the mailbox is disabled")),
    ("5.2.2", pgettext_lazy("delivery reason", "the mailbox is full")),
    ("4.2.2", pgettext_lazy("delivery reason", "the mailbox is full")),
    ("5.3.4", pgettext_lazy("delivery reason", "the message is too large")),
    ("5.2.3", pgettext_lazy("delivery reason", "the message is too large")),
    ("5.7.", pgettext_lazy("delivery reason", "refused by the recipient's server policy")),
    ("5.1.", pgettext_lazy("delivery reason", "the address was refused")),
    ("4.", pgettext_lazy("delivery reason", "the server asked to try later")),
)

_WORDS = {
    DeliveryStatus.ACCEPTED: pgettext_lazy("delivery in words", "Accepted by the server"),
    DeliveryStatus.DELIVERED: pgettext_lazy("delivery in words", "Delivered"),
    DeliveryStatus.NOT_DELIVERED: pgettext_lazy("delivery in words", "Not delivered"),
    DeliveryStatus.FAILED: pgettext_lazy("delivery in words", "Failed"),
}


@dataclass(frozen=True)
class DeliveryLine:
    address: str
    status: str
    words: str  # "Not delivered"
    reason: str  # "the address does not exist", or ""
    reply: str  # what the server said: "550 5.1.1 No such user", or ""
    source: str
    at: datetime


def delivery_reason(enhanced: str) -> str:
    for prefix, words in _REASONS:
        if enhanced == prefix or (prefix.endswith(".") and enhanced.startswith(prefix)):
            return str(words)
    return ""


def delivery_line(row: OutgoingRecipient) -> DeliveryLine:
    reply = row.smtp_text
    if row.source == DeliverySource.SMTP and row.status != DeliveryStatus.ACCEPTED:
        reply = " ".join(str(part) for part in (row.smtp_code, row.smtp_enhanced, row.smtp_text) if part)
    if row.status == DeliveryStatus.ACCEPTED:
        reply = ""
    reason = "" if row.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.DELIVERED) else delivery_reason(
        row.smtp_enhanced)
    return DeliveryLine(address=row.address, status=row.status, words=str(_WORDS.get(row.status, row.status)),
                        reason=reason, reply=reply, source=row.source, at=row.at)


def delivery_lines(item: OutgoingMessage) -> list[DeliveryLine]:
    return [delivery_line(row) for row in item.recipients.all()]


def delivery_of_message(user, message) -> list[DeliveryLine]:
    """Per-recipient delivery of a message the user sent through the outbox (its copy in Sent, in
    Importata), found by its Message-ID among the user's own outgoing messages; [] otherwise."""
    if not message.message_id:
        return []
    item = (outbox_of(user).filter(message_id=message.message_id, state__in=_DELIVERY_STATES)
            .prefetch_related("recipients").order_by("-id").first())
    return delivery_lines(item) if item is not None else []


def delivery_by_message_id(user, message_ids) -> dict[str, list[DeliveryLine]]:
    """Per-recipient delivery of many messages the user sent through the outbox, keyed by their
    bare Message-ID (no angle brackets), in two queries: for lists such as a CRM record's timeline.
    The newest outgoing message wins when one Message-ID went out twice."""
    bare = {m.strip().strip("<>") for m in message_ids} - {""}
    if not bare:
        return {}
    items = (outbox_of(user).filter(message_id__in=[f"<{m}>" for m in bare] + list(bare),
                                    state__in=_DELIVERY_STATES)
             .prefetch_related("recipients").order_by("id"))
    found: dict[str, list[DeliveryLine]] = {}
    for item in items:
        lines = delivery_lines(item)
        if lines:
            found[item.message_id.strip().strip("<>")] = lines
    return found


_DELIVERY_STATES = (OutboxState.SENT, OutboxState.SCHEDULED, OutboxState.FAILED, OutboxState.UNCERTAIN)
