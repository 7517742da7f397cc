"""Address suggestions for To/Cc/Bcc: a list of sources, each a function (user, query, limit) ->
[(name, address)], ranked within itself: the user's CRM contacts and their past correspondents.

Ranking (address_suggestions): an address more sources suggest comes first (a contact the user
also writes with); then the better place in its own source (correspondents by how often, contacts
by name), an earlier source winning a tie; the name is the first source's that has one (the
contact's name as kept in the CRM rather than whatever a header said)."""

from collections import Counter

from crm.selectors import contact_addresses_search
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


def crm_contacts(user, query: str, limit: int) -> list[tuple[str, str]]:
    """The user's own CRM contacts (never a colleague's) matching `query`, by name."""
    return contact_addresses_search(user, query, limit=limit)


SUGGESTION_SOURCES = [crm_contacts, past_correspondents]


def address_suggestions(user, query: str, limit: int = 10) -> list[dict]:
    """Suggestions from every source, each address once, ranked as the module says."""
    found: dict[str, dict] = {}
    for order, source in enumerate(SUGGESTION_SOURCES):
        for place, (name, addr) in enumerate(source(user, query, limit)):
            key = addr.strip().lower()
            if not key:
                continue
            entry = found.setdefault(key, {"name": "", "address": key, "sources": 0, "rank": (place, order)})
            entry["sources"] += 1
            entry["rank"] = min(entry["rank"], (place, order))
            entry["name"] = entry["name"] or name or ""
    ranked = sorted(found.values(), key=lambda e: (-e["sources"], e["rank"]))
    return [{"name": e["name"], "address": e["address"]} for e in ranked[:limit]]
