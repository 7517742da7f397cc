"""Reads of the outbox: a user's outgoing messages, and the one row shape commands print."""

from messages_app.models import OutgoingMessage


def outbox_of(user):
    """The user's own outgoing messages (a shared sender's use is the user's, not the account owner's)."""
    return OutgoingMessage.objects.filter(owner=user)


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
