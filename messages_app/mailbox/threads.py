"""The threaded list: one row per conversation, from the Thread summary table the sync keeps."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.http import Http404

from messages_app.mailbox.keyset import PAGE_SIZE, Cursor, Page, after, page_from_rows
from messages_app.mailbox.listing import LIST_DEFERRED
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
    for part in visible_thread_parts(user):
        threads = after(part.filter(last_date__isnull=False).filter(Exists(present)), cursor, "last_date")
        candidates += threads.order_by("-last_date", "-id")[:limit + 1]
    candidates.sort(key=lambda thread: (thread.last_date, thread.id), reverse=True)
    page = page_from_rows(candidates[:limit + 1], limit, "last_date")
    if not page.rows:
        return page
    members = (visible_messages(user).filter(thread_id__in=[t.id for t in page.rows],
                                             folder_id__in=scope.folder_ids, x_ricevuta="")
               .select_related("folder", "account").defer(*LIST_DEFERRED).order_by("-date", "-id"))
    grouped: dict[int, list[Message]] = {}
    for message in members:
        grouped.setdefault(message.thread_id, []).append(message)
    page.rows = [
        ThreadRow(thread=thread, latest=grouped[thread.id][0], in_scope=len(grouped[thread.id]),
                  unread=any(not m.is_seen for m in grouped[thread.id]),
                  flagged=any(m.is_flagged for m in grouped[thread.id]),
                  has_attachments=any(m.has_attachments for m in grouped[thread.id]),
                  member_ids=[m.pk for m in grouped[thread.id]])
        for thread in page.rows if thread.id in grouped
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
