"""The message table's planner statistics after a pass that stored many rows (sync/statistics.py)."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from messages_app.models import Folder, MailAccount, Message
from messages_app.sync import statistics
from messages_app.sync.statistics import refresh_after_store, statistics_stale


@pytest.mark.parametrize(("reltuples", "changed", "stale"), [
    (-1, 0, False),  # never analysed, nothing in it: nothing to plan around
    (-1, 5, True),  # never analysed (PostgreSQL 14+ says -1) and rows came
    (0, 2_000, True),  # analysed empty, then a first sync
    (100_000, 2_000, False),  # a few new messages in a big table
    (100_000, 25_000, True),  # a quarter more than the planner knows
    (1_000, 900, False),  # a small table: under the minimum of changed rows
    (1_000, 1_500, True),
])
def test_statistics_are_stale_when_the_table_moved_well_past_them(reltuples, changed, stale):
    assert statistics_stale(reltuples, changed) is stale


def _store_rows(owner, count: int) -> None:
    account = MailAccount.objects.create(owner=owner, username="olga@crm.test", email="olga@crm.test",
                                         description="", imap_host="127.0.0.1", smtp_host="127.0.0.1")
    inbox = Folder.objects.create(account=account, name="INBOX", role="inbox")
    date = datetime(2026, 1, 1, tzinfo=UTC)
    Message.objects.bulk_create([Message(folder=inbox, account=account, uid=uid, dedup_key=f"stats-{uid}",
                                         subject=f"row {uid}", date=date) for uid in range(1, count + 1)])


def _analysed_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's counters, now
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT analyze_count + autoanalyze_count FROM pg_stat_user_tables WHERE relname = %s",
                       [Message._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_pass_that_stored_many_rows_refreshes_stale_statistics_once(owner):
    if connection.vendor != "postgresql":
        assert refresh_after_store(50_000) is False  # SQLite keeps no statistics to refresh
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Message._meta.db_table}")  # a known start: the table as it is now
    _store_rows(owner, statistics.STALE_MIN_ROWS + 200)
    before = _analysed_count()

    assert refresh_after_store(statistics.CHECK_AFTER_STORED - 1) is False  # a small pass never asks
    assert _analysed_count() == before
    assert refresh_after_store(statistics.STALE_MIN_ROWS + 200) is True
    assert _analysed_count() == before + 1
    # Fresh now: the next big pass finds nothing to do.
    assert refresh_after_store(statistics.STALE_MIN_ROWS + 200) is False
    assert _analysed_count() == before + 1


@pytest.mark.parametrize(("before", "after", "asks"), [
    (0, 1000, False),
    (4000, 4999, False),
    (4000, 5000, True),  # the batch that crosses the mark
    (4500, 5500, True),
    (5000, 6000, False),  # once per visit: later batches do not ask again
])
def test_a_first_sync_asks_once_on_its_way_when_its_count_crosses_the_mark(before, after, asks, monkeypatch):
    asked: list[int] = []
    monkeypatch.setattr(statistics, "refresh_after_store", lambda stored: asked.append(stored) or True)

    assert statistics.refresh_while_storing(before, after) is asks
    assert asked == ([after] if asks else [])
