"""Kept IMAP connections, per account, for the web and worker processes.

A first open of a message used to cost a whole login (TCP, greeting, LOGIN, capabilities) before
its one FETCH, and marking it read a second one. Here a process keeps up to MAIL_IMAP_POOL_SIZE
logged-in connections per account and lends them out one caller at a time:

- never shared across accounts: connections are kept by account id, and each remembers the
  account's connection settings (host, port, security, login, the stored ciphertext of the
  password) it logged in with; one whose account changed since is closed instead of lent, so a
  new password or server takes effect at the next use (in every process, not only the one that
  saved). Saving or deleting an account also closes its connections in this process at once.
- bounded: a caller finding MAIL_IMAP_POOL_SIZE connections of the account lent out waits for one
  (up to MAIL_CONNECT_TIMEOUT, then a transient error: the server sees no more than that many
  sessions per process, whatever the number of threads); at most MAIL_IMAP_POOL_MAX_IDLE idle
  ones are kept in all, the least recently used closed first.
- idle ones are closed after MAIL_IMAP_POOL_IDLE_SECONDS by a reaper thread; one the server
  closed meanwhile (its BYE, or the end of the stream) is noticed without a round trip and
  replaced; after MAIL_IMAP_POOL_CHECK_SECONDS of silence a NOOP checks it first.
- thread-safe; a forked child (a prefork worker) forgets its parent's connections unused.

The credential is never logged, and never held here: connecting goes through imap_connect.
Connections are lent with whatever folder the last user selected: every user selects its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from messages_app.exceptions import ConnectionDropped, MailError
from messages_app.models import MailAccount
from messages_app.services.connections import imap_connect

logger = logging.getLogger(__name__)

# A logged-in gateway connection, as imap_connect returns it (services/ never import gateways/).
ImapConnection = object

# What a kept connection depends on: a change to any of these means logging in again.
_CONNECTION_FIELDS = ("pk", "imap_host", "imap_port", "imap_security", "imap_domain", "username", "auth_method",
                      "password_encrypted", "oauth_provider", "company_server_id", "owner_id")


class PoolBusy(MailError):
    permanent = False

    def user_message(self) -> str:
        return _("The mail server is busy with other requests of this account: try again in a moment.")


def connection_fingerprint(account: MailAccount) -> str:
    """A digest of the account's connection settings (the ciphertext, never the password)."""
    values = "\x1f".join(str(getattr(account, name, "")) for name in _CONNECTION_FIELDS)
    return hashlib.sha256(values.encode()).hexdigest()


@dataclass
class _Kept:
    connection: ImapConnection
    fingerprint: str
    account_id: int
    last_used: float
    reused: bool = False  # lent before: it may have died since (see with_pooled_connection)
    extra: bool = False  # beyond the size, for a thread that holds all the others: closed on release


class ImapPool:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._idle: dict[int, list[_Kept]] = {}  # account id -> idle connections, most recent last
        self._lent: dict[int, int] = {}  # account id -> connections lent out now
        self._reaper: threading.Thread | None = None
        self._held = threading.local()  # account id -> connections this thread has been lent
        self.logins = 0  # connections opened by this pool (for the tests and the bench)

    # -- lending ------------------------------------------------------------------------------
    def acquire(self, account: MailAccount) -> _Kept:
        fingerprint = connection_fingerprint(account)
        size = max(1, settings.MAIL_IMAP_POOL_SIZE)
        give_up_at = time.monotonic() + settings.MAIL_CONNECT_TIMEOUT
        stale: list[_Kept] = []
        kept = None
        extra = False
        held = self._held_by_this_thread()
        try:
            with self._cond:
                while True:
                    kept = self._take_idle(account.pk, fingerprint, stale)
                    if kept is not None:
                        break
                    lent = self._lent.get(account.pk, 0)
                    if lent < size:
                        self._lent[account.pk] = lent + 1
                        break
                    if held.get(account.pk, 0) >= lent:
                        # Waiting would wait for ourselves (a run's connection, then an action
                        # inside it): one more, not kept.
                        extra = True
                        break
                    left = give_up_at - time.monotonic()
                    if left <= 0:
                        raise PoolBusy(f"{size} connections of account {account.pk} in use",
                                       host=account.imap_host, port=account.imap_port)
                    self._cond.wait(left)
        finally:
            _close_all(stale)
        if kept is not None and self._still_good(kept):
            held[account.pk] = held.get(account.pk, 0) + 1
            return kept
        if kept is not None:
            _close_quietly(kept.connection)
        try:
            connection = imap_connect(account)
        except BaseException:
            if not extra:
                self._give_back_slot(account.pk)
            raise
        with self._cond:
            self.logins += 1
        if not extra:
            held[account.pk] = held.get(account.pk, 0) + 1
        return _Kept(connection, fingerprint, account.pk, time.monotonic(), extra=extra)

    def _held_by_this_thread(self) -> dict[int, int]:
        if not hasattr(self._held, "counts"):
            self._held.counts = {}
        return self._held.counts

    def _take_idle(self, account_id: int, fingerprint: str, stale: list[_Kept]) -> _Kept | None:
        idle = self._idle.get(account_id, [])
        expiry = time.monotonic() - settings.MAIL_IMAP_POOL_IDLE_SECONDS
        while idle:
            kept = idle.pop()
            if kept.fingerprint != fingerprint or kept.last_used < expiry:
                stale.append(kept)
                continue
            self._lent[account_id] = self._lent.get(account_id, 0) + 1
            kept.reused = True
            return kept
        self._idle.pop(account_id, None)
        return None

    @staticmethod
    def _still_good(kept: _Kept) -> bool:
        """No round trip unless it has been silent a while (then one NOOP)."""
        if not kept.connection.looks_alive():
            return False
        if time.monotonic() - kept.last_used > settings.MAIL_IMAP_POOL_CHECK_SECONDS:
            try:
                kept.connection.noop()
            except MailError:
                return False
        return True

    def release(self, kept: _Kept, *, broken: bool = False) -> None:
        """Back into the pool, or closed when it broke (or its state is anybody's guess)."""
        if kept.extra:
            _close_quietly(kept.connection)
            return
        held = self._held_by_this_thread()
        held[kept.account_id] = max(0, held.get(kept.account_id, 0) - 1)
        evicted: list[_Kept] = []
        with self._cond:
            self._lent[kept.account_id] = max(0, self._lent.get(kept.account_id, 0) - 1)
            if not self._lent[kept.account_id]:
                del self._lent[kept.account_id]
            if not broken and settings.MAIL_IMAP_POOL_IDLE_SECONDS > 0:
                kept.last_used = time.monotonic()
                self._idle.setdefault(kept.account_id, []).append(kept)
                evicted = self._over_cap()
                self._start_reaper()
            self._cond.notify_all()
        if broken:
            _close_quietly(kept.connection)
        _close_all(evicted)

    def _give_back_slot(self, account_id: int) -> None:
        with self._cond:
            self._lent[account_id] = max(0, self._lent.get(account_id, 0) - 1)
            self._cond.notify_all()

    def _over_cap(self) -> list[_Kept]:
        everything = sorted((k for idle in self._idle.values() for k in idle), key=lambda k: k.last_used)
        excess = everything[:max(0, len(everything) - settings.MAIL_IMAP_POOL_MAX_IDLE)]
        for kept in excess:
            self._idle[kept.account_id].remove(kept)
            if not self._idle[kept.account_id]:
                del self._idle[kept.account_id]
        return excess

    # -- closing --------------------------------------------------------------------------------
    def close_account(self, account_id: int, *, unless_fingerprint: str | None = None) -> None:
        """Close the account's idle connections, or those logged in with other settings than
        `unless_fingerprint` (one lent out now is checked the same way on its next lending)."""
        with self._cond:
            idle = self._idle.pop(account_id, [])
            keep = [k for k in idle if unless_fingerprint is not None and k.fingerprint == unless_fingerprint]
            if keep:
                self._idle[account_id] = keep
        _close_all([k for k in idle if k not in keep])

    def close_idle(self, *, older_than: float | None = None) -> int:
        """Close idle connections unused for `older_than` seconds (all of them when None)."""
        cutoff = time.monotonic() - (older_than or 0) if older_than is not None else None
        gone: list[_Kept] = []
        with self._cond:
            for account_id in list(self._idle):
                idle = self._idle[account_id]
                keep = [k for k in idle if cutoff is not None and k.last_used >= cutoff]
                gone += [k for k in idle if k not in keep]
                if keep:
                    self._idle[account_id] = keep
                else:
                    del self._idle[account_id]
        _close_all(gone)
        return len(gone)

    def idle_count(self, account_id: int | None = None) -> int:
        with self._cond:
            if account_id is not None:
                return len(self._idle.get(account_id, ()))
            return sum(len(idle) for idle in self._idle.values())

    def lent_count(self, account_id: int) -> int:
        with self._cond:
            return self._lent.get(account_id, 0)

    def forget_after_fork(self) -> None:
        """In a forked child: the parent's sockets are the parent's; drop them unused."""
        self._cond = threading.Condition()
        self._idle = {}
        self._lent = {}
        self._held = threading.local()
        self._reaper = None

    def _start_reaper(self) -> None:
        if self._reaper is not None and self._reaper.is_alive():
            return
        self._reaper = threading.Thread(target=self._reap, name="imap-pool-reaper", daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        while True:
            seconds = settings.MAIL_IMAP_POOL_IDLE_SECONDS
            # At most a second between looks, so a shorter timeout set meanwhile (or a connection
            # idling since just after the last look) is honoured within a second; the thread
            # only lives while connections idle.
            time.sleep(max(0.2, min(seconds / 4, 1.0)))
            self.close_idle(older_than=seconds)
            with self._cond:
                if not self._idle:
                    self._reaper = None
                    return


def _close_quietly(connection: ImapConnection) -> None:
    with contextlib.suppress(MailError, OSError):
        connection.close()


def _close_all(kept: list[_Kept]) -> None:
    for item in kept:
        _close_quietly(item.connection)


POOL = ImapPool()
os.register_at_fork(after_in_child=POOL.forget_after_fork)


@contextmanager
def pooled_connection(account: MailAccount) -> Iterator[ImapConnection]:
    """A logged-in connection of the account's, lent for the block. Closed rather than kept when
    the block fails with a MailError (broken, or in a state nobody knows)."""
    kept = POOL.acquire(account)
    try:
        yield kept.connection
    except BaseException:
        POOL.release(kept, broken=True)
        raise
    POOL.release(kept)


def with_pooled_connection(account: MailAccount, work):
    """`work(connection)` on a lent connection; when a kept one turns out dead mid-way (the
    server hung up between the check and the command), once more on a fresh one. For work that
    may safely run twice (reads, setting flags)."""
    kept = POOL.acquire(account)
    try:
        result = work(kept.connection)
    except ConnectionDropped:
        POOL.release(kept, broken=True)
        if not kept.reused:
            raise
        with pooled_connection(account) as connection:
            return work(connection)
    except BaseException:
        POOL.release(kept, broken=True)
        raise
    POOL.release(kept)
    return result


def _account_saved(sender, instance: MailAccount, created: bool, **kwargs) -> None:
    # Saves that change no connection setting (sync state, test results) keep the connections.
    if not created:
        POOL.close_account(instance.pk, unless_fingerprint=connection_fingerprint(instance))


def _account_deleted(sender, instance: MailAccount, **kwargs) -> None:
    POOL.close_account(instance.pk)


post_save.connect(_account_saved, sender=MailAccount, dispatch_uid="imap_pool_account_saved")
post_delete.connect(_account_deleted, sender=MailAccount, dispatch_uid="imap_pool_account_deleted")
