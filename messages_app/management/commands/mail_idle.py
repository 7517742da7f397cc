"""mail_idle [--account ID ...]: hold IMAP IDLE on every account's Inbox until stopped."""

import signal
import threading

from django.core.management.base import BaseCommand

from messages_app.models import MailAccount
from messages_app.sync.idle import run_listeners


class Command(BaseCommand):
    help = "Push new mail into the database within seconds, using IMAP IDLE on each Inbox."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, action="append", help="only these accounts")

    def handle(self, *args, account=None, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        accounts = MailAccount.objects.filter(auth_failed=False)
        if account:
            accounts = accounts.filter(pk__in=account)
        ids = list(accounts.values_list("pk", flat=True))
        self.stdout.write(f"listening on {len(ids)} accounts", ending="\n")
        self.stdout.flush()
        threads = run_listeners(ids, stop)
        while not stop.wait(1.0):
            pass
        for thread in threads:
            thread.join(timeout=5)
