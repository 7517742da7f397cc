from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Preset(models.TextChoices):
    CUSTOM = "custom", _("Custom")
    GMAIL = "gmail", "Gmail"
    OFFICE365 = "office365", "Office365"
    YAHOO = "yahoo", "Yahoo"
    ARUBA = "aruba", "Aruba"
    PEC_ARUBA = "pec_aruba", "PEC Aruba"
    PEC_LEGALMAIL = "pec_legalmail", "PEC Legalmail"


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", _("None")


class AuthMethod(models.TextChoices):
    PASSWORD = "password", _("Password")
    OAUTH2 = "oauth2", "OAuth2"


class FolderRole(models.TextChoices):
    INBOX = "inbox", _("Inbox")
    DRAFTS = "drafts", _("Drafts")
    SENT = "sent", _("Sent")
    SPAM = "spam", _("Spam")
    TRASH = "trash", _("Trash")


class SpecialFolder(models.TextChoices):
    SHARED = "shared", _("Shared")
    IMPORTED = "imported", _("Imported")
    FLAGGED = "flagged", _("Flagged")
    SCHEDULED = "scheduled", _("Scheduled")


class PendingActionKind(models.TextChoices):
    SET_FLAGS = "set_flags", _("Set flags")
    MOVE = "move", _("Move")
    DELETE = "delete", _("Delete")


class OutboxState(models.TextChoices):
    SCHEDULED = "scheduled", pgettext_lazy("outbox state", "Scheduled")
    SENDING = "sending", pgettext_lazy("outbox state", "Sending")
    SENT = "sent", pgettext_lazy("outbox state", "Sent")
    FAILED = "failed", pgettext_lazy("outbox state", "Failed")
    UNCERTAIN = "uncertain", pgettext_lazy("outbox state", "Uncertain")
    CANCELLED = "cancelled", pgettext_lazy("outbox state", "Cancelled")


class DeliveryStatus(models.TextChoices):
    ACCEPTED = "accepted", pgettext_lazy("delivery status", "Accepted")
    DELIVERED = "delivered", pgettext_lazy("delivery status", "Delivered")
    NOT_DELIVERED = "not_delivered", pgettext_lazy("delivery status", "Not delivered")
    FAILED = "failed", pgettext_lazy("delivery status", "Failed")


class DeliverySource(models.TextChoices):
    SMTP = "smtp", "SMTP"
    DSN = "dsn", "DSN"
    PEC = "pec", "PEC"
