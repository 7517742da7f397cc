"""serial_plan: the queries inside are planned without parallel workers, and the setting is back
as it was afterwards, whatever happened inside."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from messages_app.mailbox.planner import serial_plan
from messages_app.models import Folder, MailAccount, Message


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


def _plan() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN SELECT count(*) FROM {Message._meta.db_table}")  # noqa: S608 - a model's table name
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_queries_inside_run_without_parallel_workers_and_the_setting_comes_back(owner):
    account = MailAccount.objects.create(owner=owner, username="olga@crm.test", email="olga@crm.test",
                                         description="", imap_host="127.0.0.1", smtp_host="127.0.0.1")
    inbox = Folder.objects.create(account=account, name="INBOX", role="inbox")
    Message.objects.bulk_create([Message(folder=inbox, account=account, uid=uid, dedup_key=f"plan-{uid}",
                                         subject=f"row {uid}", date=datetime(2026, 1, 1, tzinfo=UTC))
                                 for uid in range(1, 2001)])
    if connection.vendor != "postgresql":
        with serial_plan():
            assert Message.objects.count() == 2000  # SQLite has no parallel plans: nothing changes
        return
    with connection.cursor() as cursor:  # make even this small table worth two workers
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
        for setting, value in (("parallel_setup_cost", "0"), ("parallel_tuple_cost", "0"),
                               ("min_parallel_table_scan_size", "0"), ("max_parallel_workers_per_gather", "2"),
                               ("enable_indexscan", "off"), ("enable_indexonlyscan", "off"),
                               ("enable_bitmapscan", "off")):
            cursor.execute(f"SET LOCAL {setting} = {value}")
    assert "Gather" in _plan()

    with serial_plan():
        assert _setting() == "0"
        assert "Gather" not in _plan()
        assert Message.objects.count() == 2000

    assert _setting() == "2"
    assert "Gather" in _plan()


@pytest.mark.django_db
def test_an_error_inside_still_restores_the_setting():
    before = _setting() if connection.vendor == "postgresql" else None

    with pytest.raises(ZeroDivisionError), serial_plan():
        1 / 0  # noqa: B018 - the error is the point

    if before is not None:
        assert _setting() == before
