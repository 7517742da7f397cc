"""mail_idle [--account ID ...]: hold IMAP IDLE on this listener's share of the accounts until stopped.

Any number may run: they share the accounts by leases in the database and take over a dead
one's accounts within a lease (MAIL_IDLE_LEASE_SECONDS)."""

import signal
import threading

from django.core.management.base import CommandError

from messages_app.management.base import MailCommand, positive_int
from messages_app.models import MailAccount
from messages_app.services.idle_listener import listeners_serve


class Command(MailCommand):
    help = "Push new mail into the database within seconds, using IMAP IDLE on each Inbox."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=positive_int, action="append", help="only these accounts")

    def handle(self, *args, account=None, **options):
        missing = sorted(set(account or ()) - set(MailAccount.objects.filter(pk__in=account or ())
                                                   .values_list("pk", flat=True)))
        if missing:
            raise CommandError("no mail account with id " + ", ".join(map(str, missing)))
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())

        def report(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        listeners_serve(stop=stop, only=account, report=report)
