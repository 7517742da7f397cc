"""The write path for actions on messages: server first, local copy after; queued when the
server is unreachable, never lost."""

from collections import defaultdict

from django.db.models import QuerySet

from messages_app.enums import FolderRole, PendingActionKind
from messages_app.exceptions import MailError, is_transient
from messages_app.models import Folder
from messages_app.selectors import own_messages, visible_folders
from messages_app.services.imap_pool import pooled_connection
from messages_app.services.imap_session import imap_call
from messages_app.sync.pending import apply_action, queue_action


def _by_folder(messages: QuerySet) -> dict[Folder, list[int]]:
    grouped: dict[Folder, list[int]] = defaultdict(list)
    # Local messages (no folder) have no server to tell: _perform never sees them.
    for message in messages.filter(folder__isnull=False).select_related("folder__account__owner"):
        grouped[message.folder].append(message.uid)
    return grouped


def _apply_on_server(folder: Folder, uids: list[int], kind: str, payload: dict) -> None:
    """On a kept connection of the account. Setting flags may safely be tried twice (once more
    when a kept connection turns out dead); a move or delete is not retried here: a failure is
    queued, and the replay sees what the server did."""
    if kind == PendingActionKind.SET_FLAGS:
        imap_call(folder.account, lambda conn: apply_action(conn, folder, uids, kind, payload))
        return
    with pooled_connection(folder.account) as conn:
        apply_action(conn, folder, uids, kind, payload)


def _perform(messages: QuerySet, kind: str, payload_for) -> int:
    """Apply per folder; returns how many messages were queued instead of done at once."""
    queued = 0
    for folder, uids in _by_folder(messages).items():
        payload = payload_for(folder)
        if payload is None:
            continue
        action_kind = payload.pop("_kind", kind)
        try:
            _apply_on_server(folder, uids, action_kind, payload)
        except MailError as exc:
            if not is_transient(exc):
                raise
            queue_action(folder.account, folder, uids, action_kind, payload, exc.user_message())
            queued += len(uids)
    return queued


def messages_for(user, message_ids) -> QuerySet:
    """Only the user's own messages: ids of anybody else's simply match nothing, and mail a
    colleague shared is read-only (seen through the rule, never changed)."""
    return own_messages(user).filter(pk__in=list(message_ids))


LOCAL_FLAGS = {"\\Seen": "is_seen", "\\Flagged": "is_flagged", "\\Answered": "is_answered"}


def _local_flags_set(messages: QuerySet, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """A local message has no server: its flags change here only."""
    changes = {LOCAL_FLAGS[f]: True for f in add if f in LOCAL_FLAGS}
    changes.update({LOCAL_FLAGS[f]: False for f in remove if f in LOCAL_FLAGS})
    if changes:
        messages.filter(account__isnull=True).update(**changes)


def message_flags_set(*, user, message_ids, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> int:
    messages = messages_for(user, message_ids)
    _local_flags_set(messages, add, remove)
    return _perform(messages, PendingActionKind.SET_FLAGS,
                    lambda folder: {"add": list(add), "remove": list(remove)})


def message_move(*, user, message_ids, destination: Folder) -> int:
    if not visible_folders(user).filter(pk=destination.pk).exists():
        raise Folder.DoesNotExist
    messages = messages_for(user, message_ids).filter(account=destination.account).exclude(folder=destination)
    return _perform(messages, PendingActionKind.MOVE, lambda folder: {"folder_id": destination.pk})


def message_move_to_role(*, user, message_ids, role: str) -> int:
    """Move each message to its own account's folder of that role (Spam, Trash)."""
    targets = {f.account_id: f for f in visible_folders(user).filter(role=role)}

    def payload(folder: Folder):
        target = targets.get(folder.account_id)
        if target is None or target.pk == folder.pk:
            return None
        return {"folder_id": target.pk}

    return _perform(messages_for(user, message_ids), PendingActionKind.MOVE, payload)


def message_delete(*, user, message_ids) -> int:
    """To the account's Trash; from Trash (or without one), for good. The view asks first."""
    trash = {f.account_id: f for f in visible_folders(user).filter(role=FolderRole.TRASH)}

    def payload(folder: Folder):
        target = trash.get(folder.account_id)
        if target is None or target.pk == folder.pk:
            return {"_kind": PendingActionKind.DELETE}
        return {"folder_id": target.pk}

    return _perform(messages_for(user, message_ids), PendingActionKind.MOVE, payload)
