"""Actions on one message or a selection: read/unread, flag/unflag, move, Spam, delete.

Each goes through the write path (server first, queued when it is down). The answer updates
only what changed: the affected rows and the reading pane, out of band; counts refresh on the
`countsStale` event.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from messages_app.enums import FolderRole
from messages_app.mailbox.listing import scope_messages
from messages_app.mailbox.scopes import scope_from_key
from messages_app.models import Folder, Message
from messages_app.services.message_actions import (
    message_delete,
    message_flags_set,
    message_move,
    message_move_to_role,
)
from messages_app.services.preferences import preferences_of

FLAG_CHANGES = {
    "read": {"add": ("\\Seen",)},
    "unread": {"remove": ("\\Seen",)},
    "flag": {"add": ("\\Flagged",)},
    "unflag": {"remove": ("\\Flagged",)},
}
ACTIONS = {*FLAG_CHANGES, "move", "spam", "delete"}


MAX_ID = 2**63 - 1  # the database's integer: a longer number is not an id of ours (and overflows SQLite)


class BadInput(ValueError):
    """A malformed POST: answered 400 with the reason, before anything touches a server."""


def _id(value: str, what: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise BadInput(f"{what} must be a message or folder id, got {value[:40]!r}")
    return int(text)


def selected_ids(request) -> list[int]:
    """Ids from checkboxes (`ids` repeated) or one comma-separated value."""
    ids = []
    for value in request.POST.getlist("ids"):
        ids.extend(_id(part, "ids") for part in value.split(",") if part.strip())
    return ids[:1000]


def _checked_input(request, action: str) -> tuple[list[int], int | None, str]:
    """Ids, the destination folder (for a move) and the open message, all checked up front."""
    ids = selected_ids(request)
    if not ids:
        raise BadInput("no message selected")
    destination_id = None
    if action == "move":
        if not request.POST.get("destination", "").strip():
            raise BadInput("no destination folder chosen")
        destination_id = _id(request.POST["destination"], "destination")
    reading_id = request.POST.get("reading", "").strip()
    if reading_id:
        _id(reading_id, "reading")
    return ids, destination_id, reading_id


def deletes_for_good(messages: list[Message], user) -> bool:
    """Deleting from Trash (or from an account without one) cannot be undone."""
    with_trash = set(Folder.objects.filter(account__owner=user, role=FolderRole.TRASH)
                     .values_list("account_id", flat=True))
    return any(m.folder.role == FolderRole.TRASH or m.account_id not in with_trash for m in messages)


@login_required
@require_POST
def actions(request):
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return HttpResponseBadRequest("unknown action")
    user = request.user
    # Every input is checked before anything reaches a server: a bad scope found after the move
    # would answer 500 for a change already made.
    try:
        wanted_ids, destination_id, reading_id = _checked_input(request, action)
    except BadInput as exc:
        return HttpResponseBadRequest(str(exc))
    scope_key = request.POST.get("scope", "")
    try:
        scope = scope_from_key(user, scope_key) if scope_key else None
    except Http404:
        return HttpResponseBadRequest(f"unknown scope {scope_key[:40]!r}")
    messages = list(Message.objects.filter(pk__in=wanted_ids, account__owner=user).select_related("folder"))
    if not messages:
        raise Http404  # nothing of this user's was named: as if the ids did not exist
    ids = [m.pk for m in messages]
    destination = None
    if action == "move":
        destination = get_object_or_404(Folder.objects.select_related("account"), pk=destination_id,
                                        account__owner=user)
    if action == "delete" and request.POST.get("confirm") != "1" and deletes_for_good(messages, user):
        response = render(request, "messages_app/_confirm_delete.html", {
            "ids": ",".join(map(str, ids)), "count": len(ids), "scope_key": scope_key, "reading": reading_id,
        })
        response["HX-Retarget"] = "#dialog"
        response["HX-Reswap"] = "innerHTML"
        return response

    if action in FLAG_CHANGES:
        queued = message_flags_set(user=user, message_ids=ids, **FLAG_CHANGES[action])
    elif action == "move":
        queued = message_move(user=user, message_ids=ids, destination=destination)
    elif action == "spam":
        queued = message_move_to_role(user=user, message_ids=ids, role=FolderRole.SPAM)
    else:
        queued = message_delete(user=user, message_ids=ids)
    return _changed(request, ids, scope, reading_id, queued, moved=action in ("move", "spam", "delete"))


def _changed(request, ids: list[int], scope, reading_id: str, queued: int, *, moved: bool):
    user = request.user
    preferences = preferences_of(user)
    rows, gone = [], list(ids)
    threaded = scope is not None and preferences.threaded and scope.can_thread
    if scope is not None and not threaded:
        rows = list(scope_messages(user, scope).filter(pk__in=ids).select_related("folder", "account"))
        gone = sorted(set(ids) - {m.pk for m in rows})
    is_open = reading_id.isdigit() and int(reading_id) in ids
    opened = Message.objects.filter(pk=int(reading_id), account__owner=user).first() if is_open else None
    notice = ngettext(
        "The server is unreachable: the change to %(count)s message will be made when it is back.",
        "The server is unreachable: the change to %(count)s messages will be made when it is back.",
        queued) % {"count": queued} if queued else ""
    response = render(request, "messages_app/_changed.html", {
        "rows": rows, "gone": gone, "scope": scope, "preferences": preferences,
        "reading_id": reading_id if is_open else "", "opened": opened, "reading_cleared": moved,
        "queued_notice": notice,
    })
    events = {"countsStale": True}
    if threaded:
        events["listStale"] = True
    response["HX-Trigger"] = json.dumps(events)
    return response
