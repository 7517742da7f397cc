"""The planner's statistics of the message table, refreshed after a pass that stored many rows.

A first sync COPYs tens of thousands of rows into a table PostgreSQL has not analysed yet (or
whose statistics describe a far smaller table). Until autovacuum's next round, up to a minute
or more later, the planner misjudges it: at 100k rows it answered `WHERE id = ANY(...)` by
walking the whole `account_id` index, about 130 ms for each arrival step's first query instead
of 0.1 ms, so new mail took a second more to be followed up, just when a new user is trying it.
ANALYZE samples a bounded number of rows (about 2 s at 100k wide rows, no more at 1M), so it
runs only when the table moved well past its statistics, and is skipped when another worker is
analysing it already (SKIP_LOCKED): that one refreshes the same statistics.

A first sync also asks once on its way, after its first EARLY_CHECK_STORED rows: a table never
analysed made the planner answer each batch's "which of these UIDs are stored?" by reading the
whole folder (80 ms a batch at 100k, so the sync grew with the square of the folder). A sample
of a few thousand rows costs milliseconds, and the planner scales it with the table's size.
"""

import logging

from django.db import connection

from messages_app.models import Message

logger = logging.getLogger(__name__)

# Below this many rows stored in one pass, the pass never asks (a cheap pass stays cheap).
CHECK_AFTER_STORED = 1000
# Stale when the rows changed since the last ANALYZE exceed this share of the rows it counted
# (autovacuum's own default is 10% + 50 rows, checked once a minute at best).
STALE_SHARE = 0.2
STALE_MIN_ROWS = 1000
# The one check a folder's visit makes while it stores, when its count crosses this.
EARLY_CHECK_STORED = 5000

_STATE_SQL = ("SELECT c.reltuples, s.n_mod_since_analyze FROM pg_class c "
              "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = %s::regclass")


def statistics_stale(reltuples: float, changed_since: int) -> bool:
    """Whether the planner's picture of the table is off: never analysed (reltuples -1 on
    PostgreSQL 14+, 0 before), or changed by more than STALE_SHARE of what it counted."""
    if reltuples <= 0:
        return changed_since > 0
    return changed_since > max(STALE_SHARE * reltuples, STALE_MIN_ROWS)


def refresh_after_store(stored: int) -> bool:
    """ANALYZE the message table when this pass stored many rows and its statistics are stale.
    Returns whether it ran."""
    if stored < CHECK_AFTER_STORED or connection.vendor != "postgresql":
        return False
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, [table])
        row = cursor.fetchone()
        if row is None or not statistics_stale(float(row[0]), int(row[1] or 0)):
            return False
        cursor.execute(f"ANALYZE (SKIP_LOCKED) {connection.ops.quote_name(table)}")
    logger.info("message table statistics refreshed after %d rows were stored", stored)
    return True


def refresh_while_storing(stored_before: int, stored_after: int) -> bool:
    """After a committed batch: refresh_after_store once, when the visit's count of stored rows
    crosses EARLY_CHECK_STORED. Returns whether it ran."""
    if stored_before < EARLY_CHECK_STORED <= stored_after:
        return refresh_after_store(stored_after)
    return False
