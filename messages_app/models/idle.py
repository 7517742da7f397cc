from django.db import models

from messages_app.models.account import MailAccount


class IdleListener(models.Model):
    """A running `mail_idle` process, seen by the others through its heartbeat, so that the
    accounts are shared evenly among the listeners that are alive."""

    token = models.CharField(max_length=100, primary_key=True)
    name = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()


class ListenerLease(models.Model):
    """Which listener holds IDLE on an account's Inbox, and until when.

    Claimed with a conditional UPDATE (free or lapsed) so exactly one listener wins; the holder
    renews it on every heartbeat, so a killed listener's accounts lapse within a lease and the
    others take them over.
    """

    account = models.OneToOneField(MailAccount, on_delete=models.CASCADE, primary_key=True,
                                   related_name="listener_lease")
    holder = models.CharField(max_length=100, blank=True, db_index=True)
    holder_name = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField(null=True)
