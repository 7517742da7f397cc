"""Search sender, recipients, subject and body: PostgreSQL full text over one stored, GIN-indexed
tsvector per message (migrations 0003-0004); a LIKE fallback elsewhere (SQLite, the embedded
default).

The message's tsvector is generated from its own columns plus `body_tsv`, which is filled here
when a body is fetched; the sync's inserts need not know about either.
"""

import re

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

MAX_TERMS = 8
BODY_INDEX_MAX_CHARS = 500_000
_TERM = re.compile(r"\w+", re.UNICODE)
MATCHES = "messages_app_message.search_tsv @@ to_tsquery('simple', %s)"


def search_terms(query: str) -> list[str]:
    """Words of the query (punctuation, operators and quotes dropped): 'mario@x.it' -> mario, x, it."""
    return _TERM.findall(query.lower())[:MAX_TERMS]


def tsquery_of(terms: list[str]) -> str:
    """Every word, each as a prefix: the tsquery text bound to MATCHES."""
    return " & ".join(f"{term}:*" for term in terms)


def matching(messages: QuerySet, query: str) -> QuerySet:
    """Messages with every word of the query (as a prefix) somewhere: sender, recipients,
    subject, preview, or the body once fetched."""
    terms = search_terms(query)
    if not terms:
        return messages.none()
    if connection.vendor == "postgresql":
        # Constant SQL; the words reach it only as a bound parameter.
        return messages.filter(RawSQL(MATCHES, [tsquery_of(terms)], output_field=BooleanField()))  # noqa: S611
    for term in terms:
        messages = messages.filter(
            Q(subject__icontains=term) | Q(from_name__icontains=term) | Q(from_addr__icontains=term)
            | Q(to__icontains=term) | Q(cc__icontains=term) | Q(preview__icontains=term)
            | Q(body__text__icontains=term)
        )
    return messages


def index_body(message_id: int, text: str) -> None:
    """Make the words of a fetched body searchable (PostgreSQL; SQLite reads MessageBody.text)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_INDEX_BODY_SQL, [text[:BODY_INDEX_MAX_CHARS], message_id])


_INDEX_BODY_SQL = ("UPDATE messages_app_message SET body_tsv = setweight(to_tsvector('simple', %s), 'D') "
                   "WHERE id = %s")


def index_bodies(texts: dict[int, str]) -> None:
    """index_body for many messages: one pipelined batch of statements, not a round trip each."""
    if connection.vendor != "postgresql" or not texts:
        return
    with connection.cursor() as cursor:
        cursor.executemany(_INDEX_BODY_SQL, [(text[:BODY_INDEX_MAX_CHARS], pk) for pk, text in texts.items()])
