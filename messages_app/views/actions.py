"""Actions on one message or a selection: read/unread, flag/unflag, move, Spam, delete.

Each goes through the write path (server first, queued when it is down). The answer updates
only what changed: the affected rows and the reading pane, out of band; counts refresh on the
`countsStale` event.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from messages_app.enums import FolderRole
from messages_app.mailbox.listing import scope_messages
from messages_app.mailbox.scopes import scope_from_key
from messages_app.models import Message
from messages_app.selectors import visible_folder_or_404, visible_folders, visible_messages
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


def selected_ids(request) -> list[int]:
    """Ids from checkboxes (`ids` repeated) or one comma-separated value."""
    ids = []
    for value in request.POST.getlist("ids"):
        ids.extend(int(part) for part in value.split(",") if part.strip().isdigit())
    return ids[:1000]


def deletes_for_good(messages: list[Message], user) -> bool:
    """Deleting from Trash (or from an account without one) cannot be undone."""
    with_trash = set(visible_folders(user).filter(role=FolderRole.TRASH).values_list("account_id", flat=True))
    return any(m.folder_id and (m.folder.role == FolderRole.TRASH or m.account_id not in with_trash)
               for m in messages)


@login_required
@require_POST
def actions(request):
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return HttpResponseBadRequest("unknown action")
    user = request.user
    messages = list(visible_messages(user).filter(pk__in=selected_ids(request)).select_related("folder"))
    if not messages:
        raise Http404  # nothing of this user's was named: as if the ids did not exist
    ids = [m.pk for m in messages]
    scope_key = request.POST.get("scope", "")
    reading_id = request.POST.get("reading", "")
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
        destination = visible_folder_or_404(user, request.POST.get("destination") or 0)
        queued = message_move(user=user, message_ids=ids, destination=destination)
    elif action == "spam":
        queued = message_move_to_role(user=user, message_ids=ids, role=FolderRole.SPAM)
    else:
        queued = message_delete(user=user, message_ids=ids)
    return _changed(request, ids, scope_key, reading_id, queued, moved=action in ("move", "spam", "delete"))


def _changed(request, ids: list[int], scope_key: str, reading_id: str, queued: int, *, moved: bool):
    user = request.user
    preferences = preferences_of(user)
    scope = scope_from_key(user, scope_key) if scope_key else None
    rows, gone = [], list(ids)
    threaded = scope is not None and preferences.threaded and scope.can_thread
    if scope is not None and not threaded:
        rows = list(scope_messages(user, scope).filter(pk__in=ids).select_related("folder", "account"))
        gone = sorted(set(ids) - {m.pk for m in rows})
    is_open = reading_id.isdigit() and int(reading_id) in ids
    opened = visible_messages(user).filter(pk=int(reading_id)).first() if is_open else None
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
