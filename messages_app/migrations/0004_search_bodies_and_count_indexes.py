"""Body words join the message's own tsvector, and partial indexes for the folder-tree counts.

0003 kept a second tsvector on the body table; "in the message OR in its body" then defeated
the GIN index (a sequential scan of every message). Now the words of a fetched body go into
`messages_app_message.body_tsv` (raw SQL, see mailbox/search.py) and the generated `search_tsv`
includes them: one indexed predicate, which PostgreSQL can answer from the GIN index for rare
words or by walking the date index for common ones.

Both databases: the unread count per folder and the flagged count read small partial indexes.
"""

from django.db import migrations

SEARCH_VECTOR = """
    setweight(to_tsvector('simple', coalesce(subject, '')), 'A')
    || setweight(to_tsvector('simple', coalesce(from_name, '') || ' ' || coalesce(from_addr, '') || ' '
                 || translate(coalesce(from_addr, ''), '@.', '  ') || ' '
                 || translate(coalesce("to"::text, '') || ' ' || coalesce(cc::text, ''), '@.[]",', '      ')
                 || ' ' || coalesce("to"::text, '') || ' ' || coalesce(cc::text, '')), 'B')
    || setweight(to_tsvector('simple', coalesce(preview, '')), 'C')
"""

POSTGRES_FORWARD = [
    "DROP INDEX IF EXISTS messagebody_search_gin",
    "ALTER TABLE messages_app_messagebody DROP COLUMN IF EXISTS search_tsv",
    "ALTER TABLE messages_app_message ADD COLUMN IF NOT EXISTS body_tsv tsvector",
    "DROP INDEX IF EXISTS message_search_gin",
    "ALTER TABLE messages_app_message DROP COLUMN IF EXISTS search_tsv",
    f"""ALTER TABLE messages_app_message ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        {SEARCH_VECTOR} || coalesce(body_tsv, ''::tsvector)) STORED""",
    "CREATE INDEX message_search_gin ON messages_app_message USING gin (search_tsv)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS message_search_gin",
    "ALTER TABLE messages_app_message DROP COLUMN IF EXISTS search_tsv",
    "ALTER TABLE messages_app_message DROP COLUMN IF EXISTS body_tsv",
    f"ALTER TABLE messages_app_message ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED",
    "CREATE INDEX message_search_gin ON messages_app_message USING gin (search_tsv)",
    """ALTER TABLE messages_app_messagebody ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', left(coalesce(text, ''), 500000))) STORED""",
    "CREATE INDEX messagebody_search_gin ON messages_app_messagebody USING gin (search_tsv)",
]
COUNTS_FORWARD = [
    "DROP INDEX IF EXISTS message_folder_unseen",
    "CREATE INDEX IF NOT EXISTS message_unseen_by_folder ON messages_app_message (folder_id) WHERE NOT is_seen",
    "CREATE INDEX IF NOT EXISTS message_flagged_by_account ON messages_app_message (account_id) WHERE is_flagged",
]
COUNTS_BACKWARD = [
    "DROP INDEX IF EXISTS message_flagged_by_account",
    "DROP INDEX IF EXISTS message_unseen_by_folder",
    "CREATE INDEX IF NOT EXISTS message_folder_unseen ON messages_app_message (folder_id, is_seen)",
]


def _run(statements_for):
    def run(apps, schema_editor):
        for statement in statements_for(schema_editor.connection.vendor):
            schema_editor.execute(statement)
    return run


forward = _run(lambda vendor: COUNTS_FORWARD + (POSTGRES_FORWARD if vendor == "postgresql" else []))
backward = _run(lambda vendor: (POSTGRES_BACKWARD if vendor == "postgresql" else []) + COUNTS_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("messages_app", "0003_mailbox_search")]
    operations = [migrations.RunPython(forward, backward)]
