"""Writes of CRM records: keyword-only functions named <entity>_<action>."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from crm.addresses import domain_of, normalise
from crm.models import Company, Contact, EmailAddress, RecordKind
from crm.signals import record_addresses_added


def record_emails_set(*, record, addresses) -> list[str]:
    """Replace the record's e-mail addresses with these (normalised, each once). Raises
    ValidationError naming the first address that is not one."""
    clean: list[str] = []
    for raw in addresses:
        if not (raw or "").strip():
            continue
        address = normalise(raw)
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(_("%(address)s is not an e-mail address.") % {"address": raw.strip()}) from None
        if address not in clean:
            clean.append(address)
    key = {RecordKind(record.kind).value: record}
    with transaction.atomic():
        EmailAddress.objects.filter(**key).exclude(address__in=clean).delete()
        have = set(EmailAddress.objects.filter(**key).values_list("address", flat=True))
        added = [a for a in clean if a not in have]
        EmailAddress.objects.bulk_create([EmailAddress(owner_id=record.owner_id, address=a, domain=domain_of(a), **key)
                                          for a in added])
    if added:  # mail already stored from these addresses gets linked (messages_app listens)
        record_addresses_added.send(sender=type(record), record=record, addresses=added)
    return clean


def company_get_or_create(*, owner, name: str) -> Company:
    company = Company.objects.filter(owner=owner, name__iexact=name.strip()).order_by("id").first()
    return company or Company.objects.create(owner=owner, name=name.strip())


def contact_create(*, owner, first_name: str = "", last_name: str = "", emails=(), company_name: str = "",
                   role: str = "", phones: str = "", notes: str = "") -> Contact:
    with transaction.atomic():
        company = company_get_or_create(owner=owner, name=company_name) if company_name.strip() else None
        contact = Contact.objects.create(owner=owner, first_name=first_name.strip(), last_name=last_name.strip(),
                                         company=company, role=role, phones=phones, notes=notes)
        record_emails_set(record=contact, addresses=emails)
    return contact
