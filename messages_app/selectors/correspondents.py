"""Address suggestions for To/Cc/Bcc: a list of sources, each a function (user, query, limit) ->
[(name, address)]. Past correspondents today; CRM contacts join by adding their selector to
SUGGESTION_SOURCES."""

from collections import Counter

from messages_app.selectors.messages import visible_messages

SCAN_MESSAGES = 2000  # the user's newest visible messages looked at: enough, and cheap


def past_correspondents(user, query: str, limit: int) -> list[tuple[str, str]]:
    """Senders and recipients of the user's newest visible messages whose name or address
    contains `query`, the most frequent first."""
    needle = query.strip().lower()
    counts: Counter = Counter()
    names: dict[str, str] = {}
    rows = visible_messages(user).order_by("-date").values_list("from_name", "from_addr", "to", "cc")[:SCAN_MESSAGES]
    for from_name, from_addr, to, cc in rows:
        for pair in [(from_name, from_addr), *(to or []), *(cc or [])]:
            name, addr = (list(pair) + ["", ""])[:2]
            addr = (addr or "").strip()
            if "@" not in addr:
                continue
            key = addr.lower()
            if needle and needle not in key and needle not in (name or "").lower():
                continue
            counts[key] += 1
            if name and not names.get(key):
                names[key] = name
    return [(names.get(key, ""), key) for key, _count in counts.most_common(limit)]


SUGGESTION_SOURCES = [past_correspondents]


def address_suggestions(user, query: str, limit: int = 10) -> list[dict]:
    """Suggestions from every source, each address once, in source order."""
    seen: set[str] = set()
    out: list[dict] = []
    for source in SUGGESTION_SOURCES:
        for name, addr in source(user, query, limit):
            if addr.lower() in seen:
                continue
            seen.add(addr.lower())
            out.append({"name": name, "address": addr})
            if len(out) >= limit:
                return out
    return out
