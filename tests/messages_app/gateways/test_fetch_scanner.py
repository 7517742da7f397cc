"""The FETCH scanner reads what imapclient's parser reads: generated FETCH responses go through
imaplib's real response reader (over an in-memory stream), then through both parsers, and the
gateway's FetchedMeta built from each must be equal."""

import imaplib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imapclient import exceptions as imap_exc
from imapclient.response_parser import parse_fetch_response

from messages_app.gateways.fetch_scanner import scan_fetch
from messages_app.gateways.imap import _HEADER_KEY, _meta_from_items


class _WireReader(imaplib.IMAP4):
    """imaplib's own response reader over bytes instead of a socket: the records it collects are
    exactly what the gateway hands the scanner."""

    def __init__(self, wire: bytes):  # no socket, no greeting: only the reading state
        self.debug = 0
        self.state = "SELECTED"
        self.literal = None
        self.tagged_commands = {}
        self.untagged_responses = {}
        self.continuation_response = ""
        self.is_readonly = False
        self.tagnum = 0
        self._tls_established = False
        self._cmd_log_len, self._cmd_log_idx, self._cmd_log = 10, 0, {}
        self._mode_ascii()
        self.tagre = re.compile(rb"(?P<tag>T\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
        self.file = io.BytesIO(wire)
        self._size = len(wire)

    def records(self) -> list:
        while self.file.tell() < self._size:
            self._get_response()
        return self.untagged_responses.pop("FETCH", [None])


def records_of(wire: bytes) -> list:
    return _WireReader(wire).records()


def metas(by_uid: dict) -> list:
    out = []
    for uid, data in by_uid.items():
        meta = _meta_from_items(uid, data)
        when = meta.internal_date
        out.append((meta, when.utcoffset() if when else None, when.tzname() if when else None))
    return out


def imapclient_reading(wire: bytes) -> list:
    parsed = parse_fetch_response(records_of(wire), normalise_times=False, uid_is_key=True)
    for items in parsed.values():
        items.pop(b"SEQ", None)
    return metas(parsed)


def scanner_reading(wire: bytes) -> tuple[list, int]:
    by_uid, fallbacks = scan_fetch(records_of(wire))
    return metas(by_uid), fallbacks


# -- generators ---------------------------------------------------------------------------------
HEADER_NAME = _HEADER_KEY.decode()  # what Dovecot answers for the section the gateway asks
SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent"]
keywords = st.one_of(
    st.sampled_from(SYSTEM_FLAGS),
    st.sampled_from(["$Forwarded", "$Junk", "NonJunk", "$label1", "Work", "a.b-c_d", "123", "0123", "0", "NIL",
                     "nil", "\\*", "x&y", "q~r", "a]b"]),
    st.text("abcXYZ$_-019", min_size=1, max_size=8),
)
odd_flags = st.sampled_from(["50%", "[x]", "ünïcode", "{3}", "a(b"])


@st.composite
def flags_item(draw):
    chosen = draw(st.lists(keywords, max_size=5))
    if draw(st.integers(0, 9)) == 0:
        chosen.append(draw(odd_flags))
    spacing = " " if draw(st.integers(0, 5)) else "  "
    return b"FLAGS (" + spacing.join(chosen).encode() + b")"


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@st.composite
def internaldate_item(draw):
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return b"INTERNALDATE NIL"
    if kind == 1:
        return b'INTERNALDATE "' + draw(st.sampled_from([b"garbage", b"31-Feb-2024 10:00:00 +0000",
                                                         b"01-Jan-0099 10:00:00 +0000", b"",
                                                         b"7-Mar-24 10:15:01 +0100",
                                                         b"07-Mar-2024 25:15:01 +0100",
                                                         b"Thu, 7 Mar 2024 10.15.01 +0100"])) + b'"'
    when = draw(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31)))
    minutes = draw(st.sampled_from([0, 60, 120, -300, 330, -0, 345, -720, 840]))
    sign = "-" if minutes < 0 or (minutes == 0 and draw(st.booleans())) else "+"
    month = MONTHS[when.month - 1]
    month = month.upper() if draw(st.integers(0, 9)) == 0 else month
    day = f"{when.day:2d}" if draw(st.booleans()) else f"{when.day:02d}"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f'INTERNALDATE "{day}-{month}-{when.year:04d} {when:%H:%M:%S} {zone}"'.encode()


@st.composite
def quoted(draw):
    """A quoted string as a server may write it: escaped quotes and backslashes, and the odd
    backslash before an ordinary character (which imapclient keeps)."""
    parts = draw(st.lists(st.one_of(
        st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters='"\\'), max_size=6),
        st.sampled_from(['\\"', "\\\\", "\\a", "\\n", "()", "{5}", ")"]),
    ), max_size=6))
    return b'"' + "".join(parts).encode("utf-8") + b'"'


header_text = st.lists(st.sampled_from([
    b"From: Anna <anna@example.org>\r\n", b"Subject: =?UTF-8?B?w6hjY28=?=\r\n",
    b"Subject: caff\xe8 8-bit\r\n", b"To: \"Bob (home)\" <bob@example.org>\r\n",
    b"References: <a@x> <b@y>\r\n\t<c@z>\r\n", b"X-Odd: ) ( { } \" \\ NIL\r\n", b"\r\n", b"\x00\xff\r\n",
]), max_size=8).map(b"".join)


@st.composite
def string_value(draw, big: bool = True):
    """(wire text, literal or None) for a string item: a literal, a quoted string or NIL."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return b"NIL", None
    if kind == 1:
        return draw(quoted()), None
    body = draw(header_text)
    if big and draw(st.integers(0, 30)) == 0:
        body += b"X-Big: " + b"abc\r\n\t" * 40000 + b"\r\n"
    return None, body


@st.composite
def response(draw, seq: int):
    """One untagged FETCH: wire bytes and whether it carries a UID."""
    items: list[tuple[bytes, bytes | None]] = []
    has_uid = draw(st.integers(0, 9)) > 0
    if has_uid:
        uid = draw(st.integers(1, 40))  # a small range, so some UIDs repeat and responses merge
        items.append((b"UID " + (b"0" if draw(st.integers(0, 19)) == 0 else b"") + str(uid).encode(), None))
    if draw(st.booleans()) or not has_uid:
        items.append((draw(flags_item()), None))
    if draw(st.booleans()):
        items.append((draw(internaldate_item()), None))
    if draw(st.booleans()):
        items.append((b"RFC822.SIZE " + str(draw(st.integers(0, 10**9))).encode(), None))
    if draw(st.booleans()):
        items.append((b"MODSEQ (" + str(draw(st.integers(1, 2**63 - 1))).encode() + b")", None))
    if draw(st.integers(0, 5)) == 0:
        items.append((b"X-GM-MSGID " + str(draw(st.integers(1, 2**63))).encode(), None))
    if draw(st.booleans()):
        name = HEADER_NAME.encode()
        if draw(st.integers(0, 9)) == 0:
            name = name.lower()
        text, literal = draw(string_value())
        items.append((name + b" " + (text or b"{%d}" % len(literal)), literal))
    if draw(st.booleans()):
        text, literal = draw(string_value(big=False))
        items.append((b"PREVIEW " + (text or b"{%d}" % len(literal)), literal))
    if draw(st.integers(0, 15)) == 0:  # shapes the scanner leaves to imapclient
        items.append(draw(st.sampled_from([
            (b'BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)', None),
            (b'X-GM-LABELS (\\Inbox "Da leggere")', None), (b"RFC822.SIZE NIL", None), (b"PREVIEW 42", None),
            (b"MODSEQ (1 2)", None), (b"BODY[TEXT]<0> {3}", b"abc"), (b"BINARY[1] ~{3}", b"a\x00c"),
        ])))
    order = draw(st.permutations(range(len(items))))
    wire = b"* %d FETCH (" % seq
    for position, index in enumerate(order):
        text, literal = items[index]
        wire += (b" " if position else b"") + text
        if literal is not None:
            wire += b"\r\n" + literal
    return wire + b")\r\n", has_uid


@st.composite
def responses(draw):
    out = []
    for seq in range(1, draw(st.integers(1, 8)) + 1):
        out.append(draw(response(seq)))
    return out


# -- the properties -----------------------------------------------------------------------------
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(responses())
def test_the_scanner_reads_what_imapclient_reads(generated):
    with_uid = b"".join(wire for wire, has_uid in generated if has_uid)
    everything = b"".join(wire for wire, _ in generated)
    try:
        imapclient_reading(everything)
    except imap_exc.ProtocolError:  # unreadable for imapclient: as unreadable with the scanner
        with pytest.raises(imap_exc.ProtocolError):
            scanner_reading(everything)
        return
    expected = imapclient_reading(with_uid) if with_uid else []
    actual, _fallbacks = scanner_reading(everything)
    # Responses without a UID (unsolicited flag updates by sequence number) are left out.
    assert actual == expected


def test_a_fetch_without_uid_is_left_out_where_imapclient_would_invent_a_message():
    wire = (b"* 7 FETCH (FLAGS (\\Seen))\r\n"
            b"* 1 FETCH (UID 30 FLAGS () RFC822.SIZE 10)\r\n")
    assert list(parse_fetch_response(records_of(wire), False, True)) == [7, 30]  # 7 is no UID
    by_uid, fallbacks = scan_fetch(records_of(wire))
    assert list(by_uid) == [30] and fallbacks == 0


def test_the_usual_dovecot_shape_needs_no_fallback():
    header = b"From: a@example.org\r\nSubject: caff\xe8\r\n\r\n"
    wire = (b'* 1 FETCH (UID 5 FLAGS (\\Seen $Forwarded) INTERNALDATE "07-Mar-2024 10:15:01 +0100" '
            b"RFC822.SIZE 1234 MODSEQ (77) " + HEADER_NAME.encode() + b" {%d}\r\n" % len(header) + header
            + b' PREVIEW "ciao \\"tu\\"")\r\n')
    (meta, offset, _name), = imapclient_reading(wire)
    scanned, fallbacks = scanner_reading(wire)
    assert fallbacks == 0
    assert scanned == [(meta, offset, _name)]
    assert meta.header_bytes == header and meta.flags == ("\\Seen", "$Forwarded") and meta.modseq == 77
    assert meta.preview == 'ciao "tu"' and meta.size == 1234
    assert meta.internal_date == datetime(2024, 3, 7, 9, 15, 1, tzinfo=UTC)
    assert offset == timedelta(hours=1)


def test_an_unforeseen_item_falls_back_for_that_response_only():
    wire = (b'* 1 FETCH (UID 5 X-GM-LABELS (\\Inbox "Da leggere") FLAGS (\\Seen))\r\n'
            b"* 2 FETCH (UID 6 FLAGS ())\r\n")
    by_uid, fallbacks = scan_fetch(records_of(wire))
    assert fallbacks == 1
    assert by_uid[5][b"FLAGS"] == (b"\\Seen",) and by_uid[6][b"FLAGS"] == ()


def test_a_literal_whose_size_does_not_match_is_imapclients_protocol_error():
    records = [(b"1 (UID 5 " + HEADER_NAME.encode() + b" {10}", b"short"), b")"]
    with pytest.raises(imap_exc.ProtocolError):
        scan_fetch(records)
