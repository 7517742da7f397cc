"""The counter triggers of 0022 run their flagged-groups and local-counts statement only when the
changed rows hold a flagged or a local message (PostgreSQL).

That statement is the big one (a dozen CTEs over the transition tables and the message table);
plpgsql plans it at its first run in each database session (some 10 ms per trigger on the bench
machine) and runs it on every statement. Most writes of a resync touch neither kind of row:
the detaching of expunged mail, the purge of it at the end of the pass, the insert of a few new
messages. With no flagged row and no local row among the changes its result is empty (the
groups it reads are those of flagged rows, the local counts those of rows without an account),
so skipping it changes no counter. The folder counters' statement still runs every time.
SQLite's row triggers already have WHEN clauses on is_flagged: nothing to change there.
"""

import importlib

from django.db import migrations

counts_0022 = importlib.import_module("messages_app.migrations.0022_folder_counts")

# Whether the statement's changes can matter to the owner counters: a flagged row (before or
# after) or a local one (no account), among the transition rows.
_RELEVANT = {
    "INSERT": "EXISTS (SELECT 1 FROM new_rows WHERE is_flagged OR account_id IS NULL)",
    "DELETE": "EXISTS (SELECT 1 FROM old_rows WHERE is_flagged OR account_id IS NULL)",
    "UPDATE": ("EXISTS (SELECT 1 FROM old_rows WHERE is_flagged OR account_id IS NULL) "
               "OR EXISTS (SELECT 1 FROM new_rows WHERE is_flagged OR account_id IS NULL)"),
}


def _guarded_function(op: str) -> str:
    """0022's function for `op` with its owner statement inside IF <relevant> THEN ... END IF."""
    original = counts_0022._pg_function(op)
    folder_part = counts_0022._PG_FOLDER_DELTA.format(changes=counts_0022._pg_changes(op))
    head, owner_and_tail = original.split(folder_part, 1)
    owner_part, tail = owner_and_tail.rsplit("RETURN NULL;", 1)
    guarded = f"IF {_RELEVANT[op]} THEN\n{owner_part}\nEND IF;\n"
    return f"{head}{folder_part}\n{guarded}RETURN NULL;{tail}"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for op in ("INSERT", "UPDATE", "DELETE"):
            schema_editor.execute(_guarded_function(op), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for op in ("INSERT", "UPDATE", "DELETE"):
            schema_editor.execute(counts_0022._pg_function(op), params=None)


class Migration(migrations.Migration):

    dependencies = [("messages_app", "0022_folder_counts")]

    operations = [migrations.RunPython(forward, backward)]
