"""The threaded list: one row per conversation, from the Thread summary table the sync keeps."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.http import Http404

from messages_app.mailbox.keyset import PAGE_SIZE, Cursor, Page, after, page_from_rows
from messages_app.mailbox.listing import LIST_DEFERRED
from messages_app.mailbox.planner import serial_plan
from messages_app.mailbox.scopes import Scope
from messages_app.models import Message, Thread
from messages_app.selectors import visible_messages, visible_thread_or_404, visible_thread_parts


@dataclass
class ThreadRow:
    thread: Thread
    latest: Message  # the newest message of the conversation within the scope
    in_scope: int  # how many of its messages the scope holds
    unread: bool
    flagged: bool
    has_attachments: bool
    member_ids: list[int]

    @property
    def id(self) -> int:
        return self.thread.id


def threads_page(user, scope: Scope, *, cursor: Cursor | None = None, limit: int = PAGE_SIZE) -> Page:
    present = Message.objects.filter(thread=OuterRef("pk"), folder_id__in=scope.folder_ids, x_ricevuta="")
    # The own and the shared conversations one page each, merged: one query with the rule's OR
    # sorts every conversation of the user (200 ms at 100k) instead of walking the index.
    candidates = []
    with serial_plan():  # see serial_plan: this is the query it was written for
        for part in visible_thread_parts(user):
            threads = after(part.filter(last_date__isnull=False).filter(Exists(present)), cursor, "last_date")
            candidates += threads.order_by("-last_date", "-id")[:limit + 1]
    candidates.sort(key=lambda thread: (thread.last_date, thread.id), reverse=True)
    page = page_from_rows(candidates[:limit + 1], limit, "last_date")
    if not page.rows:
        return page
    # Every member of the page's conversations counts (unread, flagged, attachments, the ids an
    # action takes), but only the newest of each is drawn: the members as plain tuples, then
    # whole rows for those 50 alone.
    members = (visible_messages(user).filter(thread_id__in=[t.id for t in page.rows],
                                             folder_id__in=scope.folder_ids, x_ricevuta="")
               .order_by("-date", "-id")
               .values_list("thread_id", "pk", "is_seen", "is_flagged", "has_attachments", named=True))
    grouped: dict[int, list] = {}
    for member in members:
        grouped.setdefault(member.thread_id, []).append(member)
    latest = visible_messages(user).filter(pk__in=[rows[0].pk for rows in grouped.values()]) \
        .select_related("account").defer(*LIST_DEFERRED).in_bulk()  # the row shows its account, never its folder
    page.rows = [
        ThreadRow(thread=thread, latest=latest[rows[0].pk], in_scope=len(rows),
                  unread=any(not m.is_seen for m in rows), flagged=any(m.is_flagged for m in rows),
                  has_attachments=any(m.has_attachments for m in rows), member_ids=[m.pk for m in rows])
        for thread in page.rows if (rows := grouped.get(thread.id)) and rows[0].pk in latest
    ]
    return page


def thread_messages(user, thread_id: int) -> tuple[Thread, list[Message]]:
    """A conversation's messages in every folder, oldest first; a copy of the same message in a
    second folder (Gmail's All Mail) is listed once."""
    thread = visible_thread_or_404(user, thread_id)
    seen: set[str] = set()
    messages = []
    for message in (visible_messages(user).filter(thread=thread).select_related("folder", "account")
                    .defer(*LIST_DEFERRED).order_by("date", "id")):
        if message.dedup_key in seen:
            continue
        seen.add(message.dedup_key)
        messages.append(message)
    if not messages:
        raise Http404  # nothing in it the user may see (only detached copies, say)
    return thread, messages
