"""Celery tasks: ids in, one service call, out.

Whether to retry is the error's call, not the task's: `MailError.permanent`, read through
`is_transient()`, decides it here and in every other retry loop (the write path's queue of
pending actions, the sync's reconnects within a pass, the arrival pipeline's steps). The tasks
only decide when: the backoff between attempts.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from messages_app.exceptions import MailError, is_transient
from messages_app.models import MailAccount
from messages_app.services.message_body import message_bodies_prefetch
from messages_app.services.outbox import outbox_send_due
from messages_app.services.sync import account_sync
from messages_app.sync.lock import SyncBusy
from messages_app.sync.schedule import accounts_due

logger = logging.getLogger(__name__)


def _backoff(retries: int) -> int:
    return min(30 * 2 ** retries, 600)


@shared_task(bind=True, max_retries=5, acks_late=True)
def sync_account_task(self, account_id: int, folder_name: str | None = None) -> int:
    try:
        result = account_sync(account_id, folder_name=folder_name)
    except SyncBusy:
        return 0  # another worker is on it right now; the next periodic pass comes soon
    except MailAccount.DoesNotExist:
        return 0  # deleted meanwhile
    except MailError as exc:
        if not is_transient(exc):
            # A refused password or a broken server: the account shows why and the sync logged
            # the change once; raising would log a traceback on every pass.
            return 0
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
    if result.stored_history and settings.MAIL_PREFETCH_BODIES:
        # Bodies of the history a first sync or backfill stored (new mail has them already, from
        # the arrival pipeline), fetched in the background so search finds words beyond the preview.
        prefetch_bodies_task.delay(account_id)
    return result.new


@shared_task(bind=True, max_retries=3, acks_late=True)
def prefetch_bodies_task(self, account_id: int) -> int:
    try:
        account = MailAccount.objects.get(pk=account_id)
        return message_bodies_prefetch(account=account)
    except MailAccount.DoesNotExist:
        return 0
    except MailError as exc:
        if is_transient(exc):
            raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
        logger.info("body prefetch of account %s stopped: %s", account_id, exc)
        return 0


def sync_account_after_commit(account_id: int) -> None:
    """Queue a sync of the account once the current transaction commits (workers pick it up).
    Called by the views that save an account: services do not enqueue tasks."""
    if not settings.MAIL_SYNC_ON_SAVE:
        return
    transaction.on_commit(lambda: sync_account_task.delay(account_id))


@shared_task
def sync_all_accounts() -> int:
    """Beat's periodic pass: one task per account, so any number of workers share the load."""
    # Accounts stopped by a permanent error wait until their settings change.
    candidates = MailAccount.objects.filter(auth_failed=False).only("sync_stopped_for", *MailAccount.SYNC_SETTINGS)
    # Accounts on push get a full pass rarely, and those whose server is down are backed off.
    ids = accounts_due([account.pk for account in candidates if not account.sync_stopped])
    for account_id in ids:
        sync_account_task.delay(account_id)
    return len(ids)


# Beat asks this often whether outgoing mail is due: due times live in the database, never in a
# long Celery ETA (Redis redelivers those after its visibility timeout, and a restart loses none).
OUTBOX_POLL_SECONDS = 5


@shared_task(acks_late=True)
def outbox_send_due_task() -> int:
    """Send what is due; retries are the outbox's own (state and send_at in the database)."""
    return outbox_send_due().sent


def outbox_send_after_commit() -> None:
    """Ask a worker to send now (a message queued without an undo window, "send now" in
    Programmati), once the transaction that stored it commits; beat's poll would find it too."""
    transaction.on_commit(lambda: outbox_send_due_task.delay())


POP3_POLL_SECONDS = 300


@shared_task
def pop3_fetch_all_task() -> int:
    """Beat's POP3 pass: every active box downloads what is new into its IMAP folder."""
    from messages_app.services.pop3 import pop3_fetch_boxes

    return pop3_fetch_boxes().downloaded


@shared_task(acks_late=True)
def rule_job_task(job_id: int) -> int:
    """Filters' "apply now": the account's rules over its Inbox, with progress on the job row."""
    from messages_app.services.rules import rule_job_run

    return rule_job_run(job_id=job_id).done
