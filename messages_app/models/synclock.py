from django.db import models

from messages_app.models.account import MailAccount


class SyncLock(models.Model):
    """At most one sync per account, across processes and machines.

    Claimed with a conditional UPDATE (free or expired) so exactly one claimant wins; it expires by
    itself if its holder dies, so a killed worker never blocks the account for good.
    """

    account = models.OneToOneField(MailAccount, on_delete=models.CASCADE, primary_key=True, related_name="sync_lock")
    # Who holds it, in words an operator can act on ("host:pid", plus a token), and until when:
    # the holder renews a short lease while it works, so a killed holder's claim lapses quickly.
    holder = models.CharField(max_length=100, blank=True)
    holder_name = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField(null=True)
    # Progress of the running pass, shown as a progress bar during the first sync.
    folders_total = models.IntegerField(default=0)
    folders_done = models.IntegerField(default=0)
    messages_total = models.IntegerField(default=0)
    messages_done = models.IntegerField(default=0)
    # The periodic pass's schedule: when the last pass over all folders ended (accounts on push
    # get one rarely), and the back-off of an account whose server is down (consecutive failed
    # passes; beat queues it again from retry_at), so a dead server does not hold the workers.
    last_full_pass_at = models.DateTimeField(null=True)
    failures = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True)
