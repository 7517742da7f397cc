"""Sync a whole account: one connection, folder reconcile, every folder, newest mail first.

Connection drops are retried with backoff inside the pass; a refused password marks the
account and stops retrying until the user fixes it, and so does any other permanent error of the
connection or the pass (until the settings change); other folder errors are recorded on the
folder and the pass goes on with the next one. A full pass in which every folder synced ends by
settling the rows that were detached (sync/identity.py).

The connection comes from the caller (`connect`): sync/ knows nothing of credentials or of
services/ (services/sync.py is the one entry point that wires them).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from messages_app.arrival.pipeline import DrainResult
from messages_app.exceptions import AuthFailed, MailError, is_transient, message_for
from messages_app.gateways import imap as imap_gateway
from messages_app.models import Folder, MailAccount, Message, PendingAction
from messages_app.sync.engine import FolderResult, is_unchanged, sync_folder
from messages_app.sync.folders import cap_listing, reconcile_folders
from messages_app.sync.identity import settle_detached
from messages_app.sync.lock import AccountLock, account_lock
from messages_app.sync.pending import replay_pending_actions
from messages_app.sync.schedule import pass_succeeded_changes

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 2.0, 5.0)  # seconds between reconnects after a dropped connection
LAST_SYNCED_PRECISION = timedelta(minutes=1)


@dataclass
class AccountResult:
    account_id: int
    folders: dict[str, FolderResult] = field(default_factory=dict)
    error: str = ""
    # Genuinely new messages of this pass (those with an arrival marker).
    new_message_ids: list[int] = field(default_factory=list)
    settled: dict[str, int] = field(default_factory=dict)
    replayed: int = 0  # queued local actions carried out on the server
    arrivals: DrainResult = field(default_factory=DrainResult)  # filled by services.sync

    @property
    def new(self) -> int:
        return sum(r.new for r in self.folders.values())

    @property
    def stored_history(self) -> int:
        """Rows stored that are not new mail (first sync, backfill): their bodies are prefetched
        in the background for search."""
        return max(self.new - len(self.new_message_ids) - sum(r.rehomed for r in self.folders.values()), 0)


def _run_pass(conn, account: MailAccount, lock: AccountLock | None, folder_name: str | None,
              result: AccountResult) -> bool:
    """One pass; True when it covered every folder (the account's first sync is then done: a
    folder appearing after it holds new mail, not history)."""
    first_sync = not account.initial_sync_done
    folder_errors = 0
    if account.has_pending or result.replayed:
        result.replayed += replay_pending_actions(conn, account)
    infos, skipped_folders = cap_listing(conn.list_folders(with_status=True))
    if skipped_folders != account.folders_skipped:
        logger.warning("account %s: %s folders beyond MAIL_MAX_FOLDERS are not synced", account.pk, skipped_folders)
        MailAccount.objects.filter(pk=account.pk).update(folders_skipped=skipped_folders)
    folders = reconcile_folders(account, conn, infos)
    statuses = {info.name: info.status for info in infos}
    if folder_name:
        folders = [f for f in folders if f.name == folder_name]
        if not folders:
            raise MailError(f"no folder named {folder_name!r}")
    condstore = conn.has("CONDSTORE")
    to_visit = [f for f in folders
                if f.is_selectable and not is_unchanged(f, statuses.get(f.name), condstore=condstore)]
    if lock and to_visit:  # written with the first progress, a second into the pass (most are over by then)
        lock.plan(folders_total=len(folders),
                  messages_total=sum((statuses.get(f.name) or {}).get("MESSAGES", 0) for f in folders))

    def progressed(count: int) -> None:
        if lock:
            lock.advance(messages=count)

    # Two rounds: first every folder's newest batch, so recent mail everywhere appears quickly;
    # then the backfill of older mail.
    for rounds, limit in enumerate((1, None)):
        for done, folder in enumerate(folders, start=1):
            if rounds == 1 and not (folder.name in result.folders and result.folders[folder.name].backfill_pending):
                continue
            try:
                outcome = sync_folder(conn, folder, status=statuses.get(folder.name), max_backfill_batches=limit,
                                      first_sync=first_sync, on_progress=progressed)
            except MailError as exc:
                if is_transient(exc) or isinstance(exc, AuthFailed):
                    raise  # the connection or the login, not this folder: the whole pass retries or stops
                Folder.objects.filter(pk=folder.pk).update(last_error=exc.user_message())
                logger.warning("folder %s of account %s: %s", folder.pk, account.pk, exc)
                folder_errors += 1
                continue
            result.new_message_ids.extend(outcome.arrival_ids)
            previous = result.folders.get(folder.name)
            if previous:
                outcome.new += previous.new
                outcome.changed += previous.changed
                outcome.removed += previous.removed
                outcome.rehomed += previous.rehomed
            result.folders[folder.name] = outcome
            if lock and rounds == 0 and not outcome.skipped:
                lock.advance(folders_done=done)
    # Folders skipped because LIST-STATUS proved them unchanged were still checked just now; to
    # the minute is enough for the health page, so back-to-back passes do not write it each time.
    now = timezone.now()
    stale = now - LAST_SYNCED_PRECISION
    skipped = [f.pk for f in folders if f.name in result.folders and result.folders[f.name].skipped
               and (f.last_error or f.last_synced is None or f.last_synced < stale)]
    if skipped:
        Folder.objects.filter(pk__in=skipped).update(last_synced=now, last_error="")
    # Rows detach only by removal (a server expunge, a rebuild, a replayed move): with none before
    # the pass and none in it there is nothing to settle.
    detached = account.had_detached or result.replayed or any(
        outcome.removed or outcome.rebuilt for outcome in result.folders.values())
    if not folder_name and not folder_errors and detached:
        result.settled = settle_detached(account)
    return not folder_name


def sync_account(account_id: int, *, connect: Callable[[MailAccount], imap_gateway.ImapConnection],
                 folder_name: str | None = None,
                 connection: imap_gateway.ImapConnection | None = None, wait_seconds: float = 0,
                 sleep: Callable[[float], None] = time.sleep) -> AccountResult:
    """One complete pass over an account (or one folder of it), over `connection` or a new one
    from `connect` (which must return a logged-in connection). Raises SyncBusy if another
    process is syncing the account, and MailError when the pass could not complete."""
    account = (MailAccount.objects.select_related("owner")
               .annotate(has_pending=Exists(PendingAction.objects.filter(account=OuterRef("pk"))),
                         had_detached=Exists(Message.objects.filter(account=OuterRef("pk"), folder__isnull=True)))
               .get(pk=account_id))
    result = AccountResult(account_id=account.pk)
    if account.auth_failed or account.sync_stopped:
        result.error = account.sync_error
        return result
    if account.sync_stopped_for:
        logger.info("account %s: settings changed, sync resumes", account.pk)
        MailAccount.objects.filter(pk=account.pk).update(sync_stopped_for="")
    with account_lock(account.pk, wait_seconds=wait_seconds) as lock:
        attempts = 0
        complete = False
        while True:
            conn = None
            try:
                conn = connection or connect(account)
                complete = _run_pass(conn, account, lock, folder_name, result)
                lock.on_release.update(pass_succeeded_changes(account.pk, full=folder_name is None))
                break
            except AuthFailed as exc:
                MailAccount.objects.filter(pk=account.pk).update(auth_failed=True, sync_error=exc.user_message())
                logger.warning("account %s: login refused, sync stopped until the password changes", account.pk)
                raise
            except MailError as exc:
                if is_transient(exc) and connection is None and attempts < len(RETRY_DELAYS):
                    logger.info("account %s: %s, retrying", account.pk, type(exc).__name__)
                    sleep(RETRY_DELAYS[attempts])
                    attempts += 1
                    continue
                # A one-folder pass (a typo in `mail_sync --folder`) says nothing about the account.
                stopped = not is_transient(exc) and folder_name is None
                stopped_for = account.sync_settings_fingerprint() if stopped else ""
                MailAccount.objects.filter(pk=account.pk).update(sync_error=message_for(exc, account.owner),
                                                                 sync_stopped_for=stopped_for)
                if stopped_for:  # one line when the account stops, none for each pass it stays stopped
                    logger.warning("account %s: sync stopped until the settings change: %s", account.pk, exc)
                raise
            finally:
                if conn is not None and connection is None:
                    conn.close()
        # An Inbox-only pass (the IDLE listener's, `mail_sync --folder`) does not end the first
        # sync: the folders it left out still hold history, not new mail.
        first_sync_done = account.initial_sync_done or complete
        if account.sync_error or first_sync_done != account.initial_sync_done:  # most passes: nothing to clear
            MailAccount.objects.filter(pk=account.pk).update(sync_error="", initial_sync_done=first_sync_done)
        logger.info("account %s synced: %s new", account.pk, result.new)
    return result
