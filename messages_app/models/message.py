from django.conf import settings
from django.db import models
from django.db.models import Q

from messages_app.enums import PendingActionKind
from messages_app.models.account import MailAccount
from messages_app.models.folder import Folder
from messages_app.models.thread import Thread


class Message(models.Model):
    """One message, with a row that outlives its place on the server.

    Three states, told apart by the two foreign keys:
    - synced: `account` and `folder` set, `uid` its UID there (one row per (folder, UID));
    - detached: `account` set, `folder` and `uid` null: the server no longer has it where we saw it.
      A pass that finds it elsewhere (moved by another client, back after a UIDVALIDITY reset)
      re-homes the same row; the end of a full pass deletes it, or makes it local when anything
      refers to it. Detached rows are in no list.
    - local: `account` null, owned by `local_owner`: mail that lives only here (Importata).
    """

    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    account = models.ForeignKey(MailAccount, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="messages")
    local_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="local_messages")
    uid = models.BigIntegerField(null=True, blank=True)
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
    # Read by filters, out-of-office and PEC: stored now so that no resync is ever needed for them.
    reply_to = models.JSONField(default=list)
    sender_name = models.CharField(max_length=255, blank=True)
    sender_addr = models.CharField(max_length=320, blank=True)
    return_path = models.CharField(max_length=320, blank=True)
    delivered_to = models.CharField(max_length=320, blank=True)
    x_auto_response_suppress = models.CharField(max_length=255, blank=True)
    x_autoreply = models.CharField(max_length=64, blank=True)
    list_unsubscribe = models.CharField(max_length=2000, blank=True)
    list_unsubscribe_post = models.CharField(max_length=255, blank=True)
    x_spam_flag = models.CharField(max_length=64, blank=True)
    importance = models.CharField(max_length=32, blank=True)
    # PEC (certified mail, see PEC.md): the receipt type, transport kind and the message it is about.
    x_ricevuta = models.CharField(max_length=64, blank=True)
    x_trasporto = models.CharField(max_length=64, blank=True)
    x_riferimento_message_id = models.CharField(max_length=998, blank=True)
    x_tiporicevuta = models.CharField(max_length=64, blank=True)
    x_verificasicurezza = models.CharField(max_length=64, blank=True)
    # An address header did not parse cleanly: never grant a permission or a CRM link on it.
    address_defects = models.BooleanField(default=False)

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
            models.CheckConstraint(condition=Q(account__isnull=False) | Q(local_owner__isnull=False),
                                   name="message_has_account_or_local_owner"),
            models.CheckConstraint(condition=Q(folder__isnull=True) | Q(uid__isnull=False),
                                   name="message_in_folder_has_uid"),
        ]
        indexes = [
            models.Index(fields=["folder", "-date", "-id"], name="message_folder_recent"),
            models.Index(fields=["account", "message_id"], name="message_account_msgid"),
            models.Index(fields=["local_owner", "-date", "-id"], name="message_local_recent",
                         condition=Q(account__isnull=True)),
            models.Index(fields=["account"], name="message_detached", condition=Q(folder__isnull=True)),
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


class MessageSource(models.Model):
    """The whole RFC 822 message, kept for mail that lives here: local messages, and messages
    something refers to (so that they can become local with every part when the server drops them)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="source")
    raw = models.BinaryField()
    stored_at = models.DateTimeField(auto_now_add=True)


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
