"""The stdlib parser run under limits, so hostile mail cannot hang or crash a worker.

The stdlib parser recurses once per nesting level (2,000 nested multiparts raise RecursionError),
spends seconds on 100,000 empty parts, and its header parser is super-linear on some values.
So the limits are enforced while parsing: the message factory refuses parts beyond the depth
and count limits, overlong header values are cut as they are stored, input is fed in chunks
against a deadline, and whatever was built before a limit hit is still returned, with a note.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.policy import EmailPolicy, default
from typing import Any

MAX_NOTES = 50
_FEED_CHUNK = 256 * 1024


@dataclass(frozen=True)
class ParseLimits:
    max_depth: int = 50
    max_parts: int = 500
    max_bytes: int = 64 * 1024 * 1024
    time_budget: float = 5.0  # seconds for the whole parse, checked between chunks and parts
    max_text_bytes: int = 4 * 1024 * 1024  # encoded size of a body part we decode into text
    # policy.default needs seconds for some 100 KB Content-* values, mostly for many parameters.
    max_header_chars: int = 4096
    max_header_params: int = 64


DEFAULT_LIMITS = ParseLimits()


class LimitReached(Exception):
    pass


class Notes:
    """What the parse could not read, in order, without repeats, at most MAX_NOTES."""

    def __init__(self, items: list[str]) -> None:
        self.items = items[:MAX_NOTES]

    def add(self, note: str) -> None:
        if note not in self.items and len(self.items) < MAX_NOTES:
            self.items.append(note)


# Values longer than this are parsed every time rather than kept: the cache holds common values.
_MEMO_MAX_CHARS = 1024


@functools.lru_cache(maxsize=2048)
def _parsed_header(name: str, value: str) -> Any:
    return default.header_fetch_parse(name, value)


class _MemoizedPolicy(EmailPolicy):
    """policy.default, with each distinct header value parsed once.

    policy.default parses a header again on every access, and the feedparser and the walk read
    Content-Type about seven times per part: that was over half of a parse's time. Header objects
    are immutable and a pure function of (name, value), so a bounded cache returns the same result.
    """

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or len(value) > _MEMO_MAX_CHARS:
            return default.header_fetch_parse(name, value)
        return _parsed_header(name, value)


_PARSE_POLICY = _MemoizedPolicy()


class _CappedMessage(EmailMessage):
    """Cuts overlong header values as the parser stores them (policy.default parses them lazily)."""

    limits = DEFAULT_LIMITS
    had_long_header = False

    def set_raw(self, name: str, value: Any) -> None:
        # Only Content-* headers are ever parsed by policy.default here; others stay whole.
        if isinstance(value, str) and name.lower().startswith("content-"):
            if value.count("(") > 32:  # nested comments make policy.default recurse per "("
                value = value.replace("(", " ").replace(")", " ")
                self.had_long_header = True
            cap = self.limits.max_header_chars
            if value.count(";") > self.limits.max_header_params:
                cap = min(cap, _nth_index(value, ";", self.limits.max_header_params))
            if len(value) > cap:
                value = value[:cap]
                self.had_long_header = True
        super().set_raw(name, value)


def _nth_index(text: str, char: str, count: int) -> int:
    position = -1
    for _ in range(count):
        position = text.find(char, position + 1)
    return position


def bounded_parse(raw: bytes, limits: ParseLimits, notes: Notes, deadline: float) -> Message | None:
    if len(raw) > limits.max_bytes:
        notes.add(f"The message is larger than {limits.max_bytes // (1024 * 1024)} MB; only the start was read.")
        raw = raw[: limits.max_bytes]
    created: list[_CappedMessage] = []
    parser: BytesFeedParser | None = None

    def factory(policy: Any = _PARSE_POLICY) -> _CappedMessage:
        message = _CappedMessage(policy=policy)
        message.limits = limits
        if parser is None:
            return message  # FeedParser calls the factory once from __init__ to probe its signature
        # _msgstack holds the open ancestors: CPython internals, stable since 3.2; without it the
        # RecursionError handler below is the fallback.
        if len(getattr(parser, "_msgstack", ())) > limits.max_depth:
            raise LimitReached(f"Parts nested deeper than {limits.max_depth} levels were not read.")
        if len(created) >= limits.max_parts:
            raise LimitReached(f"Only the first {limits.max_parts} parts were read.")
        created.append(message)
        return message

    parser = BytesFeedParser(_factory=factory, policy=_PARSE_POLICY)
    try:
        for start in range(0, len(raw), _FEED_CHUNK):
            if time.monotonic() > deadline:
                notes.add(f"Parsing took longer than {limits.time_budget:g} s; the rest was not read.")
                break
            parser.feed(raw[start : start + _FEED_CHUNK])
        return parser.close()
    except LimitReached as exc:
        notes.add(str(exc))
    except Exception as exc:  # RecursionError above all; the partial tree is still useful
        notes.add(f"The MIME structure could not be fully parsed ({type(exc).__name__}).")
    return created[0] if created else None
