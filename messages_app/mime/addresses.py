"""Address lists (From, To, Cc, Reply-To, ...) from raw header values, never raising.

compat32's `getaddresses` is fast but reads hostile values badly, so the common shapes skip it,
encoded words are hidden from it, and anything it had to guess at is reported as dubious: a
header with defects must not decide a permission or a CRM link (TESTING.md).
"""

from __future__ import annotations

import re
from email.utils import getaddresses

from .charset import ENCODED_WORD_RE, MAX_FIELD_CHARS, decode_words, one_line, raw_header_text, unfold

# getaddresses is super-linear on pathological input: cap what it sees.
MAX_ADDRESS_VALUE_CHARS = 64 * 1024
MAX_ADDRESSES = 500
MAX_ADDRESS_CHARS = 320

_LINE_BREAK_RE = re.compile(r"[\x00\r\n\x85\u2028\u2029]")
_WHITESPACE_RE = re.compile(r"\s")
_ADDR_FALLBACK_RE = re.compile(r"[^\s<>,;:\"'()\[\]\\]+@[^\s<>,;:\"'()\[\]\\]+")
_PLACEHOLDER_RE = re.compile("\ue000([0-9]+)\ue001")
# The common shapes "addr", "<addr>" and "Name <addr>" skip getaddresses (its cost dominates here);
# anything with commas, quotes, comments, groups or escapes goes the long way.
_SIMPLE_ADDRESS_RE = re.compile(r"\s*([^\s<>@\",;:()\\]+@[^\s<>@\",;:()\\]+)\s*")
_SIMPLE_NAME_ADDRESS_RE = re.compile(r"([^<>@\",;:()\\]*)<([^\s<>@\",;:()\\]+@[^\s<>@\",;:()\\]+)>\s*")
_GROUP_ONLY_RE = re.compile(r"^[^:<>@\"]*:\s*;?\s*$")
_BRACKETED_RE = re.compile(r"<([^<>]*)>")


def address_field(raw_values: list[str], label: str, notes: list[str]) -> tuple[list[tuple[str, str]], bool]:
    """(name, address) pairs of an address header and whether it was dubious (a note says why)."""
    text, guessed = raw_header_text(unfold(", ".join(raw_values)[:MAX_ADDRESS_VALUE_CHARS]))
    if not text.strip():
        return [], False
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
    return addresses, dubious


def bare_address(raw_value: str, label: str, notes: list[str]) -> str:
    """The one address of a Return-Path or Delivered-To value, without <>; "" for the null path <>."""
    if not raw_value:
        return ""
    text = one_line(raw_header_text(unfold(raw_value[:MAX_ADDRESS_VALUE_CHARS]))[0], MAX_ADDRESS_VALUE_CHARS)
    if not text:
        return ""
    match = _BRACKETED_RE.search(text)
    addr = (match.group(1) if match else text).strip()
    if addr and (addr.count("@") != 1 or len(addr) > MAX_ADDRESS_CHARS or _WHITESPACE_RE.search(addr)):
        notes.append(f"The {label} header is not a single address.")
        return ""
    return addr


def _hide_encoded_words(text: str) -> tuple[str, list[str]]:
    if "=?" not in text:
        return text, []
    words: list[str] = []

    def hide(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return f"\ue000{len(words) - 1}\ue001"  # private-use characters: an atom to the parser

    return ENCODED_WORD_RE.sub(hide, text), words


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
        or clean_addr.startswith("@")  # getaddresses reads "a@b@c" as an empty entry and "@c"
        or clean_addr.endswith("@")
        or clean_addr != raw_addr.strip()
        or len(raw_addr) > MAX_ADDRESS_CHARS
        or "=?" in clean_addr
        or _WHITESPACE_RE.search(clean_addr) is not None
    )
