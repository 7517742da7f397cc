"""Reads for PEC: the delivery status of a sent message, as its receipts recorded it, and the
receipts themselves (each only through the one visibility rule)."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.models import Message, OutgoingMessage, OutgoingRecipient, PecMessage
from messages_app.selectors.messages import visible_messages

UNCONFIRMED_AFTER = timedelta(hours=24)  # the rules' time limit for a delivery receipt


@dataclass
class RecipientStatus:
    row: OutgoingRecipient
    unconfirmed: bool  # accepted more than 24 hours ago and no delivery receipt since: "consegna non confermata"


@dataclass
class PecDelivery:
    outgoing: OutgoingMessage
    recipients: list[RecipientStatus]
    receipts: list[PecMessage]  # the receipts the user may open, oldest first


def outgoing_of_message(user, message: Message) -> OutgoingMessage | None:
    bare = message.message_id.strip().strip("<>")
    if not bare:
        return None
    return (OutgoingMessage.objects.filter(owner=user, message_id__in=[f"<{bare}>", bare])
            .order_by("-id").first())


def pec_delivery(user, message: Message) -> PecDelivery | None:
    """What the PEC receipts say of a message the user sent; None when no receipt came for it."""
    outgoing = outgoing_of_message(user, message)
    if outgoing is None:
        return None
    visible = visible_messages(user).values("pk")
    receipts = list(PecMessage.objects.filter(outgoing=outgoing, message__in=visible)
                    .select_related("message").order_by("certified_at", "message_id"))
    rows = list(outgoing.recipients.all())
    if not receipts and not any(row.source == DeliverySource.PEC for row in rows):
        return None
    now = timezone.now()
    statuses = [RecipientStatus(row, row.status == DeliveryStatus.ACCEPTED and now - row.at > UNCONFIRMED_AFTER)
                for row in rows]
    return PecDelivery(outgoing, statuses, receipts)


def pec_receipts_of(user):
    """Every PEC receipt in the user's mail, newest first (the Ricevute PEC page): also those not
    recorded yet (history of a first sync), by their X-Ricevuta header."""
    return (visible_messages(user).exclude(x_ricevuta="").select_related("pec", "pec__outgoing")
            .order_by("-date", "-id"))
