"""Sync one folder: the cursor rules of DESIGN.md ("Sync, in one paragraph").

Cursor invariants (all moved in the same transaction as the rows they describe):
- `uidvalidity`: the server's; a different value means every cached UID is void.
- `last_seen_uid`: every message with a UID in [backfill_below_uid, last_seen_uid] is stored.
- `backfill_below_uid`: None before the first batch; older messages below it are still to fetch
  (the first sync goes newest first so a big mailbox is usable at once); 0 once complete.
- `highest_modseq`: flag changes up to it are applied (CONDSTORE servers).
- `uidnext`, `server_messages`: the last complete pass's SELECT; `server_messages` is also the
  rows stored below `uidnext` then (the server's EXISTS, unless even a verify left them apart),
  so the next pass knows that count from its own additions and removals. LIST-STATUS equal to
  them (and to `uidvalidity`, `highest_modseq`) proves a folder unchanged: the pass skips it.
- `arrival_floor_uid`: set at the folder's first SELECT (its UIDNEXT when the account's first sync
  is under way, 1 for a folder that appeared later) and at a rebuild; a stored message at or above
  it that matches no row of the account is genuinely new and gets an arrival marker in the same
  transaction as its row (store.py, arrival/markers.py).
- A UID the server no longer has detaches its row rather than deleting it (store.remove_messages);
  identity.settle_detached decides its fate at the end of a full pass.
"""

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from messages_app.gateways.imap import ImapConnection, SelectInfo
from messages_app.models import Folder, Message, PendingAction
from messages_app.sync import store
from messages_app.sync.statistics import refresh_while_storing

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass
class FolderResult:
    new: int = 0
    changed: int = 0
    removed: int = 0
    skipped: bool = False
    rebuilt: bool = False
    backfill_pending: bool = False
    rehomed: int = 0
    arrival_ids: list[int] = field(default_factory=list)
    stored: int = 0  # rows this visit's batches stored so far (new, backfilled, verified)

    def add_batch(self, outcome: store.BatchOutcome) -> int:
        self.stored += outcome.stored
        self.rehomed += outcome.rehomed
        self.arrival_ids.extend(outcome.arrival_ids)
        return outcome.stored


def uid_set_string(uids: list[int]) -> str:
    """Compress sorted UIDs into an IMAP sequence set: [1,2,3,7] -> "1:3,7"."""
    parts = []
    start = prev = None
    for uid in uids:
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            parts.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = uid
    if start is not None:
        parts.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(parts)


def is_unchanged(folder: Folder, status: dict | None, *, condstore: bool) -> bool:
    """True when a STATUS (or LIST-STATUS) result proves nothing happened since the last pass.

    Without CONDSTORE a flag change leaves no trace in STATUS, so such folders are always visited.
    """
    if not status or not condstore or folder.uidvalidity is None or folder.backfill_below_uid != 0:
        return False
    return (status.get("UIDVALIDITY") == folder.uidvalidity
            and status.get("UIDNEXT") == folder.uidnext
            and status.get("HIGHESTMODSEQ") == folder.highest_modseq
            and status.get("MESSAGES") == folder.server_messages)


def _save_cursor(folder: Folder, **fields) -> None:
    for key, value in fields.items():
        setattr(folder, key, value)
    Folder.objects.filter(pk=folder.pk).update(**fields)


def _rebuild(folder: Folder, select: SelectInfo) -> None:
    """UIDVALIDITY changed: the cached UIDs mean nothing any more; start the folder over. Its rows
    are detached, not deleted: the same mail coming back under new UIDs re-homes them, and none
    of it counts as new (the floor moves to the new UIDNEXT)."""
    logger.info("folder %s: UIDVALIDITY %s -> %s, rebuilding", folder.pk, folder.uidvalidity, select.uidvalidity)
    with transaction.atomic():
        store.remove_messages(folder, list(Message.objects.filter(folder=folder).values_list("uid", flat=True)))
        PendingAction.objects.filter(folder=folder).delete()
        _save_cursor(folder, uidvalidity=select.uidvalidity, last_seen_uid=0, backfill_below_uid=None,
                     highest_modseq=None, uidnext=0, arrival_floor_uid=select.uidnext or 1)


def _store_batch(conn: ImapConnection, folder: Folder, uids: list[int], result: FolderResult, **cursor) -> int:
    fetched = conn.fetch_meta(uid_set_string(uids))
    with transaction.atomic(savepoint=False):  # inside a one-commit visit: no savepoint round trips
        outcome = store.store_new_messages(folder, fetched)
        _save_cursor(folder, **cursor)
    stored_before = result.stored
    stored = result.add_batch(outcome)
    refresh_while_storing(stored_before, result.stored)  # a first sync's batches after it are planned right
    return stored


def _sync_known(conn: ImapConnection, folder: Folder, select: SelectInfo, pass_started: datetime) -> tuple[int, int]:
    """Flag changes and removals among messages already stored."""
    if folder.last_seen_uid <= 0:
        return 0, 0
    known_range = f"1:{folder.last_seen_uid}"
    pending = set(PendingAction.objects.filter(folder=folder).values_list("uid", flat=True))
    condstore = conn.has("CONDSTORE") and folder.highest_modseq and select.highest_modseq
    if condstore:
        if select.highest_modseq == folder.highest_modseq:
            return 0, 0
        flags, vanished = conn.fetch_flags(known_range, changed_since=folder.highest_modseq)
        removed_uids = vanished if conn.qresync_enabled else set()
    else:  # every message's flags: one scan of the stored rows compares them and finds the gone
        flags, _vanished = conn.fetch_flags(known_range)
    with transaction.atomic(savepoint=False):  # as in _store_batch
        if condstore:
            changed = store.apply_flag_changes(folder, flags, skip_uids=pending, changed_before=pass_started)
        else:
            changed, removed_uids = store.apply_all_flags(folder, flags, below=folder.last_seen_uid,
                                                          skip_uids=pending, changed_before=pass_started)
        removed = store.remove_messages(folder, removed_uids) if removed_uids else 0
        if select.highest_modseq is not None:
            _save_cursor(folder, highest_modseq=select.highest_modseq)
    return changed, removed


def _fetch_new(conn: ImapConnection, folder: Folder, select: SelectInfo, on_progress: Callable[[int], None],
               result: FolderResult) -> int:
    """Messages above last_seen_uid, oldest first; on the very first pass, only the newest batch."""
    if select.uidnext and folder.last_seen_uid >= select.uidnext - 1 and folder.backfill_below_uid is not None:
        return 0
    low = folder.last_seen_uid + 1
    # "n:*" always matches the highest message even when its UID is below n: filter.
    uids = sorted(uid for uid in conn.search_uids(f"{low}:*") if uid >= low)
    if folder.backfill_below_uid is None:  # first pass: newest first, the rest by backfill
        if not uids:
            _save_cursor(folder, backfill_below_uid=0, last_seen_uid=max(select.uidnext - 1, 0))
            return 0
        newest = uids[-BATCH_SIZE:]
        stored = _store_batch(conn, folder, newest, result, last_seen_uid=newest[-1], backfill_below_uid=newest[0])
        on_progress(stored)
        return stored
    stored = 0
    for start in range(0, len(uids), BATCH_SIZE):
        chunk = uids[start:start + BATCH_SIZE]
        stored += _store_batch(conn, folder, chunk, result, last_seen_uid=chunk[-1])
        on_progress(len(chunk))
    return stored


def _backfill(conn: ImapConnection, folder: Folder, max_batches: int | None, on_progress,
              result: FolderResult) -> tuple[int, bool]:
    """Older messages below backfill_below_uid, newest first. Returns (stored, still pending)."""
    below = folder.backfill_below_uid
    if not below or below <= 1:
        if below and below <= 1:
            _save_cursor(folder, backfill_below_uid=0)
        return 0, False
    uids = sorted(uid for uid in conn.search_uids(f"1:{below - 1}") if uid < below)
    stored = batches = 0
    while uids:
        if max_batches is not None and batches >= max_batches:
            return stored, True
        chunk, uids = uids[-BATCH_SIZE:], uids[:-BATCH_SIZE]
        stored += _store_batch(conn, folder, chunk, result, backfill_below_uid=chunk[0] if uids else 0)
        on_progress(len(chunk))
        batches += 1
    _save_cursor(folder, backfill_below_uid=0)
    return stored, False


def verify_folder(conn: ImapConnection, folder: Folder, result: FolderResult | None = None) -> tuple[int, int]:
    """Compare the full UID sets with the server; fetch what is missing, drop what is gone."""
    conn.select(folder.name, readonly=True)
    server = conn.search_uids("1:*")
    top = folder.last_seen_uid
    server = {uid for uid in server if uid <= top}
    local = store.local_uids(folder, below=top)
    missing = sorted(server - local)
    fetched = 0
    result = result if result is not None else FolderResult()
    for start in range(0, len(missing), BATCH_SIZE):
        chunk = missing[start:start + BATCH_SIZE]
        fetched += _store_batch(conn, folder, chunk, result)
    with transaction.atomic():
        removed = store.remove_messages(folder, local - server)
    return fetched, removed


def _snapshot_rows(folder: Folder, select: SelectInfo, result: FolderResult, stored_before: int | None) -> int:
    """The folder's rows below the SELECT's UIDNEXT, to compare like with like against its EXISTS
    (mail that arrived after SELECT is already stored above it and must not look like a
    discrepancy). `stored_before` is that number at the end of the last complete pass, given
    only where every expunge is reported (QRESYNC) and no row lay above that pass's UIDNEXT;
    with this pass's own additions and removals it is the answer when it matches EXISTS and
    nothing was stored above this SELECT's UIDNEXT either. Any stray row (one re-homed by our
    own move, say) only makes the sum disagree, and then the rows are counted."""
    if (stored_before is not None and not result.rebuilt and select.uidnext
            and folder.last_seen_uid < select.uidnext  # nothing stored above the snapshot
            and stored_before + result.new - result.removed == select.exists):
        return select.exists
    rows = Message.objects.filter(folder=folder)
    if select.uidnext:
        rows = rows.filter(uid__lt=select.uidnext)
    return rows.count()


def sync_folder(conn: ImapConnection, folder: Folder, *, status: dict | None = None,
                max_backfill_batches: int | None = None, first_sync: bool = False,
                on_progress: Callable[[int], None] = lambda n: None) -> FolderResult:
    """One pass over one folder. `first_sync`: the account's first sync is under way, so what the
    folder holds now is history (not new mail) when the folder is seen for the first time."""
    result = FolderResult()
    if not folder.is_selectable:
        return result
    if is_unchanged(folder, status, condstore=conn.has("CONDSTORE")):
        result.skipped = True
        return result
    # The rows below UIDNEXT the last complete pass left (see _snapshot_rows): known without a
    # COUNT over the whole folder when this pass adds and removes no more than it tells.
    stored_before = None
    if conn.qresync_enabled and folder.backfill_below_uid == 0 and folder.last_seen_uid < folder.uidnext:
        stored_before = folder.server_messages
    pass_started = timezone.now()
    select = conn.select(folder.name, readonly=True)
    if folder.uidvalidity is not None and select.uidvalidity != folder.uidvalidity:
        _rebuild(folder, select)
        result.rebuilt = True
    elif folder.uidvalidity is None:
        _save_cursor(folder, uidvalidity=select.uidvalidity)
    if folder.arrival_floor_uid is None:
        _save_cursor(folder, arrival_floor_uid=(select.uidnext or 1) if first_sync else 1)
    # A resync whose new mail fits in one batch (the common one: flag changes, a few removals, a
    # few arrivals): its writes and the final cursor in one transaction, one commit. A first sync
    # or a big arrival goes by batches, each committed with its cursor.
    one_commit = (not result.rebuilt and folder.backfill_below_uid == 0 and select.uidnext and folder.uidnext
                  and 0 <= select.uidnext - folder.uidnext <= BATCH_SIZE)
    with transaction.atomic() if one_commit else nullcontext():
        _visit(conn, folder, select, result, status=status, stored_before=stored_before, pass_started=pass_started,
               max_backfill_batches=max_backfill_batches, on_progress=on_progress)
    return result


def _visit(conn: ImapConnection, folder: Folder, select: SelectInfo, result: FolderResult, *, status: dict | None,
           stored_before: int | None, pass_started: datetime, max_backfill_batches: int | None,
           on_progress: Callable[[int], None]) -> None:
    result.changed, result.removed = _sync_known(conn, folder, select, pass_started)
    result.new = _fetch_new(conn, folder, select, on_progress, result)
    backfilled, result.backfill_pending = _backfill(conn, folder, max_backfill_batches, on_progress, result)
    result.new += backfilled
    snapshot_rows = select.exists
    if not result.backfill_pending:
        snapshot_rows = _snapshot_rows(folder, select, result, stored_before)
        if snapshot_rows != select.exists:
            # Counts disagree although every step succeeded (a server without QRESYNC expunged):
            # settle it by comparing UID sets.
            fetched, removed = verify_folder(conn, folder, result)
            result.new += fetched
            result.removed += removed
            snapshot_rows = _snapshot_rows(folder, select, result, None)
    # The SELECT-time values, never later ones: a change made after SELECT must still be seen
    # as new by the next pass. `server_messages` is the server's EXISTS, which is also the rows
    # stored below UIDNEXT unless even a verify could not make them agree: then it is the rows,
    # so that the next pass counts again (and the folder is never skipped meanwhile).
    _save_cursor(
        folder,
        uidnext=select.uidnext,
        server_messages=snapshot_rows,
        server_unseen=(status or {}).get("UNSEEN", folder.server_unseen),
        highest_modseq=select.highest_modseq,
        last_synced=timezone.now(),
        last_error="",
    )
