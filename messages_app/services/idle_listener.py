"""The IMAP IDLE listener: hold IDLE on each account's Inbox and sync it within moments of new mail.

One thread per account holds one IMAP connection and no database connection: its database
work (loading the account, checking the folder, the Inbox pass) runs through `DatabaseSlots`, a
bounded pool of threads, so a listener with thousands of accounts keeps a handful of database
connections. The thread leaves IDLE when the server reports activity and goes back to IDLE after
the pass, on its own IMAP connection: for new mail only (EXISTS) the cheap pass of
sync/new_mail.py (fetch the new messages, store them, then their arrival steps, `follow_up`), for
anything else (EXPUNGE, flag changes) the full Inbox pass. The steps run over the thread's own
connection: a second session on the same Inbox makes Dovecot sync a big Maildir twice per message
(measured in bench/README.md). Connection losses reconnect with backoff; a refused password
stops that account's listener.

What an idle account costs is its thread (a few touched stack pages) and its connection's
imaplib objects; the TLS context is one per process (gateways/errors.client_ssl_context), not one
per connection (which cost 0.8 MB per account).

`listeners_serve` runs one `mail_idle` process: it shares the accounts with the other running
listeners through leases in the database (sync/idle_lease.py), renews them on a heartbeat, takes
over lapsed ones and drops an account whose lease it lost.
"""

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db import connection as db_connection

from messages_app.arrival import pipeline
from messages_app.exceptions import AuthFailed, MailError
from messages_app.models import Folder, MailAccount
from messages_app.services.sync import account_sync, open_connection
from messages_app.sync.idle_lease import ListenerLeases
from messages_app.sync.lock import SyncBusy
from messages_app.sync.new_mail import new_mail_store

logger = logging.getLogger(__name__)

_NOT_CAUGHT_UP = object()  # no catch-up since the last IDLE
IDLE_RENEW_SECONDS = 600  # RFC 2177: re-issue IDLE well before the server's 30-minute timeout
WAIT_SLICE_SECONDS = 1.0
# A burst of new mail at many accounts is stored before its arrival steps start (DatabaseSlots).
FOLLOW_UP_QUIET_SECONDS = 0.3
FOLLOW_UP_MAX_DEFER_SECONDS = 2.0


class InlineDatabase:
    """Database work in the calling thread, whose connection is closed afterwards (so a thread
    waiting in IDLE holds none). For a single listener; `DatabaseSlots` for many."""

    def __call__(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            db_connection.close()

    def follow_up(self, account_id: int, conn) -> None:
        """The arrival steps of what was just stored, here and now, over the listener's own
        connection (one listener: nothing else to yield to)."""
        self(_arrival_steps, account_id, conn)


_inline = InlineDatabase()


class DatabaseSlots:
    """Runs the listeners' database work on at most `size` threads, each keeping one connection.

    A listener allowed MAIL_IDLE_DB_CONNECTIONS connections spends one on its lease heartbeat
    (listeners_serve) and one on the sync locks' heartbeat (sync/heartbeat.py, one per process),
    so the rest are slots. Work that makes mail visible (stores, Inbox passes) goes first; the
    arrival steps that follow a store (`follow_up`: body prefetch, CRM links, filters, which
    also wait on the server) take at most all slots but one, so a burst of new mail at a hundred
    accounts is stored first and followed up second, never queued behind the follow-ups. Jobs
    never submit jobs (no deadlock).

    A slot is not the only thing the two share: on a small machine the follow-ups' CPU (parsing
    bodies, matching addresses) slows the stores as much as a taken slot would. So a follow-up
    also waits until no store has been asked for or has run for `quiet_s` (the rest of a burst
    is then stored before any follow-up starts), but never longer than `max_defer_s` after it
    was queued, so steady new mail cannot starve the follow-ups. Only other threads' stores
    count: a listener waits for its own follow-up, so its own store just before it is over
    (one busy account's next message would otherwise wait out the window each time).
    """

    def __init__(self, size: int | None = None, *, quiet_s: float = FOLLOW_UP_QUIET_SECONDS,
                 max_defer_s: float = FOLLOW_UP_MAX_DEFER_SECONDS):
        self.size = size or max(settings.MAIL_IDLE_DB_CONNECTIONS - 2, 1)
        self._background_limit = max(self.size - 1, 1)
        self._quiet_s, self._max_defer_s = quiet_s, max_defer_s
        self._cond = threading.Condition()
        self._urgent: deque = deque()
        self._background: deque = deque()  # (job, submitting thread, queued at)
        self._background_running = 0
        # The last time a store was asked for or ended, by thread: the latest, then the latest of
        # any other thread ((time.monotonic(), thread ident)).
        self._recent_urgent: list[tuple[float, int]] = []
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"idle-db-{index}", daemon=True)
                         for index in range(self.size)]
        for thread in self._threads:
            thread.start()

    def __call__(self, fn, *args, **kwargs):
        return self._submit(fn, args, kwargs, background=False).result()

    def background(self, fn, *args, **kwargs):
        return self._submit(fn, args, kwargs, background=True).result()

    def follow_up(self, account_id: int, conn) -> None:
        """The arrival steps of what was just stored, over the listener's connection, as
        background work: after the stores of the other accounts' new mail."""
        self.background(_arrival_steps, account_id, conn)

    def _submit(self, fn, args, kwargs, *, background: bool) -> Future:
        future = Future()
        with self._cond:
            if self._closed:
                raise CancelledError
            job, ident = (future, fn, args, kwargs), threading.get_ident()
            if background:
                self._background.append((job, ident, time.monotonic()))
            else:
                self._urgent_seen(ident)
                self._urgent.append((job, ident))
            self._cond.notify()
        return future

    def _urgent_seen(self, ident: int) -> None:
        others = [entry for entry in self._recent_urgent if entry[1] != ident]
        self._recent_urgent = [(time.monotonic(), ident), *others[:1]]

    def _last_urgent_of_others(self, ident: int) -> float:
        return next((seen for seen, who in self._recent_urgent if who != ident), -math.inf)

    def _next(self):
        with self._cond:
            while not self._closed:
                if self._urgent:
                    job, ident = self._urgent.popleft()
                    return job, ident, False
                wait = None
                if self._background and self._background_running < self._background_limit:
                    _job, ident, queued_at = self._background[0]
                    wait = min(self._last_urgent_of_others(ident) + self._quiet_s,
                               queued_at + self._max_defer_s) - time.monotonic()
                    if wait <= 0:
                        self._background_running += 1
                        job, ident, _queued_at = self._background.popleft()
                        return job, ident, True
                self._cond.wait(wait)
            return None

    def _work(self) -> None:
        try:
            while (job := self._next()) is not None:
                (future, fn, args, kwargs), ident, background = job
                try:
                    if future.set_running_or_notify_cancel():
                        close_old_connections()  # a broken or old connection is replaced, as between requests
                        try:
                            future.set_result(fn(*args, **kwargs))
                        except BaseException as exc:
                            future.set_exception(exc)
                finally:
                    with self._cond:
                        if background:
                            self._background_running -= 1
                            self._cond.notify_all()  # a follow-up's slot is free
                        else:
                            self._urgent_seen(ident)  # nothing became runnable: no wake-up
        finally:
            db_connection.close()

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            queued = [job for job, *_rest in [*self._urgent, *self._background]]
            self._urgent.clear()
            self._background.clear()
            self._cond.notify_all()
        for future, *_job in queued:
            future.cancel()


def _inbox_name(account_id: int) -> str:
    folder = Folder.objects.filter(account_id=account_id, role="inbox").first()
    return folder.name if folder else "INBOX"


def _stored_state(account_id: int, inbox: str) -> tuple[int, int] | None:
    folder = Folder.objects.filter(account_id=account_id, name=inbox).only("uidnext", "server_messages").first()
    return None if folder is None else (folder.uidnext, folder.server_messages)


def _account_to_connect(account_id: int):
    """Load the account (with what connecting reads of it) and its Inbox's name; None when its
    password is known to be refused. An OAuth2 account also logs in here, since its token is
    read (and maybe refreshed) from the database; a password account logs in outside the slot."""
    account = MailAccount.objects.select_related("owner", "company_server").get(pk=account_id)
    if account.auth_failed:
        return None
    return account, (open_connection(account) if account.uses_oauth else None), _inbox_name(account_id)


def _connect(account_id: int, db: Callable):
    """A logged-in connection and the Inbox's name, or None. The login's round trips (and TLS
    handshake) hold no database slot: a thousand accounts starting at once would queue their
    logins behind a handful of slots."""
    loaded = db(_account_to_connect, account_id)
    if loaded is None:
        return None
    account, conn, inbox = loaded
    return (conn or open_connection(account)), inbox


_BUSY = object()  # what `_when_free` returns when the lock stayed busy or the listener stops


def _when_free(stop: threading.Event, db: Callable, fn, *args, **kwargs):
    """`db(fn, ...)`, retried while a periodic pass holds the account's lock (about 10 s at most,
    waiting outside the database slots, so other accounts' passes go on); `_BUSY` if it never
    got the lock or the listener is stopping."""
    for _attempt in range(50):
        try:
            return db(fn, *args, **kwargs)
        except SyncBusy:
            if stop.wait(0.2):
                break
    return _BUSY


def _sync_inbox(account_id: int, conn, inbox: str, stop: threading.Event, db: Callable) -> None:
    """Run the Inbox pass, then its arrival steps as background work."""
    started = time.monotonic()
    result = _when_free(stop, db, account_sync, account_id, folder_name=inbox, connection=conn, drain_arrivals=False)
    if result is _BUSY:
        return
    logger.info("account %s: Inbox pass in %.0f ms, %s new", account_id, (time.monotonic() - started) * 1000,
                result.new)
    db.follow_up(account_id, conn)


def _arrival_steps(account_id: int, conn) -> None:
    started = time.monotonic()
    drained = pipeline.drain(account_id=account_id, connection=conn)
    if drained.completed:
        slowest = sorted(drained.step_seconds.items(), key=lambda item: -item[1])[:3]
        logger.info("account %s: arrival steps of %d in %.0f ms (%s)", account_id, drained.completed,
                    (time.monotonic() - started) * 1000,
                    ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in slowest))


def _only_new_mail(activity: list) -> bool | None:
    """What IDLE reported: True for new mail only (EXISTS, RECENT), None for nothing (the
    server's "* OK Still here" keepalives), False for anything else (EXPUNGE, FETCH of flags,
    VANISHED, what we do not know), which takes the full Inbox pass."""
    kinds = set()
    for response in activity:
        if len(response) >= 2 and isinstance(response[0], int) and response[1] in (b"EXISTS", b"RECENT"):
            kinds.add(response[1])
        elif response and response[0] in (b"OK", b"NO"):
            continue
        else:
            return False
    return (b"EXISTS" in kinds) or None


def _new_mail_pass(account_id: int, conn, inbox: str, *, uidvalidity: int, from_uid: int, stop: threading.Event,
                   db: Callable, noticed: float, expect: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The cheap pass for new mail: fetch what lies at or above `from_uid`, the Inbox's stored
    UIDNEXT (on this thread's connection, holding no database slot), store it in one slot call,
    then run the arrival steps as background work, which yields to the other accounts' stores,
    so a burst of new mail is visible first and followed up second.

    `expect`: the (messages before, messages now) a SELECT showed when this catches up on mail
    that came while the thread was busy; unless exactly the fetched messages explain the
    difference (something was also expunged), the full pass runs instead. Returns the Inbox's
    stored (uidnext, messages), or None when the full pass had to run. `noticed`: when the new
    mail was seen (time.monotonic), for the log line that says where the time went."""
    fetched = [meta for meta in conn.fetch_meta(f"{from_uid}:*") if meta.uid >= from_uid]
    fetched_at = time.monotonic()
    result = None
    if expect is None or expect[0] + len(fetched) == expect[1]:
        # Behind a periodic pass, which may have stored these too (stored UIDs are skipped).
        result = _when_free(stop, db, new_mail_store, account_id, inbox, uidvalidity=uidvalidity,
                            uidnext=from_uid, fetched=fetched)
        if result is _BUSY:
            return None
    if result is None:  # the stored Inbox moved on (or needs a full pass): take the full pass
        _sync_inbox(account_id, conn, inbox, stop, db)
        return None
    logger.info("account %s: %d new stored %.0f ms after they were seen (fetch %.0f ms)", account_id,
                result.stored, (time.monotonic() - noticed) * 1000, (fetched_at - noticed) * 1000)
    if result.arrival_ids:
        db.follow_up(account_id, conn)
    return result.uidnext, result.server_messages


def listen(account_id: int, stop: threading.Event, db: Callable = _inline) -> None:
    """Hold IDLE on the account's Inbox until `stop` is set. `db` runs the database work."""
    delay = 1.0
    while not stop.is_set():
        try:
            opened = _connect(account_id, db)
            if opened is None:
                logger.warning("account %s: password refused, IDLE listener stops", account_id)
                return
            conn, inbox = opened
            with conn:
                _sync_inbox(account_id, conn, inbox, stop, db)  # catch up on what came while away
                delay = 1.0
                before_catch_up = _NOT_CAUGHT_UP  # the stored state the last catch-up started from
                stored = None  # the Inbox's (uidnext, messages) in the database, when known here
                while not stop.is_set():
                    # The stored state first, then SELECT, then IDLE at once: mail that lands
                    # while this thread waits for a database slot shows in the SELECT.
                    if stored is None:
                        stored = db(_stored_state, account_id, inbox)
                    select = conn.select(inbox, readonly=True)
                    if stored != (select.uidnext, select.exists):
                        if stored != before_catch_up:
                            # Mail that came while the last pass ran raises no IDLE event (this
                            # session's SELECT has seen it): catch up first, with the cheap pass
                            # when the Inbox only grew, and again as long as each catch-up moves
                            # the stored Inbox on, so mail that lands during a catch-up's own
                            # arrival steps is not left for the next event. A folder that cannot
                            # sync leaves the stored state where it was: then IDLE, no spinning.
                            before_catch_up = stored
                            if stored is not None and select.uidnext > stored[0] and select.exists > stored[1]:
                                stored = _new_mail_pass(account_id, conn, inbox, uidvalidity=select.uidvalidity,
                                                        from_uid=stored[0], stop=stop, db=db,
                                                        noticed=time.monotonic(), expect=(stored[1], select.exists))
                            else:
                                _sync_inbox(account_id, conn, inbox, stop, db)
                                stored = None
                            continue
                        stored = None
                    before_catch_up = _NOT_CAUGHT_UP
                    conn.idle_start()
                    started = time.monotonic()
                    activity = []
                    while not stop.is_set() and not activity and time.monotonic() - started < IDLE_RENEW_SECONDS:
                        activity = conn.idle_wait(WAIT_SLICE_SECONDS)
                    noticed = time.monotonic()
                    conn.idle_done()
                    if not activity:
                        continue
                    new_mail_only = _only_new_mail(activity)
                    if new_mail_only is None:
                        continue  # a keepalive: nothing changed
                    if new_mail_only and stored is not None and select.uidnext:
                        stored = _new_mail_pass(account_id, conn, inbox, uidvalidity=select.uidvalidity,
                                                from_uid=select.uidnext, stop=stop, db=db, noticed=noticed)
                    else:
                        _sync_inbox(account_id, conn, inbox, stop, db)
                        stored = None
        except MailAccount.DoesNotExist:
            return
        except AuthFailed:
            return  # the pass marked the account; the user must fix the password
        except MailError as exc:
            logger.info("account %s: IDLE connection lost (%s), reconnecting in %.0fs", account_id, exc, delay)
            if stop.wait(delay):
                return
            delay = min(delay * 2, 60)


class _Listening:
    def __init__(self, account_id: int, db: Callable):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(account_id, db), name=f"idle-{account_id}",
                                       daemon=True)
        self.thread.start()

    def _run(self, account_id: int, db: Callable) -> None:
        try:
            listen(account_id, self.stop, db)
        except CancelledError:
            pass  # the process is stopping: its database slots are shut
        except Exception:
            logger.exception("account %s: IDLE listener failed", account_id)


def listeners_serve(*, stop: threading.Event, only: list[int] | None = None,
                    report: Callable[[str], None] = lambda line: None) -> None:
    """Run this process's share of the IDLE listeners until `stop` is set, then free its leases.

    Every MAIL_IDLE_RENEW_SECONDS: renew the leases held; drop the accounts whose lease was lost
    (or whose listener ended); give back what exceeds an even share; claim free or lapsed ones.
    If the database cannot be reached for a whole lease, drop everything: others may hold it now.
    """
    leases = ListenerLeases(only=only)
    db = DatabaseSlots()
    running: dict[int, _Listening] = {}
    last_renewed = time.monotonic()
    reported = None
    try:
        while not stop.is_set():
            try:
                held = leases.heartbeat()
                last_renewed = time.monotonic()
                ended = {pk for pk, one in running.items() if not one.thread.is_alive()}
                for pk in {pk for pk in running if pk not in held} | ended:
                    running.pop(pk).stop.set()
                leases.release(ended)  # listed again at the next claim if still eligible
                held -= ended
                share = leases.share()
                if len(held) > share:
                    excess = sorted(held, reverse=True)[:len(held) - share]
                    for pk in excess:
                        if pk in running:
                            running.pop(pk).stop.set()
                    leases.release(excess)
                    held -= set(excess)
                held |= set(leases.claim(share - len(held)))
                for pk in sorted(held - set(running) - ended):
                    running[pk] = _Listening(pk, db)
            except DatabaseError as exc:
                logger.warning("IDLE leases not renewed: %s", exc)
                if time.monotonic() - last_renewed > settings.MAIL_IDLE_LEASE_SECONDS:
                    for one in running.values():
                        one.stop.set()
                    running.clear()
            if len(running) != reported:
                reported = len(running)
                report(f"listening on {reported} accounts")
            stop.wait(settings.MAIL_IDLE_RENEW_SECONDS)
    finally:
        for one in running.values():
            one.stop.set()
        for one in running.values():
            one.thread.join(timeout=5)
        try:
            leases.stop()
        except DatabaseError as exc:
            logger.warning("IDLE leases not released (they lapse by themselves): %s", exc)
        db.shutdown()
