"""A scanner for the untagged FETCH responses of the sync's metadata fetch.

imapclient's parser walks every response byte by byte through Python generators; for the
sync's fixed item set (UID, FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ, X-GM-MSGID, PREVIEW and
the BODY[HEADER.FIELDS (...)] literal) that costs more than everything Dovecot does to serve
them. This scanner reads each response with one regular expression per item and builds the same
item dict imapclient's `parse_fetch_response` would (same keys, same value types, same merging of
several responses for one UID), so the gateway's code after it does not care which one ran.

Anything it does not recognise (another item, a flag with a character that imapclient tokenises
differently, a quoted INTERNALDATE with escapes, a literal whose size does not match) sends that
one response to imapclient's parser instead: a shape we did not foresee costs speed, never a
message. Nothing is logged but counts: the responses carry people's mail headers.

One deliberate difference: a FETCH response without a UID (an unsolicited flag update a server
may send by sequence number in the middle of a UID FETCH) is left out. imapclient would key it by
its sequence number as if that were a UID; the next resync reads those flags anyway.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from imapclient.datetime_util import parse_to_datetime
from imapclient.fixed_offset import FixedOffset
from imapclient.response_parser import parse_fetch_response

log = logging.getLogger(__name__)

# imaplib hands back the records of one untagged FETCH as the text after "* ", without "FETCH":
# b'12 (UID 40 FLAGS (\\Seen) ... BODY[HEADER.FIELDS (FROM ...)] {345}' with its literal in a
# tuple, then the rest of the line after the literal as a plain record.
_START = re.compile(rb"(\d+) \(")

# The shape Dovecot answers the gateway's item list in, as one expression (one match a message
# instead of one an item): UID FLAGS INTERNALDATE RFC822.SIZE [MODSEQ] [PREVIEW "..."] BODY[...]
# {n}, the literal, then ")". Any other shape takes the item-by-item path below.
_DOVECOT_SHAPE = re.compile(
    rb'[0-9]+ \(UID ([0-9]+) FLAGS \(([^()"]*)\) INTERNALDATE "([^"\\]*)" RFC822\.SIZE ([0-9]+)'
    rb'(?: MODSEQ \(([0-9]+)\))?(?: PREVIEW "([^"\\]*(?:\\.[^"\\]*)*)")? (BODY\[[^\]]*\]) \{([0-9]+)\}\Z',
    re.S,
)

# One item and what follows it: a space (another item), ")" ending the response, or the end of
# the record when the value is a literal. The names imapclient upper-cases, so case-insensitive;
# NIL it only takes in capitals, so that part is case-sensitive.
_ITEM = re.compile(
    rb"""(?P<name>UID|RFC822\.SIZE|X-GM-MSGID|MODSEQ|FLAGS|INTERNALDATE|PREVIEW|BODY\[[^\]]*\])\x20
    (?:
        (?P<num>[0-9]+)
      | \((?P<paren>[^()"]*)\)
      | "(?P<quoted>[^"\\]*(?:\\.[^"\\]*)*)"
      | (?P<nil>(?-i:NIL))
      | \{(?P<literal>[0-9]+)\}\Z
    )
    (?P<after>\x20|\)\Z|\Z)""",
    re.X | re.I | re.S,
)

# Characters imapclient's lexer reads as part of one atom and that need no further thought: no
# quote, parenthesis, bracket, brace, percent sign, control or 8-bit byte (those go to imapclient).
_PLAIN_FLAGS = re.compile(rb"[ A-Za-z0-9\\$!#&'*+,\-./:;<=>?@^_`|~]*\Z")
_MODSEQ = re.compile(rb"[0-9]+\Z")
_UNESCAPE = re.compile(rb'\\(["\\])')

# INTERNALDATE as servers write it: "07-Mar-2024 10:15:01 +0100" (day may be " 7" or "7").
_INTERNALDATE = re.compile(
    rb" ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})\Z")
_MONTHS = {m: i for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"), start=1)}

_NUMBER_ITEMS = frozenset((b"UID", b"RFC822.SIZE", b"X-GM-MSGID"))

_flags_cache: dict[bytes, tuple] = {}
_zones: dict[int, FixedOffset] = {}


class _Unrecognised(Exception):
    """This response is not in the shape the scanner reads: imapclient parses it."""


def scan_fetch(records: list) -> tuple[dict[int, dict], int]:
    """{UID: item dict} for imaplib's FETCH records, and how many responses went to imapclient.

    The item dicts hold what imapclient's parse_fetch_response holds for them (minus its SEQ),
    in the order the UIDs first appear."""
    by_uid: dict[int, dict] = {}
    fallbacks = 0
    if not records or records == [None]:
        return by_uid, fallbacks
    count = len(records)
    i = 0
    while i < count:
        # One response: its records with literals (tuples), then the rest of its line.
        start = i
        while i < count and isinstance(records[i], tuple):
            i += 1
        i += 1
        group = records[start:i]
        try:
            uid, items = _scan_dovecot_shape(group) if len(group) == 2 else (None, None)
            if items is None:
                uid, items = _scan_response(group)
        except _Unrecognised:
            fallbacks += 1
            _merge_parsed(by_uid, group)
            continue
        if uid is None:
            continue
        known = by_uid.get(uid)
        if known is None:
            by_uid[uid] = items
        else:
            known.update(items)
    if fallbacks:
        log.debug("FETCH scanner: %d of the responses went to imapclient's parser", fallbacks)
    return by_uid, fallbacks


def _merge_parsed(by_uid: dict[int, dict], group: list) -> None:
    """imapclient's reading of one response, keyed by its UID like the scanner's."""
    for items in parse_fetch_response(group, normalise_times=False, uid_is_key=False).values():
        items.pop(b"SEQ", None)
        uid = items.pop(b"UID", None)
        if uid is None:
            continue
        by_uid.setdefault(uid, {}).update(items)


def _scan_dovecot_shape(group: list) -> tuple[int | None, dict | None]:
    """(uid, items) when the response has Dovecot's usual shape, (None, None) when not."""
    first, rest = group
    if rest != b")" or not isinstance(first, tuple):
        return None, None
    text, literal = first
    m = _DOVECOT_SHAPE.match(text) if isinstance(text, bytes) else None
    if m is None or len(literal) != int(m.group(8)):
        return None, None
    uid, flags, date, size, modseq, preview, section, _length = m.groups()
    items = {b"FLAGS": _flags(flags), b"INTERNALDATE": _internaldate_text(date), b"RFC822.SIZE": int(size)}
    if modseq is not None:
        items[b"MODSEQ"] = (int(modseq),)
    if preview is not None:
        items[b"PREVIEW"] = _UNESCAPE.sub(rb"\1", preview) if b"\\" in preview else preview
    items[section.upper()] = literal
    return int(uid), items


def _scan_response(group: list) -> tuple[int | None, dict]:
    first = group[0]
    text, literal = first if isinstance(first, tuple) else (first, None)
    if not isinstance(text, bytes):
        raise _Unrecognised
    started = _START.match(text)
    if started is None:
        raise _Unrecognised
    pos = started.end()
    record = 0
    items: dict = {}
    uid = None
    if text[pos:] == b")" and len(group) == 1:
        return None, items
    match_item = _ITEM.match
    while True:
        m = match_item(text, pos)
        if m is None:
            raise _Unrecognised
        name = m.group("name").upper()
        after = m.group("after")
        if name in _NUMBER_ITEMS:
            value = m.group("num")
            if value is None:
                raise _Unrecognised
            value = int(value)
        elif name == b"FLAGS":
            value = _flags(m.group("paren"))
        elif name == b"MODSEQ":
            paren = m.group("paren")
            if paren is None or not _MODSEQ.match(paren):
                raise _Unrecognised
            value = (int(paren),)
        elif name == b"INTERNALDATE":
            value = _internaldate(m)
        else:  # PREVIEW or a BODY[...] section: a string, NIL or a literal
            if m.group("literal") is not None:
                if literal is None or m.end() != len(text) or len(literal) != int(m.group("literal")):
                    raise _Unrecognised
                items[name] = literal
                # The response goes on in the next record, right after the literal.
                record += 1
                if record >= len(group):
                    raise _Unrecognised
                following = group[record]
                text, literal = following if isinstance(following, tuple) else (following, None)
                if not isinstance(text, bytes):
                    raise _Unrecognised
                if text[:1] == b" ":
                    pos = 1
                    continue
                if text == b")" and record == len(group) - 1:
                    return uid, items
                raise _Unrecognised
            value = _string(m)
        if name == b"UID":  # the key, not an item: as imapclient's uid_is_key
            uid = value
        else:
            items[name] = value
        pos = m.end()
        if after == b" ":
            continue
        if after == b")" and pos == len(text) and record == len(group) - 1:
            return uid, items
        raise _Unrecognised


def _flags(inner: bytes | None) -> tuple:
    if inner is None:
        raise _Unrecognised
    cached = _flags_cache.get(inner)
    if cached is not None:
        return cached
    if not _PLAIN_FLAGS.match(inner):
        raise _Unrecognised
    # As imapclient's atom(): NIL is None, a number without a leading zero an int.
    flags = tuple(
        None if token == b"NIL" else int(token) if token.isdigit() and (token[:1] != b"0" or len(token) == 1)
        else token
        for token in inner.split()
    )
    if len(_flags_cache) > 4096:  # a server inventing keywords must not grow it for ever
        _flags_cache.clear()
    _flags_cache[inner] = flags
    return flags


def _string(m: re.Match) -> bytes | None:
    if m.group("nil") is not None:
        return None
    quoted = m.group("quoted")
    if quoted is None:
        raise _Unrecognised
    return _UNESCAPE.sub(rb"\1", quoted) if b"\\" in quoted else quoted


def _internaldate(m: re.Match) -> datetime | None:
    if m.group("nil") is not None:
        return None
    quoted = m.group("quoted")
    if quoted is None or b"\\" in quoted:
        raise _Unrecognised
    return _internaldate_text(quoted)


def _internaldate_text(quoted: bytes) -> datetime | None:
    fast = _INTERNALDATE.match(quoted)
    if fast is not None:
        day, month, year, hour, minute, second, sign, zone_h, zone_m = fast.groups()
        month_number = _MONTHS.get(month.lower())
        # email.utils adds a century to a year below 100: leave those to it.
        seconds = (int(zone_h) * 3600 + int(zone_m) * 60) * (-1 if sign == b"-" else 1)
        # "-0000" ("no zone information", RFC 5322) is read differently by Python versions:
        # email.utils decides, as it does for imapclient.
        if month_number is not None and int(year) >= 100 and (seconds or sign == b"+"):
            try:
                return datetime(int(year), month_number, int(day), int(hour), int(minute), int(second),
                                tzinfo=_zone(seconds))
            except ValueError:
                pass  # an impossible date: imapclient's reading decides
    try:
        return parse_to_datetime(quoted, normalise=False)
    except ValueError:
        return None


def _zone(seconds: int) -> FixedOffset:
    zone = _zones.get(seconds)
    if zone is None:
        zone = _zones[seconds] = FixedOffset(seconds / 60)
    return zone
