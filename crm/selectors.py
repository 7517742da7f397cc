"""Reads of CRM records. A record is visible to its owner only: every page, command and link
goes through `records_of` (another user's record does not exist for them: 404)."""

from django.db.models import Q, QuerySet
from django.http import Http404

from crm.addresses import domain_of, is_free_mail, normalise
from crm.models import Company, Contact, EmailAddress, Lead, RecordKind

MODELS = {RecordKind.CONTACT: Contact, RecordKind.COMPANY: Company, RecordKind.LEAD: Lead}
SEARCH_LIMIT = 20


def record_model(kind: str):
    try:
        return MODELS[RecordKind(kind)]
    except ValueError:
        raise Http404 from None


def records_of(user, kind: str) -> QuerySet:
    return record_model(kind).objects.filter(owner=user)


def record_or_404(user, kind: str, pk) -> Company | Contact | Lead:
    record = records_of(user, kind).filter(pk=pk).first()
    if record is None:
        raise Http404
    return record


def contacts_by_email(user, addresses) -> dict[str, list[Contact]]:
    """The user's contacts for each of these addresses (normalised), in one query: for the
    composer's autocomplete and anybody asking "who is this?"."""
    wanted = {normalise(a) for a in addresses} - {""}
    found: dict[str, list[Contact]] = {}
    for email in (EmailAddress.objects.filter(owner=user, address__in=wanted, contact__isnull=False)
                  .select_related("contact")):
        found.setdefault(email.address, []).append(email.contact)
    return found


def records_by_address(owner_id: int, addresses) -> dict[str, list[tuple[str, int]]]:
    """(kind, id) of every record of the owner holding each normalised address: one query."""
    found: dict[str, list[tuple[str, int]]] = {}
    wanted = list(set(addresses))
    for start in range(0, len(wanted), 900):
        for address, contact, company, lead in (EmailAddress.objects.filter(
                owner_id=owner_id, address__in=wanted[start:start + 900])
                .values_list("address", "contact_id", "company_id", "lead_id")):
            found.setdefault(address, []).append(_kind_id(contact, company, lead))
    return found


def companies_by_domain(owner_id: int, domains) -> dict[str, set[int]]:
    """Companies of the owner with an address at each domain (free-mail domains never match)."""
    wanted = [d for d in set(domains) if d and not is_free_mail(d)]
    found: dict[str, set[int]] = {}
    for start in range(0, len(wanted), 900):
        for domain, company in (EmailAddress.objects.filter(owner_id=owner_id, company__isnull=False,
                                                            domain__in=wanted[start:start + 900])
                                .values_list("domain", "company_id")):
            found.setdefault(domain, set()).add(company)
    return found


def address_book(owner_id: int) -> tuple[dict[str, list[tuple[str, int]]], dict[str, set[int]]]:
    """Every address of the owner at once, as records_by_address and companies_by_domain would
    answer for all of them (one query): for a pass over many messages, which then asks nothing
    per batch."""
    holders: dict[str, list[tuple[str, int]]] = {}
    companies: dict[str, set[int]] = {}
    for address, domain, contact, company, lead in (EmailAddress.objects.filter(owner_id=owner_id)
                                                    .values_list("address", "domain", "contact_id", "company_id",
                                                                 "lead_id")):
        holders.setdefault(address, []).append(_kind_id(contact, company, lead))
        if company and domain and not is_free_mail(domain):
            companies.setdefault(domain, set()).add(company)
    return holders, companies


def _kind_id(contact, company, lead) -> tuple[str, int]:
    if contact:
        return RecordKind.CONTACT.value, contact
    if company:
        return RecordKind.COMPANY.value, company
    return RecordKind.LEAD.value, lead


def records_search(user, query: str, *, limit: int = SEARCH_LIMIT) -> list:
    """Records of the user whose name or address contains `query`: contacts, companies, leads."""
    query = (query or "").strip()
    if not query:
        return []
    by_email = Q(emails__address__icontains=query)
    contacts = Contact.objects.filter(Q(owner=user) & (Q(first_name__icontains=query) | Q(last_name__icontains=query)
                                                       | by_email)).distinct()[:limit]
    companies = Company.objects.filter(Q(owner=user) & (Q(name__icontains=query) | by_email)).distinct()[:limit]
    leads = Lead.objects.filter(Q(owner=user) & (Q(name__icontains=query) | by_email)).distinct()[:limit]
    return [*contacts, *companies, *leads][:limit]


def contact_addresses_search(user, query: str, *, limit: int = SEARCH_LIMIT) -> list[tuple[str, str]]:
    """(name, address) of the user's own contacts whose name or address contains every word of
    `query` ("mario ross" finds Mario Rossi), by name: for the composer's address suggestions."""
    words = (query or "").split()[:5]
    if not words:
        return []
    emails = EmailAddress.objects.filter(owner=user, contact__isnull=False)
    for word in words:
        emails = emails.filter(Q(address__icontains=word) | Q(contact__first_name__icontains=word)
                               | Q(contact__last_name__icontains=word))
    rows = (emails.order_by("contact__last_name", "contact__first_name", "address")
            .values_list("contact__first_name", "contact__last_name", "address")[:limit])
    return [(" ".join(part for part in (first, last) if part), address) for first, last, address in rows]


def record_label(kind: str, record) -> str:
    return f"{RecordKind(kind).label}: {record.display_name}"


def address_domain(address: str) -> str:
    return domain_of(normalise(address))
