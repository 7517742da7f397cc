"""Filters (Impostazioni > Filtri): an account's rules in order, what they did, and "apply now" jobs.

The rules' logic is pure (messages_app/rules/); these rows store a rule in the JSON shape that
`mail_rules export` prints, so one validator guards the page, the import and the database.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from messages_app.models.account import MailAccount
from messages_app.models.message import Message


class MailRule(models.Model):
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=200)
    match = models.CharField(_("match"), max_length=3, default="all")
    conditions = models.JSONField(default=list)
    actions = models.JSONField(default=list)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["account_id", "position", "id"]

    def __str__(self) -> str:
        return self.name

    def as_dict(self) -> dict:
        return {"name": self.name, "active": self.is_active, "match": self.match,
                "conditions": self.conditions, "actions": self.actions}


class RuleRun(models.Model):
    """The rules ran (or are running) for this new message: written before anything is done on
    the server, marked done after, so a re-run after a crash neither skips nor repeats."""

    class State(models.TextChoices):
        STARTED = "started"
        DONE = "done"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="rule_run")
    state = models.CharField(max_length=8, choices=State.choices, default=State.STARTED)
    matched = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)


class RuleJob(models.Model):
    """One "apply now" over an account's Inbox, run in the background; the page shows its progress."""

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="rule_jobs")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    moved = models.JSONField(default=dict)  # folder name -> messages moved or copied there
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class RuleServerState(models.Model):
    """The account's rules installed on its server as a Sieve script (ManageSieve): the CRM then
    leaves new mail to the server and does not apply them a second time."""

    account = models.OneToOneField(MailAccount, on_delete=models.CASCADE, primary_key=True,
                                   related_name="rule_server_state")
    on_server = models.BooleanField(default=False)
    script_name = models.CharField(max_length=100, default="postino")
    port = models.PositiveIntegerField(default=4190)  # ManageSieve, on the IMAP host
    # Out-of-office answered by the server's Sieve vacation instead of the CRM.
    vacation_on_server = models.BooleanField(default=False)
    installed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
