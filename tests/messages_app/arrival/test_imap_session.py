"""The arrival steps of one drain share one IMAP login per account, and what one step fetched is
not downloaded again by the next (services/imap_session.py)."""

import pytest

from messages_app.arrival import steps
from messages_app.gateways.imap import ImapConnection
from messages_app.models import MessageBody, MessageSource
from messages_app.services import imap_pool, imap_session
from messages_app.services.message_body import message_sources_keep
from messages_app.services.sync import account_sync, open_connection
from tests.conftest import account_on
from tests.messages_app.arrival.test_pipeline import deliver

KEEP_SOURCES = steps.Step("keep_sources_for_tests", lambda ids: message_sources_keep(message_ids=ids))


@pytest.fixture
def keep_sources_step():
    steps.register(KEEP_SOURCES)
    yield
    steps.unregister(KEEP_SOURCES.name)


@pytest.fixture
def spies(monkeypatch):
    counts = {"logins": 0, "fetches": 0}
    login, fetch = imap_pool.imap_connect, ImapConnection.fetch_raw_many

    def counting_login(*args, **kwargs):
        counts["logins"] += 1
        return login(*args, **kwargs)

    def counting_fetch(self, uids):
        counts["fetches"] += 1
        return fetch(self, uids)

    monkeypatch.setattr(imap_pool, "imap_connect", counting_login)
    monkeypatch.setattr(ImapConnection, "fetch_raw_many", counting_fetch)
    return counts


def test_two_steps_that_read_the_server_cost_one_login_and_one_fetch(owner, mail_user, keep_sources_step, spies):
    account = account_on(owner, mail_user)
    account_sync(account.pk)  # the history: nothing runs for it
    spies.update(logins=0, fetches=0)
    deliver(mail_user, 3, start=50)
    result = account_sync(account.pk)
    assert len(result.new_message_ids) == 3
    assert result.arrivals.completed == 3
    assert spies == {"logins": 1, "fetches": 1}  # the prefetch fetched; keeping the sources reused it
    new = result.new_message_ids
    assert MessageBody.objects.filter(message_id__in=new).count() == 3
    sources = MessageSource.objects.filter(message_id__in=new)
    assert sources.count() == 3
    assert all(b"Richiesta 5" in bytes(source.raw) for source in sources)


def test_a_lent_connection_serves_the_steps_and_stays_open(owner, mail_user, keep_sources_step, spies):
    account = account_on(owner, mail_user)
    with open_connection(account) as connection:
        account_sync(account.pk, connection=connection)
        deliver(mail_user, 2, start=70)
        result = account_sync(account.pk, connection=connection)
        assert result.arrivals.completed == 2
        assert spies["logins"] == 0
        assert connection.select("INBOX", readonly=True).exists == 2  # still logged in
    assert MessageSource.objects.filter(message_id__in=result.new_message_ids).count() == 2


def test_outside_a_run_uses_one_after_the_other_share_a_kept_connection(owner, mail_user, spies):
    account = account_on(owner, mail_user)
    for _ in range(2):
        with imap_session.imap_session(account) as connection:
            assert connection.select("INBOX", readonly=True).exists == 0
    assert spies["logins"] == 1  # the process's pool kept it (services/imap_pool.py)
    assert imap_session.raw_recall(1) is None  # nothing is remembered outside a run
