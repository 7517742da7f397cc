"""Pure rules for answering mail: who a reply or reply-all goes to, subject prefixes, the quoted
original, address lists typed by the user, and a saved body split back into its parts.

No database and no server here: callers pass plain values (addresses as (name, addr) pairs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from email.utils import getaddresses

from django.utils.html import escape

from .header_encoding import check_address

Pair = tuple[str, str]

# "Re:", "RE:", "R:" (Outlook in Italian), "Aw:" (German), "Rif:", "Fwd:", "Fw:", "I:" (Outlook
# in Italian: Inoltro), "Tr:" (French), repeated or with a counter ("Re[2]:").
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|r|aw|rif|sv|antw)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(r"^\s*(?:(?:fwd?|i|tr|wg|inoltro)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ANY_PREFIX = re.compile(r"^\s*(?:(?:re|r|aw|rif|sv|antw|fwd?|i|tr|wg|inoltro)(?:\[\d+\])?\s*:\s*)+",
                         re.IGNORECASE)
QUOTE_CLASS = "postino-quote"
_QUOTE_START = re.compile(
    r"""<blockquote\b|<div\b[^>]*\bclass\s*=\s*["']?[^"'>]*\b(?:postino-quote|gmail_quote|moz-cite-prefix)\b""",
    re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """"Re: " once in front of the subject, whatever reply prefixes it already carried."""
    return "Re: " + _REPLY_PREFIX.sub("", subject or "").strip()


def forward_subject(subject: str) -> str:
    """"Fwd: " once in front; an earlier reply prefix stays (it is part of what is forwarded)."""
    return "Fwd: " + _FORWARD_PREFIX.sub("", subject or "").strip()


def bare_subject(subject: str) -> str:
    """The subject without any reply or forward prefixes, for matching."""
    return _ANY_PREFIX.sub("", subject or "").strip()


def _pairs(values: Iterable) -> list[Pair]:
    out = []
    for item in values or ():
        if isinstance(item, str):
            out.append(("", item))
        else:
            name, addr = (list(item) + ["", ""])[:2]
            out.append((name or "", addr or ""))
    return [(name, addr) for name, addr in out if addr]


def _unique(pairs: Iterable[Pair], exclude: set[str]) -> list[Pair]:
    seen = set(exclude)
    out = []
    for name, addr in pairs:
        key = addr.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append((name, addr.strip()))
    return out


def reply_recipients(*, from_pair: Pair, reply_to: Sequence = (), to: Sequence = (), cc: Sequence = (),
                     own_addresses: Iterable[str], reply_all: bool) -> tuple[list[Pair], list[Pair]]:
    """(To, Cc) of a reply. Reply-To wins over From. A reply to one's own message goes to its
    recipients. Reply all adds the original To and Cc; every address of the user is left out
    (all their accounts), and nobody appears twice."""
    own = {addr.strip().lower() for addr in own_addresses if addr}
    sender = _pairs([from_pair])
    targets = _pairs(reply_to) or sender
    original_to, original_cc = _pairs(to), _pairs(cc)
    from_me = bool(sender) and sender[0][1].strip().lower() in own
    if from_me and not _pairs(reply_to):
        targets = original_to  # answering one's own sent message: to whom it went
        if not reply_all:
            return _unique(targets, own), []
        return _unique(targets, own), _unique(original_cc, own | {a.lower() for _, a in targets})
    if not reply_all:
        reply_to_list = _unique(targets, own)
        return (reply_to_list or _unique(sender, set())), []
    new_to = _unique([*targets, *original_to], own)
    taken = own | {addr.lower() for _, addr in new_to}
    return new_to, _unique(original_cc, taken)


def parse_address_list(text: str) -> list[Pair]:
    """What the user typed in To/Cc/Bcc ("Mario <m@x.it>, b@y.it; c@z.it") as pairs. Raises
    ValueError naming the first entry that is not an address."""
    if not (text or "").strip():
        return []
    pairs = []
    for name, addr in getaddresses([(text or "").replace(";", ",")]):
        if not addr and not name:
            continue
        try:
            pairs.append((name.strip(), check_address(addr)))
        except ValueError:
            raise ValueError(addr or name) from None
    return pairs


def format_address_list(pairs: Iterable) -> str:
    """Pairs back into the one-line form the To field shows."""
    out = []
    for name, addr in _pairs(pairs):
        if name and name != addr:
            safe = name.replace('"', "'")
            out.append(f'"{safe}" <{addr}>' if re.search(r"[,;<>@\"]", name) else f"{name} <{addr}>")
        else:
            out.append(addr)
    return ", ".join(out)


def quote_block(*, attribution: str, original_html: str) -> str:
    """The quoted original under its attribution line, in the block our signature placement and
    draft splitting recognise. `original_html` must already be sanitized; `attribution` is text."""
    return (f'<div class="{QUOTE_CLASS}"><p>{escape(attribution)}</p>'
            f'<blockquote type="cite">{original_html}</blockquote></div>')


def forward_block(*, header_lines: Sequence[tuple[str, str]], original_html: str, title: str) -> str:
    """An inline forward: the original's headers as a small table of text, then its body."""
    rows = "".join(f"<b>{escape(label)}:</b> {escape(value)}<br>" for label, value in header_lines if value)
    return (f'<div class="{QUOTE_CLASS}"><p>---------- {escape(title)} ----------<br>{rows}</p>'
            f"<div>{original_html}</div></div>")


def split_saved_body(html: str) -> tuple[str, str]:
    """A body we built (draft or scheduled message) back into (what the user wrote, the quoted
    part): the signature block is dropped (it is added again for the From account at sending)."""
    from messages_app.signatures.placement import with_signature

    html = with_signature(html or "", "")
    match = _QUOTE_START.search(html)
    if match is None:
        return html, ""
    return html[:match.start()], html[match.start():]


def text_quote(text: str) -> str:
    """Plain text quoted the e-mail way: "> " in front of each line."""
    return "\n".join(f"> {line}" if line else ">" for line in (text or "").splitlines())
