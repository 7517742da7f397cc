"""Outgoing mail: one row per message (the outbox state machine) and one per recipient.

States: scheduled -> sending -> sent | failed | uncertain; scheduled -> cancelled (undo, delete).
A row is claimed for sending by a conditional UPDATE (scheduled and due, checked by its rowcount)
that writes a claim token and a lease; a row still `sending` after its lease lapsed belonged to a
worker that died mid-send and is reconciled against the Sent folder before anything else happens
to it (services/outbox.py).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from messages_app.enums import DeliverySource, DeliveryStatus, OutboxState
from messages_app.models.account import MailAccount


class OutgoingMessage(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outgoing_messages",
                              verbose_name=pgettext_lazy("outbox", "user"))
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="outgoing_messages",
                                verbose_name=pgettext_lazy("outbox", "account"))
    state = models.CharField(pgettext_lazy("outbox", "state"), max_length=10, choices=OutboxState.choices,
                             default=OutboxState.SCHEDULED)
    send_at = models.DateTimeField(pgettext_lazy("outbox", "to be sent at"))
    sent_at = models.DateTimeField(pgettext_lazy("outbox", "sent at"), null=True, blank=True)
    message_id = models.CharField("Message-ID", max_length=255)  # the Message-ID header, angle brackets included
    # For lists; the header is in `raw`.
    subject = models.CharField(pgettext_lazy("outbox", "subject"), max_length=998, blank=True)
    envelope_from = models.CharField(pgettext_lazy("outbox", "envelope sender"), max_length=320)
    # RCPT TO: To, Cc and Bcc (Bcc is in no header).
    envelope_to = models.JSONField(pgettext_lazy("outbox", "envelope recipients"), default=list)
    raw = models.BinaryField()  # the RFC 822 bytes exactly as they go out (CRLF)
    error = models.TextField(pgettext_lazy("outbox", "error"), blank=True)  # the last failure, in words
    attempts = models.PositiveIntegerField(pgettext_lazy("outbox", "attempts"), default=0)
    claim_token = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(pgettext_lazy("outbox", "claimed until"), null=True, blank=True)
    created_at = models.DateTimeField(pgettext_lazy("outbox", "created at"), auto_now_add=True)

    class Meta:
        ordering = ["-send_at", "-id"]
        indexes = [models.Index(fields=["state", "send_at"], name="outbox_state_due")]
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outbox")

    def __str__(self) -> str:
        return f"{self.subject} ({self.state})"


class OutgoingRecipient(models.Model):
    """What became of one recipient: from the SMTP reply, later a DSN or a PEC receipt."""

    message = models.ForeignKey(OutgoingMessage, on_delete=models.CASCADE, related_name="recipients",
                                verbose_name=pgettext_lazy("outbox", "outgoing message"))
    address = models.CharField(pgettext_lazy("outbox", "address"), max_length=320)
    status = models.CharField(pgettext_lazy("outbox", "status"), max_length=14, choices=DeliveryStatus.choices)
    at = models.DateTimeField(pgettext_lazy("outbox", "at"))
    source = models.CharField(pgettext_lazy("outbox", "source"), max_length=4, choices=DeliverySource.choices,
                              default=DeliverySource.SMTP)
    smtp_code = models.PositiveSmallIntegerField(pgettext_lazy("outbox", "SMTP code"), null=True, blank=True)
    smtp_enhanced = models.CharField(pgettext_lazy("outbox", "enhanced status code"), max_length=16, blank=True)
    smtp_text = models.TextField(pgettext_lazy("outbox", "reply or report"), blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["message", "address"], name="one_row_per_recipient")]
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")

    def __str__(self) -> str:
        return f"{self.address}: {self.get_status_display()}"


class SharedSenderUse(models.Model):
    """The log of who sent what from a shared sender account (admin site): one row per outgoing
    message sent while the account is a shared sender (by any user, its owner too), written with
    its first sent state. It outlives the outgoing row and the account's shared flag."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="shared_sender_uses",
                                verbose_name=pgettext_lazy("outbox", "shared sender account"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_sender_uses",
                             verbose_name=pgettext_lazy("outbox", "user"))
    outgoing = models.OneToOneField(OutgoingMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="shared_sender_use",
                                    verbose_name=pgettext_lazy("outbox", "outgoing message"))
    sent_at = models.DateTimeField(pgettext_lazy("outbox", "sent at"))
    message_id = models.CharField("Message-ID", max_length=255)
    subject = models.CharField(pgettext_lazy("outbox", "subject"), max_length=998, blank=True)
    recipients = models.JSONField(pgettext_lazy("outbox", "recipients"), default=list)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("shared sender use")
        verbose_name_plural = _("shared sender log")

    def __str__(self) -> str:
        return f"{self.user} via {self.account}: {self.subject}"
