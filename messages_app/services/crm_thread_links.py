"""Thread links on PostgreSQL in one statement per batch (services/crm_links.py: "by thread").

The rule is the one crm_links._thread_links applies in Python (SQLite runs that one): each
message of the batch that has a conversation and whose address headers parsed cleanly gets every
record linked (state "linked") to any message of its conversation, with that link's owner and
confidence; when several links of the conversation name one record, the oldest link (lowest id)
gives them. A link the message already has, in any state (dismissed included), is not made
again: ON CONFLICT DO NOTHING over the three partial unique constraints, which also skips a
concurrent pass's row. Here the conversation's links are read, compared and inserted inside the
database: the rows never travel to Python and back (the backfill's thread phase read about four
link rows per message and sent two back).
"""

from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.utils import timezone

from messages_app.models import LinkReason, LinkState, Message, MessageLink


class Made(NamedTuple):
    """A stored link, as much of it as the caller needs (which messages to keep the source of)."""

    message_id: int
    state: str


def _statement() -> str:
    link = connection.ops.quote_name(MessageLink._meta.db_table)
    message = connection.ops.quote_name(Message._meta.db_table)
    # Rows go in (message, record) order like crm_links._insert: two passes lock in one order.
    return f"""
        WITH batch AS (
            SELECT id, date, thread_id FROM {message} WHERE id = ANY(%(ids)s::bigint[])
        ), parents AS (
            SELECT DISTINCT ON (sibling.thread_id, l.contact_id, l.company_id, l.lead_id)
                   sibling.thread_id, l.owner_id, l.contact_id, l.company_id, l.lead_id, l.confidence
            FROM {link} l JOIN {message} sibling ON sibling.id = l.message_id
            WHERE l.state = %(linked)s AND sibling.thread_id IN (SELECT thread_id FROM batch)
            ORDER BY sibling.thread_id, l.contact_id, l.company_id, l.lead_id, l.id
        )
        INSERT INTO {link} (message_id, message_date, owner_id, contact_id, company_id, lead_id, reason, detail,
                            confidence, state, created_at)
        SELECT batch.id, batch.date, p.owner_id, p.contact_id, p.company_id, p.lead_id, %(thread)s, '',
               p.confidence, CASE WHEN p.confidence >= %(threshold)s THEN %(linked)s ELSE %(pending)s END,
               %(now)s
        FROM batch JOIN parents p ON p.thread_id = batch.thread_id
        ORDER BY batch.id, COALESCE(p.contact_id, 0), COALESCE(p.company_id, 0), COALESCE(p.lead_id, 0)
        ON CONFLICT DO NOTHING
        RETURNING message_id, state"""  # noqa: S608 (table names from the models, values as parameters)


def thread_links_store(message_ids: list[int]) -> list[Made]:
    """Store the thread links of these messages (each with a conversation and clean address
    headers: crm_links.thread_candidates) and return the links made."""
    if not message_ids:
        return []
    params = {"ids": list(message_ids), "linked": LinkState.LINKED.value, "pending": LinkState.PENDING.value,
              "thread": LinkReason.THREAD.value, "threshold": settings.CRM_LINK_THRESHOLD, "now": timezone.now()}
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        return [Made(*row) for row in cursor.fetchall()]
