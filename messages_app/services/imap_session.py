"""One IMAP connection per account for a run of work, such as the arrival steps of one drain.

A step that reads from or writes to the server asks `imap_session(account)` for a connection.
Inside a run (`imap_run()`), it gets the run's connection, taken from the process's pool
(services/imap_pool.py) on first use and given back when the run ends, or the connection the
caller lent (the pass's own). Outside a run, it gets a pooled connection for the block. Six arrival
steps thus cost one login, not one each, and a run after another usually none.

A run also remembers the raw messages it fetched (up to RUN_RAW_MAX_BYTES), so that a later step
of the same run (a CRM link keeping the source) does not download again what the body prefetch
just did. Every user selects the folder it needs first: the selected folder is never assumed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from messages_app.exceptions import MailError
from messages_app.models import MailAccount
from messages_app.services.imap_pool import POOL, pooled_connection, with_pooled_connection

# A logged-in gateway connection, as imap_connect returns it (services/ never import gateways/).
ImapConnection = object

RUN_RAW_MAX_BYTES = 32 * 1024 * 1024


@dataclass
class _Run:
    connections: dict[int, ImapConnection] = field(default_factory=dict)
    owned: dict[int, object] = field(default_factory=dict)  # account id -> pool loan: given back by the run
    raws: dict[int, bytes] = field(default_factory=dict)  # message id -> the whole message
    raw_bytes: int = 0

    def forget(self, account_id: int) -> None:
        """Drop an account's connection after an error: the next use opens a new one."""
        self.connections.pop(account_id, None)
        loan = self.owned.pop(account_id, None)
        if loan is not None:
            POOL.release(loan, broken=True)

    def close(self) -> None:
        for account_id, loan in list(self.owned.items()):
            self.connections.pop(account_id, None)
            POOL.release(loan)
        self.owned.clear()


_current: ContextVar[_Run | None] = ContextVar("imap_run", default=None)


@contextmanager
def imap_run(*, lent: dict[int, ImapConnection] | None = None) -> Iterator[None]:
    """Share one connection per account among everything in the block. `lent`: connections the
    caller keeps (and closes) itself, by account id. A nested run joins the outer one."""
    if _current.get() is not None:
        yield
        return
    run = _Run(connections=dict(lent or {}))
    token = _current.set(run)
    try:
        yield
    finally:
        _current.reset(token)
        run.close()


@contextmanager
def imap_session(account: MailAccount) -> Iterator[ImapConnection]:
    """A logged-in connection for the account: the run's, or a fresh one outside a run."""
    run = _current.get()
    if run is None:
        with pooled_connection(account) as connection:
            yield connection
        return
    connection = run.connections.get(account.pk)
    if connection is None:
        loan = POOL.acquire(account)
        connection = run.connections[account.pk] = loan.connection
        run.owned[account.pk] = loan
    try:
        yield connection
    except MailError:
        run.forget(account.pk)  # broken, or in a state nobody knows: not handed out again
        raise


def imap_call(account: MailAccount, work):
    """`work(connection)` on the run's connection, or outside a run on a pooled one, tried once
    more on a fresh connection when a kept one turns out dead. For work that may run twice."""
    run = _current.get()
    if run is None:
        return with_pooled_connection(account, work)
    with imap_session(account) as connection:
        return work(connection)


def raw_remember(message_id: int, raw: bytes) -> None:
    run = _current.get()
    if run is not None and message_id not in run.raws and run.raw_bytes + len(raw) <= RUN_RAW_MAX_BYTES:
        run.raws[message_id] = raw
        run.raw_bytes += len(raw)


def raw_recall(message_id: int) -> bytes | None:
    run = _current.get()
    return run.raws.get(message_id) if run is not None else None
