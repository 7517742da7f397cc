"""CRM records: companies (Aziende), contacts (Contatti) and leads, each with any number of e-mail
addresses. Enough to link mail to customers, not a full CRM.

Every record has an owner; a record is visible to its owner only (crm.selectors). Addresses are
stored normalised (`crm.addresses.normalise`), with their domain, so that matching mail to records
is one indexed lookup per address or domain.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RecordKind(models.TextChoices):
    CONTACT = "contact", _("Contact")
    COMPANY = "company", pgettext_lazy("crm record", "Company")
    LEAD = "lead", _("Lead")


class Record(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("owner"))
    phones = models.CharField(_("phones"), max_length=255, blank=True)
    address = models.TextField(_("address"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    kind: str = ""

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:
        return reverse("crm:record", args=[self.kind, self.pk])


class Company(Record):
    name = models.CharField(_("name"), max_length=255)
    website = models.CharField(_("website"), max_length=255, blank=True)

    kind = RecordKind.COMPANY

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        indexes = [models.Index(fields=["owner", "name"], name="crm_company_owner_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.name


class Contact(Record):
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts",
                                verbose_name=_("company"))
    role = models.CharField(_("role"), max_length=150, blank=True)

    kind = RecordKind.CONTACT

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["owner", "last_name", "first_name"], name="crm_contact_owner_name")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or str(_("(no name)"))


class Lead(Record):
    name = models.CharField(_("name"), max_length=255)
    company_name = models.CharField(_("company"), max_length=255, blank=True)
    role = models.CharField(_("role"), max_length=150, blank=True)

    kind = RecordKind.LEAD

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [models.Index(fields=["owner", "name"], name="crm_lead_owner_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.name


class EmailAddress(models.Model):
    """One e-mail address of one record (exactly one of the three keys is set)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="emails")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="emails")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="emails")
    address = models.CharField(_("e-mail"), max_length=320)  # normalised: see crm.addresses
    domain = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("e-mail address")
        verbose_name_plural = _("e-mail addresses")
        constraints = [
            models.CheckConstraint(
                condition=(Q(contact__isnull=False, company__isnull=True, lead__isnull=True)
                           | Q(contact__isnull=True, company__isnull=False, lead__isnull=True)
                           | Q(contact__isnull=True, company__isnull=True, lead__isnull=False)),
                name="crm_email_one_record"),
        ]
        indexes = [
            models.Index(fields=["owner", "address"], name="crm_email_owner_address"),
            models.Index(fields=["owner", "domain"], name="crm_email_owner_domain"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def record(self):
        return self.contact or self.company or self.lead
