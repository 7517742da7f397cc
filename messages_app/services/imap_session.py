"""One IMAP connection per account for a run of work, such as the arrival steps of one drain.

A step that reads from or writes to the server asks `imap_session(account)` for a connection.
Inside a run (`imap_run()`), it gets the run's connection, opened on first use and closed when the
run ends, or the connection the caller lent (the pass's own). Outside a run, it gets a fresh
connection closed after use, as `imap_connect` gives. Six arrival steps thus cost one login, not
one each.

A run also remembers the raw messages it fetched (up to RUN_RAW_MAX_BYTES), so that a later step
of the same run (a CRM link keeping the source) does not download again what the body prefetch
just did. Every user selects the folder it needs first: the selected folder is never assumed.
"""

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from messages_app.exceptions import MailError
from messages_app.models import MailAccount
from messages_app.services.connections import imap_connect

# A logged-in gateway connection, as imap_connect returns it (services/ never import gateways/).
ImapConnection = object

RUN_RAW_MAX_BYTES = 32 * 1024 * 1024


@dataclass
class _Run:
    connections: dict[int, ImapConnection] = field(default_factory=dict)
    owned: set[int] = field(default_factory=set)  # opened by the run, so closed by it
    raws: dict[int, bytes] = field(default_factory=dict)  # message id -> the whole message
    raw_bytes: int = 0

    def forget(self, account_id: int) -> None:
        """Drop an account's connection after an error: the next use opens a new one."""
        connection = self.connections.pop(account_id, None)
        if account_id in self.owned:
            self.owned.discard(account_id)
            _close_quietly(connection)

    def close(self) -> None:
        for account_id in list(self.owned):
            _close_quietly(self.connections.pop(account_id, None))
        self.owned.clear()


def _close_quietly(connection: ImapConnection | None) -> None:
    if connection is not None:
        with contextlib.suppress(MailError, OSError):
            connection.close()


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
        with imap_connect(account) as connection:
            yield connection
        return
    connection = run.connections.get(account.pk)
    if connection is None:
        connection = imap_connect(account)
        run.connections[account.pk] = connection
        run.owned.add(account.pk)
    try:
        yield connection
    except MailError:
        run.forget(account.pk)  # broken, or in a state nobody knows: not handed out again
        raise


def raw_remember(message_id: int, raw: bytes) -> None:
    run = _current.get()
    if run is not None and message_id not in run.raws and run.raw_bytes + len(raw) <= RUN_RAW_MAX_BYTES:
        run.raws[message_id] = raw
        run.raw_bytes += len(raw)


def raw_recall(message_id: int) -> bytes | None:
    run = _current.get()
    return run.raws.get(message_id) if run is not None else None
