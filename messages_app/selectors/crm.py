"""Reads of CRM links and shared conversations, through the one visibility rule."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from messages_app.models import LinkState, Message, MessageLink, MessageShare, ShareComment
from messages_app.selectors.visibility import message_rule, own_message_rule

TIMELINE_LIMIT = 300


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


@dataclass
class TimelineThread:
    thread_id: int | None
    subject: str
    links: list[MessageLink] = field(default_factory=list)


def record_timeline(user, kind: str, record, *, limit: int = TIMELINE_LIMIT) -> list[TimelineThread]:
    """Every linked message of the record that the user may see, newest first, grouped by
    conversation (a conversation sits where its newest message is); a message seen in several
    folders (Gmail labels) shows once."""
    links = (MessageLink.objects.filter(**{kind: record}, state=LinkState.LINKED)
             .filter(message_rule(user, "message__"))
             .select_related("message", "message__folder", "message__account")
             .order_by("-message__date", "-message_id")[:limit])
    groups: dict[object, TimelineThread] = {}
    seen: set[str] = set()
    for link in links:
        message = link.message
        if message.dedup_key in seen:
            continue
        seen.add(message.dedup_key)
        key = message.thread_id or f"m{message.pk}"
        if key not in groups:
            groups[key] = TimelineThread(message.thread_id, message.subject)
        groups[key].links.append(link)
    return list(groups.values())


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
