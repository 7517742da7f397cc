"""The IMAP IDLE listener: hold IDLE on each account's Inbox and sync it within moments of new mail.

One thread per account; each keeps one connection, leaves IDLE when the server reports
activity, runs the Inbox pass on that same connection, and goes back to IDLE. Connection
losses reconnect with backoff; a refused password stops that account's listener.
"""

import logging
import threading
import time

from messages_app.exceptions import AuthFailed, MailError
from messages_app.models import Folder, MailAccount
from messages_app.services.sync import account_sync, open_connection
from messages_app.sync.lock import SyncBusy

logger = logging.getLogger(__name__)

IDLE_RENEW_SECONDS = 600  # RFC 2177: re-issue IDLE well before the server's 30-minute timeout
WAIT_SLICE_SECONDS = 1.0


def _inbox_name(account_id: int) -> str:
    folder = Folder.objects.filter(account_id=account_id, role="inbox").first()
    return folder.name if folder else "INBOX"


def _behind(account_id: int, inbox: str, select) -> bool:
    folder = Folder.objects.filter(account_id=account_id, name=inbox).only("uidnext", "server_messages").first()
    return folder is None or folder.uidnext != select.uidnext or folder.server_messages != select.exists


def _sync_inbox(account_id: int, conn, inbox: str, stop: threading.Event) -> None:
    """Run the Inbox pass; if a periodic pass holds the lock, wait for it briefly and retry."""
    for _attempt in range(50):
        try:
            account_sync(account_id, folder_name=inbox, connection=conn)
            return
        except SyncBusy:
            if stop.wait(0.2):
                return


def listen(account_id: int, stop: threading.Event) -> None:
    delay = 1.0
    while not stop.is_set():
        try:
            account = MailAccount.objects.select_related("owner").get(pk=account_id)
            if account.auth_failed:
                logger.warning("account %s: password refused, IDLE listener stops", account_id)
                return
            with open_connection(account) as conn:
                inbox = _inbox_name(account_id)
                _sync_inbox(account_id, conn, inbox, stop)  # catch up on what came while away
                delay = 1.0
                caught_up = False
                while not stop.is_set():
                    select = conn.select(inbox, readonly=True)
                    if not caught_up and _behind(account_id, inbox, select):
                        # Mail that came while the last pass ran raises no IDLE event: catch up
                        # first (once per cycle, so a folder that cannot sync never spins).
                        _sync_inbox(account_id, conn, inbox, stop)
                        caught_up = True
                        continue
                    caught_up = False
                    conn.idle_start()
                    started = time.monotonic()
                    activity = []
                    while not stop.is_set() and not activity and time.monotonic() - started < IDLE_RENEW_SECONDS:
                        activity = conn.idle_wait(WAIT_SLICE_SECONDS)
                    conn.idle_done()
                    if activity:
                        _sync_inbox(account_id, conn, inbox, stop)
        except MailAccount.DoesNotExist:
            return
        except AuthFailed:
            return  # the pass marked the account; the user must fix the password
        except MailError as exc:
            logger.info("account %s: IDLE connection lost (%s), reconnecting in %.0fs", account_id, exc, delay)
            if stop.wait(delay):
                return
            delay = min(delay * 2, 60)


def run_listeners(account_ids: list[int], stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for account_id in account_ids:
        thread = threading.Thread(target=listen, args=(account_id, stop), name=f"idle-{account_id}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
