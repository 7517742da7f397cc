"""Deciding what is genuinely new, and writing its marker with the batch.

Genuinely new: a message stored with a UID at or above its folder's `arrival_floor_uid` (the
UIDNEXT the folder had when the account's first sync began, or when the folder was rebuilt), that
did not match a row the account already had (a move by any client, a copy, a rebuild). History of
a first sync, backfill and rebuilds lie below the floor; matched rows are re-homed, not inserted.
"""

from messages_app.models import ArrivalMarker, Folder, Message


def is_genuinely_new(folder: Folder, uid: int) -> bool:
    return folder.arrival_floor_uid is not None and uid >= folder.arrival_floor_uid


def write_markers(folder: Folder, rows: list[Message]) -> int:
    """Markers for the inserted rows that are genuinely new; runs inside the batch's transaction.
    The rows must carry their ids (the insert yields them)."""
    markers = [ArrivalMarker(message_id=row.pk, account_id=folder.account_id)
               for row in rows if is_genuinely_new(folder, row.uid)]
    ArrivalMarker.objects.bulk_create(markers, ignore_conflicts=True)
    return len(markers)
