from django.conf import settings
from django.db import models


class Thread(models.Model):
    """A conversation of one user, spanning folders and accounts; a summary kept incrementally."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_threads")
    subject = models.CharField(max_length=1000, blank=True)
    # Set only for conversations grouped by subject (no usable references): "reply-prefixed subject".
    subject_key = models.CharField(max_length=64, blank=True, db_index=True)
    last_date = models.DateTimeField(null=True)
    message_count = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["owner", "-last_date"], name="thread_owner_recent")]


class ThreadRef(models.Model):
    """Message-ID -> thread, including ids referenced by messages we have not seen (placeholders).

    A reply that arrives before its parent records the parent's id here; when the parent arrives
    it finds the thread and joins it.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    message_id = models.CharField(max_length=998)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="refs")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "message_id"], name="unique_thread_ref"),
        ]
