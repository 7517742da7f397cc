"""Fast, never-raising summary of a message's header block (the sync's hot path).

This runs once for every new message a sync sees, so it uses the compat32 parser with
`decode_header` and `getaddresses`: `policy.default` parses the same block about 6.5 times
slower (see PERFORMANCE.md). Everything here is pure: bytes in, a frozen dataclass out.

The charset and text-cleaning helpers at the bottom are shared with `parse.py`.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

MAX_HEADER_BLOCK_BYTES = 1024 * 1024
MAX_SUBJECT_CHARS = 1000
MAX_FIELD_CHARS = 1000
MAX_TOKEN_CHARS = 255
# decode_header and getaddresses are super-linear on pathological input: cap what they see.
MAX_TEXT_VALUE_CHARS = 16 * 1024
MAX_ADDRESS_VALUE_CHARS = 64 * 1024
MAX_ADDRESSES = 500
MAX_ADDRESS_CHARS = 320
MAX_REFERENCES = 100
MAX_MSG_ID_CHARS = 250

# RFC 5322 allows these at most once; a second copy is how spoofing and injection show up.
_SINGLETON_HEADERS = ("from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to")

_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
# Anything that could end a line somewhere downstream (CR, LF, NEL, U+2028/9) or is invisible
# control noise becomes a space: a decoded header must stay one line when reused in a reply.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES_RE = re.compile(r"\s{2,}")
_LINE_BREAK_RE = re.compile(r"[\x00\r\n\x85\u2028\u2029]")
_WHITESPACE_RE = re.compile(r"\s")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_MSG_ID_RE = re.compile(r"<([^<>]*)>")
_MSG_ID_FALLBACK_RE = re.compile(r"[^\s<>,;\"'()]+@[^\s<>,;\"'()]+")
_ADDR_FALLBACK_RE = re.compile(r"[^\s<>,;:\"'()\[\]\\]+@[^\s<>,;:\"'()\[\]\\]+")
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]*)\?([qQbB])\?([^?]*)\?=")
_PLACEHOLDER_RE = re.compile("\ue000([0-9]+)\ue001")
_BETWEEN_WORDS_RE = re.compile(r"(?<=\?=)\s+(?==\?[^?\s]*\?[qQbB]\?[^?]*\?=)")
_NOT_BASE64 = bytes(set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
_CONTENT_TYPE_RE = re.compile(r"\s*([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)\s*(?:;|$)")
# The common shapes "addr", "<addr>" and "Name <addr>" skip getaddresses (its cost dominates here);
# anything with commas, quotes, comments, groups or escapes goes the long way.
_SIMPLE_ADDRESS_RE = re.compile(r"\s*([^\s<>@\",;:()\\]+@[^\s<>@\",;:()\\]+)\s*")
_SIMPLE_NAME_ADDRESS_RE = re.compile(r"([^<>@\",;:()\\]*)<([^\s<>@\",;:()\\]+@[^\s<>@\",;:()\\]+)>\s*")
# compat32 stops reading headers at the first line that is neither a header nor a continuation
# and reads the rest as body; real clients skip such a line instead (and accept "Name :").
_BAD_HEADER_LINE_RE = re.compile(rb"^(?![\x21-\x39\x3b-\x7e]*:|[ \t]|From |\r?$)", re.MULTILINE)
_SPACE_BEFORE_COLON_RE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:")
_GROUP_ONLY_RE = re.compile(r"^[^:<>@\"]*:\s*;?\s*$")

# Labels decoded as "UTF-8 if valid, else Windows-1252": the UTF-8 family (ASCII is a subset, and
# undeclared 8-bit text is mostly UTF-8 today) and the labels that mean "we do not know".
_UTF8_COMPATIBLE = frozenset({"", "us-ascii", "ascii", "utf-8", "utf8", "ansi_x3.4-1968"})
_GUESS_CHARSETS = _UTF8_COMPATIBLE | {"x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "8bit"}
_CHARSET_LABEL_RE = re.compile(r"[^a-z0-9._:+-]")
# Supersets that decode more of what real mailers send under the narrower label (WHATWG does the same).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "windows-1252": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6", "gb2312": "gb18030", "gbk": "gb18030",
    "x-gbk": "gb18030", "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "shift_jis": "cp932",
    "x-sjis": "cp932", "big5": "big5hkscs", "tis-620": "cp874", "windows-874": "cp874",
    "x-mac-roman": "mac_roman", "macintosh": "mac_roman",
}
# Text codecs that are not character sets; a charset label must never select them.
_REFUSED_CODECS = frozenset({"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"})


@dataclass(frozen=True)
class HeaderSummary:
    """What the sync stores for every message; all text is single-line, NUL- and surrogate-free."""

    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    reply_to: list[tuple[str, str]] = field(default_factory=list)
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    list_id: str = ""
    auto_submitted: str = ""
    precedence: str = ""
    x_auto_response_suppress: str = ""
    content_type: str = "text/plain"
    has_defects: bool = False


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


def as_bytes(raw: object) -> bytes:
    """Bytes from bytes-likes (and str, UTF-8 with surrogates back to bytes); anything else is empty."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


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
    for name in _SINGLETON_HEADERS:
        if len(items.get(name, ())) > 1:
            notes.append(f"The {name.title()} header appears {len(items[name])} times; the first one is used.")

    def first(name: str) -> str:
        values = items.get(name)
        return values[0] if values else ""

    subject = _text_field(first("subject"), "Subject", notes, MAX_SUBJECT_CHARS)
    senders = _address_field(items.get("from", [])[:1], "From", notes)
    if len(senders) > 1:
        notes.append("The From header names more than one address.")
    from_name, from_addr = senders[0] if senders else ("", "")
    references = extract_msg_ids(_unfold(first("references")))
    if len(references) > MAX_REFERENCES:
        # The root and the nearest ancestors are what threading needs; the middle can go.
        references = references[:1] + references[-(MAX_REFERENCES - 1):]
    message_ids = extract_msg_ids(_unfold(first("message-id")))
    in_reply_to = extract_msg_ids(_unfold(first("in-reply-to")))
    if first("message-id").strip() and not message_ids:
        notes.append("The Message-ID header is not a valid message id.")
    return HeaderSummary(
        subject=subject,
        from_name=from_name,
        from_addr=from_addr,
        to=_address_field(items.get("to", []), "To", notes),
        cc=_address_field(items.get("cc", []), "Cc", notes),
        reply_to=_address_field(items.get("reply-to", [])[:1], "Reply-To", notes),
        date=_date_field(first("date"), notes),
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=references,
        list_id=_list_id(_text_field(first("list-id"), "List-Id", notes)),
        auto_submitted=_token(_text_field(first("auto-submitted"), "Auto-Submitted", notes)),
        precedence=_token(_text_field(first("precedence"), "Precedence", notes)),
        x_auto_response_suppress=_text_field(
            first("x-auto-response-suppress"), "X-Auto-Response-Suppress", notes, MAX_TOKEN_CHARS
        ),
        content_type=_content_type(first("content-type"), notes),
        has_defects=bool(notes),
    )


def _unfold(value: str) -> str:
    return _FOLD_RE.sub("", value)


def _raw_to_text(value: str) -> tuple[str, bool]:
    """Undo the parser's surrogateescape: raw UTF-8 is fine (RFC 6532), anything else is a guess."""
    if value.isascii():
        return value, False
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return scrub(value), False
    text, problem = decode_bytes(data, None)
    return text, problem is not None


def _text_field(raw_value: str, label: str, notes: list[str], limit: int = MAX_FIELD_CHARS) -> str:
    if not raw_value:
        return ""
    text, guessed = _raw_to_text(_unfold(raw_value[:MAX_TEXT_VALUE_CHARS]))
    decoded, broken = decode_words(text)
    if guessed or broken:
        notes.append(f"The {label} header could not be decoded cleanly.")
    if _LINE_BREAK_RE.search(decoded):
        notes.append(f"The {label} header contains line breaks or NUL bytes; they were replaced.")
    return one_line(decoded, limit)


def _address_field(raw_values: list[str], label: str, notes: list[str]) -> list[tuple[str, str]]:
    text, guessed = _raw_to_text(_unfold(", ".join(raw_values)[:MAX_ADDRESS_VALUE_CHARS]))
    if not text.strip():
        return []
    dubious = guessed
    # compat32 reads encoded words as raw text, so "=?UTF-8?Q?a=0Ab:_x@evil?= <real@example.com>"
    # would parse as a group and lose the real address: hide them in placeholders while parsing.
    text, words = _hide_encoded_words(text)
    try:
        pairs = _simple_address(text) or getaddresses([text])
    except Exception:  # RecursionError on nested comments, and whatever else compat32 trips on
        pairs = [("", addr) for addr in _ADDR_FALLBACK_RE.findall(text)]
        dubious = True
    addresses: list[tuple[str, str]] = []
    for raw_name, raw_addr in pairs:
        name, addr = _show_encoded_words(raw_name, words), _show_encoded_words(raw_addr, words)
        if not name and not addr:
            continue  # an empty group such as "undisclosed-recipients:;"
        clean_addr = one_line(addr, MAX_ADDRESS_CHARS).strip("<> ")
        decoded_name, broken = decode_words(name)
        clean_name = one_line(decoded_name, MAX_FIELD_CHARS).strip('" ')
        if broken or _address_is_dubious(addr, clean_addr) or _LINE_BREAK_RE.search(decoded_name):
            dubious = True
            # Junk around an address (unbalanced quotes, stray brackets): keep what looks like one.
            found = _ADDR_FALLBACK_RE.findall(clean_addr) if clean_addr.count("@") else []
            if found:
                addresses.extend((clean_name if n == 0 else "", found_addr) for n, found_addr in enumerate(found))
                continue
        addresses.append((clean_name, clean_addr))
    if not addresses and not _GROUP_ONLY_RE.match(text):
        dubious = True
    if len(addresses) > MAX_ADDRESSES:
        addresses = addresses[:MAX_ADDRESSES]
        notes.append(f"The {label} header lists more than {MAX_ADDRESSES} addresses; the rest were dropped.")
    if dubious:
        notes.append(f"The {label} header could not be parsed reliably.")
    return addresses


def _hide_encoded_words(text: str) -> tuple[str, list[str]]:
    if "=?" not in text:
        return text, []
    words: list[str] = []

    def hide(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return f"\ue000{len(words) - 1}\ue001"  # private-use characters: an atom to the parser

    return _ENCODED_WORD_RE.sub(hide, text), words


def _show_encoded_words(value: str, words: list[str]) -> str:
    if not words or "\ue000" not in value:
        return value
    return _PLACEHOLDER_RE.sub(lambda match: words[int(match.group(1))], value)


def _simple_address(text: str) -> list[tuple[str, str]]:
    match = _SIMPLE_ADDRESS_RE.fullmatch(text)
    if match:
        return [("", match.group(1))]
    match = _SIMPLE_NAME_ADDRESS_RE.fullmatch(text)
    if match:
        return [(match.group(1).strip(), match.group(2))]
    return []


def _address_is_dubious(raw_addr: str, clean_addr: str) -> bool:
    return (
        clean_addr.count("@") != 1
        or clean_addr != raw_addr.strip()
        or len(raw_addr) > MAX_ADDRESS_CHARS
        or "=?" in clean_addr
        or _WHITESPACE_RE.search(clean_addr) is not None
    )


def _date_field(raw_value: str, notes: list[str]) -> datetime | None:
    value = one_line(_raw_to_text(_unfold(raw_value[:MAX_TOKEN_CHARS]))[0], MAX_TOKEN_CHARS)
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


def _content_type(raw_value: str, notes: list[str]) -> str:
    if not raw_value.strip():
        return "text/plain"
    match = _CONTENT_TYPE_RE.match(_unfold(raw_value[:MAX_TOKEN_CHARS]).lower())
    if match:
        return match.group(1)
    match = _CONTENT_TYPE_RE.match(_unfold(raw_value[:MAX_TOKEN_CHARS]).lower().split(None, 1)[0] + ";")
    if match:  # "multipart/mixed boundary=x": a missing ";" must not hide the type
        notes.append("The Content-Type header is malformed.")
        return match.group(1)
    notes.append("The Content-Type header is not valid; text/plain is assumed.")
    return "text/plain"


# --- encoded words, charsets and text cleaning (shared with parser.py) --------------------------


def decode_words(value: str) -> tuple[str, bool]:
    """Decode RFC 2047 encoded words; returns (text, True if something was broken or guessed)."""
    if "=?" not in value:
        return value, False
    try:
        chunks = decode_header(value)
    except Exception:  # HeaderParseError on bad base64; decode word by word instead
        return _decode_words_leniently(value), True
    had_non_ascii = not value.isascii()
    pieces: list[str] = []
    broken = False
    for data, charset in chunks:
        if isinstance(data, str):
            pieces.append(data)
        elif charset is None:
            # decode_header turns unencoded text into bytes with raw-unicode-escape; undo exactly that.
            pieces.append(data.decode("raw-unicode-escape" if had_non_ascii else "ascii", "replace"))
        else:
            text, problem = decode_bytes(data, charset)
            broken = broken or problem is not None
            pieces.append(text)
    return "".join(pieces), broken


def _decode_words_leniently(value: str) -> str:
    def decode_one(match: re.Match[str]) -> str:
        charset, encoding, payload = match.groups()
        encoded = payload.encode("ascii", "replace")
        data = lenient_b64decode(encoded)[0] if encoding in "bB" else binascii.a2b_qp(encoded, header=True)
        return decode_bytes(data, charset)[0]

    # Whitespace between adjacent encoded words is not text (RFC 2047 section 6.2).
    return _ENCODED_WORD_RE.sub(decode_one, _BETWEEN_WORDS_RE.sub("", value))


def lenient_b64decode(data: bytes) -> tuple[bytes, bool]:
    """Base64 that never raises; returns (bytes, True if the input was damaged and repaired)."""
    try:
        return binascii.a2b_base64(data), False
    except (binascii.Error, ValueError):
        cleaned = data.translate(None, _NOT_BASE64)  # also drops misplaced "=" padding
        if len(cleaned) % 4 == 1:  # a lone trailing character carries no whole byte
            cleaned = cleaned[:-1]
        return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4)), True


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode with a declared charset, never raising; returns (text, problem or None).

    Unknown labels and invalid UTF-8 fall back to Windows-1252, which maps nearly every byte,
    so the reader sees mojibake at worst rather than a wall of replacement characters.
    """
    label = _CHARSET_LABEL_RE.sub("", (charset or "").lower().split("*", 1)[0])[:40]
    target = _CHARSET_ALIASES.get(label, label)
    if target == "cp1252" and not data.isascii():
        try:  # UTF-8 labelled Latin-1 is a common mislabel; real Latin-1 text is almost never valid UTF-8
            return data.decode("utf-8"), f"the text is labelled {label} but is UTF-8; decoded as UTF-8"
        except UnicodeDecodeError:
            pass
    if target not in _GUESS_CHARSETS and target.replace("-", "_") not in _REFUSED_CODECS:
        try:
            return data.decode(target, "replace"), None
        except (LookupError, UnicodeError, ValueError):
            pass  # unknown label, or a codec that is not a text encoding (zlib, base64, ...)
    declared_utf8 = label in _UTF8_COMPATIBLE
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")
        if declared_utf8:
            return text, f"the text is not valid {label or 'UTF-8'}; decoded as Windows-1252"
        return text, f"unknown charset {label!r}; decoded as Windows-1252"
    return text, None if declared_utf8 else f"unknown charset {label!r}; decoded as UTF-8"


def scrub(value: str) -> str:
    """Drop NUL (PostgreSQL text rejects it) and replace lone surrogates (not encodable as UTF-8)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        value = _SURROGATE_RE.sub("\ufffd", value)
    return value


def recover_text(value: str) -> str:
    """Text from a policy.default value whose raw 8-bit bytes came through as surrogate escapes."""
    if not value.isascii() and _SURROGATE_RE.search(value):
        value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)[0]
    return scrub(value)


def one_line(value: str, limit: int = MAX_FIELD_CHARS) -> str:
    """Header text safe to reuse: one line, no controls, single spaces, at most `limit` chars."""
    value = _CONTROL_RE.sub(" ", scrub(value))
    return _SPACES_RE.sub(" ", value).strip()[:limit]
