"""Local actions the server has not confirmed yet: applied to IMAP, queued when it is down.

Both the write path (services/message_actions.py) and every sync pass (which replays the queue
first) go through `apply_action`, so a queued action is carried out exactly as a direct one.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from messages_app.enums import PendingActionKind
from messages_app.exceptions import MailError, is_transient
from messages_app.gateways.imap import ImapConnection
from messages_app.models import Folder, MailAccount, Message, PendingAction
from messages_app.sync import store
from messages_app.sync.identity import forget_deleted

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def apply_action(conn: ImapConnection, folder: Folder, uids: list[int], kind: str, payload: dict) -> None:
    """Carry out one action on the server, then mirror what the server accepted locally."""
    conn.select_for_uids(folder.name)  # a kept connection may have it selected already
    if kind == PendingActionKind.SET_FLAGS:
        if payload.get("add"):
            conn.add_flags(uids, payload["add"])
        if payload.get("remove"):
            conn.remove_flags(uids, payload["remove"])
        _mirror_flags(folder, uids, payload)
    elif kind == PendingActionKind.MOVE:
        destination = Folder.objects.get(pk=payload["folder_id"], account_id=folder.account_id)
        mapping = conn.move(uids, destination.name)
        _mirror_move(folder, destination, uids, mapping)
    elif kind == PendingActionKind.DELETE:
        conn.delete_permanently(uids)
        forget_deleted(folder, uids)
    else:
        raise ValueError(f"unknown action {kind!r}")


def _mirror_flags(folder: Folder, uids: list[int], payload: dict) -> None:
    add = {f.lower() for f in payload.get("add", ())}
    remove = {f.lower() for f in payload.get("remove", ())}
    fields = {"local_change_at": timezone.now()}
    for flag, column in (("\\seen", "is_seen"), ("\\flagged", "is_flagged"), ("\\answered", "is_answered")):
        if flag in add:
            fields[column] = True
        elif flag in remove:
            fields[column] = False
    Message.objects.filter(folder=folder, uid__in=uids).update(**fields)


def _mirror_move(source: Folder, destination: Folder, uids: list[int], mapping: dict[int, int]) -> None:
    """Re-home rows whose new UID the server told us (keeping their id, thread and links);
    drop the others, which the next sync of the destination brings back."""
    with transaction.atomic():
        for old_uid, new_uid in mapping.items():
            try:
                with transaction.atomic():
                    Message.objects.filter(folder=source, uid=old_uid).update(folder=destination, uid=new_uid)
            except IntegrityError:  # the destination was synced first: it already has the row
                pass
        leftover = [uid for uid in uids if uid not in mapping]
        store.remove_messages(source, [*leftover, *mapping])


def queue_action(account: MailAccount, folder: Folder, uids: list[int], kind: str, payload: dict, error: str) -> None:
    PendingAction.objects.bulk_create([
        PendingAction(account=account, folder=folder, uid=uid, kind=kind, payload=payload, last_error=error)
        for uid in uids
    ])
    if kind == PendingActionKind.SET_FLAGS:
        _mirror_flags(folder, uids, payload)  # shown at once; the sync leaves pending rows alone


def replay_pending_actions(conn: ImapConnection, account: MailAccount) -> int:
    done = 0
    for action in PendingAction.objects.filter(account=account).select_related("folder"):
        try:
            apply_action(conn, action.folder, [action.uid], action.kind, action.payload)
        except MailError as exc:
            if is_transient(exc):
                raise  # the server is still unreachable: keep the queue for the next pass
            # The server refused this action (the message is gone, say): retry a few passes,
            # then give it up rather than block the queue for ever.
            if action.attempts + 1 >= MAX_ATTEMPTS:
                logger.warning("pending action %s dropped after %s attempts: %s", action.pk, MAX_ATTEMPTS, exc)
                action.delete()
            else:
                PendingAction.objects.filter(pk=action.pk).update(attempts=action.attempts + 1, last_error=str(exc))
            continue
        except Folder.DoesNotExist:
            pass  # the destination folder is gone: the action cannot apply any more
        action.delete()
        done += 1
    return done
