"""Actions on one message or a selection: read/unread, flag/unflag, move, Spam, delete.

Each goes through the write path (server first, queued when it is down). The answer updates
only what changed: the affected rows and the reading pane, out of band; counts refresh on the
`countsStale` event. A toast says what was done (with Annulla where it can be undone) or, in
words, why nothing was.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from messages_app.enums import FolderRole
from messages_app.mailbox.listing import scope_messages
from messages_app.mailbox.scopes import folder_path_label, role_label, scope_from_key
from messages_app.models import Message
from messages_app.selectors import own_messages, visible_folder_or_404, visible_folders, visible_messages
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
ACTIONS = {*FLAG_CHANGES, "move", "spam", "delete", "restore"}
UNDO_FLAGS = {"read": "unread", "unread": "read", "flag": "unflag", "unflag": "flag"}
FLAG_DONE = {
    "read": lambda n: ngettext("%(count)s message marked as read", "%(count)s messages marked as read", n),
    "unread": lambda n: ngettext("%(count)s message marked as unread", "%(count)s messages marked as unread", n),
    "flag": lambda n: ngettext("%(count)s message flagged", "%(count)s messages flagged", n),
    "unflag": lambda n: ngettext("%(count)s message no longer flagged", "%(count)s messages no longer flagged", n),
}


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
    """Ids, the destination folder (for a move) and the open message, all checked up front.
    Nothing selected or no folder chosen is not malformed: the caller says so in a toast."""
    ids = selected_ids(request)
    destination_id = None
    if action == "move" and request.POST.get("destination", "").strip():
        destination_id = _id(request.POST["destination"], "destination")
    reading_id = request.POST.get("reading", "").strip()
    if reading_id:
        _id(reading_id, "reading")
    return ids, destination_id, reading_id


def deletes_for_good(messages: list[Message], user) -> bool:
    """Deleting from Trash (or from an account without one) cannot be undone."""
    with_trash = set(visible_folders(user).filter(role=FolderRole.TRASH).values_list("account_id", flat=True))
    return any(m.folder_id and (m.folder.role == FolderRole.TRASH or m.account_id not in with_trash)
               for m in messages)


def _toast(request, text: str, *, status: int = 200):
    """Only a toast: the action did nothing, and says why (the selection stays, to be acted on)."""
    response = render(request, "messages_app/_changed.html", {"toast": text}, status=status)
    response["X-Nothing-Done"] = "1"
    return response


def _moved_toast(count: int, folder_label: str) -> str:
    return ngettext("%(count)s message moved to %(folder)s", "%(count)s messages moved to %(folder)s",
                    count) % {"count": count, "folder": folder_label}


def _where_to(messages: list[Message], user, role: str) -> dict:
    """Each message's destination for Spam or Delete: its own account's folder of that role."""
    targets = {f.account_id: f for f in visible_folders(user).filter(role=role)}
    return {m.pk: targets[m.account_id] for m in messages
            if m.account_id in targets and targets[m.account_id].pk != m.folder_id}


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
    if not wanted_ids:
        return _toast(request, _("Nothing selected: tick the messages first."))
    if action == "move" and destination_id is None:
        return _toast(request, _("Choose the folder to move to first."))
    messages = list(own_messages(user).filter(pk__in=wanted_ids).select_related("folder"))  # shared: read-only
    if not messages:
        raise Http404  # nothing of this user's was named: as if the ids did not exist
    ids = [m.pk for m in messages]
    if action == "delete" and request.POST.get("confirm") != "1" and deletes_for_good(messages, user):
        response = render(request, "messages_app/_confirm_delete.html", {
            "ids": ",".join(map(str, ids)), "count": len(ids), "scope_key": scope_key, "reading": reading_id,
        })
        response["HX-Retarget"] = "#dialog"
        response["HX-Reswap"] = "innerHTML"
        return response

    undo, events = None, {}
    origins = ",".join(f"{m.pk}:{m.folder_id}" for m in messages)
    if action in FLAG_CHANGES:
        queued = message_flags_set(user=user, message_ids=ids, **FLAG_CHANGES[action])
        done = FLAG_DONE[action](len(ids)) % {"count": len(ids)}
        undo = {"action": UNDO_FLAGS[action], "ids": ",".join(map(str, ids))}
    elif action == "move":
        destination = visible_folder_or_404(user, destination_id)
        movable = [m for m in messages if m.account_id == destination.account_id and m.folder_id != destination.pk]
        if not movable:
            return _toast(request, _("Nothing to move: the messages are already in %(folder)s or in another "
                                     "account.") % {"folder": folder_path_label(destination)})
        queued = message_move(user=user, message_ids=ids, destination=destination)
        done = _moved_toast(len(movable), folder_path_label(destination))
        undo = {"action": "restore", "origins": origins}
    elif action == "spam":
        moving = _where_to(messages, user, FolderRole.SPAM)
        if not moving:
            return _toast(request, _("Nothing to move: no Spam folder, or the messages are already there."))
        queued = message_move_to_role(user=user, message_ids=ids, role=FolderRole.SPAM)
        done = _moved_toast(len(moving), role_label(FolderRole.SPAM))
        undo = {"action": "restore", "origins": origins}
    elif action == "restore":
        queued, restored = _restore(request)
        done = ngettext("%(count)s message put back", "%(count)s messages put back", restored) % {"count": restored}
        events["listRefresh"] = True
    else:
        to_trash = _where_to(messages, user, FolderRole.TRASH)
        queued = message_delete(user=user, message_ids=ids)
        if len(to_trash) == len(ids):
            done = _moved_toast(len(ids), role_label(FolderRole.TRASH))
            undo = {"action": "restore", "origins": origins}
        else:
            done = ngettext("%(count)s message deleted for good", "%(count)s messages deleted for good",
                            len(ids)) % {"count": len(ids)}
    if undo is not None:
        undo.setdefault("ids", ",".join(map(str, ids)))
        undo["scope"] = scope_key
    return _changed(request, ids, scope, scope_key, reading_id, queued, moved=action in ("move", "spam", "delete"),
                    toast=done, undo=undo, events=events)


def _restore(request) -> tuple[int, int]:
    """Undo of a move: each message back to the folder it came from (ids survive a move)."""
    user = request.user
    origin_of: dict[int, int] = {}
    for pair in request.POST.get("origins", "").split(","):
        message_id, _sep, folder_id = pair.partition(":")
        if message_id.isdigit() and folder_id.isdigit():
            origin_of[int(message_id)] = int(folder_id)
    folders = {f.pk: f for f in visible_folders(user).filter(pk__in=set(origin_of.values()))
               .select_related("account")}
    wanted = [pk for pk in selected_ids(request) if origin_of.get(pk) in folders]
    queued = restored = 0
    for folder_id, folder in folders.items():
        group = [pk for pk in wanted if origin_of[pk] == folder_id]
        moving = Message.objects.filter(pk__in=group, account=folder.account).exclude(folder=folder).count()
        if moving:
            queued += message_move(user=user, message_ids=group, destination=folder)
            restored += moving
    return queued, restored


def _changed(request, ids: list[int], scope, scope_key: str, reading_id: str, queued: int, *, moved: bool,
             toast: str = "", undo: dict | None = None, events: dict | None = None):
    user = request.user
    preferences = preferences_of(user)
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
        "queued_notice": notice, "toast": toast, "undo": json.dumps(undo) if undo else "",
    })
    events = {"countsStale": True, **(events or {})}
    if threaded:
        events["listStale"] = True
    response["HX-Trigger"] = json.dumps(events)
    return response
