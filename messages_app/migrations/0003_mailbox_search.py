"""Full-text search and unread counts, outside the model state on purpose.

PostgreSQL: stored, generated tsvector columns (so the sync's bulk inserts fill them without
knowing they exist) with GIN indexes. SQLite has neither; search falls back to LIKE there.
Both: an index for the unread count of each folder in the folder tree.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    """
    ALTER TABLE messages_app_message ADD COLUMN IF NOT EXISTS search_tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(subject, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(from_name, '') || ' ' || coalesce(from_addr, '') || ' '
                     || translate(coalesce(from_addr, ''), '@.', '  ') || ' '
                     || translate(coalesce("to"::text, '') || ' ' || coalesce(cc::text, ''), '@.[]",', '      ')
                     || ' ' || coalesce("to"::text, '') || ' ' || coalesce(cc::text, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(preview, '')), 'C')
    ) STORED
    """,
    "CREATE INDEX IF NOT EXISTS message_search_gin ON messages_app_message USING gin (search_tsv)",
    """
    ALTER TABLE messages_app_messagebody ADD COLUMN IF NOT EXISTS search_tsv tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', left(coalesce(text, ''), 500000))
    ) STORED
    """,
    "CREATE INDEX IF NOT EXISTS messagebody_search_gin ON messages_app_messagebody USING gin (search_tsv)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS messagebody_search_gin",
    "ALTER TABLE messages_app_messagebody DROP COLUMN IF EXISTS search_tsv",
    "DROP INDEX IF EXISTS message_search_gin",
    "ALTER TABLE messages_app_message DROP COLUMN IF EXISTS search_tsv",
]
UNREAD_FORWARD = ["CREATE INDEX IF NOT EXISTS message_folder_unseen ON messages_app_message (folder_id, is_seen)"]
UNREAD_BACKWARD = ["DROP INDEX IF EXISTS message_folder_unseen"]


def _run(statements_for):
    def run(apps, schema_editor):
        for statement in statements_for(schema_editor.connection.vendor):
            schema_editor.execute(statement)
    return run


forward = _run(lambda vendor: UNREAD_FORWARD + (POSTGRES_FORWARD if vendor == "postgresql" else []))
backward = _run(lambda vendor: (POSTGRES_BACKWARD if vendor == "postgresql" else []) + UNREAD_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("messages_app", "0002_preferences")]
    operations = [migrations.RunPython(forward, backward)]
