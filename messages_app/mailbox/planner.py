"""Planner settings for one query of a page, where PostgreSQL's estimate is known to mislead it."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def serial_plan() -> Iterator[None]:
    """Run the queries inside without parallel workers (PostgreSQL; elsewhere nothing changes).

    For a LIMIT query whose filter the planner thinks rare (a user's conversations that have a
    message in one folder: it guesses 10%, the truth is nearer 45%), it expects to read most of
    the index and starts two workers. Starting them costs about 4 ms, where the serial walk that
    stops at the page's 51st row takes under 1 ms. Session-level SET and RESET rather than SET
    LOCAL, so that nothing lingers when the caller's transaction goes on after this.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")
