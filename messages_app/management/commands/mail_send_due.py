"""mail_send_due: send the scheduled messages whose time has come (what the beat poll does)."""

from messages_app.management.base import MailCommand
from messages_app.services.outbox import outbox_send_due


class Command(MailCommand):
    help = "Send scheduled messages whose time has come, after reconciling interrupted sends."

    def handle(self, *args, **options):
        result = outbox_send_due()
        self.stdout.write(f"sent {result.sent}, retry later {result.retried}, failed {result.failed}, "
                          f"found in Sent {result.reconciled_sent}, uncertain {result.uncertain}")
