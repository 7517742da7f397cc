"""Header values for outgoing mail, encoded and folded here rather than by the email package.

Python 3.11's policy.default decodes an encoded word found in a value it is given, so
`msg["Subject"] = "=?UTF-8?Q?x=0ABcc:_y?="` writes a real "Bcc: y" header line (seen here); and
it RFC 2047-encodes message ids longer than a line in References, which breaks threading. The
values built here are `Prefolded` headers, which the email package stores and writes as they are.
Every text is first made one line: CR, LF, NEL, U+2028/2029 and other controls become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import policy as email_policy
from email.header import Header
from urllib.parse import quote

from .charset import one_line

MAX_HEADER_TEXT_CHARS = 10_000
_FOLD_AT = 78
_ADDRESS_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
                         r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")
_ATOM_PHRASE_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
_PLAIN_FILENAME_RE = re.compile(r"[A-Za-z0-9 ._()+,~-]{1,60}")
_FILENAME_CHUNK = 50


def check_address(addr: str) -> str:
    """The address, one line and trimmed, if it is a plain ASCII addr-spec; ValueError otherwise."""
    clean = one_line(addr, 320)
    if not _ADDRESS_RE.fullmatch(clean):
        raise ValueError(f"not a valid e-mail address: {clean!r}")
    return clean


def display_name(name: str) -> str:
    """A display name as it will read back: one line, no surrounding quotes."""
    return one_line(name, MAX_HEADER_TEXT_CHARS).strip('" ')


def header_text(value: str) -> str:
    """Header text as it will read back: one line, controls as spaces, runs of spaces as one."""
    return one_line(value, MAX_HEADER_TEXT_CHARS)


class Prefolded(str):
    """A header the email package stores and writes as it is (its value reads as `text`), folded
    here: (separator, token) pairs joined, a line break before a token that would pass column 78.
    Unfolding removes only the CRLF, so the separator's space survives it."""

    name: str
    tokens: list[tuple[str, str]]
    addresses: list[str]

    def __new__(cls, name: str, text: str, tokens: list[tuple[str, str]], addresses: list[str] | None = None):
        self = super().__new__(cls, text)
        self.name = name
        self.tokens = tokens
        self.addresses = addresses or []
        return self

    def fold(self, *, policy: email_policy.Policy) -> str:
        lines: list[str] = []
        line = f"{self.name}:"
        for index, (sep, token) in enumerate(self.tokens):
            if index == 0:
                line += " " + token
            elif len(line) + len(sep) + len(token) > _FOLD_AT:
                lines.append(line + sep.rstrip())
                line = " " + token
            else:
                line += sep + token
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 words for `text`, each within the 75-character limit, split on character boundaries."""
    return Header(text, "utf-8").encode(maxlinelen=75, linesep="\n").replace("\n ", "\n").split("\n")


def _needs_encoding(text: str) -> bool:
    # "=?" would be read back as an encoded word; a 900-character word cannot be folded.
    return not text.isascii() or "=?" in text or any(len(word) > 70 for word in text.split(" "))


def text_header(name: str, value: str) -> Prefolded:
    text = header_text(value)
    words = _encoded_words(text) if _needs_encoding(text) else text.split(" ")
    return Prefolded(name, text, [(" ", word) for word in words if word])


def address_header(name: str, pairs: Sequence[tuple[str, str]]) -> Prefolded:
    tokens: list[tuple[str, str]] = []
    addresses = []
    readable = []
    for display, addr in pairs:
        addr = check_address(addr)
        addresses.append(addr)
        phrase = display_name(display)
        readable.append(f"{phrase} <{addr}>" if phrase else addr)
        first = True
        if phrase and (_needs_encoding(phrase) or len(phrase) > 200):
            for word in _encoded_words(phrase):
                tokens.append((", " if first and tokens else " ", word))
                first = False
        elif phrase:
            quoted = phrase if _ATOM_PHRASE_RE.fullmatch(phrase) else _quoted(phrase)
            tokens.append((", " if tokens else " ", quoted))
            first = False
        tokens.append((", " if first and tokens else " ", f"<{addr}>" if phrase else addr))
    return Prefolded(name, ", ".join(readable), tokens, addresses)


def _quoted(phrase: str) -> str:
    return '"' + phrase.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ids_header(name: str, ids: list[str]) -> Prefolded:
    return Prefolded(name, " ".join(ids), [(" ", msg_id) for msg_id in ids])


def disposition_header(kind: str, filename: str) -> Prefolded:
    """Content-Disposition written here: policy.default would decode an encoded word in a quoted
    file name, and a newline inside one would end the part's header block."""
    if not filename:
        return Prefolded("Content-Disposition", kind, [(" ", kind)])
    if _PLAIN_FILENAME_RE.fullmatch(filename):
        params = [f'filename="{filename}"']
    else:  # RFC 2231: UTF-8, percent-encoded, in numbered pieces that fold
        encoded = quote(filename.encode("utf-8"), safe="")
        pieces = []
        while encoded:
            cut = _FILENAME_CHUNK
            while "%" in encoded[max(cut - 2, 0):cut]:  # never split a %XX escape
                cut -= 1
            pieces.append(encoded[:cut])
            encoded = encoded[cut:]
        params = [f"filename*0*=utf-8''{pieces[0]}"] if len(pieces) > 1 else [f"filename*=utf-8''{pieces[0]}"]
        params += [f"filename*{number}*={piece}" for number, piece in enumerate(pieces[1:], 1)]
    last = len(params) - 1
    tokens = [(" ", f"{kind};")] + [(" ", param + (";" if n < last else "")) for n, param in enumerate(params)]
    return Prefolded("Content-Disposition", f'{kind}; filename="{filename}"', tokens)
