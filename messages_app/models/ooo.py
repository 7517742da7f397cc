"""Out of office (Fuori ufficio): the settings per account and the once-per-interval memory."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from messages_app.models.account import MailAccount


class OutOfOffice(models.Model):
    account = models.OneToOneField(MailAccount, on_delete=models.CASCADE, primary_key=True,
                                   related_name="out_of_office")
    is_active = models.BooleanField(_("active"), default=False)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    body_html = models.TextField(_("message"))
    internal_body_html = models.TextField(_("message for colleagues (same domain)"), blank=True)
    known_only = models.BooleanField(_("reply only to senders known in the CRM"), default=False)
    days = models.PositiveSmallIntegerField(_("at most one reply per sender every (days)"), default=5)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"out of office of account {self.account_id}"


class OutOfOfficeReply(models.Model):
    """One sender answered: a unique row, so restarts and concurrent workers send one reply per
    interval. `last_sent_at` moves forward only by a conditional UPDATE (the interval passed)."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="ooo_replies")
    address = models.CharField(max_length=320)  # lowercased
    last_sent_at = models.DateTimeField()
    replies = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "address"], name="one_ooo_memory_per_sender")]
