"""Pure conversation-threading helpers: reply prefixes, parent candidates, subject keys.

No database here: `messages_app.sync.threads` does the lookups with what these return.
(The module name mirrors the domain; it is only ever imported as `messages_app.sync.threading`.)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

MAX_CANDIDATES = 100

# Reply and forward prefixes as mail clients write them in many languages. Ambiguous short
# words such as "Ref" (English "reference") are left out: a false prefix threads unrelated mail.
_REPLY_WORDS = (
    "re", "r", "rif", "réf", "aw", "antw", "antwort", "sv", "svar", "vs", "odp", "res", "resp", "ynt",
    "atb", "ats", "vá", "odg", "отв", "ответ", "відп", "απ", "σχετ", "回复", "回覆", "答复", "答覆",
    "返信", "회신", "השב", "رد",
)  # fmt: skip
_FORWARD_WORDS = (
    "fwd", "fw", "i", "inoltro", "tr", "trans", "wg", "doorst", "vb", "vl", "fs", "enc", "rv", "pd",
    "ilt", "i̇lt", "πρθ", "továbbítás", "pārs", "пересл", "转发", "轉寄", "转寄", "転送", "전달", "הועבר",
)  # fmt: skip
_PREFIX_WORDS = "|".join(re.escape(word) for word in sorted(_REPLY_WORDS + _FORWARD_WORDS, key=len, reverse=True))

# One prefix at the start: "Re:", "RE :", "Re[2]:", "Re(2):", "Re^2:", "AW:", "回复：" (full-width colon).
REPLY_PREFIX_RE = re.compile(
    rf"^\s*(?:{_PREFIX_WORDS})\s*(?:\[\d{{1,4}}\]|\(\d{{1,4}}\)|\^\d{{1,4}})?\s*[:：]\s*", re.IGNORECASE
)
# A mailing-list tag such as "[dev]" or "[PATCH v2]" before (or between) prefixes.
LIST_TAG_RE = re.compile(r"^\s*\[[^\[\]]{1,60}\]\s*")
# Netscape's "[Fwd: subject]" and Pine's "subject (fwd)".
_BRACKETED_FORWARD_RE = re.compile(r"^\s*\[(?:fwd?|fw)\s*:\s*(.*)\]\s*$", re.IGNORECASE | re.DOTALL)
_FWD_SUFFIX_RE = re.compile(r"\s*\((?:fwd?|fw)\)\s*$", re.IGNORECASE)
_WHITESPACE_RE = re.compile(r"\s+")


def normalize_subject(subject: str) -> tuple[str, bool]:
    """(base subject, whether a reply/forward prefix was removed), e.g. "Re: [dev] AW: Plan" -> ("Plan", True).

    List tags are removed too (the same thread is tagged or not depending on the copy), but
    alone they do not count as a reply prefix, and a subject made only of a tag keeps it.
    A subject made only of prefixes reports False, so it is never threaded by subject.
    """
    base = _WHITESPACE_RE.sub(" ", subject or "").strip()
    had_prefix = False
    for _ in range(100):  # bounded: each round removes at least one character
        match = REPLY_PREFIX_RE.match(base)
        if match:
            base, had_prefix = base[match.end() :], True
            continue
        match = _BRACKETED_FORWARD_RE.match(base)
        if match:
            base, had_prefix = match.group(1).strip(), True
            continue
        match = _FWD_SUFFIX_RE.search(base)
        if match and match.start() > 0:
            base, had_prefix = base[: match.start()], True
            continue
        match = LIST_TAG_RE.match(base)
        if match and base[match.end() :].strip():
            base = base[match.end() :]
            continue
        break
    base = base.strip()
    # A subject made only of prefixes ("Re:") has nothing to match on: never thread it by subject.
    return base, had_prefix and bool(base)


def conversation_candidates(message_id: str, in_reply_to: str, references: Sequence[str]) -> list[str]:
    """Message-IDs of possible ancestors to look up, most direct parent first.

    In-Reply-To names the parent; References lists ancestors oldest first, so it is read
    backwards. The message's own id is excluded (a self-reference would make a loop); callers
    look it up separately to find placeholders left by replies that arrived first.
    """
    candidates: list[str] = []
    seen = {message_id} if message_id else set()
    for msg_id in [in_reply_to, *reversed(list(references or ()))]:
        msg_id = (msg_id or "").strip()
        if msg_id and msg_id not in seen and len(candidates) < MAX_CANDIDATES:
            seen.add(msg_id)
            candidates.append(msg_id)
    return candidates


def subject_key(base_subject: str) -> str:
    """A 32-hex-digit key equal for subjects that differ only in case, width or whitespace; "" if empty."""
    text = _WHITESPACE_RE.sub(" ", unicodedata.normalize("NFKC", base_subject or "")).strip().casefold()
    if not text:
        return ""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
