from django.conf import settings
from django.db import models

from messages_app.models.message import Message
from messages_app.models.thread import Thread


class MessageShare(models.Model):
    """A conversation shared by its owner with one colleague (Condivisa): the colleague sees every
    message of the thread the owner sees, later ones too, read-only (visibility.shared_rule),
    until the sharer revokes it (the row goes)."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="shares")
    message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL, related_name="+")  # shared from
    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "recipient"], name="unique_share_thread_recipient")]
        indexes = [models.Index(fields=["recipient", "thread"], name="share_recipient_thread")]


class ShareComment(models.Model):
    """A comment on a shared conversation, by its sharer or one of the colleagues it is shared with."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="share_comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
