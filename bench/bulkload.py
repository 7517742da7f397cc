"""COPY rows into the product's own tables: the insert floor, and the database-only sets
(the unified-inbox accounts and the 1M folder) that need rows but no IMAP.

The column list comes from the Message model at run time, so a new field in the product does not
break the load; generated columns (the search tsvector of migration 0003) and indexes are the
product's and are paid for, as the sync pays for them.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.mailgen import OWNER_ADDR, MailboxGenerator, Meta

# Values for fields the generator does not model; anything else missing gets the field default.
_DEFAULTS = {"keywords": "[]", "cc": "[]", "list_id": "", "auto_submitted": "", "precedence": "",
             "is_draft": False, "local_change_at": None, "modseq": None, "internal_date": None}


def message_columns() -> list[str]:
    from messages_app.models import Message

    return [f.column for f in Message._meta.concrete_fields if not f.primary_key]


def _field_defaults() -> dict[str, object]:
    from django.db.models import NOT_PROVIDED

    from messages_app.models import Message

    defaults = {}
    for f in Message._meta.concrete_fields:
        if f.primary_key:
            continue
        if f.column in _DEFAULTS:
            defaults[f.column] = _DEFAULTS[f.column]
        elif f.default is not NOT_PROVIDED:
            value = f.default() if callable(f.default) else f.default
            defaults[f.column] = json.dumps(value) if isinstance(value, list | dict) else value
        else:
            defaults[f.column] = None if f.null else ""
    return defaults


def normalize_subject(subject: str) -> str:
    lowered = subject
    while True:
        for prefix in ("Re: ", "R: ", "RE: ", "AW: "):
            if lowered.startswith(prefix):
                lowered = lowered[len(prefix):]
                break
        else:
            return lowered


@dataclass
class RowFactory:
    """Builds COPY rows (tuples in `columns` order) from generator metadata."""

    columns: list[str]
    account_id: int
    folder_id: int
    thread_id_base: int | None = None

    def __post_init__(self) -> None:
        self._defaults = _field_defaults()

    def row(self, meta: Meta, uid: int) -> tuple:
        values = dict(self._defaults)
        values.update({
            "folder_id": self.folder_id, "account_id": self.account_id, "uid": uid,
            "dedup_key": f"h:{self.folder_id}:{uid}",
            "message_id": meta.message_id, "in_reply_to": meta.in_reply_to,
            "references": " ".join(meta.references), "subject": meta.subject,
            "from_name": meta.from_name, "from_addr": meta.from_addr,
            "to": json.dumps([list(pair) for pair in meta.to]),
            "date": meta.date, "internal_date": meta.date, "size": meta.size, "preview": meta.preview,
            "has_attachments": meta.has_attachments, "is_seen": meta.seen, "is_flagged": meta.flagged,
            "is_answered": meta.answered,
            "thread_id": None if self.thread_id_base is None else self.thread_id_base + meta.conversation,
        })
        return tuple(values.get(column) for column in self.columns)


def copy_rows(raw_cursor, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY rows through a psycopg 3 cursor; returns how many."""
    count = 0
    column_list = ", ".join(f'"{c}"' for c in columns)
    with raw_cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:  # noqa: S608
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def reserve_ids(raw_cursor, table: str, count: int) -> int:
    """Take `count` ids from the table's sequence in one go; returns the first."""
    raw_cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = raw_cursor.fetchone()[0]
    raw_cursor.execute("SELECT nextval(%s)", [sequence])
    first = raw_cursor.fetchone()[0]
    raw_cursor.execute("SELECT setval(%s, %s)", [sequence, first + count])
    return first


@dataclass(frozen=True)
class LoadJob:
    """One generator's messages into one folder (database only), with its conversations as threads."""

    generator_name: str
    count: int
    account_id: int
    folder_id: int
    owner_id: int
    uid_start: int = 1
    sent: bool = False
    thread_id_base: int = 0  # set by load_parallel, which reserves the ids before forking


def _thread_rows(stats: dict[int, list], base: int) -> Iterator[tuple]:
    for root, (count, last, subject) in stats.items():
        yield (base + root, subject[:1000], "", last, count)


TEMPLATE_SIZE = 100_000


def _metas(job: LoadJob) -> Iterator[Meta]:
    """The job's messages. Past TEMPLATE_SIZE the generator's first TEMPLATE_SIZE messages are
    reused with new Message-IDs, conversations and dates a few seconds apart: same mix, and the
    generator (the slow part of a 500k load) runs once."""
    template = [item.meta for item in MailboxGenerator(job.generator_name, min(job.count, TEMPLATE_SIZE),
                                                       sent=job.sent).messages(render=False)]
    produced = 0
    copy = 0
    while produced < job.count:
        for meta in template:
            if produced >= job.count:
                return
            if copy:
                meta = dataclasses.replace(
                    meta, message_id=meta.message_id.replace("@", f".c{copy}@", 1),
                    in_reply_to=meta.in_reply_to.replace("@", f".c{copy}@", 1) if meta.in_reply_to else "",
                    references=tuple(r.replace("@", f".c{copy}@", 1) for r in meta.references),
                    date=meta.date - timedelta(seconds=37 * copy),
                    conversation=meta.conversation + copy * len(template))
            produced += 1
            yield meta
        copy += 1


def load_job(job: LoadJob) -> dict:
    """Runs in its own process (own connection): COPY messages, then their Thread rows, commit."""
    import django

    django.setup()
    from django.db import connection, transaction

    started = time.perf_counter()
    columns = message_columns()
    with transaction.atomic():
        raw = connection.cursor().cursor
        # Generated rows are consistent by construction: skip the per-row foreign-key triggers
        # (three checks a row, queued until commit), as pg_restore does. Needs a superuser.
        # The counting triggers are skipped too: load_with_index_rebuild recounts afterwards.
        raw.execute("SET LOCAL session_replication_role = replica")
        thread_base = job.thread_id_base
        factory = RowFactory(columns, job.account_id, job.folder_id, thread_id_base=thread_base)
        stats: dict[int, list] = {}

        def rows() -> Iterator[tuple]:
            for uid, meta in enumerate(_metas(job), start=job.uid_start):
                entry = stats.get(meta.conversation)
                if entry is None:
                    stats[meta.conversation] = [1, meta.date, normalize_subject(meta.subject)]
                else:
                    entry[0] += 1
                    if meta.date > entry[1]:
                        entry[1] = meta.date
                yield factory.row(meta, uid)

        copied = copy_rows(raw, "messages_app_message", columns, rows())
        # Threads after messages: the foreign key is checked at commit (Django makes it deferrable).
        with raw.copy("COPY messages_app_thread (id, subject, subject_key, last_date, message_count, owner_id) "
                      "FROM STDIN") as copy:
            for row in _thread_rows(stats, thread_base):
                copy.write_row((*row, job.owner_id))
    connection.close()
    return {"messages": copied, "threads": len(stats), "seconds": round(time.perf_counter() - started, 2)}


def load_parallel(jobs: list[LoadJob], processes: int = 2) -> list[dict]:
    """Run load jobs two at a time (this machine has two cores) in fresh processes."""
    import dataclasses

    from django.db import connection, connections

    with connection.cursor() as cursor:  # one process reserves every range: no overlap
        jobs = [dataclasses.replace(job, thread_id_base=reserve_ids(cursor.cursor, "messages_app_thread", job.count))
                for job in jobs]
    connections.close_all()  # never share a connection with forked children
    with multiprocessing.get_context("fork").Pool(processes, maxtasksperchild=1) as pool:
        results = pool.map(load_job, jobs, chunksize=1)
    return results


def secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's indexes that back no constraint."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = %s AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """, [table])
        return cursor.fetchall()


def load_with_index_rebuild(jobs: list[LoadJob], processes: int = 2) -> dict:
    """The standard bulk-load recipe for the database-only sets (set-up, not a measured figure):
    drop the message table's secondary indexes, COPY in parallel, rebuild them, VACUUM ANALYZE.
    Rebuilding a GIN index in one go is several times cheaper than maintaining it row by row."""
    from django.db import connection

    started = time.perf_counter()
    indexes = secondary_indexes("messages_app_message")
    with connection.cursor() as cursor:
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    loaded = time.perf_counter()
    try:
        results = load_parallel(jobs, processes)
    finally:
        rebuild_started = time.perf_counter()
        rebuild_indexes([definition for _name, definition in indexes])
    recount_started = time.perf_counter()
    recount = recount_counters()
    vacuum_started = time.perf_counter()
    vacuum_analyze()
    return {"jobs": results, "drop_s": round(loaded - started, 2), "copy_s": round(rebuild_started - loaded, 2),
            "index_rebuild_s": round(recount_started - rebuild_started, 2),
            "recount_s": round(vacuum_started - recount_started, 2), "recounted": recount,
            "vacuum_analyze_s": round(time.perf_counter() - vacuum_started, 2),
            "total_s": round(time.perf_counter() - started, 2)}


def recount_counters() -> dict:
    """The COPY ran in replica mode, which also skips the product's counting triggers (migration
    0021): set the folder and per-user counters from the rows, as `manage.py mail_counts_recount`
    does. Set-up, timed only as `recount_s` of the load."""
    from messages_app.services.counts import counts_recount

    return counts_recount()


def rebuild_indexes(definitions: list[str]) -> None:
    """CREATE the indexes on two connections at once (this machine has two cores): the GIN index,
    by far the longest, alone on one; the b-trees on the other."""
    import psycopg

    from bench.env import database_url

    gin = [d for d in definitions if " USING gin " in d.lower()]
    others = [d for d in definitions if d not in gin]
    errors: list[BaseException] = []

    def build(statements: list[str]) -> None:
        try:
            with psycopg.connect(database_url(), autocommit=True) as conn:
                conn.execute("SET maintenance_work_mem = '512MB'")
                for statement in statements:
                    conn.execute(statement)
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(group,)) for group in (gin, others) if group]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def vacuum_analyze() -> None:
    """After a bulk load, as autovacuum would do soon after: statistics and the visibility map,
    so the page timings do not catch autovacuum half-way."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("messages_app_message", "messages_app_thread", "messages_app_threadref",
                      "messages_app_folder", "messages_app_messagebody"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def now() -> datetime:
    return datetime.now(UTC)


__all__ = ["OWNER_ADDR", "LoadJob", "RowFactory", "copy_rows", "load_parallel", "load_with_index_rebuild",
           "message_columns", "vacuum_analyze"]
