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
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import Http404

from crm.addresses import domain_of, normalise
from crm.models import RecordKind
from crm.selectors import companies_by_domain, record_or_404, records_by_address
from crm.signals import record_addresses_added
from messages_app.enums import FolderRole
from messages_app.exceptions import MailError
from messages_app.models import LinkReason, LinkState, MailAccount, Message, MessageLink
from messages_app.selectors import own_messages
from messages_app.selectors.visibility import own_message_rule
from messages_app.sync import identity

SURE = 100
AMBIGUOUS_ADDRESS = 60
DOMAIN_ONE = 80
DOMAIN_MANY = 50
CHUNK = 2000
OUTGOING_ROLES = (FolderRole.SENT, FolderRole.DRAFTS)

_FIELDS = ("id", "account_id", "local_owner_id", "folder_id", "thread_id", "from_addr", "to", "cc",
           "address_defects", "folder__role", "account__owner_id")


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


def _link(message_id: int, owner_id: int, kind: str, record_id: int, reason: str, detail: str,
          confidence: int) -> MessageLink:
    state = LinkState.LINKED if confidence >= settings.CRM_LINK_THRESHOLD else LinkState.PENDING
    return MessageLink(message_id=message_id, owner_id=owner_id, reason=reason, detail=detail[:400],
                       confidence=confidence, state=state, **{f"{kind}_id": record_id})


def _own_addresses(owner_ids: Iterable[int]) -> set[str]:
    """The owners' own account addresses: mail is not "with" yourself."""
    return {normalise(email) for email in MailAccount.objects.filter(owner_id__in=set(owner_ids))
            .values_list("email", flat=True)}


def _match_rows(rows: list[dict]) -> list[MessageLink]:
    """Address and domain matches of these message rows (one query each per owner)."""
    by_owner: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        if not row["address_defects"]:
            by_owner[_owner(row)].append(row)
    own = _own_addresses(by_owner)
    links: list[MessageLink] = []
    for owner_id, owner_rows in by_owner.items():
        parties = {row["id"]: [(h, a) for h, a in _parties(row) if a not in own] for row in owner_rows}
        addresses = {a for found in parties.values() for _h, a in found}
        if not addresses:
            continue
        holders = records_by_address(owner_id, addresses)
        companies = companies_by_domain(owner_id, {domain_of(a) for a in addresses})
        for row in owner_rows:
            made: set[tuple[str, int]] = set()
            for header, address in parties[row["id"]]:
                records = holders.get(address, [])
                confidence = SURE if len(records) == 1 else AMBIGUOUS_ADDRESS
                for kind, record_id in records:
                    if (kind, record_id) not in made:
                        made.add((kind, record_id))
                        links.append(_link(row["id"], owner_id, kind, record_id, LinkReason.ADDRESS,
                                           f"{header}: {address}", confidence))
            for header, address in parties[row["id"]]:
                domain = domain_of(address)
                at_domain = companies.get(domain, set())
                confidence = DOMAIN_ONE if len(at_domain) == 1 else DOMAIN_MANY
                for company_id in sorted(at_domain):
                    if (RecordKind.COMPANY.value, company_id) not in made:
                        made.add((RecordKind.COMPANY.value, company_id))
                        links.append(_link(row["id"], owner_id, RecordKind.COMPANY.value, company_id,
                                           LinkReason.DOMAIN, f"{header}: @{domain}", confidence))
    return links


def _thread_links(rows: list[dict]) -> list[MessageLink]:
    """Links the conversations of these rows already have, for the rows that lack them (a link
    the row already has in any state, dismissed included, is not made again)."""
    threads = {row["thread_id"] for row in rows if row["thread_id"] and not row["address_defects"]}
    if not threads:
        return []
    parents: dict[int, dict[tuple[str, int], tuple[int, int]]] = defaultdict(dict)
    have: set[tuple[int, str, int]] = set()
    for message_id, thread_id, owner_id, contact, company, lead, confidence, state in (
            MessageLink.objects.filter(message__thread_id__in=threads)
            .values_list("message_id", "message__thread_id", "owner_id", "contact_id", "company_id", "lead_id",
                         "confidence", "state")):
        key = _key(contact, company, lead)
        have.add((message_id, *key))
        if state == LinkState.LINKED:
            parents[thread_id].setdefault(key, (owner_id, confidence))
    links = []
    for row in rows:
        if row["address_defects"] or not row["thread_id"]:
            continue
        for key, (owner_id, confidence) in parents.get(row["thread_id"], {}).items():
            if (row["id"], *key) not in have:
                links.append(_link(row["id"], owner_id, key[0], key[1], LinkReason.THREAD,
                                   "", confidence))
    return links


def _key(contact, company, lead) -> tuple[str, int]:
    if contact:
        return RecordKind.CONTACT.value, contact
    if company:
        return RecordKind.COMPANY.value, company
    return RecordKind.LEAD.value, lead


def _rows(message_ids: list[int]) -> list[dict]:
    return list(Message.objects.filter(pk__in=message_ids).filter(Q(folder__isnull=False) | Q(account__isnull=True))
                .order_by("date", "id").values(*_FIELDS))


def links_match(*, message_ids: list[int], keep_sources: bool = True) -> int:
    """Match these messages to their owners' records and store the links (idempotent: a link
    that exists, in any state, is left as it is). Returns how many links were made."""
    made = 0
    linked_ids: set[int] = set()
    for start in range(0, len(message_ids), CHUNK):
        rows = _rows(message_ids[start:start + CHUNK])
        if not rows:
            continue
        with transaction.atomic():
            links = _match_rows(rows)
            MessageLink.objects.bulk_create(links, ignore_conflicts=True, batch_size=500)
            thread_links = _thread_links(rows)
            MessageLink.objects.bulk_create(thread_links, ignore_conflicts=True, batch_size=500)
        made += len(links) + len(thread_links)
        linked_ids |= {link.message_id for link in [*links, *thread_links] if link.state == LinkState.LINKED}
    if keep_sources and linked_ids:
        _keep_sources(sorted(linked_ids))
    return made


def _keep_sources(message_ids: list[int]) -> None:
    from messages_app.services.message_body import message_sources_keep

    message_sources_keep(message_ids=message_ids)


def links_backfill(*, account_ids: Iterable[int] | None = None, owner_ids: Iterable[int] | None = None,
                   keep_sources: bool = True, on_progress=lambda done, total: None) -> tuple[int, int]:
    """The one-off pass over mail already stored (oldest first, so replies find their thread's
    links). Returns (messages seen, links made)."""
    messages = Message.objects.filter(Q(folder__isnull=False) | Q(account__isnull=True))
    if account_ids is not None:
        messages = messages.filter(account_id__in=list(account_ids))
    if owner_ids is not None:
        owners = list(owner_ids)
        messages = messages.filter(Q(account__owner_id__in=owners) | Q(local_owner_id__in=owners))
    ids = list(messages.order_by("date", "id").values_list("id", flat=True))
    made = 0
    for start in range(0, len(ids), CHUNK):
        made += links_match(message_ids=ids[start:start + CHUNK], keep_sources=keep_sources)
        on_progress(min(start + CHUNK, len(ids)), len(ids))
    return len(ids), made


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
                  "state": LinkState.LINKED, "created_by": user})
    with contextlib.suppress(MailError):  # the server is away: kept at the next link pass or open; the link stands
        _keep_sources([message.pk])
    return link


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


def linked_message_ids(message_ids: list[int]) -> set[int]:
    """The referrer of sync/identity.py: messages a CRM record still holds are kept as local mail."""
    return set(MessageLink.objects.filter(message_id__in=message_ids, state=LinkState.LINKED)
               .values_list("message_id", flat=True))


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
