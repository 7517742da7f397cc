"""Unread, flagged and message counters on folder rows and per user, kept by triggers.

The folder column showed counts computed on every page (a COUNT ... GROUP BY over the user's
unread mail, the flagged and local counts): a third of a 100k folder's page, growing with the
mailbox. Now each folder row carries its counters, and MailboxCounts the user's Importata and
Contrassegnata ones, changed by the database in the statement that changes the message rows:

- Triggers, not updates in Python, because the rows are written in many places and ways (COPY
  of a first sync, grouped flag UPDATEs of a resync, detaching, re-homing, settling to local,
  the actions' write path, cascaded deletes, imports, the outbox's local copies); a trigger
  catches every one, including those added later.
- PostgreSQL: statement-level AFTER triggers with transition tables, so a COPY of a thousand
  rows costs one aggregate, not a thousand folder updates. Rows to update are locked in id
  order (folders, then users) so that two statements touching the same folders do not deadlock.
- SQLite: row triggers (it has no transition tables).

What is counted, as the lists show it:
- Folder: messages in the folder that are not PEC receipts (mailbox/listing.not_receipts):
  `message_count`, `unread_count` (not \\Seen), `flagged_count`.
- MailboxCounts.local_*: the user's local messages (account null), as Importata lists them.
- MailboxCounts.flagged_*: flagged mail as selectors.unique_flagged lists it: per user, one per
  dedup_key among their flagged mail in a folder or local (a detached row is nobody's), that
  group's lowest id standing for it (unread when that row is). Only statements touching a
  flagged row do this part, looking up the few groups they touch by dedup_key.

Rows loaded with triggers off (bench/bulkload.py's replica mode) need
services.counts.counts_recount; so does a database restored without them.
"""

from django.conf import settings
from django.db import migrations, models

from messages_app.services import counts

# ----------------------------------------------------------------------------------- PostgreSQL
# `changes`: the rows a statement changed, with sign +1 (new state) or -1 (old state).
_PG_FOLDER_DELTA = """
    WITH delta AS (
        SELECT folder_id, sum(sign) AS messages,
               sum(CASE WHEN is_seen THEN 0 ELSE sign END) AS unread,
               sum(CASE WHEN is_flagged THEN sign ELSE 0 END) AS flagged
        FROM ({changes}) AS c
        WHERE folder_id IS NOT NULL AND x_ricevuta = ''
        GROUP BY folder_id
    ), touched AS (
        SELECT f.id FROM messages_app_folder f JOIN delta d ON d.folder_id = f.id
        WHERE d.messages <> 0 OR d.unread <> 0 OR d.flagged <> 0
        ORDER BY f.id FOR UPDATE OF f
    )
    UPDATE messages_app_folder f
    SET message_count = f.message_count + d.messages, unread_count = f.unread_count + d.unread,
        flagged_count = f.flagged_count + d.flagged
    FROM delta d JOIN touched t ON t.id = d.folder_id
    WHERE f.id = d.folder_id;
"""

# Owner of a row, visible or not: the local owner, else the account's owner.
_PG_OWNER = ("CASE WHEN r.account_id IS NULL THEN r.local_owner_id "
             "ELSE (SELECT a.owner_id FROM messages_app_mailaccount a WHERE a.id = r.account_id) END")

# Flagged rows a user sees (in a folder of theirs, or local), as (owner, dedup_key, id, is_seen).
_PG_VISIBLE_FLAGGED = """
    SELECT p.owner_id, p.dedup_key, r.id, r.is_seen
    FROM pairs p JOIN ({rows}) AS r ON r.dedup_key = p.dedup_key
    WHERE r.is_flagged AND (
        (r.account_id IS NULL AND r.local_owner_id = p.owner_id)
        OR (r.folder_id IS NOT NULL AND EXISTS (SELECT 1 FROM messages_app_mailaccount a
                                                WHERE a.id = r.account_id AND a.owner_id = p.owner_id)))
"""

# `pairs_from`: the (owner, dedup_key) groups the statement may have changed; `before_rows`: the
# message table as it was before the statement (reconstructed from the transition tables).
_PG_OWNER_DELTA = """
    WITH pairs AS MATERIALIZED (
        SELECT DISTINCT {owner} AS owner_id, r.dedup_key FROM ({pairs_from}) AS r
    ), after_rows AS (
        {after}
    ), before_rows AS (
        {before}
    ), groups AS (
        SELECT owner_id, 1 AS sign, is_seen FROM (
            SELECT DISTINCT ON (owner_id, dedup_key) owner_id, dedup_key, is_seen FROM after_rows
            ORDER BY owner_id, dedup_key, id) AS first_after
        UNION ALL
        SELECT owner_id, -1, is_seen FROM (
            SELECT DISTINCT ON (owner_id, dedup_key) owner_id, dedup_key, is_seen FROM before_rows
            ORDER BY owner_id, dedup_key, id) AS first_before
    ), flagged AS (
        SELECT owner_id, sum(sign) AS messages, sum(CASE WHEN is_seen THEN 0 ELSE sign END) AS unread
        FROM groups GROUP BY owner_id
    ), local AS (
        SELECT local_owner_id AS owner_id, sum(sign) AS messages,
               sum(CASE WHEN is_seen THEN 0 ELSE sign END) AS unread
        FROM ({changes}) AS c WHERE account_id IS NULL GROUP BY local_owner_id
    ), delta AS (
        SELECT owner_id, sum(local_messages) AS local_messages, sum(local_unread) AS local_unread,
               sum(flagged_messages) AS flagged_messages, sum(flagged_unread) AS flagged_unread
        FROM (SELECT owner_id, messages AS local_messages, unread AS local_unread,
                     0 AS flagged_messages, 0 AS flagged_unread FROM local
              UNION ALL
              SELECT owner_id, 0, 0, messages, unread FROM flagged) AS parts
        WHERE owner_id IS NOT NULL
        GROUP BY owner_id
        HAVING sum(local_messages) <> 0 OR sum(local_unread) <> 0
            OR sum(flagged_messages) <> 0 OR sum(flagged_unread) <> 0
    )
    INSERT INTO messages_app_mailboxcounts AS k
        (owner_id, local_messages, local_unread, flagged_messages, flagged_unread)
    SELECT owner_id, local_messages, local_unread, flagged_messages, flagged_unread FROM delta
    ORDER BY owner_id
    ON CONFLICT (owner_id) DO UPDATE SET
        local_messages = k.local_messages + excluded.local_messages,
        local_unread = k.local_unread + excluded.local_unread,
        flagged_messages = k.flagged_messages + excluded.flagged_messages,
        flagged_unread = k.flagged_unread + excluded.flagged_unread;
"""

_COLUMNS = "id, folder_id, account_id, local_owner_id, dedup_key, x_ricevuta, is_seen, is_flagged"
_CURRENT = "SELECT {c} FROM messages_app_message WHERE dedup_key IN (SELECT dedup_key FROM pairs)".format(c=_COLUMNS)
_NOT_NEW = " AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = messages_app_message.id)"
_OLD_OF_PAIRS = f"SELECT {_COLUMNS} FROM old_rows WHERE dedup_key IN (SELECT dedup_key FROM pairs)"
# An UPDATE only matters to the flagged groups where a flagged row changed what the groups read.
_UPDATED_FLAGGED = f"""
    SELECT o.account_id, o.local_owner_id, o.dedup_key FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o.is_flagged OR n.is_flagged)
      AND (o.is_flagged, o.is_seen, o.folder_id IS NULL, o.account_id, o.local_owner_id, o.dedup_key)
          IS DISTINCT FROM (n.is_flagged, n.is_seen, n.folder_id IS NULL, n.account_id, n.local_owner_id, n.dedup_key)
    UNION ALL
    SELECT n.account_id, n.local_owner_id, n.dedup_key FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE (o.is_flagged OR n.is_flagged)
      AND (o.is_flagged, o.is_seen, o.folder_id IS NULL, o.account_id, o.local_owner_id, o.dedup_key)
          IS DISTINCT FROM (n.is_flagged, n.is_seen, n.folder_id IS NULL, n.account_id, n.local_owner_id, n.dedup_key)
"""


def _pg_changes(op: str) -> str:
    new = f"SELECT 1 AS sign, {_COLUMNS} FROM new_rows"
    old = f"SELECT -1 AS sign, {_COLUMNS} FROM old_rows"
    return {"INSERT": new, "DELETE": old, "UPDATE": f"{new} UNION ALL {old}"}[op]


def _pg_function(op: str) -> str:
    pairs_from = {
        "INSERT": "SELECT account_id, local_owner_id, dedup_key FROM new_rows WHERE is_flagged",
        "DELETE": "SELECT account_id, local_owner_id, dedup_key FROM old_rows WHERE is_flagged",
        "UPDATE": _UPDATED_FLAGGED,
    }[op]
    before_rows = {
        "INSERT": _CURRENT + _NOT_NEW,
        "DELETE": f"{_CURRENT} UNION ALL {_OLD_OF_PAIRS}",
        "UPDATE": f"{_CURRENT}{_NOT_NEW} UNION ALL {_OLD_OF_PAIRS}",
    }[op]
    owner_delta = _PG_OWNER_DELTA.format(
        owner=_PG_OWNER, pairs_from=pairs_from, changes=_pg_changes(op),
        after=_PG_VISIBLE_FLAGGED.format(rows=_CURRENT), before=_PG_VISIBLE_FLAGGED.format(rows=before_rows))
    return f"""
        CREATE OR REPLACE FUNCTION messages_app_counts_{op.lower()}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {_PG_FOLDER_DELTA.format(changes=_pg_changes(op))}
            {owner_delta}
            RETURN NULL;
        END $$;
    """


def _pg_trigger(op: str) -> str:
    referencing = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
                   "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}[op]
    return f"""
        CREATE TRIGGER messages_app_counts_{op.lower()} AFTER {op} ON messages_app_message
        REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION messages_app_counts_{op.lower()}()
    """


PG_FORWARD = [statement for op in ("INSERT", "UPDATE", "DELETE") for statement in (_pg_function(op), _pg_trigger(op))]
PG_BACKWARD = [statement for op in ("insert", "update", "delete") for statement in (
    f"DROP TRIGGER IF EXISTS messages_app_counts_{op} ON messages_app_message",
    f"DROP FUNCTION IF EXISTS messages_app_counts_{op}()")]

# ----------------------------------------------------------------------------------- SQLite
# Row triggers. Folder and local counters: add the new row, subtract the old one. Flagged
# groups: a BEFORE trigger subtracts what the row's groups counted, the AFTER trigger adds what
# they count now (SQLite runs both around each row, so the deltas add up row by row).


def _sqlite_folder(sign: str, row: str) -> str:
    return f"""
        UPDATE messages_app_folder SET message_count = message_count {sign} 1,
            unread_count = unread_count {sign} (NOT {row}.is_seen),
            flagged_count = flagged_count {sign} ({row}.is_flagged <> 0)
        WHERE id = {row}.folder_id AND {row}.x_ricevuta = '';
    """


def _sqlite_local(sign: str, row: str) -> str:
    return f"""
        INSERT INTO messages_app_mailboxcounts
            (owner_id, local_messages, local_unread, flagged_messages, flagged_unread)
        SELECT {row}.local_owner_id, {sign}1, {sign}(NOT {row}.is_seen), 0, 0
        WHERE {row}.account_id IS NULL AND {row}.local_owner_id IS NOT NULL
        ON CONFLICT (owner_id) DO UPDATE SET local_messages = local_messages + excluded.local_messages,
            local_unread = local_unread + excluded.local_unread;
    """


def _sqlite_owner(row: str) -> str:
    return (f"CASE WHEN {row}.account_id IS NULL THEN {row}.local_owner_id ELSE "
            f"(SELECT owner_id FROM messages_app_mailaccount WHERE id = {row}.account_id) END")


# is_seen of the group's first flagged row for pair p (NULL: no such group).
_SQLITE_FIRST_SEEN = """
    (SELECT m.is_seen FROM messages_app_message m
     WHERE m.dedup_key = p.dedup_key AND m.is_flagged AND (
        (m.account_id IS NULL AND m.local_owner_id = p.owner_id)
        OR (m.folder_id IS NOT NULL AND EXISTS (SELECT 1 FROM messages_app_mailaccount a
                                                WHERE a.id = m.account_id AND a.owner_id = p.owner_id)))
     ORDER BY m.id LIMIT 1)
"""


def _sqlite_groups(sign: str, rows: tuple[str, ...]) -> str:
    pairs = " UNION ".join(f"SELECT {_sqlite_owner(row)} AS owner_id, {row}.dedup_key AS dedup_key" for row in rows)
    return f"""
        INSERT INTO messages_app_mailboxcounts
            (owner_id, local_messages, local_unread, flagged_messages, flagged_unread)
        SELECT owner_id, 0, 0, {sign}sum(first_seen IS NOT NULL), {sign}sum(coalesce(first_seen = 0, 0))
        FROM (SELECT p.owner_id, {_SQLITE_FIRST_SEEN} AS first_seen FROM ({pairs}) AS p WHERE p.owner_id IS NOT NULL)
        WHERE true GROUP BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET flagged_messages = flagged_messages + excluded.flagged_messages,
            flagged_unread = flagged_unread + excluded.flagged_unread;
    """


_COUNTED = "folder_id, account_id, local_owner_id, dedup_key, x_ricevuta, is_seen, is_flagged"
_UPDATE_FLAGGED = "OLD.is_flagged OR NEW.is_flagged"

SQLITE_TRIGGERS = {
    "counts_insert": f"AFTER INSERT ON messages_app_message BEGIN {_sqlite_folder('+', 'NEW')}"
                     f"{_sqlite_local('+', 'NEW')} END",
    "counts_delete": f"AFTER DELETE ON messages_app_message BEGIN {_sqlite_folder('-', 'OLD')}"
                     f"{_sqlite_local('-', 'OLD')} END",
    "counts_update": f"AFTER UPDATE OF {_COUNTED} ON messages_app_message BEGIN "
                     f"{_sqlite_folder('-', 'OLD')}{_sqlite_folder('+', 'NEW')}"
                     f"{_sqlite_local('-', 'OLD')}{_sqlite_local('+', 'NEW')} END",
    "flagged_before_insert": f"BEFORE INSERT ON messages_app_message WHEN NEW.is_flagged BEGIN "
                             f"{_sqlite_groups('-', ('NEW',))} END",
    "flagged_after_insert": f"AFTER INSERT ON messages_app_message WHEN NEW.is_flagged BEGIN "
                            f"{_sqlite_groups('', ('NEW',))} END",
    "flagged_before_delete": f"BEFORE DELETE ON messages_app_message WHEN OLD.is_flagged BEGIN "
                             f"{_sqlite_groups('-', ('OLD',))} END",
    "flagged_after_delete": f"AFTER DELETE ON messages_app_message WHEN OLD.is_flagged BEGIN "
                            f"{_sqlite_groups('', ('OLD',))} END",
    "flagged_before_update": f"BEFORE UPDATE OF {_COUNTED} ON messages_app_message WHEN {_UPDATE_FLAGGED} BEGIN "
                             f"{_sqlite_groups('-', ('OLD', 'NEW'))} END",
    "flagged_after_update": f"AFTER UPDATE OF {_COUNTED} ON messages_app_message WHEN {_UPDATE_FLAGGED} BEGIN "
                            f"{_sqlite_groups('', ('OLD', 'NEW'))} END",
}
SQLITE_FORWARD = [f"CREATE TRIGGER messages_app_{name} {body}" for name, body in SQLITE_TRIGGERS.items()]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS messages_app_{name}" for name in SQLITE_TRIGGERS]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in PG_FORWARD if vendor == "postgresql" else SQLITE_FORWARD if vendor == "sqlite" else []:
        schema_editor.execute(statement, params=None)
    counts.counts_recount(using=schema_editor.connection.alias)  # rows already there


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in PG_BACKWARD if vendor == "postgresql" else SQLITE_BACKWARD if vendor == "sqlite" else []:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("messages_app", "0021_link_message_date"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name="folder", name="flagged_count",
                            field=models.IntegerField(default=0, editable=False)),
        migrations.AddField(model_name="folder", name="message_count",
                            field=models.IntegerField(default=0, editable=False)),
        migrations.AddField(model_name="folder", name="unread_count",
                            field=models.IntegerField(default=0, editable=False)),
        migrations.CreateModel(
            name="MailboxCounts",
            fields=[
                ("owner", models.OneToOneField(db_constraint=False, on_delete=models.deletion.CASCADE,
                                               primary_key=True, related_name="mailbox_counts", serialize=False,
                                               to=settings.AUTH_USER_MODEL)),
                ("local_messages", models.IntegerField(default=0)),
                ("local_unread", models.IntegerField(default=0)),
                ("flagged_messages", models.IntegerField(default=0)),
                ("flagged_unread", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(forward, backward),
    ]
