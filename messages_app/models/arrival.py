from django.db import models

from messages_app.models.account import MailAccount
from messages_app.models.message import Message


class ArrivalMarker(models.Model):
    """A genuinely new message whose follow-up steps (arrival/) are not all done yet.

    Written in the same transaction as the message row, so no new message is ever missed; removed
    when every step is done. Each step records its name in `steps_done` when it finishes, so a
    worker killed mid-way re-runs only what is unfinished. A consumer claims a marker with a
    conditional UPDATE of `claimed_until` (a short lease: a dead consumer's claim lapses).
    """

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="arrival")
    account = models.ForeignKey(MailAccount, null=True, on_delete=models.SET_NULL, related_name="arrivals")
    created_at = models.DateTimeField(auto_now_add=True)
    steps_done = models.JSONField(default=list)
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    # A permanent failure stops the retries and is shown on the sync health page.
    failed_step = models.CharField(max_length=64, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "failed_at"], name="arrival_account_failed")]

    def __str__(self) -> str:
        return f"arrival of message {self.message_id}"
