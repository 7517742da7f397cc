"""Search sender, recipients, subject and body: PostgreSQL full text over stored, GIN-indexed
tsvectors (migration 0003); a LIKE fallback elsewhere (SQLite, the embedded default)."""

import re

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

MAX_TERMS = 8
_TERM = re.compile(r"\w+", re.UNICODE)

# Every message row and every fetched body carries a tsvector; a message matches when all the
# terms (as prefixes) are in either.
_FULL_TEXT = """(
    messages_app_message.search_tsv @@ to_tsquery('simple', %s)
    OR EXISTS (SELECT 1 FROM messages_app_messagebody b
               WHERE b.message_id = messages_app_message.id AND b.search_tsv @@ to_tsquery('simple', %s))
)"""


def search_terms(query: str) -> list[str]:
    """Words of the query (punctuation, operators and quotes dropped): 'mario@x.it' -> mario, x, it."""
    return _TERM.findall(query.lower())[:MAX_TERMS]


def matching(messages: QuerySet, query: str) -> QuerySet:
    terms = search_terms(query)
    if not terms:
        return messages.none()
    if connection.vendor == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in terms)
        # Constant SQL; the words reach it only as bound parameters.
        return messages.filter(RawSQL(_FULL_TEXT, [tsquery, tsquery], output_field=BooleanField()))  # noqa: S611
    for term in terms:
        messages = messages.filter(
            Q(subject__icontains=term) | Q(from_name__icontains=term) | Q(from_addr__icontains=term)
            | Q(to__icontains=term) | Q(cc__icontains=term) | Q(preview__icontains=term)
            | Q(body__text__icontains=term)
        )
    return messages
