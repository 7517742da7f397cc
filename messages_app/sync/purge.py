"""Delete message rows for good, with one statement per table that refers to them.

Django's delete collector first loads every row to delete (each column of it), then asks every
referring table in turn: a dozen round trips for ten expunged messages at the end of each pass
(sync/identity.py). The references are the same on every call, so they are read from the models
once: a CASCADE reference deletes its rows, a SET_NULL one clears its column. On PostgreSQL the
whole purge is one statement (data-modifying WITH clauses; the foreign keys are checked at the end
of it, or at commit where deferred). A referring table that is itself referred to, or a reference
with another on_delete, would need the collector: then the collector does the work, so the
result never depends on this shortcut.
"""

from collections.abc import Iterable
from functools import cache

from django.db import connection, models

from messages_app.models import Message

_CHUNK = 900  # stays under SQLite's bound-parameter limit


@cache
def _references() -> tuple[tuple[str, str, str], ...] | None:
    """(table, column, "delete" or "null") of every reference to Message; None when one of them
    cannot be settled by a plain statement."""
    found = []
    for relation in _reverse_relations(Message):
        model = relation.related_model
        on_delete = relation.on_delete
        if (relation.many_to_many or _reverse_relations(model) or model._meta.parents
                or on_delete not in (models.CASCADE, models.SET_NULL)):
            return None
        found.append((model._meta.db_table, relation.field.column, "delete" if on_delete is models.CASCADE else "null"))
    return tuple(found)


def _reverse_relations(model) -> list:
    return [relation for relation in model._meta.get_fields(include_hidden=True)
            if relation.auto_created and not relation.concrete]


def purge_messages(message_ids: Iterable[int]) -> int:
    """Delete these messages and what hangs on them; returns how many messages went. Call inside
    the caller's transaction (the referring rows and the message go together)."""
    ids = sorted(set(message_ids))
    if not ids:
        return 0
    references = _references()
    if references is None:
        return sum(Message.objects.filter(pk__in=ids[start:start + _CHUNK]).delete()[1].get("messages_app.Message", 0)
                   for start in range(0, len(ids), _CHUNK))
    if connection.vendor == "postgresql":
        return _purge_postgresql(ids, references)
    deleted = 0
    for start in range(0, len(ids), _CHUNK):
        deleted += _purge_statements(ids[start:start + _CHUNK], references)
    return deleted


def _statement(table: str, column: str, action: str, ids: str) -> str:
    """The statement settling one referring table; names come from the models, never from input."""
    quote = connection.ops.quote_name
    if action == "delete":
        return f"DELETE FROM {quote(table)} WHERE {quote(column)} {ids}"  # noqa: S608
    return f"UPDATE {quote(table)} SET {quote(column)} = NULL WHERE {quote(column)} {ids}"  # noqa: S608


def _purge_postgresql(ids: list[int], references) -> int:
    matching = "= ANY(%(ids)s)"
    clauses = [f"r{index} AS ({_statement(table, column, action, matching)})"
               for index, (table, column, action) in enumerate(references)]
    prefix = ("WITH " + ", ".join(clauses) + " ") if clauses else ""
    with connection.cursor() as cursor:
        cursor.execute(prefix + _statement(Message._meta.db_table, "id", "delete", matching), {"ids": ids})
        return cursor.rowcount


def _purge_statements(ids: list[int], references) -> int:
    matching = "IN (" + ", ".join(["%s"] * len(ids)) + ")"
    with connection.cursor() as cursor:
        for table, column, action in references:
            cursor.execute(_statement(table, column, action, matching), ids)
        cursor.execute(_statement(Message._meta.db_table, "id", "delete", matching), ids)
        return cursor.rowcount
