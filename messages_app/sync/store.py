"""Turn fetched metadata into Message rows and store them: the sync's write side.

Every function here runs inside the caller's transaction, which also moves the folder cursor:
a crash anywhere leaves either the whole batch with its cursor, or neither.

Identity: a message keeps its row. A UID the server no longer has *detaches* the row (no folder,
no UID) instead of deleting it; a fetched message whose content key (`dedup_key`) matches a
detached row of the account re-homes that row, with its body, attachments and whatever refers to
it. Only rows that match nothing are inserted, and only those at or above the folder's arrival
floor get an arrival marker (arrival/markers.py). sync/identity.py settles the rows still
detached at the end of a full pass.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Case, F, Q, TextField, Value, When
from django.db.models.functions import Cast

from messages_app.arrival.markers import is_genuinely_new, write_markers
from messages_app.gateways.imap import FetchedMeta
from messages_app.mime.headers import parse_header_block
from messages_app.models import Folder, Message
from messages_app.pec.kinds import envelope_list_fields
from messages_app.sync.threads import assign_threads

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 900  # stays under SQLite's bound-parameter limit
_ATTACHMENT_TYPES = ("multipart/mixed", "multipart/report", "application/", "multipart/signed")


def dedup_key(meta: FetchedMeta, message_id: str) -> str:
    """The same message seen in several folders (Gmail's All Mail and labels) gets one key."""
    if meta.gm_msgid is not None:
        return f"gm:{meta.gm_msgid}"
    digest = hashlib.sha256(message_id.encode() + b"\0" + meta.header_bytes).hexdigest()[:40]
    return f"h:{digest}"


# keywords last: _flag_rows reads it as JSON text after the other columns, in this order.
_FLAG_COLUMNS = ("is_seen", "is_flagged", "is_answered", "is_draft", "keywords")


def _state_key(fields: dict) -> tuple:
    """Hashable flag state: the keyword list becomes a tuple."""
    return tuple(tuple(fields[c] or ()) if c == "keywords" else fields[c] for c in _FLAG_COLUMNS)


def flags_to_fields(flags: Iterable[str]) -> dict:
    lowered = {f.lower() for f in flags}
    return {
        "is_seen": "\\seen" in lowered,
        "is_flagged": "\\flagged" in lowered,
        "is_answered": "\\answered" in lowered,
        "is_draft": "\\draft" in lowered,
        "keywords": sorted(f for f in flags if not f.startswith("\\")),
    }


def build_message(folder: Folder, meta: FetchedMeta) -> Message:
    headers = parse_header_block(meta.header_bytes)
    when = headers.date or meta.internal_date or _EPOCH
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    internal = meta.internal_date
    if internal is not None and internal.tzinfo is None:
        internal = internal.replace(tzinfo=UTC)
    content_type = (headers.content_type or "").lower()
    row = Message(
        folder=folder,
        account_id=folder.account_id,
        uid=meta.uid,
        modseq=meta.modseq,
        dedup_key=dedup_key(meta, headers.message_id),
        message_id=headers.message_id[:998],
        in_reply_to=headers.in_reply_to[:998],
        references=" ".join(headers.references)[:20000],
        subject=headers.subject[:1000],
        from_name=headers.from_name[:255],
        from_addr=headers.from_addr[:320],
        to=[list(pair) for pair in headers.to[:50]],
        cc=[list(pair) for pair in headers.cc[:50]],
        date=when,
        internal_date=internal,
        size=meta.size,
        preview=" ".join(meta.preview.split())[:300],
        list_id=headers.list_id[:255],
        auto_submitted=headers.auto_submitted[:64],
        precedence=headers.precedence[:32],
        has_attachments=content_type.startswith(_ATTACHMENT_TYPES),
        **_lifecycle_headers(headers),
        **flags_to_fields(meta.flags),
    )
    # A PEC envelope is listed, searched and threaded as the message it carries (pec/kinds.py).
    for name, value in envelope_list_fields(headers).items():
        setattr(row, name, value[: Message._meta.get_field(name).max_length])
    return row


def _lifecycle_headers(headers) -> dict:
    """The headers filters, out-of-office and PEC read, cut to their columns."""
    return {
        "reply_to": [list(pair) for pair in headers.reply_to[:20]],
        "sender_name": headers.sender_name[:255],
        "sender_addr": headers.sender_addr[:320],
        "return_path": headers.return_path[:320],
        "delivered_to": headers.delivered_to[:320],
        "x_auto_response_suppress": headers.x_auto_response_suppress[:255],
        "x_autoreply": headers.x_autoreply[:64],
        "list_unsubscribe": headers.list_unsubscribe[:2000],
        "list_unsubscribe_post": headers.list_unsubscribe_post[:255],
        "x_spam_flag": headers.x_spam_flag[:64],
        "importance": headers.importance[:32],
        "x_ricevuta": headers.x_ricevuta[:64],
        "x_trasporto": headers.x_trasporto[:64],
        "x_riferimento_message_id": headers.x_riferimento_message_id[:998],
        "x_tiporicevuta": headers.x_tiporicevuta[:64],
        "x_verificasicurezza": headers.x_verificasicurezza[:64],
        "address_defects": headers.address_defects,
    }


@dataclass
class BatchOutcome:
    inserted: int = 0
    rehomed: int = 0
    arrivals: int = 0
    arrival_ids: list[int] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.inserted + self.rehomed


def store_new_messages(folder: Folder, fetched: list[FetchedMeta]) -> BatchOutcome:
    """Store fetched messages (ignoring UIDs already stored): re-home the detached rows they
    match, insert and thread the rest, and mark the genuinely new ones."""
    outcome = BatchOutcome()
    if not fetched:
        return outcome
    fetched_uids = [meta.uid for meta in fetched]
    existing = set(Message.objects.filter(folder=folder, uid__in=fetched_uids).values_list("uid", flat=True))
    rows = [build_message(folder, meta) for meta in fetched if meta.uid not in existing]
    if not rows:
        return outcome
    matches = _account_matches(folder, rows)
    rows, outcome.rehomed = _rehome_detached(folder, rows, matches)
    if rows:
        assign_threads(folder.account.owner_id, rows)  # before the insert: no second write per row
        insert_messages(rows)
        new_rows = [row for row in rows if row.dedup_key not in matches.elsewhere]
        outcome.arrivals = write_markers(folder, new_rows)
        outcome.arrival_ids = [row.pk for row in new_rows if is_genuinely_new(folder, row.uid)]
    outcome.inserted = len(rows)
    return outcome


@dataclass
class _Matches:
    """Rows the account already has for the batch's content keys, outside this folder."""

    detached: dict[str, list[int]] = field(default_factory=dict)  # key -> detached row ids, oldest first
    elsewhere: set[str] = field(default_factory=set)  # keys held in another folder


def _account_matches(folder: Folder, rows: list[Message]) -> _Matches:
    """One lookup by content key answers both questions a batch asks: which detached rows it
    re-homes, and which would-be-new rows are copies or moves (held in another folder), not new
    mail. Keys of history (below the arrival floor) only matter for re-homing, so they are looked
    up only when the account has detached rows: a first sync pays one EXISTS per batch."""
    new_keys = {row.dedup_key for row in rows if is_genuinely_new(folder, row.uid)}
    keys = new_keys
    if len(new_keys) < len(rows) and Message.objects.filter(account_id=folder.account_id,
                                                            folder__isnull=True).exists():
        keys = {row.dedup_key for row in rows}
    matches = _Matches()
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        found = (Message.objects.filter(account_id=folder.account_id, dedup_key__in=ordered[start:start + _CHUNK])
                 .exclude(folder=folder).values_list("id", "dedup_key", "folder_id"))
        for pk, key, folder_id in found:
            if folder_id is None:
                matches.detached.setdefault(key, []).append(pk)
            elif key in new_keys:
                matches.elsewhere.add(key)
    for waiting in matches.detached.values():
        waiting.sort()
    return matches


def _rehome_detached(folder: Folder, rows: list[Message], matches: _Matches) -> tuple[list[Message], int]:
    """Give detached rows of the account that match fetched messages their new place; return the
    rows still to insert."""
    if not matches.detached:
        return rows, 0
    remaining, rehomed = [], 0
    for row in rows:
        waiting = matches.detached.get(row.dedup_key)
        if waiting:
            pk = waiting.pop(0)
            Message.objects.filter(pk=pk).update(
                folder=folder, uid=row.uid, modseq=row.modseq, internal_date=row.internal_date,
                **{column: getattr(row, column) for column in _FLAG_COLUMNS})
            rehomed += 1
        else:
            remaining.append(row)
    return remaining, rehomed


def insert_messages(rows: list[Message]) -> None:
    """Insert new rows and set their ids. On PostgreSQL through COPY, three to four times faster
    than a multi-row INSERT for the thousand-row batches of a first sync, with the ids taken from
    the sequence beforehand (COPY returns none); elsewhere bulk_create (RETURNING)."""
    if connection.vendor != "postgresql":
        Message.objects.bulk_create(rows, batch_size=1000)
        return
    table_name = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [table_name, len(rows)])
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = pk
    fields = list(Message._meta.concrete_fields)
    json_columns = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(table_name)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(getattr(row, f.attname)) if f.attname in json_columns
                            else getattr(row, f.attname) for f in fields])


def apply_flag_changes(folder: Folder, server_flags: dict[int, tuple], *, skip_uids: set[int],
                       changed_before: datetime | None = None) -> int:
    """Bring local flags to the server's. Left alone: messages with a pending local action, and
    messages the user changed after this pass started (`changed_before`), whose server state
    read by the pass is older than the user's action.

    Rows are grouped by their new flag set and written by one UPDATE whose CASE picks each
    group's values: a 1% change of a big folder touches a thousand rows but only a handful of
    flag combinations, and one statement instead of one per combination."""
    if not server_flags:
        return 0
    comparer = _FlagComparer(server_flags, skip_uids, changed_before)
    uids = [uid for uid in server_flags if uid not in skip_uids]
    for start in range(0, len(uids), 5000):
        comparer.compare(_flag_rows(Message.objects.filter(folder=folder, uid__in=uids[start:start + 5000])))
    return _write_changes(comparer.changed)


def apply_all_flags(folder: Folder, server_flags: dict[int, tuple], *, below: int, skip_uids: set[int],
                    changed_before: datetime | None = None) -> tuple[int, set[int]]:
    """The same for a server without CONDSTORE, which sends every message's flags: one scan of
    the folder's rows up to `below` compares them all and also tells which UIDs the server no
    longer has (returned, for remove_messages). Returns (changed, gone UIDs)."""
    comparer = _FlagComparer(server_flags, skip_uids, changed_before)
    gone = comparer.compare(_flag_rows(Message.objects.filter(folder=folder, uid__lte=below)))
    return _write_changes(comparer.changed), gone


def _flag_rows(rows):
    """(id, uid, local_change_at, *_FLAG_COLUMNS) of the rows, keywords as their JSON text: nearly
    every row holds "[]", and decoding 100k of those was a tenth of a resync without CONDSTORE."""
    return rows.annotate(keywords_json=Cast("keywords", TextField())).values_list(
        "id", "uid", "local_change_at", *_FLAG_COLUMNS[:-1], "keywords_json")


def _keywords_of(text: str | None) -> tuple:
    if text is None or text == "[]":
        return ()
    return tuple(json.loads(text) or ())


class _FlagComparer:
    """Which stored rows differ from the server's flags. Most messages share a few flag sets, so
    each distinct server flag list is turned into columns once."""

    def __init__(self, server_flags: dict[int, tuple], skip_uids: set[int], changed_before: datetime | None):
        self.server_flags = server_flags
        self.skip_uids = skip_uids
        self.changed_before = changed_before
        self.changed: list[tuple[int, tuple]] = []
        self._states: dict[tuple, tuple] = {}

    def compare(self, rows: Iterable[tuple]) -> set[int]:
        """Record the rows to change; return the UIDs of rows the server did not list."""
        unlisted = set()
        for pk, uid, local_change_at, *current in rows:
            flags = self.server_flags.get(uid)
            if flags is None:
                unlisted.add(uid)
                continue
            if uid in self.skip_uids or (self.changed_before is not None and local_change_at is not None
                                          and local_change_at >= self.changed_before):
                continue
            wanted = self._states.get(flags)
            if wanted is None:
                wanted = self._states[flags] = _state_key(flags_to_fields(flags))
            if (*current[:-1], _keywords_of(current[-1])) != wanted:
                self.changed.append((pk, wanted))
        return unlisted


def _write_changes(changed: list[tuple[int, tuple]]) -> int:
    for start in range(0, len(changed), _FLAG_UPDATE_ROWS):
        _write_flag_states(changed[start:start + _FLAG_UPDATE_ROWS])
    return len(changed)


_FLAG_UPDATE_ROWS = 1000  # each id appears once per flag column: 6,000 parameters at most


# PostgreSQL: the rows' new values as arrays joined by id. Constant SQL: building and compiling
# the CASE of every column and state through the ORM took about as long as running it.
_FLAG_UPDATE_SQL = """
    UPDATE messages_app_message AS m
    SET is_seen = v.is_seen, is_flagged = v.is_flagged, is_answered = v.is_answered, is_draft = v.is_draft,
        keywords = v.keywords
    FROM unnest(%s::bigint[], %s::boolean[], %s::boolean[], %s::boolean[], %s::boolean[], %s::jsonb[])
        AS v(id, is_seen, is_flagged, is_answered, is_draft, keywords)
    WHERE m.id = v.id
"""  # the columns of _FLAG_COLUMNS, in its order


def _write_flag_states(rows: list[tuple[int, tuple]]) -> None:
    """One UPDATE for rows of several flag states: per column, a CASE over the states' id lists
    (PostgreSQL: an UPDATE joined to the values)."""
    if connection.vendor == "postgresql":
        ids, seen, flagged, answered, draft, keywords = zip(*(
            (pk, *state[:4], json.dumps(list(state[4]))) for pk, state in rows), strict=True)
        with connection.cursor() as cursor:
            cursor.execute(_FLAG_UPDATE_SQL, [list(ids), list(seen), list(flagged), list(answered), list(draft),
                                              list(keywords)])
        return
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk, state in rows:
        groups[state].append(pk)
    if len(groups) == 1:
        ((state, pks),) = groups.items()
        Message.objects.filter(pk__in=pks).update(**_state_values(state))
        return
    columns = {}
    for column in _FLAG_COLUMNS:
        field = Message._meta.get_field(column)
        whens = [When(pk__in=pks, then=Value(_state_values(state)[column], output_field=field))
                 for state, pks in groups.items()]
        columns[column] = Case(*whens, default=F(column), output_field=field)
    Message.objects.filter(pk__in=[pk for pk, _state in rows]).update(**columns)


def _state_values(state: tuple) -> dict:
    values = dict(zip(_FLAG_COLUMNS, state, strict=True))
    values["keywords"] = list(values["keywords"])
    return values


def remove_messages(folder: Folder, uids: Iterable[int]) -> int:
    """The server no longer has these UIDs in this folder: detach their rows (see the module
    docstring); a later batch may find them elsewhere, the end of the pass settles the rest."""
    uids = list(uids)
    removed = 0
    for start in range(0, len(uids), 5000):
        removed += Message.objects.filter(folder=folder, uid__in=uids[start:start + 5000]).update(
            folder=None, uid=None, modseq=None)
    return removed


def local_uids(folder: Folder, *, below: int | None = None) -> set[int]:
    query = Message.objects.filter(folder=folder)
    if below is not None:
        query = query.filter(Q(uid__lte=below))
    return set(query.values_list("uid", flat=True))
