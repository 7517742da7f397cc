from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import Company, Contact, Lead
from messages_app.models.message import Message


class LinkReason(models.TextChoices):
    ADDRESS = "address", _("address")
    DOMAIN = "domain", _("domain")
    THREAD = "thread", _("thread")
    MANUAL = "manual", _("manual")
    IMPORT = "import", _("import")


class LinkState(models.TextChoices):
    LINKED = "linked", _("linked")
    PENDING = "pending", _("to link")  # below the threshold: waits in "Da collegare"
    DISMISSED = "dismissed", _("dismissed")  # removed or dismissed by the user: never made again


class MessageLink(models.Model):
    """A message linked to one CRM record (exactly one of contact, company, lead), with why.

    `reason` and `detail` say why it exists ("address" + "from mario@cliente.it"); `confidence`
    (0-100) how sure the match is: below settings.CRM_LINK_THRESHOLD it is made `pending`. A link
    the user removes stays as `dismissed`, so that no later pass makes it again. A linked message
    is kept when the server drops it (sync/identity.py: it becomes a local message in Importata).

    `message_date` is the message's date, copied onto the link so that a record's timeline walks
    the (record, state, date) index newest first and stops after a page, instead of joining and
    sorting every linked message. A message's date is set when its row is stored (sync/store.py,
    services/local_messages.py) and nothing changes it afterwards; code that ever does must call
    services.crm_links.link_dates_follow for those messages.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="crm_links")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=LinkReason.choices)
    detail = models.CharField(max_length=400, blank=True)
    confidence = models.PositiveSmallIntegerField(default=100)
    state = models.CharField(max_length=16, choices=LinkState.choices, default=LinkState.LINKED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    message_date = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(contact__isnull=False, company__isnull=True, lead__isnull=True)
                           | Q(contact__isnull=True, company__isnull=False, lead__isnull=True)
                           | Q(contact__isnull=True, company__isnull=True, lead__isnull=False)),
                name="message_link_one_record"),
            models.UniqueConstraint(fields=["message", "contact"], condition=Q(contact__isnull=False),
                                    name="unique_link_message_contact"),
            models.UniqueConstraint(fields=["message", "company"], condition=Q(company__isnull=False),
                                    name="unique_link_message_company"),
            models.UniqueConstraint(fields=["message", "lead"], condition=Q(lead__isnull=False),
                                    name="unique_link_message_lead"),
        ]
        indexes = [
            # The timeline's order (selectors/crm.py record_timeline): a record's linked mail newest
            # first, ties by message. Partial: a link sits in the one index of its kind of record.
            *(models.Index(fields=[kind, "state", "-message_date", "-message"], name=f"link_{kind}_timeline",
                           condition=Q(**{f"{kind}__isnull": False})) for kind in ("contact", "company", "lead")),
            models.Index(fields=["owner", "state"], name="link_owner_state"),
        ]

    @property
    def record(self):
        return self.contact or self.company or self.lead

    @property
    def kind(self) -> str:
        return "contact" if self.contact_id else "company" if self.company_id else "lead"
