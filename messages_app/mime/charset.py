"""Charsets, RFC 2047 encoded words and text cleaning: the helpers the header summary and the
full parser share. Pure and never raising; every decoder returns what it could plus a flag or a
problem saying it had to guess.
"""

from __future__ import annotations

import binascii
import re
from email.header import decode_header

MAX_FIELD_CHARS = 1000

_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
# Anything that could end a line somewhere downstream (CR, LF, NEL, U+2028/9) or is invisible
# control noise becomes a space: a decoded header must stay one line when reused in a reply.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES_RE = re.compile(r"\s{2,}")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
ENCODED_WORD_RE = re.compile(r"=\?([^?\s]*)\?([qQbB])\?([^?]*)\?=")
_BETWEEN_WORDS_RE = re.compile(r"(?<=\?=)\s+(?==\?[^?\s]*\?[qQbB]\?[^?]*\?=)")
_FILENAME_DROP_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_WHITESPACE_RUN_RE = re.compile(r"\s+")
_NOT_BASE64 = bytes(set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))

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


def as_bytes(raw: object) -> bytes:
    """Bytes from bytes-likes (and str, UTF-8 with surrogates back to bytes); anything else is empty."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def unfold(value: str) -> str:
    """A header value with its folding (CRLF before a blank) removed."""
    return _FOLD_RE.sub("", value)


def raw_header_text(value: str) -> tuple[str, bool]:
    """Undo the parser's surrogateescape: raw UTF-8 is fine (RFC 6532), anything else is a guess."""
    if value.isascii():
        return value, False
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return scrub(value), False
    text, problem = decode_bytes(data, None)
    return text, problem is not None


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
    return ENCODED_WORD_RE.sub(decode_one, _BETWEEN_WORDS_RE.sub("", value))


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


def clean_filename(name: str) -> str:
    """A file name as display text (never a path): the last path component, without controls or
    bidi overrides, whitespace collapsed, at most 255 characters keeping the extension."""
    name = scrub(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _WHITESPACE_RUN_RE.sub(" ", _FILENAME_DROP_RE.sub("", name)).strip()
    if name in (".", ".."):
        return ""
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[: 250 - len(extension)]}.{extension}" if dot and len(extension) < 16 else name[:255]
    return name
