from django.db import models

from messages_app.enums import PendingActionKind
from messages_app.models.account import MailAccount
from messages_app.models.folder import Folder
from messages_app.models.thread import Thread


class Message(models.Model):
    """Metadata of one message in one folder (one row per (folder, UID))."""

    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="messages")
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="messages")
    uid = models.BigIntegerField()
    modseq = models.BigIntegerField(null=True)
    # Gmail's X-GM-MSGID where offered, else Message-ID + content hash: one message in many folders.
    dedup_key = models.CharField(max_length=128, db_index=True)

    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    from_name = models.CharField(max_length=255, blank=True)
    from_addr = models.CharField(max_length=320, blank=True)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    date = models.DateTimeField()
    internal_date = models.DateTimeField(null=True)
    size = models.IntegerField(default=0)
    preview = models.CharField(max_length=300, blank=True)
    list_id = models.CharField(max_length=255, blank=True)
    auto_submitted = models.CharField(max_length=64, blank=True)
    precedence = models.CharField(max_length=32, blank=True)
    has_attachments = models.BooleanField(default=False)

    is_seen = models.BooleanField(default=False)
    is_flagged = models.BooleanField(default=False)
    is_answered = models.BooleanField(default=False)
    is_draft = models.BooleanField(default=False)
    keywords = models.JSONField(default=list)
    # When the user last changed this row through the write path: a sync pass that started
    # earlier must not overwrite it with the server state it read before the change.
    local_change_at = models.DateTimeField(null=True, blank=True)

    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["folder", "uid"], name="unique_message_uid_per_folder"),
        ]
        indexes = [
            models.Index(fields=["folder", "-date", "-id"], name="message_folder_recent"),
            models.Index(fields=["account", "message_id"], name="message_account_msgid"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.folder_id}:{self.uid})"


class MessageBody(models.Model):
    """The parsed body, fetched on first open and cached."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="body")
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    notes = models.JSONField(default=list)  # what could not be parsed, in words
    fetched_at = models.DateTimeField(auto_now_add=True)


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    part_path = models.CharField(max_length=64)
    filename = models.CharField(max_length=255, blank=True)  # display text only, never a path
    content_type = models.CharField(max_length=255)
    size = models.IntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True)
    is_inline = models.BooleanField(default=False)


class PendingAction(models.Model):
    """A local action the server has not confirmed yet (it was down); replayed before each sync.

    While a message has a pending action, the sync does not overwrite its local flags with the
    older server state.
    """

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="pending_actions")
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE)
    uid = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=PendingActionKind.choices)
    payload = models.JSONField(default=dict)
    attempts = models.IntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
