"""The one sync service: the Celery task, `mail_sync`, the IDLE listener and the sync health
page all run a pass through here, so every pass is followed by the arrival pipeline in the same
way: a pass is complete when what follows its new mail has run (or is waiting for a retry)."""

from django.conf import settings

from messages_app.arrival import pipeline
from messages_app.exceptions import MailError, is_transient
from messages_app.models import MailAccount
from messages_app.services.connections import imap_connect
from messages_app.sync.account import AccountResult, sync_account
from messages_app.sync.engine import verify_folder
from messages_app.sync.lock import account_lock
from messages_app.sync.schedule import sync_pass_failed, sync_pass_succeeded
from messages_app.sync.statistics import refresh_after_store


def open_connection(account: MailAccount, *, deadline: float | None = None):
    """A logged-in IMAP connection for the account, with QRESYNC enabled where offered.
    `deadline`: seconds the connection may last (a sync pass has one; the IDLE listener not)."""
    conn = imap_connect(account, deadline=deadline)
    conn.enable_qresync()
    return conn


def _pass_connection(account: MailAccount):
    return open_connection(account, deadline=settings.MAIL_SYNC_PASS_SECONDS)


def account_sync(account_id: int, *, folder_name: str | None = None,
                 connection=None, wait_seconds: float = 0,
                 drain_arrivals: bool = True) -> AccountResult:
    """One pass over the account (or one folder), then the arrival steps of its new mail.
    Raises SyncBusy when another holder keeps the lock past `wait_seconds`, MailError when the
    pass could not complete."""
    try:
        result = sync_account(account_id, connect=_pass_connection, folder_name=folder_name, connection=connection,
                              wait_seconds=wait_seconds)
    except MailError as exc:
        # A server that cannot be reached is backed off by the periodic pass (sync/schedule.py);
        # the IDLE listener's own connection reconnects with its own backoff.
        if is_transient(exc) and connection is None:
            sync_pass_failed(account_id)
        raise
    sync_pass_succeeded(account_id, full=folder_name is None)
    refresh_after_store(result.new)  # before the arrival steps, whose queries it plans
    if drain_arrivals:
        # The caller's kept connection serves the steps too (the IDLE listener's, say): no login.
        result.arrivals = pipeline.drain(account_id=account_id, connection=connection)
    return result


def folder_verify(*, account: MailAccount, folder) -> tuple[int, int]:
    """Compare a folder's UID set with the server's and repair (the sync health page's button),
    under the account's lock; what it fetches goes through the arrival pipeline like any pass.
    Returns (fetched, removed)."""
    with account_lock(account.pk), _pass_connection(account) as conn:
        fetched, removed = verify_folder(conn, folder)
    pipeline.drain(account_id=account.pk)
    return fetched, removed
