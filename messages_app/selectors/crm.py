"""Reads of CRM links and shared conversations, through the one visibility rule."""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.mailbox.keyset import Cursor
from messages_app.models import LinkState, Message, MessageLink, MessageShare, ShareComment
from messages_app.selectors.outbox import DeliveryLine, delivery_by_message_id
from messages_app.selectors.pec import UNCONFIRMED_AFTER
from messages_app.selectors.visibility import message_rule, own_message_rule

TIMELINE_PAGE = 50
_TIMELINE_FIELDS = ("id", "message_id", "message_date", "contact_id", "company_id", "lead_id", "reason", "detail",
                    "confidence", "state", *(f"message__{name}" for name in (
                        "id", "folder_id", "account_id", "local_owner_id", "dedup_key", "message_id", "subject",
                        "from_name", "from_addr", "date", "thread_id")), "message__folder")


def message_links(user, message: Message) -> list[MessageLink]:
    """The links of one message on the user's records: linked and waiting ("Da collegare")."""
    return list(MessageLink.objects.filter(message=message, owner=user,
                                           state__in=(LinkState.LINKED, LinkState.PENDING))
                .select_related("contact", "company", "lead").order_by("state", "-confidence", "id"))


def pending_links(user) -> QuerySet:
    """"Da collegare": matches below the threshold on the user's records, newest mail first."""
    return (MessageLink.objects.filter(owner=user, state=LinkState.PENDING)
            .filter(message_rule(user, "message__"))
            .select_related("message", "message__folder", "message__account", "contact", "company", "lead")
            .order_by("-message__date", "-id"))


_PEC_WORDS = {
    DeliveryStatus.ACCEPTED: pgettext_lazy("pec delivery", "accepted"),
    DeliveryStatus.DELIVERED: pgettext_lazy("pec delivery", "delivered"),
    DeliveryStatus.NOT_DELIVERED: pgettext_lazy("pec delivery", "not delivered"),
    DeliveryStatus.FAILED: pgettext_lazy("pec delivery", "not accepted"),
}


@dataclass(frozen=True)
class TimelineDelivery:
    """One recipient's delivery of a sent message, small and in words, for the timeline."""

    address: str
    status: str  # a DeliveryStatus, or "unconfirmed" (PEC: no delivery receipt within 24 hours)
    words: str  # "Delivered", "not delivered" (PEC), "delivery not confirmed" (PEC)
    reason: str  # "the address does not exist", a PEC errore-esteso, or ""
    pec: bool


def timeline_delivery(line: DeliveryLine, now) -> TimelineDelivery:
    if line.source != DeliverySource.PEC:
        return TimelineDelivery(line.address, line.status, line.words, line.reason, False)
    if line.status == DeliveryStatus.ACCEPTED and now - line.at > UNCONFIRMED_AFTER:
        return TimelineDelivery(line.address, "unconfirmed",
                                str(pgettext_lazy("pec delivery", "delivery not confirmed")), "", True)
    reason = "" if line.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.DELIVERED) else (line.reason or line.reply)
    return TimelineDelivery(line.address, line.status, str(_PEC_WORDS.get(line.status, line.words)), reason, True)


@dataclass
class TimelineThread:
    thread_id: int | None
    subject: str
    links: list[MessageLink] = field(default_factory=list)


@dataclass
class TimelinePage:
    threads: list[TimelineThread]
    next_cursor: Cursor | None = None


def record_timeline(user, kind: str, record, *, cursor: Cursor | None = None,
                    limit: int = TIMELINE_PAGE) -> TimelinePage:
    """One page of the linked messages of the record that the user may see, newest first, grouped
    by conversation (on the page, a conversation sits where its newest message is); a message seen
    in several folders (Gmail labels) shows once. Keyset on the message's (date, id), both on the
    link row (MessageLink.message_date), so the ids come from walking the record's timeline index
    newest first, each checked against the visibility rule by primary key, stopping after
    2 x `limit` (however many links the record has); then the page's rows are loaded by key. The
    next page continues at any depth without gaps or repeats."""
    links = (MessageLink.objects.filter(**{kind: record}, state=LinkState.LINKED)
             .filter(message_rule(user, "message__")))
    if cursor is not None:
        links = links.filter(Q(message_date__lt=cursor.date) | Q(message_date=cursor.date, message_id__lt=cursor.id),
                             message_date__lte=cursor.date)
    ids = list(links.order_by("-message_date", "-message_id").values_list("id", flat=True)[:limit * 2])
    by_id = {link.pk: link for link in MessageLink.objects.filter(pk__in=ids)
             .select_related("message", "message__folder").only(*_TIMELINE_FIELDS)}
    fetched = [by_id[pk] for pk in ids if pk in by_id]
    groups: dict[object, TimelineThread] = {}
    seen: set[str] = set()
    last = None
    more = len(fetched) == limit * 2
    for link in fetched:
        message = link.message
        if message.dedup_key in seen:
            last = link  # the copy of a message already on the page (another label)
            continue
        if len(seen) == limit:
            more = True
            break
        seen.add(message.dedup_key)
        last = link
        key = message.thread_id or f"m{message.pk}"
        if key not in groups:
            groups[key] = TimelineThread(message.thread_id, message.subject)
        groups[key].links.append(link)
    _attach_delivery(user, [link for group in groups.values() for link in group.links])
    return TimelinePage(list(groups.values()), Cursor(last.message_date, last.message_id) if more else None)


def _attach_delivery(user, links: list[MessageLink]) -> None:
    """Each timeline link gets `delivery`: the per-recipient delivery (SMTP, DSN, PEC receipts) of
    its message when the viewing user sent it through the outbox, else [] (one query in all)."""
    by_id = delivery_by_message_id(user, [link.message.message_id for link in links])
    now = timezone.now()
    for link in links:
        lines = by_id.get(link.message.message_id.strip().strip("<>"), [])
        link.delivery = [timeline_delivery(line, now) for line in lines]


def own_message(user, message: Message) -> bool:
    return Message.objects.filter(own_message_rule(user), pk=message.pk).exists()


def thread_shares(thread_id) -> list[MessageShare]:
    if thread_id is None:
        return []
    return list(MessageShare.objects.filter(thread_id=thread_id).select_related("sharer", "recipient")
                .order_by("created_at", "id"))


def thread_comments(thread_id) -> list[ShareComment]:
    if thread_id is None:
        return []
    return list(ShareComment.objects.filter(thread_id=thread_id).select_related("author"))
