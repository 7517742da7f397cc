"""POP3 boxes (Impostazioni > POP3): mail downloaded into an IMAP folder of the account."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from messages_app import crypto
from messages_app.enums import Security
from messages_app.models.account import PORT_VALIDATORS, MailAccount


class Pop3Box(models.Model):
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="pop3_boxes")
    host = models.CharField(_("POP3 server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=995, validators=PORT_VALIDATORS)
    security = models.CharField(_("security"), max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(_("username"), max_length=255)
    secret_binding = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    delete_after_download = models.BooleanField(_("delete from the server after download"), default=False)
    folder = models.CharField(_("IMAP folder"), max_length=512, default="INBOX")
    is_active = models.BooleanField(_("active"), default=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_id", "id"]
        verbose_name = _("POP3 box")

    def __str__(self) -> str:
        return f"{self.username}@{self.host}"

    def set_password(self, plaintext: str) -> None:
        self.password_encrypted = crypto.encrypt(plaintext, binding=f"{self.secret_binding}:pop3") if plaintext else ""

    def get_password(self) -> str:
        if not self.password_encrypted:
            return ""
        return crypto.decrypt(self.password_encrypted, binding=f"{self.secret_binding}:pop3")


class Pop3Seen(models.Model):
    """A message of the box already in the IMAP folder (by UIDL), so it is never downloaded twice.
    Written `appending` with the content's hash before the APPEND, `done` after: a crash in
    between is settled by looking for the message in the folder before appending again."""

    class State(models.TextChoices):
        APPENDING = "appending"
        DONE = "done"

    box = models.ForeignKey(Pop3Box, on_delete=models.CASCADE, related_name="seen")
    uidl = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.APPENDING)
    message_id = models.CharField(max_length=998, blank=True)
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["box", "uidl"], name="one_row_per_pop3_uidl")]
