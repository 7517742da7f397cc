"""One thread per process renews the leases of every sync lock the process holds.

A thread started and joined per pass cost two waits for the scheduler on every pass, which on a
busy machine are most of a pass that finds nothing changed. This one starts with the first lock
and then waits: each held lock is renewed every third of the lease (MAIL_SYNC_LOCK_SECONDS) while
its holder waits on the server; when nothing is held, the thread's database connection is closed.
"""

import logging
import threading
import time
from typing import Protocol

from django.conf import settings
from django.db import connection as db_connection

logger = logging.getLogger(__name__)


class Renewable(Protocol):
    def extend(self) -> bool: ...


def renewal_interval() -> float:
    return max(settings.MAIL_SYNC_LOCK_SECONDS / 3, 1)


class _Heartbeat:
    def __init__(self) -> None:
        self._due: dict[Renewable, float] = {}  # lock -> when to renew it (time.monotonic)
        self._mutex = threading.Lock()
        self._changed = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, lock: Renewable) -> None:
        with self._mutex:
            self._due[lock] = time.monotonic() + renewal_interval()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sync-lock-heartbeat", daemon=True)
                self._thread.start()
        self._changed.set()

    def release(self, lock: Renewable) -> None:
        with self._mutex:
            self._due.pop(lock, None)
        self._changed.set()

    def _run(self) -> None:
        used_connection = False
        while True:
            with self._mutex:
                now = time.monotonic()
                due = [lock for lock, when in self._due.items() if when <= now]
                for lock in due:
                    self._due[lock] = now + renewal_interval()
                next_due = min(self._due.values(), default=None)
            for lock in due:
                try:
                    lock.extend()
                except Exception:  # the database is away for a moment: the next round retries
                    logger.warning("sync lock lease renewal failed", exc_info=True)
                used_connection = True
            if next_due is None and used_connection:
                db_connection.close()  # nothing held: give the connection back until the next lock
                used_connection = False
            self._changed.wait(None if next_due is None else max(next_due - time.monotonic(), 0))
            self._changed.clear()


heartbeat = _Heartbeat()
