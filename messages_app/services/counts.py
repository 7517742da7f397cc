"""The folder column's counters, recounted from the message rows.

Triggers keep them (migration 0021, which says what each counts); a recount is for rows that
were written with triggers off (bench/bulkload.py's replica-mode COPY, a restore) and as a repair
path (`manage.py mail_counts_recount`). Plain SQL on the tables as migration 0021 left them, so
that migration runs it too (for the rows already there). Reading them: selectors.mailbox_counts.
"""

from django.db import connections, transaction

_FOLDERS_ZERO = "UPDATE messages_app_folder SET message_count = 0, unread_count = 0, flagged_count = 0"
_FOLDERS_COUNTED = """
    UPDATE messages_app_folder SET message_count = d.messages, unread_count = d.unread, flagged_count = d.flagged
    FROM (SELECT folder_id, count(*) AS messages,
                 sum(CASE WHEN is_seen THEN 0 ELSE 1 END) AS unread,
                 sum(CASE WHEN is_flagged THEN 1 ELSE 0 END) AS flagged
          FROM messages_app_message WHERE folder_id IS NOT NULL AND x_ricevuta = '' GROUP BY folder_id) AS d
    WHERE messages_app_folder.id = d.folder_id
"""
_LOCAL = """
    SELECT local_owner_id, count(*), sum(CASE WHEN is_seen THEN 0 ELSE 1 END)
    FROM messages_app_message WHERE account_id IS NULL AND local_owner_id IS NOT NULL GROUP BY local_owner_id
"""
# As selectors.unique_flagged: per user, one per dedup_key, the group's lowest id standing for it.
_FLAGGED = """
    SELECT g.owner_id, count(*), sum(CASE WHEN m.is_seen THEN 0 ELSE 1 END)
    FROM (SELECT owner_id, min(id) AS first_id FROM (
              SELECT m.id, m.dedup_key, a.owner_id FROM messages_app_message m
              JOIN messages_app_mailaccount a ON a.id = m.account_id
              WHERE m.is_flagged AND m.folder_id IS NOT NULL
              UNION ALL
              SELECT id, dedup_key, local_owner_id FROM messages_app_message
              WHERE is_flagged AND account_id IS NULL AND local_owner_id IS NOT NULL) AS v
          GROUP BY owner_id, dedup_key) AS g
    JOIN messages_app_message m ON m.id = g.first_id
    GROUP BY g.owner_id
"""


def counts_recount(using: str = "default") -> dict[str, int]:
    """Set every counter from the message rows, in one transaction. On PostgreSQL writers wait
    meanwhile (SHARE lock on the message table), so none of their changes falls between the
    count and the write. Returns how many folders and users it set."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE messages_app_message IN SHARE MODE")
        cursor.execute(_FOLDERS_ZERO)
        folders = cursor.rowcount
        cursor.execute(_FOLDERS_COUNTED)
        owners: dict[int, list[int]] = {}
        cursor.execute(_LOCAL)
        for owner_id, messages, unread in cursor.fetchall():
            owners.setdefault(owner_id, [0, 0, 0, 0])[0:2] = [messages, unread]
        cursor.execute(_FLAGGED)
        for owner_id, messages, unread in cursor.fetchall():
            owners.setdefault(owner_id, [0, 0, 0, 0])[2:4] = [messages, unread]
        cursor.execute("DELETE FROM messages_app_mailboxcounts")
        if owners:
            cursor.executemany(
                "INSERT INTO messages_app_mailboxcounts (owner_id, local_messages, local_unread, flagged_messages, "
                "flagged_unread) VALUES (%s, %s, %s, %s, %s)",
                [(owner_id, *values) for owner_id, values in sorted(owners.items())])
    return {"folders": folders, "users": len(owners)}

