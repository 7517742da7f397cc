"""mail_idle [--account ID ...]: hold IMAP IDLE on every account's Inbox until stopped."""

import signal
import threading

from django.core.management.base import CommandError

from messages_app.management.base import MailCommand, positive_int
from messages_app.models import MailAccount
from messages_app.services.idle_listener import run_listeners

RESCAN_SECONDS = 30


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
        listening: dict[int, threading.Thread] = {}
        while not stop.is_set():
            # Accounts added (or passwords fixed) since the last look get a listener too.
            accounts = MailAccount.objects.filter(auth_failed=False)
            if account:
                accounts = accounts.filter(pk__in=account)
            fresh = [pk for pk in accounts.values_list("pk", flat=True)
                     if pk not in listening or not listening[pk].is_alive()]
            if fresh:
                listening.update(zip(fresh, run_listeners(fresh, stop), strict=True))
                self.stdout.write(f"listening on {len(listening)} accounts")
                self.stdout.flush()
            stop.wait(RESCAN_SECONDS)
        for thread in listening.values():
            thread.join(timeout=5)
