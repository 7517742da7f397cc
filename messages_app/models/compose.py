"""Writing mail: files uploaded for a message being written, and what a queued message must do
once it has left (flag the original, remove its draft)."""

from django.conf import settings
from django.db import models

from messages_app.models.account import MailAccount
from messages_app.models.message import Message
from messages_app.models.outbox import OutgoingMessage


class ComposeUpload(models.Model):
    """A file attached to a message being written (uploaded, or taken from a draft or a forwarded
    message); only its owner can attach it. Removed when the message is queued."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="compose_uploads")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    data = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class OutgoingContext(models.Model):
    """What the compose page knew about a queued message: the message it answers or forwards
    (flagged \\Answered or $Forwarded once sent) and the draft it came from (removed once sent)."""

    class Kind(models.TextChoices):
        NEW = "", "new"
        REPLY = "reply", "reply"
        FORWARD = "forward", "forward"

    message = models.OneToOneField(OutgoingMessage, on_delete=models.CASCADE, primary_key=True,
                                   related_name="compose_context")
    kind = models.CharField(max_length=8, choices=Kind.choices, blank=True)
    original = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    draft_id = models.CharField(max_length=64, blank=True)
    draft_account = models.ForeignKey(MailAccount, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    done = models.BooleanField(default=False)  # the after-send steps ran

    def __str__(self) -> str:
        return f"{self.kind or 'new'} for outbox {self.message_id}"
