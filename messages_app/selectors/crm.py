"""Reads of CRM links and shared conversations, through the one visibility rule."""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.mailbox.keyset import Cursor
from messages_app.models import Folder, LinkState, Message, MessageLink, MessageShare, ShareComment
from messages_app.selectors.outbox import DeliveryLine, delivery_by_message_id
from messages_app.selectors.pec import UNCONFIRMED_AFTER
from messages_app.selectors.visibility import message_rule, own_message_rule

TIMELINE_PAGE = 50
_TIMELINE_FIELDS = ("id", "message_id", "message_date", "contact_id", "company_id", "lead_id", "reason", "detail",
                    "confidence", "state", *(f"message__{name}" for name in (
                        "id", "folder_id", "account_id", "local_owner_id", "dedup_key", "message_id", "subject",
                        "from_name", "from_addr", "date", "thread_id")))


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
    link row (MessageLink.message_date), so the page is chosen by walking the record's timeline
    index newest first, each row checked against the visibility rule by primary key, stopping
    after 2 x `limit` (however many links the record has); that walk returns the few columns that
    choose the page (the copies of one message, the cursor), and only the links shown are then
    loaded, with their folders apart (a page's mail sits in a handful of folders). The next page
    continues at any depth without gaps or repeats."""
    links = (MessageLink.objects.filter(**{kind: record}, state=LinkState.LINKED)
             .filter(message_rule(user, "message__")))
    if cursor is not None:
        links = links.filter(Q(message_date__lt=cursor.date) | Q(message_date=cursor.date, message_id__lt=cursor.id),
                             message_date__lte=cursor.date)
    walked = list(links.order_by("-message_date", "-message_id")
                  .values_list("id", "message_id", "message_date", "message__dedup_key")[:limit * 2])
    shown, last, cut = _page_of(walked, limit)
    more = cut or len(walked) == limit * 2
    by_id = {link.pk: link for link in MessageLink.objects.filter(pk__in=[row[0] for row in shown])
             .select_related("message").only(*_TIMELINE_FIELDS)}
    fetched = [by_id[row[0]] for row in shown if row[0] in by_id]
    _attach_folders([link.message for link in fetched])
    groups: dict[object, TimelineThread] = {}
    for link in fetched:
        message = link.message
        key = message.thread_id or f"m{message.pk}"
        if key not in groups:
            groups[key] = TimelineThread(message.thread_id, message.subject)
        groups[key].links.append(link)
    _attach_delivery(user, fetched)
    return TimelinePage(list(groups.values()), Cursor(last[2], last[1]) if more and last else None)


def _page_of(walked: list[tuple], limit: int) -> tuple[list[tuple], tuple | None, bool]:
    """The walked rows (link id, message id, date, dedup key) to show: the first `limit` messages,
    each once; the last row the page covers (the cursor), copies of a shown message included; and
    whether a further message was walked past."""
    shown: list[tuple] = []
    seen: set[str] = set()
    last = None
    for row in walked:
        if row[3] in seen:
            last = row  # the copy of a message already on the page (another label)
            continue
        if len(seen) == limit:
            return shown, last, True
        seen.add(row[3])
        shown.append(row)
        last = row
    return shown, last, False


def _attach_folders(messages: list[Message]) -> None:
    """Each message's folder, read once per folder (a page of 50 sits in one to a few)."""
    folders = Folder.objects.in_bulk({message.folder_id for message in messages if message.folder_id})
    for message in messages:
        if message.folder_id in folders:  # a folder gone since the walk: left to the row's own read
            message.folder = folders[message.folder_id]


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
