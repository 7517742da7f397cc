"""Celery tasks: ids in, one service call, and the retry policy of the task itself.

Retrying is decided by `MailError.permanent` alone: a transient error retries with backoff, a
permanent one stops and is shown to the user by the service that met it. (The sync also retries
dropped connections within a pass, and the arrival pipeline retries its own steps: those are
their services' policies.)
"""

import logging

from celery import shared_task
from django.conf import settings

from messages_app.exceptions import MailError
from messages_app.models import MailAccount
from messages_app.services.message_body import message_bodies_prefetch
from messages_app.services.sync import account_sync
from messages_app.sync.lock import SyncBusy

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, acks_late=True)
def sync_account_task(self, account_id: int, folder_name: str | None = None) -> int:
    try:
        result = account_sync(account_id, folder_name=folder_name)
    except SyncBusy:
        return 0  # another worker is on it right now; the next periodic pass comes soon
    except MailAccount.DoesNotExist:
        return 0  # deleted meanwhile
    except MailError as exc:
        if exc.permanent:
            return 0  # recorded on the account by the pass; retrying cannot help
        raise self.retry(exc=exc, countdown=min(30 * 2 ** self.request.retries, 600)) from None
    if result.stored_history and settings.MAIL_PREFETCH_BODIES:
        # Bodies of the history a first sync or backfill stored (new mail has them already, from
        # the arrival pipeline), fetched in the background so search finds words beyond the preview.
        prefetch_bodies_task.delay(account_id)
    return result.new


@shared_task(acks_late=True)
def prefetch_bodies_task(account_id: int) -> int:
    try:
        account = MailAccount.objects.get(pk=account_id)
        return message_bodies_prefetch(account=account)
    except MailAccount.DoesNotExist:
        return 0
    except MailError as exc:
        logger.info("body prefetch of account %s stopped: %s", account_id, exc)
        return 0


@shared_task
def sync_all_accounts() -> int:
    """Beat's periodic pass: one task per account, so any number of workers share the load."""
    ids = list(MailAccount.objects.filter(auth_failed=False).values_list("pk", flat=True))
    for account_id in ids:
        sync_account_task.delay(account_id)
    return len(ids)
