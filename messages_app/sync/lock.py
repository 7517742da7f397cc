"""The per-account sync lock (see models.SyncLock).

Invariants:
- At most one holder: the claim is a conditional UPDATE (free or lapsed) checked by its rowcount.
- A short lease (MAIL_SYNC_LOCK_SECONDS, about a minute): the holder renews it with its progress
  (between batches, at most once a second) and a heartbeat thread renews it during long server
  commands, so a killed holder's claim lapses within a lease and the account is never blocked for long.
- A holder on this host whose process is gone (SIGKILL, OOM) is taken over at once rather than
  at the end of its lease: a killed IDLE listener's accounts would otherwise get no push for a
  minute after another listener took them over. On another host only the lease tells.
- Only the holder's token can renew or release it.
"""

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from messages_app.models import SyncLock
from messages_app.sync.heartbeat import heartbeat

logger = logging.getLogger(__name__)


class SyncBusy(Exception):
    """Another process holds this account's sync lock."""

    def __init__(self, account_id: int, holder: str = "", until: datetime | None = None):
        self.account_id = account_id
        self.holder = holder
        self.until = until
        detail = f" by {holder}" if holder else ""
        if until is not None:
            detail += f" until {until.isoformat(timespec='seconds')} unless renewed"
        super().__init__(f"account {account_id} is being synced{detail}")


def lease() -> timedelta:
    return timedelta(seconds=settings.MAIL_SYNC_LOCK_SECONDS)


PROGRESS_EVERY_SECONDS = 1.0  # between two progress writes of one pass


class AccountLock:
    def __init__(self, account_id: int, token: str):
        self.account_id = account_id
        self.token = token
        self._written_at = time.monotonic()
        self._folders_done: int | None = None
        self._messages_done = 0
        self._totals: dict[str, int] = {}
        self.on_release: dict = {}  # more columns of the lock row to write with the release

    def plan(self, *, folders_total: int, messages_total: int) -> None:
        """What the pass has ahead of it; written with the first progress (see advance)."""
        self._totals = {"folders_total": folders_total, "messages_total": messages_total}

    def advance(self, *, folders_done: int | None = None, messages: int = 0) -> None:
        """Progress of the pass, written (with the lease renewed) at most once a second: a
        pass of a few hundred milliseconds would otherwise pay a commit per folder and batch
        for a progress bar nobody sees; a long first sync still shows it move."""
        if folders_done is not None:
            self._folders_done = folders_done
        self._messages_done += messages
        if time.monotonic() - self._written_at < PROGRESS_EVERY_SECONDS:
            return
        changes = {"expires_at": timezone.now() + lease(), "messages_done": F("messages_done") + self._messages_done,
                   **self._totals}
        if self._folders_done is not None:
            changes["folders_done"] = self._folders_done
        SyncLock.objects.filter(pk=self.account_id, holder=self.token).update(**changes)
        self._written_at = time.monotonic()
        self._folders_done, self._messages_done, self._totals = None, 0, {}

    def extend(self) -> bool:
        """Push the expiry forward; False if the claim was lost (it lapsed and someone took it)."""
        return SyncLock.objects.filter(pk=self.account_id, holder=self.token).update(
            expires_at=timezone.now() + lease()) == 1


def holder_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _claim(account_id: int, token: str) -> bool:
    now = timezone.now()
    free = SyncLock.objects.filter(Q(pk=account_id) & (Q(expires_at__isnull=True) | Q(expires_at__lt=now)))
    changes = {"holder": token, "holder_name": holder_name()[:200], "claimed_at": now, "expires_at": now + lease(),
               "folders_total": 0, "folders_done": 0, "messages_total": 0, "messages_done": 0}
    if free.update(**changes) == 1:
        return True
    held = SyncLock.objects.filter(pk=account_id).values("holder", "holder_name").first()
    if held is None:
        # No row yet (the account's first pass): make it and try once more. The common case, a
        # row that exists and is free, costs one statement.
        SyncLock.objects.bulk_create([SyncLock(account_id=account_id)], ignore_conflicts=True)
        return free.update(**changes) == 1
    # Conditional on the dead holder's token: of two claimants, one wins.
    taken = (bool(held["holder"]) and holder_is_gone(held["holder_name"])
             and SyncLock.objects.filter(pk=account_id, holder=held["holder"]).update(**changes) == 1)
    if taken:
        logger.warning("account %s: sync lock of %s taken over (that process is gone)", account_id,
                       held["holder_name"])
    return taken


def holder_is_gone(name: str) -> bool:
    """True when `name` (holder_name) is a process of this host that no longer runs. A reused
    pid, a zombie or another host reads as alive: the lease decides then."""
    host, separator, pid = name.rpartition(" pid ")
    if not separator or host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it runs, as another user
        return False
    return False


def current_holder(account_id: int) -> tuple[str, datetime | None]:
    row = SyncLock.objects.filter(pk=account_id).values("holder_name", "expires_at").first()
    if not row or row["expires_at"] is None or row["expires_at"] < timezone.now():
        return "", None
    return row["holder_name"], row["expires_at"]


@contextmanager
def account_lock(account_id: int, *, wait_seconds: float = 0, poll_seconds: float = 1.0) -> Iterator[AccountLock]:
    """Hold the account's lock for the block; wait up to `wait_seconds` for a busy one."""
    token = f"{uuid.uuid4()}"
    deadline = time.monotonic() + wait_seconds
    while not _claim(account_id, token):
        if time.monotonic() >= deadline:
            raise SyncBusy(account_id, *current_holder(account_id))
        time.sleep(poll_seconds)
    lock = AccountLock(account_id, token)
    # Inside a caller's transaction (the tests') the claim is not visible to the heartbeat's own
    # connection, and SQLite in memory is one database per connection: nothing to renew there.
    renewed = not db_connection.in_atomic_block and not (db_connection.vendor == "sqlite"
                                                         and db_connection.is_in_memory_db())
    if renewed:
        heartbeat.hold(lock)
    try:
        yield lock
    finally:
        if renewed:
            heartbeat.release(lock)
        SyncLock.objects.filter(pk=account_id, holder=token).update(holder="", holder_name="", expires_at=None,
                                                                    **lock.on_release)
