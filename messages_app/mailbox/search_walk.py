"""The newest messages matching a search on PostgreSQL, read in date order for common words.

The GIN index answers "which messages hold these words" as a bitmap: for a rare word a few
rows, for a common one (offerta, one message in three) every match in the mailbox, tens of
thousands, which PostgreSQL then reads and sorts by date to keep one page (1.2 s at 240k
messages). A page of a common word is better found the way a folder page is: walk each folder's
(folder, date desc, id desc) index and test each row's tsvector, stopping at the page's size;
about 150 rows for offerta. For a rare word that walk would read the whole mailbox, so:

- the planner's estimate of how many messages hold the words (its most-common-elements
  statistics of the tsvector column) decides whether a walk is worth trying;
- each folder's walk stops after WINDOW rows; a folder whose window held fewer matches than
  the page needs makes the caller fall back to the bitmap, so a wrong estimate costs time,
  never results.

Each folder's rows come from the caller's querysets (the visibility rule and the list's filters
stay theirs); this module adds only the window, the word test and the merge.
"""

import json
import time

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from messages_app.mailbox.keyset import Cursor, after
from messages_app.mailbox.search import MATCHES, search_terms, tsquery_of

WINDOW = 5_000
# Walk when the words are expected in at least 1 message of 60: a page of 51 is then expected
# within 3,000 rows, well inside the window; rarer words go to the GIN bitmap, which at that
# share reads at most a few thousand rows of a user's mail.
WALK_FROM_SHARE = 1 / 60
# The folder being walked, bound by the LATERAL join over the scope's folder ids.
LATERAL_FOLDER = RawSQL("f.id", ())  # noqa: S611 - a constant column reference

_STREAM = """SELECT r.id, r.date, r.hit, r.nth = %s AS window_end FROM (
    SELECT w.id, w.date, w.hit, row_number() OVER () AS nth FROM ({window}) AS w(id, date, hit)
) AS r WHERE r.hit OR r.nth = %s LIMIT %s"""


# The planner's answer changes only when ANALYZE runs: kept a minute per tsquery, so the pages
# of one search (each "older messages" page asks again) and repeated searches skip the EXPLAIN.
# A stale answer costs time, never results (see above).
ESTIMATE_TTL_S = 60.0
_ESTIMATE_CACHE_MAX = 256
_estimates: dict[tuple[str, str], tuple[float, bool]] = {}
# One EXPLAIN answers both numbers: the matches (first branch) and the table's rows (second
# branch: reltuples scaled to the table's current size; before any ANALYZE, the planner's
# default share for @@, 0.5%, which is below WALK_FROM_SHARE, so an unanalysed table never walks).
_ESTIMATE_SQL = (f"EXPLAIN (FORMAT JSON) SELECT 1 FROM messages_app_message WHERE {MATCHES} "  # noqa: S608
                 "UNION ALL SELECT 1 FROM messages_app_message")  # constant; the words are a bound parameter


def worth_walking(query: str) -> bool:
    """Whether the planner expects the query's words in enough messages for a date walk."""
    terms = search_terms(query)
    if not terms or connection.vendor != "postgresql":
        return False
    key = (connection.settings_dict["NAME"], tsquery_of(terms))
    now = time.monotonic()
    cached = _estimates.get(key)
    if cached is not None and now - cached[0] < ESTIMATE_TTL_S:
        return cached[1]
    answer = _planner_share(key[1]) >= WALK_FROM_SHARE
    if len(_estimates) >= _ESTIMATE_CACHE_MAX:
        _estimates.clear()
    _estimates[key] = (now, answer)
    return answer


def _planner_share(tsquery: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute(_ESTIMATE_SQL, [tsquery])
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    matches, total = (branch["Plan Rows"] for branch in plan[0]["Plan"]["Plans"])
    return matches / total if total > 0 else 0.0


def walked_top_ids(folder_ids, in_folder: QuerySet, others: list[QuerySet], query: str,
                   cursor: Cursor | None, n: int, *, window: int = WINDOW) -> list[int] | None:
    """The ids of the `n` newest matches after `cursor`, in (date desc, id desc) order, or None
    when some folder's window held too few matches to be sure (the caller then asks the bitmap),
    and always on SQLite (no tsvector there: the LIKE query answers).

    `in_folder`: the messages of the folder LATERAL_FOLDER names (one walk per id of
    `folder_ids`); `others`: further sets walked once each (the user's local messages)."""
    if connection.vendor != "postgresql":
        return None
    terms = search_terms(query)
    if not terms:
        return []
    tsquery = tsquery_of(terms)
    parts, params = [], []
    if folder_ids:
        sql, stream_params = _stream(in_folder, tsquery, cursor, n, window)
        # Only ORM-compiled SQL is interpolated; every value is a bound parameter.
        parts.append(f"SELECT f.id AS stream, s.* FROM unnest(%s::bigint[]) AS f(id) CROSS JOIN LATERAL ({sql}) AS s")  # noqa: S608
        params += [list(folder_ids), *stream_params]
    for index, messages in enumerate(others):
        sql, stream_params = _stream(messages, tsquery, cursor, n, window)
        parts.append(f"SELECT %s::bigint AS stream, s.* FROM ({sql}) AS s")  # noqa: S608 - as above
        params += [-1 - index, *stream_params]
    if not parts:
        return []
    with connection.cursor() as db:
        db.execute(" UNION ALL ".join(parts), params)
        rows = db.fetchall()
    hits: dict[int, list] = {}
    cut_short = set()
    for stream, pk, date, hit, window_end in rows:
        if hit:
            hits.setdefault(stream, []).append((date, pk))
        if window_end:
            cut_short.add(stream)
    if any(len(hits.get(stream, ())) < n for stream in cut_short):
        return None
    merged = sorted({row for found in hits.values() for row in found}, reverse=True)  # a row is in one set
    return [pk for _date, pk in merged[:n]]


def _stream(messages: QuerySet, tsquery: str, cursor: Cursor | None, n: int, window: int) -> tuple[str, list]:
    """One set's newest `window` rows (the list's order, from the cursor on) with whether each
    matches, cut at the n-th match; the window's last row is kept too, as the mark that the
    window ran out before the folder did."""
    hit = RawSQL(MATCHES, [tsquery], output_field=BooleanField())  # noqa: S611 - words bound as a parameter
    newest = (after(messages, cursor).annotate(hit=hit).order_by("-date", "-id")
              .values_list("id", "date", "hit")[:window])
    sql, params = newest.query.sql_with_params()
    return _STREAM.format(window=sql), [window, *params, window, n]
