from django.conf import settings
from django.db import transaction


def schedule_account_sync(account_id: int) -> None:
    """Queue a sync of the account once the current transaction commits (workers pick it up)."""
    if not settings.MAIL_SYNC_ON_SAVE:
        return
    from messages_app.tasks import sync_account_task

    transaction.on_commit(lambda: sync_account_task.delay(account_id))
