from django.db import models
from django.utils.translation import gettext_lazy as _


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
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNCERTAIN = "uncertain", _("Uncertain")
    CANCELLED = "cancelled", _("Cancelled")


class DeliveryStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    DELIVERED = "delivered", _("Delivered")
    NOT_DELIVERED = "not_delivered", _("Not delivered")
    FAILED = "failed", _("Failed")


class DeliverySource(models.TextChoices):
    SMTP = "smtp", "SMTP"
    DSN = "dsn", "DSN"
    PEC = "pec", "PEC"
