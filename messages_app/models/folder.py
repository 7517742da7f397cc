from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from messages_app.enums import FolderRole
from messages_app.models.account import MailAccount

COUNTER_FIELDS = ("message_count", "unread_count", "flagged_count")


class Folder(models.Model):
    """One IMAP mailbox of an account, with the sync cursor for it."""

    class RoleSource(models.TextChoices):
        SPECIAL_USE = "special_use", _("server (SPECIAL-USE)")
        NAME = "name", _("folder name")
        USER = "user", _("chosen by the user")

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=512)  # full server path, decoded from modified UTF-7
    delimiter = models.CharField(max_length=4, blank=True)
    flags = models.JSONField(default=list)
    role = models.CharField(max_length=10, choices=FolderRole.choices, blank=True)
    role_source = models.CharField(max_length=12, choices=RoleSource.choices, blank=True)
    is_selectable = models.BooleanField(default=True)
    # What the server's personal NAMESPACE puts in front of every name ("INBOX." on Courier):
    # never shown, as in Thunderbird; `name` stays the key.
    namespace_prefix = models.CharField(max_length=64, blank=True)

    # Sync cursor: moved in the same transaction as the message rows it describes.
    uidvalidity = models.BigIntegerField(null=True)
    last_seen_uid = models.BigIntegerField(default=0)
    uidnext = models.BigIntegerField(default=0)
    highest_modseq = models.BigIntegerField(null=True)
    server_messages = models.IntegerField(default=0)
    server_unseen = models.IntegerField(default=0)
    # Oldest UID fetched so far: the first pass fetches newest first and backfills downwards.
    backfill_below_uid = models.BigIntegerField(null=True)
    # Mail with a UID at or above this is genuinely new (arrival/ runs for it): the UIDNEXT the folder
    # had when the account's first sync began, or when the folder was rebuilt after a UIDVALIDITY
    # reset; 1 for a folder that appeared later. None until the folder is first selected.
    arrival_floor_uid = models.BigIntegerField(null=True, blank=True)

    last_synced = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)

    # What the folder's list shows (PEC receipts excluded), kept by database triggers on the
    # message table (migration 0021) in the statement that changes the rows they count, whoever
    # writes them: the folder column reads these instead of counting messages.
    # mailbox/counters.py recounts them (bulk loads with triggers off, repair).
    message_count = models.IntegerField(default=0, editable=False)
    unread_count = models.IntegerField(default=0, editable=False)
    flagged_count = models.IntegerField(default=0, editable=False)

    class Meta:
        ordering = ["account_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="unique_folder_name_per_account"),
            models.UniqueConstraint(fields=["account", "role"], condition=~Q(role=""),
                                    name="one_folder_per_role_per_account"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        """A full save of a loaded folder leaves the counters alone: the instance's values may be
        older than the triggers' (a sync holds its folder for a whole pass)."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields
                                       if not f.primary_key and f.name not in COUNTER_FIELDS]
        super().save(*args, **kwargs)

    @property
    def path(self) -> str:
        """The name as the user sees it: without the namespace prefix ("INBOX.Sent" -> "Sent")."""
        prefix = self.namespace_prefix
        if prefix and self.name.startswith(prefix) and len(self.name) > len(prefix):
            return self.name[len(prefix):]
        return self.name

    @property
    def path_parts(self) -> list[str]:
        return self.path.split(self.delimiter) if self.delimiter else [self.path]

    @property
    def display_name(self) -> str:
        return self.path_parts[-1]

    @property
    def depth(self) -> int:
        return len(self.path_parts) - 1

    @property
    def parent_name(self) -> str:
        """The parent's server name ("" at the top, the namespace prefix not counting as one)."""
        if len(self.path_parts) > 1:
            return self.name.rsplit(self.delimiter, 1)[0]
        return ""
