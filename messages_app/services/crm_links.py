"""Links from mail to CRM records: matched, explained, confirmed, removed.

How a message is matched to its owner's records (the records of the account's owner, or of a
local message's owner):
- by address (reason "address"): From and Cc of received mail, To and Cc of sent mail and drafts,
  every party of a local (imported) message; normalised and case-insensitive. An address held by
  one record is sure (100); held by several, each match is doubtful (AMBIGUOUS_ADDRESS);
- by domain (reason "domain"), to companies only, never for free-mail and provider domains
  (settings.CRM_FREE_MAIL_DOMAINS): one company at that domain DOMAIN_ONE, several DOMAIN_MANY;
- by thread (reason "thread"): a message inherits the links of its conversation.
A message whose address headers parsed with defects gets no link at all. A match below
settings.CRM_LINK_THRESHOLD is stored `pending` ("Da collegare") for one-click confirm or dismiss.
A link removed or dismissed by the user stays `dismissed`: no later pass makes it again.

Every linked message keeps its whole source here (message_sources_keep), so that it stays on its
records with body and attachments when the server drops it (sync/identity.py localises it).
"""

import contextlib
from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from crm.addresses import domain_of, normalise
from crm.models import RecordKind
from crm.selectors import address_book, companies_by_domain, record_or_404, records_by_address
from crm.signals import record_addresses_added
from messages_app.enums import FolderRole
from messages_app.exceptions import MailError
from messages_app.models import LinkReason, LinkState, MailAccount, Message, MessageLink
from messages_app.selectors import own_messages
from messages_app.selectors.visibility import own_message_rule
from messages_app.services.crm_thread_links import thread_links_store
from messages_app.sync import identity

SURE = 100
AMBIGUOUS_ADDRESS = 60
DOMAIN_ONE = 80
DOMAIN_MANY = 50
CHUNK = 2000
OUTGOING_ROLES = (FolderRole.SENT, FolderRole.DRAFTS)

_FIELDS = ("id", "account_id", "local_owner_id", "folder_id", "thread_id", "from_addr", "to", "cc",
           "address_defects", "date", "folder__role", "account__owner_id")


def _parties(row: dict) -> list[tuple[str, str]]:
    """(header, normalised address) of the parties that say who the mail is with."""
    if row["account_id"] is None:
        headers = [("from", [["", row["from_addr"]]]), ("to", row["to"]), ("cc", row["cc"])]
    elif row["folder__role"] in OUTGOING_ROLES:
        headers = [("to", row["to"]), ("cc", row["cc"])]
    else:
        headers = [("from", [["", row["from_addr"]]]), ("cc", row["cc"])]
    found = []
    for header, pairs in headers:
        for pair in pairs or []:
            address = normalise(pair[1] if len(pair) > 1 else "")
            if address:
                found.append((header, address))
    return found


def _owner(row: dict) -> int:
    return row["local_owner_id"] if row["account_id"] is None else row["account__owner_id"]


@dataclass(frozen=True)
class NewLink:
    """A link about to be stored (plain values: the backfill makes tens of thousands)."""

    message_id: int
    message_date: datetime
    owner_id: int
    kind: str
    record_id: int
    reason: str
    detail: str
    confidence: int
    state: str


def _link(row: dict, owner_id: int, kind: str, record_id: int, reason: str, detail: str,
          confidence: int) -> NewLink:
    state = _LINKED if confidence >= settings.CRM_LINK_THRESHOLD else _PENDING
    return NewLink(row["id"], row["date"], owner_id, kind, record_id, reason, detail[:400], confidence, state)


_CONTACT, _COMPANY, _LEAD = RecordKind.CONTACT.value, RecordKind.COMPANY.value, RecordKind.LEAD.value
_LINKED, _PENDING = LinkState.LINKED.value, LinkState.PENDING.value
_ADDRESS, _DOMAIN, _THREAD = LinkReason.ADDRESS.value, LinkReason.DOMAIN.value, LinkReason.THREAD.value

_COLUMNS = ("message_id", "message_date", "owner_id", "contact_id", "company_id", "lead_id", "reason", "detail",
            "confidence", "state", "created_at")
INSERT_ROWS = 500


def _insert(links: list[NewLink]) -> None:
    """Multi-row INSERTs (arrays on PostgreSQL, INSERT_ROWS rows of VALUES elsewhere), skipping
    links that exist in any state (ON CONFLICT DO NOTHING without a target covers the three
    partial unique constraints, and a concurrent pass's row: PostgreSQL waits for it, then skips).
    Rows go in (message, record) order, so two passes over the same mail take their row locks in
    one order (no deadlock)."""
    if not links:
        return
    now = timezone.now()
    table = connection.ops.quote_name(MessageLink._meta.db_table)
    rows = sorted({(link.message_id, link.message_date, link.owner_id,
                    link.record_id if link.kind == _CONTACT else None,
                    link.record_id if link.kind == _COMPANY else None,
                    link.record_id if link.kind == _LEAD else None,
                    link.reason, link.detail, link.confidence, link.state, now) for link in links},
                  key=lambda row: (row[0], row[3] or 0, row[4] or 0, row[5] or 0))
    if connection.vendor == "postgresql":
        _insert_arrays(table, rows)
        return
    # Dates as the ORM writes them (SQLite compares them as text: the timeline's keyset must match).
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(row[0], adapt(row[1]), *row[2:-1], adapt(row[-1])) for row in rows]
    per_statement = min(INSERT_ROWS, (connection.features.max_query_params or 10_000) // len(_COLUMNS))
    placeholder = f"({', '.join(['%s'] * len(_COLUMNS))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start:start + per_statement]
            cursor.execute(f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608
                           f"{', '.join([placeholder] * len(batch))} ON CONFLICT DO NOTHING",
                           [value for row in batch for value in row])


_ARRAY_TYPES = ("bigint", "timestamptz", "bigint", "bigint", "bigint", "bigint", "text", "text", "integer", "text",
                "timestamptz")
ARRAY_ROWS = 5000


def _insert_arrays(table: str, rows: list[tuple]) -> None:
    """PostgreSQL: the rows as one array per column, unnested (ARRAY_ROWS rows and ten parameters a
    statement): no statement text that grows with the rows for the driver to build and parse."""
    select = ", ".join(f"%s::{kind}[]" for kind in _ARRAY_TYPES)
    sql = (f"INSERT INTO {table} ({', '.join(_COLUMNS)}) SELECT * FROM unnest({select}) "  # noqa: S608
           "ON CONFLICT DO NOTHING")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ARRAY_ROWS):
            cursor.execute(sql, [list(column) for column in zip(*rows[start:start + ARRAY_ROWS], strict=True)])


def _own_addresses(owner_ids: Iterable[int]) -> set[str]:
    """The owners' own account addresses: mail is not "with" yourself."""
    return {normalise(email) for email in MailAccount.objects.filter(owner_id__in=set(owner_ids))
            .values_list("email", flat=True)}


class _AddressBooks:
    """Each owner's whole address book and own addresses, read once and held for a long pass (the
    backfill): a batch of messages then costs no query to match. Answers like records_by_address
    and companies_by_domain (one address book is 10k rows: small beside the pass)."""

    def __init__(self) -> None:
        self._books: dict[int, tuple[dict, dict]] = {}
        self._own: dict[int, set[str]] = {}

    def own_addresses(self, owner_ids: Iterable[int]) -> set[str]:
        missing = set(owner_ids) - set(self._own)
        for owner_id in missing:
            self._own[owner_id] = _own_addresses([owner_id])
        return set().union(*(self._own[owner_id] for owner_id in set(owner_ids)))

    def lookup(self, owner_id: int, _addresses) -> tuple[dict, dict]:
        if owner_id not in self._books:
            self._books[owner_id] = address_book(owner_id)
        return self._books[owner_id]


class _Queries:
    """The addresses of this batch only, asked for (a few new messages: no whole book read)."""

    @staticmethod
    def own_addresses(owner_ids: Iterable[int]) -> set[str]:
        return _own_addresses(owner_ids)

    @staticmethod
    def lookup(owner_id: int, addresses) -> tuple[dict, dict]:
        return records_by_address(owner_id, addresses), companies_by_domain(owner_id, {domain_of(a) for a in addresses})


def _match_rows(rows: list[dict], books: _AddressBooks | _Queries = _Queries) -> list[NewLink]:
    """Address and domain matches of these message rows (one query each per owner, or none when
    `books` holds the owners' address books)."""
    by_owner: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        if not row["address_defects"]:
            by_owner[_owner(row)].append(row)
    own = books.own_addresses(by_owner)
    links: list[NewLink] = []
    for owner_id, owner_rows in by_owner.items():
        parties = {row["id"]: [(h, a) for h, a in _parties(row) if a not in own] for row in owner_rows}
        addresses = {a for found in parties.values() for _h, a in found}
        if not addresses:
            continue
        holders, companies = books.lookup(owner_id, addresses)
        for row in owner_rows:
            made: set[tuple[str, int]] = set()
            for header, address in parties[row["id"]]:
                records = holders.get(address, [])
                confidence = SURE if len(records) == 1 else AMBIGUOUS_ADDRESS
                for kind, record_id in records:
                    if (kind, record_id) not in made:
                        made.add((kind, record_id))
                        links.append(_link(row, owner_id, kind, record_id, _ADDRESS,
                                           f"{header}: {address}", confidence))
            for header, address in parties[row["id"]]:
                domain = domain_of(address)
                at_domain = companies.get(domain, set())
                confidence = DOMAIN_ONE if len(at_domain) == 1 else DOMAIN_MANY
                for company_id in sorted(at_domain):
                    if (_COMPANY, company_id) not in made:
                        made.add((_COMPANY, company_id))
                        links.append(_link(row, owner_id, _COMPANY, company_id,
                                           _DOMAIN, f"{header}: @{domain}", confidence))
    return links


def _thread_links(rows: list[dict]) -> list[NewLink]:
    """Links the conversations of these rows already have, for the rows that lack them (a link
    the row already has in any state, dismissed included, is not made again); a record linked
    several times in the conversation takes the oldest link's owner and confidence. The rule
    crm_thread_links applies inside PostgreSQL; this one runs elsewhere (SQLite)."""
    threads = {row["thread_id"] for row in rows if row["thread_id"] and not row["address_defects"]}
    if not threads:
        return []
    parents: dict[int, dict[tuple[str, int], tuple[int, int]]] = defaultdict(dict)
    have: set[tuple[int, str, int]] = set()
    for message_id, thread_id, owner_id, contact, company, lead, confidence, state in (
            MessageLink.objects.filter(message__thread_id__in=threads).order_by("id")
            .values_list("message_id", "message__thread_id", "owner_id", "contact_id", "company_id", "lead_id",
                         "confidence", "state")):
        key = _key(contact, company, lead)
        have.add((message_id, *key))
        if state == _LINKED:
            parents[thread_id].setdefault(key, (owner_id, confidence))
    links = []
    for row in rows:
        if row["address_defects"] or not row["thread_id"]:
            continue
        for key, (owner_id, confidence) in parents.get(row["thread_id"], {}).items():
            if (row["id"], *key) not in have:
                links.append(_link(row, owner_id, key[0], key[1], _THREAD, "", confidence))
    return links


def _key(contact, company, lead) -> tuple[str, int]:
    if contact:
        return _CONTACT, contact
    if company:
        return _COMPANY, company
    return _LEAD, lead


def _placed(messages):
    """Rows that are somewhere (a folder, or local): a detached row links nothing until it lands."""
    return messages.filter(Q(folder__isnull=False) | Q(account__isnull=True))


def _linked_ids(links: list) -> set[int]:
    """Messages now linked, of the links made (NewLink, or crm_thread_links.Made)."""
    return {link.message_id for link in links if link.state == _LINKED}


def links_match(*, message_ids: list[int], keep_sources: bool = True) -> int:
    """Match these messages to their owners' records and store the links (idempotent: a link
    that exists, in any state, is left as it is): address and domain first, then the thread
    links, so that a reply and its parent in one call find each other whatever their order.
    Returns how many links were made."""
    chunks = [list(_placed(Message.objects.filter(pk__in=message_ids[start:start + CHUNK])).values(*_FIELDS))
              for start in range(0, len(message_ids), CHUNK)]
    made: list = []
    with transaction.atomic():
        for rows in chunks:
            made += _store(_match_rows(rows))
        for rows in chunks:
            made += _store_thread_links(thread_candidates(rows), rows)
    if keep_sources and _linked_ids(made):
        _keep_sources(sorted(_linked_ids(made)))
    return len(made)


def _store(links: list[NewLink]) -> list[NewLink]:
    _insert(links)
    return links


def thread_candidates(rows: list[dict]) -> list[int]:
    """The rows that may inherit their conversation's links: in one, with clean address headers."""
    return [row["id"] for row in rows if row["thread_id"] and not row["address_defects"]]


def _store_thread_links(message_ids: list[int], rows: list[dict] | None = None) -> list:
    """The thread links of these candidates, stored: inside PostgreSQL in one statement, else in
    Python over their rows (read here when the caller has not)."""
    if connection.vendor == "postgresql":
        return thread_links_store(message_ids)
    if rows is None:
        rows = list(Message.objects.filter(pk__in=message_ids).values(*_THREAD_FIELDS))
    return _store(_thread_links(rows))


def _keep_sources(message_ids: list[int]) -> None:
    from messages_app.services.message_body import message_sources_keep

    message_sources_keep(message_ids=message_ids)


_THREAD_FIELDS = ("id", "thread_id", "address_defects", "date")


def _pages(messages, fields):
    """Rows of `messages` a chunk at a time, by primary key (an index walk, no big IN list)."""
    last = 0
    while True:
        rows = list(messages.filter(pk__gt=last).order_by("pk").values(*fields)[:CHUNK])
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def links_backfill(*, account_ids: Iterable[int] | None = None, owner_ids: Iterable[int] | None = None,
                   keep_sources: bool = True, on_progress=lambda done, total: None) -> tuple[int, int]:
    """The one-off pass over mail already stored: every message matched by address and domain,
    then every message in a conversation given its conversation's links (two passes, so the
    order the rows were stored in does not matter). The owners' address books are read once and
    held; the second pass takes its messages from the first (their ids), not from the table again.
    Returns (messages seen, links made)."""
    messages = _placed(Message.objects.all())
    if account_ids is not None:
        messages = messages.filter(account_id__in=list(account_ids))
    if owner_ids is not None:
        owners = list(owner_ids)
        messages = messages.filter(Q(account__owner_id__in=owners) | Q(local_owner_id__in=owners))
    total = messages.count()
    books = _AddressBooks()
    threaded = array("q")  # the thread phase's candidates, kept from the first pass (8 bytes each)
    made = done = 0
    for pages in _batches(_pages(messages, _FIELDS)):
        with transaction.atomic():
            links = [link for rows in pages for link in _store(_match_rows(rows, books))]
        for rows in pages:
            threaded.extend(thread_candidates(rows))
        made += _links_done(links, keep_sources)
        done += sum(len(rows) for rows in pages)
        on_progress(done, total)
    _refresh_link_statistics()
    for start in range(0, len(threaded), TRANSACTION_ROWS):
        group = threaded[start:start + TRANSACTION_ROWS]
        with transaction.atomic():
            links = [link for first in range(0, len(group), CHUNK)
                     for link in _store_thread_links(group[first:first + CHUNK].tolist())]
        made += _links_done(links, keep_sources)
        on_progress(done, total)
    return total, made


def _refresh_link_statistics() -> None:
    """PostgreSQL: the first pass may have written most of the links table just now (all of it on
    a new installation, whose table has no statistics yet); the thread statement is planned
    against the table as it is, not as it was."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(MessageLink._meta.db_table)}")


def _links_done(links: list, keep_sources: bool) -> int:
    if keep_sources and _linked_ids(links):
        _keep_sources(sorted(_linked_ids(links)))
    return len(links)


TRANSACTION_ROWS = 10_000


def _batches(pages):
    """Pages grouped TRANSACTION_ROWS messages at a time: one commit per group, not per page
    (the links of a group are held by one transaction for about a second)."""
    group: list[list[dict]] = []
    for rows in pages:
        group.append(rows)
        if sum(len(r) for r in group) >= TRANSACTION_ROWS:
            yield group
            group = []
    if group:
        yield group


def link_add(*, user, message: Message, kind: str, record_id: int, reason: str = LinkReason.MANUAL,
             detail: str = "") -> MessageLink:
    """Link one of the user's own messages to one of their records (manual, or import's
    --link-to): a link that was pending or dismissed is linked again."""
    if not own_messages(user).filter(pk=message.pk).exists():
        raise Http404
    record = record_or_404(user, kind, record_id)
    link, _created = MessageLink.objects.update_or_create(
        message=message, **{kind: record},
        defaults={"owner": user, "reason": reason, "detail": detail[:400], "confidence": SURE,
                  "state": LinkState.LINKED, "created_by": user, "message_date": message.date})
    with contextlib.suppress(MailError):  # the server is away: kept at the next link pass or open; the link stands
        _keep_sources([message.pk])
    return link


RULE_DETAIL = "filter: "  # a link made by a filter: "filter: Clienti" (templatetags link_detail)


def links_by_rule(*, rule_of: dict[int, str]) -> int:
    """The filters' "link to the sender's CRM record" (services/rules.py): each message, keyed to
    the name of the rule that asked, is linked (sure: the user's own rule says so) to every record
    of its owner holding its sender's address, or else to the companies at the sender's domain
    (never free-mail). The reason is "manual" (the contract's five reasons: the user's own rule
    decided it, as a click would), the detail "filter: <the rule's name>". A pending match is
    confirmed as the rule's; a link the user removed stays removed; one already linked is left as
    it is. A sender
    whose header parsed with defects, or one of the owner's own addresses, links nothing.
    Idempotent. Returns how many links were made or confirmed."""
    rows = list(Message.objects.filter(pk__in=list(rule_of)).values(
        "id", "account_id", "local_owner_id", "from_addr", "address_defects", "date", "account__owner_id"))
    by_owner: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        if not row["address_defects"] and normalise(row["from_addr"]):
            by_owner[_owner(row)].append(row)
    own = _own_addresses(by_owner)
    dates = {row["id"]: row["date"] for row in rows}
    targets: list[tuple[int, int, str, int]] = []  # message, owner, kind, record
    for owner_id, owner_rows in by_owner.items():
        senders = {normalise(row["from_addr"]) for row in owner_rows} - own
        if not senders:
            continue
        holders = records_by_address(owner_id, senders)
        companies = companies_by_domain(owner_id, {domain_of(a) for a in senders if a not in holders})
        for row in owner_rows:
            sender = normalise(row["from_addr"])
            if sender in own:
                continue
            records = holders.get(sender) or [(_COMPANY, c) for c in sorted(companies.get(domain_of(sender), ()))]
            targets += [(row["id"], owner_id, kind, record_id) for kind, record_id in records]
    made = []
    with transaction.atomic():
        for message_id, owner_id, kind, record_id in targets:
            detail = f"{RULE_DETAIL}{rule_of[message_id]}"[:400]
            link = MessageLink.objects.filter(message_id=message_id, **{f"{kind}_id": record_id}).first()
            if link is None:
                MessageLink.objects.create(message_id=message_id, message_date=dates[message_id], owner_id=owner_id,
                                           reason=LinkReason.MANUAL,
                                           detail=detail, confidence=SURE, state=LinkState.LINKED,
                                           **{f"{kind}_id": record_id})
            elif link.state == LinkState.PENDING:
                link.reason, link.detail, link.confidence, link.state = (LinkReason.MANUAL, detail, SURE,
                                                                         LinkState.LINKED)
                link.save(update_fields=["reason", "detail", "confidence", "state"])
            else:
                continue
            made.append(message_id)
    if made:
        _keep_sources(sorted(set(made)))
    return len(made)


def links_of_user(user):
    """Links on the user's records (owner is the records' owner)."""
    return MessageLink.objects.filter(owner=user)


def link_set_state(*, user, link_id: int, state: str) -> MessageLink:
    """Remove (dismiss) a link, or confirm / dismiss a pending one ("Da collegare")."""
    link = links_of_user(user).filter(pk=link_id).first()
    if link is None:
        raise Http404
    link.state = state
    if state == LinkState.LINKED:
        link.confidence = max(link.confidence, SURE)
        link.created_by = user
    link.save(update_fields=["state", "confidence", "created_by"])
    if state == LinkState.LINKED:
        with contextlib.suppress(MailError):
            _keep_sources([link.message_id])
    return link


def link_dates_follow(*, message_ids: list[int]) -> int:
    """Bring the links' copy of their message's date (MessageLink.message_date, the timeline's
    order) back to the message's; for code that changes a stored message's date (none does
    today: a row's date is set when it is stored). Returns how many links changed."""
    date = Subquery(Message.objects.filter(pk=OuterRef("message_id")).values("date")[:1])
    changed = 0
    for start in range(0, len(message_ids), CHUNK):
        changed += (MessageLink.objects.filter(message_id__in=message_ids[start:start + CHUNK])
                    .exclude(message_date=date).update(message_date=date))
    return changed


def linked_message_ids(message_ids: list[int]) -> QuerySet:
    """The referrer of sync/identity.py: messages a CRM record still holds are kept as local mail.
    A queryset, which identity.referenced asks together with the other referrers'."""
    return MessageLink.objects.filter(message_id__in=message_ids, state=LinkState.LINKED).values_list("message_id",
                                                                                                     flat=True)


identity.register_referrer(linked_message_ids)


RECENT_ON_NEW_ADDRESS = 500


def _link_mail_of_new_addresses(sender, *, record, addresses, **kwargs) -> None:
    """A record got new addresses (created from a sender, say): link the owner's recent mail from
    them at once; older mail is the backfill's (crm_links backfill)."""
    from django.db.models.functions import Lower

    ids = list(Message.objects.annotate(sender=Lower("from_addr"))
               .filter(own_message_rule(record.owner), sender__in=list(addresses))
               .order_by("-date").values_list("id", flat=True)[:RECENT_ON_NEW_ADDRESS])
    with contextlib.suppress(MailError):  # the server is away: the links stand, sources come later
        links_match(message_ids=ids)


record_addresses_added.connect(_link_mail_of_new_addresses, dispatch_uid="crm-links-new-addresses")
