"""Which accounts beat's periodic pass queues (see the schedule fields of models.SyncLock).

- An account on push (its Inbox held by a live IDLE listener lease) gets a pass over all its
  folders every MAIL_SYNC_PUSH_INTERVAL_SECONDS only: the listener syncs the Inbox as mail comes.
- An account whose last pass failed with a transient error (server down, refused, timed out) is
  backed off: MAIL_SYNC_INTERVAL_SECONDS, doubled per further failure, at most
  MAIL_SYNC_BACKOFF_MAX_SECONDS. The first pass that succeeds clears it.
"""

import threading
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from messages_app.models import SyncLock
from messages_app.sync.idle_lease import live_listener_accounts


def backoff(failures: int) -> timedelta:
    seconds = settings.MAIL_SYNC_INTERVAL_SECONDS * 2 ** min(max(failures - 1, 0), 20)
    return timedelta(seconds=min(seconds, settings.MAIL_SYNC_BACKOFF_MAX_SECONDS))


def _row(account_id: int) -> None:
    SyncLock.objects.bulk_create([SyncLock(account_id=account_id)], ignore_conflicts=True)


# Passes whose success this thread already wrote with the lock's release (account id -> full):
# sync_pass_succeeded then has nothing left to write.
_recorded = threading.local()


def pass_succeeded_changes(account_id: int, *, full: bool) -> dict:
    """The lock-row columns a successful pass sets, for the lock's release to write: one
    statement at the end of a pass instead of two."""
    recorded = getattr(_recorded, "passes", None)
    if recorded is None:
        recorded = _recorded.passes = {}
    recorded[account_id] = full
    return _success_changes(full)


def _success_changes(full: bool) -> dict:
    changes = {"failures": 0, "retry_at": None}
    if full:
        changes["last_full_pass_at"] = timezone.now()
    return changes


def sync_pass_succeeded(account_id: int, *, full: bool) -> None:
    recorded = getattr(_recorded, "passes", {})
    if recorded.pop(account_id, None) == full:
        return  # written by the lock's release already (pass_succeeded_changes)
    SyncLock.objects.filter(pk=account_id).update(**_success_changes(full))  # the pass's lock made the row


def sync_pass_failed(account_id: int) -> None:
    """A pass that could not reach the server: back the account off."""
    _row(account_id)
    SyncLock.objects.filter(pk=account_id).update(failures=F("failures") + 1)
    failures = SyncLock.objects.filter(pk=account_id).values_list("failures", flat=True).first() or 1
    SyncLock.objects.filter(pk=account_id).update(retry_at=timezone.now() + backoff(failures))


def accounts_due(account_ids: list[int]) -> list[int]:
    """The accounts among `account_ids` that beat should queue now."""
    now = timezone.now()
    rows = {row["account_id"]: row for row in SyncLock.objects.filter(account_id__in=account_ids)
            .values("account_id", "last_full_pass_at", "retry_at")}
    on_push = live_listener_accounts()
    recent = now - timedelta(seconds=settings.MAIL_SYNC_PUSH_INTERVAL_SECONDS)
    due = []
    for account_id in account_ids:
        row = rows.get(account_id, {})
        if row.get("retry_at") and row["retry_at"] > now:
            continue  # its server is down: backed off
        if account_id in on_push and row.get("last_full_pass_at") and row["last_full_pass_at"] > recent:
            continue  # on push, and its folders were all synced not long ago
        due.append(account_id)
    return due
