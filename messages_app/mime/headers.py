"""Fast, never-raising summary of a message's header block (the sync's hot path).

This runs once for every new message a sync sees, so it uses the compat32 parser with
`decode_header` and `getaddresses`: `policy.default` parses the same block about 6.5 times
slower (see PERFORMANCE.md). Everything here is pure: bytes in, a frozen dataclass out.
Charset decoding lives in `charset.py`, address lists in `addresses.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from .addresses import address_field, bare_address
from .charset import (
    _CONTROL_RE,
    _FOLD_RE,
    MAX_FIELD_CHARS,
    as_bytes,
    decode_words,
    one_line,
    raw_header_text,
    scrub,
    unfold,
)

MAX_HEADER_BLOCK_BYTES = 1024 * 1024
MAX_SUBJECT_CHARS = 1000
MAX_TOKEN_CHARS = 255
# decode_header is super-linear on pathological input: cap what it sees.
MAX_TEXT_VALUE_CHARS = 16 * 1024
MAX_REFERENCES = 100
MAX_MSG_ID_CHARS = 250
# List-Unsubscribe holds URLs, which run longer than display text.
MAX_LIST_UNSUBSCRIBE_CHARS = 2000

# RFC 5322 allows these at most once; a second copy is how spoofing and injection show up.
_SINGLETON_HEADERS = ("from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to")
_ADDRESS_HEADERS = frozenset({"from", "sender", "reply-to", "to", "cc"})
# Importance (RFC 2156: low, normal, high) wins over X-Priority (1 highest ... 5 lowest).
_IMPORTANCE = {"high": "high", "urgent": "high", "normal": "normal", "low": "low", "non-urgent": "low"}
_X_PRIORITY = {"1": "high", "2": "high", "3": "normal", "4": "low", "5": "low"}
_X_PRIORITY_RE = re.compile(r"\s*([1-5])\b")

_LINE_BREAK_RE = re.compile(r"[\x00\r\n\x85\u2028\u2029]")
_WHITESPACE_RE = re.compile(r"\s")
_MSG_ID_RE = re.compile(r"<([^<>]*)>")
_MSG_ID_FALLBACK_RE = re.compile(r"[^\s<>,;\"'()]+@[^\s<>,;\"'()]+")
_CONTENT_TYPE_RE = re.compile(r"\s*([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)\s*(?:;|$)")
# compat32 stops reading headers at the first line that is neither a header nor a continuation
# and reads the rest as body; real clients skip such a line instead (and accept "Name :").
_BAD_HEADER_LINE_RE = re.compile(rb"^(?![\x21-\x39\x3b-\x7e]*:|[ \t]|From |\r?$)", re.MULTILINE)
_SPACE_BEFORE_COLON_RE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:")


@dataclass(frozen=True)
class HeaderSummary:
    """What the sync stores for every message; all text is single-line, NUL- and surrogate-free."""

    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    sender_name: str = ""
    sender_addr: str = ""
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    reply_to: list[tuple[str, str]] = field(default_factory=list)
    return_path: str = ""  # bare address; "" also for the null path "<>" of bounces
    delivered_to: str = ""  # the topmost (last added) Delivered-To
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    list_id: str = ""
    auto_submitted: str = ""
    precedence: str = ""
    x_auto_response_suppress: str = ""
    x_autoreply: str = ""  # X-Autoreply, else X-Autorespond: set by auto-responders (loop detection)
    list_unsubscribe: str = ""
    list_unsubscribe_post: str = ""
    # PEC (PEC.md); the tokens are lowercased.
    x_ricevuta: str = ""
    x_trasporto: str = ""
    x_riferimento_message_id: str = ""  # bare id, without <>
    x_tiporicevuta: str = ""
    x_verificasicurezza: str = ""
    x_spam_flag: str = ""
    importance: str = ""  # "high", "normal", "low", or "" when neither Importance nor X-Priority says
    content_type: str = "text/plain"
    has_defects: bool = False
    # From, Sender, Reply-To, To or Cc was dubious or repeated: decide no permission or CRM link on it.
    address_defects: bool = False


def parse_header_block(raw_headers: bytes) -> HeaderSummary:
    """Summarise a header block (or a whole message: only its headers are read). Never raises."""
    return parse_header_block_with_notes(raw_headers)[0]


def parse_header_block_with_notes(raw_headers: bytes) -> tuple[HeaderSummary, list[str]]:
    """Like `parse_header_block`, plus human-readable notes saying which headers were defective."""
    notes: list[str] = []
    try:
        summary = _summarise(_header_items(as_bytes(raw_headers), notes), notes)
    except Exception as exc:  # a bug or a stdlib surprise must not stop a sync
        notes.append(f"The headers could not be read ({type(exc).__name__}).")
        summary = HeaderSummary(has_defects=True)
    return summary, notes


def extract_msg_ids(value: str) -> list[str]:
    """Message-IDs in a References/In-Reply-To/Message-ID value, as "<id>", in order, without repeats.

    Bracketed ids win; only when there are none are bare "left@right" tokens accepted, because
    broken mailers omit the brackets while chatty ones add comments around bracketed ids.
    """
    if not value:
        return []
    found = []
    for match in _MSG_ID_RE.finditer(value):
        inner = _FOLD_RE.sub("", match.group(1)).strip()
        if inner and _WHITESPACE_RE.search(inner) is None:
            found.append(inner)
    if not found:
        found = _MSG_ID_FALLBACK_RE.findall(value)
    ids: list[str] = []
    seen: set[str] = set()
    for inner in found:
        msg_id = f"<{scrub(inner)}>"
        if len(msg_id) <= MAX_MSG_ID_CHARS and msg_id not in seen and _CONTROL_RE.search(msg_id) is None:
            seen.add(msg_id)
            ids.append(msg_id)
    return ids


# --- header block -> summary -------------------------------------------------------------------


def _header_items(raw: bytes, notes: list[str]) -> dict[str, list[str]]:
    """Raw header values by lowercased name, read from the block before the first blank line."""
    head = raw[: MAX_HEADER_BLOCK_BYTES + 2]
    block = head[: _header_block_end(head)]
    if len(block) > MAX_HEADER_BLOCK_BYTES:
        block = block[:MAX_HEADER_BLOCK_BYTES]
        notes.append("The header block is larger than 1 MB; the rest was not read.")
    if _BAD_HEADER_LINE_RE.search(block):
        block = _repair_header_block(block)
        notes.append("Some header lines were malformed and were skipped.")
    items = _split_header_lines(block)
    if items is not None:
        return items
    message = BytesHeaderParser().parsebytes(block)
    if message.defects:
        names = sorted({type(defect).__name__ for defect in message.defects})
        notes.append(f"The header block is malformed ({', '.join(names)}).")
    items = {}
    for name, value in message.raw_items():
        items.setdefault(str(name).strip().lower(), []).append(value if isinstance(value, str) else str(value))
    return items


def _split_header_lines(block: bytes) -> dict[str, list[str]] | None:
    """The well-formed case without the email package's feed parser (about 3x faster: the sync
    reads the headers of every new message). Values are what compat32's raw_items() gives: the
    text after the colon, leading blanks dropped, folding kept. Returns None on anything odd,
    and the caller takes the stdlib path, which also reports the defects."""
    text = block.decode("ascii", "surrogateescape")
    items: dict[str, list[str]] = {}
    name = None
    value_lines: list[str] = []
    for line in text.splitlines(keepends=True):
        if line[:1] in (" ", "\t"):
            if name is None:
                return None
            value_lines.append(line)
            continue
        if line.strip() == "":
            break
        if name is not None:
            items.setdefault(name, []).append("".join(value_lines).rstrip("\r\n"))
        head, colon, rest = line.partition(":")
        if not colon or not head or head != head.rstrip() or not _FIELD_NAME_RE.fullmatch(head):
            return None
        name = head.lower()
        value_lines = [rest.lstrip(" \t")]
    if name is not None:
        items.setdefault(name, []).append("".join(value_lines).rstrip("\r\n"))
    return items


_FIELD_NAME_RE = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but ":"


def _repair_header_block(block: bytes) -> bytes:
    lines = []
    for line in block.splitlines(keepends=True):
        line = _SPACE_BEFORE_COLON_RE.sub(rb"\1:", line)
        if _BAD_HEADER_LINE_RE.match(line) is None:
            lines.append(line)
    return b"".join(lines)


def _header_block_end(raw: bytes) -> int:
    ends = [pos + 1 for pos in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if pos >= 0]
    return min(ends) if ends else len(raw)


def _summarise(items: dict[str, list[str]], notes: list[str]) -> HeaderSummary:
    address_defects = False
    for name in _SINGLETON_HEADERS:
        if len(items.get(name, ())) > 1:
            notes.append(f"The {name.title()} header appears {len(items[name])} times; the first one is used.")
            address_defects = address_defects or name in _ADDRESS_HEADERS

    def first(name: str) -> str:
        values = items.get(name)
        return values[0] if values else ""

    def addresses(name: str, label: str, only_first: bool = False) -> list[tuple[str, str]]:
        nonlocal address_defects
        raw_values = items.get(name)
        if not raw_values:
            return []
        found, dubious = address_field(raw_values[:1] if only_first else raw_values, label, notes)
        address_defects = address_defects or dubious
        return found

    def token(name: str, label: str) -> str:
        return _token(_text_field(first(name), label, notes)) if name in items else ""

    subject = _text_field(first("subject"), "Subject", notes, MAX_SUBJECT_CHARS)
    senders = addresses("from", "From", only_first=True)
    if len(senders) > 1:
        notes.append("The From header names more than one address.")
        address_defects = True
    from_name, from_addr = senders[0] if senders else ("", "")
    sender_name, sender_addr = (addresses("sender", "Sender", only_first=True) or [("", "")])[0]
    references = extract_msg_ids(unfold(first("references")))
    if len(references) > MAX_REFERENCES:
        # The root and the nearest ancestors are what threading needs; the middle can go.
        references = references[:1] + references[-(MAX_REFERENCES - 1):]
    message_ids = extract_msg_ids(unfold(first("message-id")))
    in_reply_to = extract_msg_ids(unfold(first("in-reply-to")))
    if first("message-id").strip() and not message_ids:
        notes.append("The Message-ID header is not a valid message id.")
    return HeaderSummary(
        subject=subject,
        from_name=from_name,
        from_addr=from_addr,
        sender_name=sender_name,
        sender_addr=sender_addr,
        to=addresses("to", "To"),
        cc=addresses("cc", "Cc"),
        reply_to=addresses("reply-to", "Reply-To", only_first=True),
        return_path=bare_address(first("return-path"), "Return-Path", notes),
        delivered_to=bare_address(first("delivered-to"), "Delivered-To", notes),
        date=_date_field(first("date"), notes),
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=references,
        list_id=_list_id(_text_field(first("list-id"), "List-Id", notes)),
        auto_submitted=token("auto-submitted", "Auto-Submitted"),
        precedence=token("precedence", "Precedence"),
        x_auto_response_suppress=_text_field(
            first("x-auto-response-suppress"), "X-Auto-Response-Suppress", notes, MAX_TOKEN_CHARS
        ),
        x_autoreply=token("x-autoreply", "X-Autoreply") or token("x-autorespond", "X-Autorespond"),
        list_unsubscribe=_text_field(
            first("list-unsubscribe"), "List-Unsubscribe", notes, MAX_LIST_UNSUBSCRIBE_CHARS
        ),
        list_unsubscribe_post=_text_field(
            first("list-unsubscribe-post"), "List-Unsubscribe-Post", notes, MAX_TOKEN_CHARS
        ),
        x_ricevuta=token("x-ricevuta", "X-Ricevuta"),
        x_trasporto=token("x-trasporto", "X-Trasporto"),
        x_riferimento_message_id=_bare_msg_id(first("x-riferimento-message-id")),
        x_tiporicevuta=token("x-tiporicevuta", "X-TipoRicevuta"),
        x_verificasicurezza=token("x-verificasicurezza", "X-VerificaSicurezza"),
        x_spam_flag=token("x-spam-flag", "X-Spam-Flag"),
        importance=_importance(token("importance", "Importance"), first("x-priority")),
        content_type=_content_type(first("content-type"), notes),
        has_defects=bool(notes),
        address_defects=address_defects,
    )


def _text_field(raw_value: str, label: str, notes: list[str], limit: int = MAX_FIELD_CHARS) -> str:
    if not raw_value:
        return ""
    text, guessed = raw_header_text(unfold(raw_value[:MAX_TEXT_VALUE_CHARS]))
    decoded, broken = decode_words(text)
    if guessed or broken:
        notes.append(f"The {label} header could not be decoded cleanly.")
    if _LINE_BREAK_RE.search(decoded):
        notes.append(f"The {label} header contains line breaks or NUL bytes; they were replaced.")
    return one_line(decoded, limit)


def _date_field(raw_value: str, notes: list[str]) -> datetime | None:
    value = one_line(raw_header_text(unfold(raw_value[:MAX_TOKEN_CHARS]))[0], MAX_TOKEN_CHARS)
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000" means "UTC, local zone unknown" (RFC 5322 3.3)
            parsed = parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # years near 1 or 9999 overflow here, and later in the database
    except Exception:
        notes.append("The Date header is not a valid date.")
        return None
    return parsed


def _list_id(value: str) -> str:
    """The list identifier from "Description <list.example.com>", lowercased (RFC 2919)."""
    match = _MSG_ID_RE.search(value)
    list_id = match.group(1) if match else value
    return list_id.strip().lower()[:MAX_TOKEN_CHARS]


def _token(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()[:MAX_TOKEN_CHARS]


def _bare_msg_id(raw_value: str) -> str:
    msg_ids = extract_msg_ids(unfold(raw_value)) if raw_value else []
    return msg_ids[0][1:-1] if msg_ids else ""


def _importance(importance: str, raw_x_priority: str) -> str:
    if importance in _IMPORTANCE:
        return _IMPORTANCE[importance]
    match = _X_PRIORITY_RE.match(raw_x_priority)  # "1 (Highest)", "5"
    return _X_PRIORITY[match.group(1)] if match else ""


def _content_type(raw_value: str, notes: list[str]) -> str:
    if not raw_value.strip():
        return "text/plain"
    match = _CONTENT_TYPE_RE.match(unfold(raw_value[:MAX_TOKEN_CHARS]).lower())
    if match:
        return match.group(1)
    match = _CONTENT_TYPE_RE.match(unfold(raw_value[:MAX_TOKEN_CHARS]).lower().split(None, 1)[0] + ";")
    if match:  # "multipart/mixed boundary=x": a missing ";" must not hide the type
        notes.append("The Content-Type header is malformed.")
        return match.group(1)
    notes.append("The Content-Type header is not valid; text/plain is assumed.")
    return "text/plain"


def header_items(raw: bytes) -> dict[str, list[str]]:
    """Every header of a message (or a header block): raw values by lowercased name."""
    return _header_items(raw, [])
