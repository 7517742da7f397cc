"""The per-account sync lock (see models.SyncLock)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from messages_app.models import SyncLock


class SyncBusy(Exception):
    """Another process holds this account's sync lock."""


class AccountLock:
    def __init__(self, account_id: int, token: str):
        self.account_id = account_id
        self.token = token

    def extend(self) -> None:
        """Push the expiry forward; a long first sync calls this between batches."""
        SyncLock.objects.filter(pk=self.account_id, holder=self.token).update(
            expires_at=timezone.now() + timedelta(seconds=settings.MAIL_SYNC_LOCK_SECONDS))

    def add_messages_done(self, count: int) -> None:
        SyncLock.objects.filter(pk=self.account_id, holder=self.token).update(messages_done=F("messages_done") + count)

    def progress(self, **counts: int) -> None:
        SyncLock.objects.filter(pk=self.account_id, holder=self.token).update(**counts)


def _claim(account_id: int, token: str) -> bool:
    SyncLock.objects.bulk_create([SyncLock(account_id=account_id)], ignore_conflicts=True)
    now = timezone.now()
    claimed = SyncLock.objects.filter(
        Q(pk=account_id) & (Q(expires_at__isnull=True) | Q(expires_at__lt=now))
    ).update(holder=token, expires_at=now + timedelta(seconds=settings.MAIL_SYNC_LOCK_SECONDS),
             folders_total=0, folders_done=0, messages_total=0, messages_done=0)
    return claimed == 1


@contextmanager
def account_lock(account_id: int) -> Iterator[AccountLock]:
    token = f"{uuid.uuid4()}"
    if not _claim(account_id, token):
        raise SyncBusy(f"account {account_id} is being synced by another worker")
    try:
        yield AccountLock(account_id, token)
    finally:
        SyncLock.objects.filter(pk=account_id, holder=token).update(holder="", expires_at=None)
