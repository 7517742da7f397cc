"""Message pages for a scope: one folder, several folders merged, flagged, search results."""

import heapq

from django.db import connection

from messages_app.enums import SpecialFolder
from messages_app.mailbox.keyset import PAGE_SIZE, Cursor, Page, after, page_from_rows
from messages_app.mailbox.scopes import EVERYWHERE, SPECIAL, UNIFIED, Scope
from messages_app.mailbox.search import matching
from messages_app.mailbox.search_walk import LATERAL_FOLDER, walked_top_ids, worth_walking
from messages_app.models import Message
from messages_app.selectors import (
    local_messages,
    shared_messages,
    unique_flagged,
    visible_in_folders,
    visible_messages,
)

LIST_DEFERRED = ("references", "keywords", "in_reply_to", "list_id", "auto_submitted", "precedence")


def _rows(queryset):
    return queryset.select_related("folder", "account").defer(*LIST_DEFERRED)


def scope_messages(user, scope: Scope):
    """Every message a scope lists (unordered), only what the user may see: a scope's folder ids
    come from visible_folders, special folders from their selectors."""
    if scope.kind == SPECIAL:
        if scope.name == SpecialFolder.FLAGGED:
            return unique_flagged(user)
        if scope.name == SpecialFolder.IMPORTED:
            return local_messages(user)
        if scope.name == SpecialFolder.SHARED:
            return not_receipts(shared_messages(user))
        return Message.objects.none()  # Scheduled: filled by a later feature
    return not_receipts(visible_in_folders(user, scope.folder_ids, with_local=scope.kind == EVERYWHERE))


def not_receipts(messages):
    """PEC receipts are delivery status, shown on the sent message they are about (services/pec.py),
    not mail to read: no list shows them, and the server keeps them where they are."""
    return messages.filter(x_ricevuta="")


def messages_page(user, scope: Scope, *, cursor: Cursor | None = None, query: str = "",
                  limit: int = PAGE_SIZE) -> Page:
    if query:
        ids = search_top_ids(user, scope, query, cursor, limit + 1)
    elif scope.kind in (SPECIAL, EVERYWHERE) or len(scope.folder_ids) <= 1:
        ids = _top_ids(scope_messages(user, scope), cursor, limit + 1)
    else:
        ids = _merged_top_ids(scope.folder_ids, cursor, limit + 1)
    by_id = {m.id: m for m in _rows(visible_messages(user).filter(id__in=ids))}
    return page_from_rows([by_id[pk] for pk in ids if pk in by_id], limit)


def search_top_ids(user, scope: Scope, query: str, cursor: Cursor | None, n: int) -> list[int]:
    """The newest `n` matches of a search in a scope: walked in date order for common words
    (search_walk.py), else from the GIN index (or LIKE on SQLite); both give the same ids.
    One folder needs no walk of ours: its (folder, date) index is an ordered path the planner
    weighs against the GIN index itself (13-24 ms at 100k and 1M, either word)."""
    if scope.kind in (UNIFIED, EVERYWHERE) and worth_walking(query):
        ids = walked_top_ids(*search_streams(user, scope), query, cursor, n)
        if ids is not None:
            return ids
    return _top_ids(matching(scope_messages(user, scope), query), cursor, n)


def search_streams(user, scope: Scope) -> tuple[tuple[int, ...], object, list]:
    """scope_messages for a folder or unified scope, as the sets a date walk reads one by one:
    each of the scope's folders (ids from visible_folders), and for "all folders" the user's
    local messages."""
    in_folder = not_receipts(Message.objects.filter(folder_id=LATERAL_FOLDER))
    others = [not_receipts(local_messages(user))] if scope.kind == EVERYWHERE else []
    return scope.folder_ids, in_folder, others


def _top_ids(messages, cursor: Cursor | None, n: int) -> list[int]:
    """Ids first, rows after: the joins for display then touch one page, not every match (a
    common search word matches tens of thousands of messages)."""
    return list(after(messages, cursor).order_by("-date", "-id").values_list("id", flat=True)[:n])


def _merged_top_ids(folder_ids: tuple[int, ...], cursor: Cursor | None, n: int) -> list[int]:
    """Newest messages over several folders: the top N of each folder, then merged.

    `folder_id IN (...) ORDER BY date LIMIT N` sorts the union of the folders (hundreds of ms at
    a million rows); N index probes per folder stay under a millisecond at any depth.
    """
    if connection.vendor == "postgresql":
        return _top_ids_lateral(folder_ids, cursor, n)
    per_folder = [
        list(after(not_receipts(Message.objects.filter(folder_id=folder_id)), cursor)
             .order_by("-date", "-id").values_list("date", "id")[:n])
        for folder_id in folder_ids
    ]
    return [pk for _date, pk in heapq.merge(*per_folder, reverse=True)][:n]


def _top_ids_lateral(folder_ids: tuple[int, ...], cursor: Cursor | None, n: int) -> list[int]:
    condition, params = "", []
    if cursor is not None:
        condition = "AND m.date <= %s AND (m.date < %s OR (m.date = %s AND m.id < %s))"
        params = [cursor.date, cursor.date, cursor.date, cursor.id]
    sql = f"""
        SELECT top.id FROM unnest(%s::bigint[]) AS f(id)
        CROSS JOIN LATERAL (
            SELECT m.id, m.date FROM messages_app_message m
            WHERE m.folder_id = f.id AND m.x_ricevuta = '' {condition}
            ORDER BY m.date DESC, m.id DESC LIMIT %s
        ) AS top
        ORDER BY top.date DESC, top.id DESC LIMIT %s
    """  # noqa: S608 - only placeholders are interpolated
    with connection.cursor() as db:
        db.execute(sql, [list(folder_ids), *params, n, n])
        return [row[0] for row in db.fetchall()]
