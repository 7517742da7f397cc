"""The mailbox: folder column, message list (flat or threaded, with search), unread counts.

One URL serves the whole page and, for htmx, just its list or just the next page of rows.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from messages_app.enums import SpecialFolder
from messages_app.mailbox.changes import change_token
from messages_app.mailbox.keyset import Cursor
from messages_app.mailbox.listing import messages_page
from messages_app.mailbox.reads import request_reads
from messages_app.mailbox.scopes import (
    Scope,
    everywhere_scope,
    folder_scope,
    home_scope,
    scope_from_key,
    special_scope,
    unified_scope,
)
from messages_app.mailbox.threads import thread_messages, threads_page
from messages_app.mailbox.tree import folder_tree, move_targets
from messages_app.services.preferences import preferences_of
from messages_app.views.compose import scheduled_items, sent_toast, unsent_items

QUERY_MAX_CHARS = 200
SCHEDULED_KEY = f"special:{SpecialFolder.SCHEDULED.value}"


def shell_context(request, scope: Scope | None, preferences=None) -> dict:
    """What every full page of the mailbox needs besides the list: the folder column. Its reads
    (folders, accounts, layout) are the request's, shared with the list; `preferences`: the
    user's, when the caller has already read them."""
    reads = request_reads(request)
    preferences = preferences or reads.preferences
    return {
        "preferences": preferences,
        "tree": folder_tree(request.user, merged=preferences.merge_accounts, folders=reads.folders,
                            accounts=reads.accounts),
        "scope": scope,
        "poll_seconds": settings.MAIL_UNREAD_POLL_SECONDS,
        "sent_toast": sent_toast(request),
    }


def list_context(request, scope: Scope) -> dict:
    reads = request_reads(request)
    preferences = reads.preferences
    query = request.GET.get("q", "").strip()[:QUERY_MAX_CHARS]
    everywhere = bool(query) and request.GET.get("all") == "1"
    cursor = Cursor.parse(request.GET.get("before"))
    threaded = preferences.threaded and scope.can_thread and not query
    if threaded:
        page = threads_page(request.user, scope, cursor=cursor)
    else:
        searched = everywhere_scope(request.user, reads.folders) if everywhere else scope
        page = messages_page(request.user, searched, cursor=cursor, query=query)
    next_url = ""
    if page.next_cursor is not None:
        params = {"q": query, "all": "1" if everywhere else ""}
        params = {k: v for k, v in params.items() if v}
        next_url = f"{request.path}?{urlencode({**params, 'before': str(page.next_cursor)})}"
    return {
        "scope": scope, "page": page, "threaded": threaded, "query": query, "everywhere": everywhere,
        "next_url": next_url, "preferences": preferences,
        "move_targets": move_targets(reads.folders),
        "changes_token": change_token(request.user, reads.folders),
        "live_poll_ms": settings.MAIL_LIVE_POLL_SECONDS * 1000,
        "scheduled": list(scheduled_items(request.user)) if scope.key == SCHEDULED_KEY else None,
        "unsent": list(unsent_items(request.user)) if scope.key == SCHEDULED_KEY else [],
    }


def _list_response(request, scope: Scope):
    context = list_context(request, scope)
    if request.htmx and request.GET.get("before"):
        return render(request, "messages_app/_rows.html", context)
    if request.htmx and request.htmx.target == "list":
        return render(request, "messages_app/_list.html", context)
    return render(request, "messages_app/mailbox.html", {**shell_context(request, scope), **context})


@login_required
@require_GET
def index(request):
    reads = request_reads(request)
    scope = home_scope(request.user, merged=reads.preferences.merge_accounts, folders=reads.folders)
    if scope is None:  # no account yet: the page says how to add one
        return render(request, "messages_app/mailbox.html", shell_context(request, None))
    return _list_response(request, scope)


@login_required
@require_GET
def unified(request, role: str):
    return _list_response(request, unified_scope(request.user, role, request_reads(request).folders))


@login_required
@require_GET
def special(request, name: str):
    return _list_response(request, special_scope(request.user, name))


@login_required
@require_GET
def folder(request, folder_id: int):
    return _list_response(request, folder_scope(request.user, folder_id, request_reads(request).folders))


@login_required
@require_GET
def thread(request, thread_id: int):
    """The messages of one conversation, shown under its row when expanded."""
    conversation, messages = thread_messages(request.user, thread_id)
    scope = scope_from_key(request.user, request.GET.get("scope", ""))
    return render(request, "messages_app/_thread_messages.html", {
        "conversation": conversation, "messages": messages, "scope": scope,
        "preferences": preferences_of(request.user),
    })


@login_required
@require_GET
def counts(request):
    """Unread counts only, as out-of-band swaps: polled, so new mail shows without a reload."""
    reads = request_reads(request)
    tree = folder_tree(request.user, merged=reads.preferences.merge_accounts, folders=reads.folders,
                       accounts=reads.accounts)
    return render(request, "messages_app/_counts.html", {"counts": tree.counts()})


@login_required
@require_GET
def changes(request):
    """The open list's poll: 204 while the user's mail is unchanged (one small query), else the
    newest page of rows for the page's script to merge (new rows on top, changed ones replaced)."""
    token = change_token(request.user)
    if request.GET.get("token") == token:
        return HttpResponse(status=204)
    scope = scope_from_key(request.user, request.GET.get("scope", ""))
    preferences = preferences_of(request.user)
    threaded = preferences.threaded and scope.can_thread
    page = threads_page(request.user, scope) if threaded else messages_page(request.user, scope)
    response = render(request, "messages_app/_rows.html", {
        "scope": scope, "page": page, "threaded": threaded, "preferences": preferences, "next_url": "",
    })
    response["X-Changes-Token"] = token
    response["X-Changes-Complete"] = "0" if page.next_cursor else "1"
    return response
