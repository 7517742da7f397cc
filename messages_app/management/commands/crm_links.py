"""crm_links backfill [--account ID | --user USERNAME] [--no-sources]: link mail already stored to
CRM records (new mail is linked by the arrival step). Prints the counts."""

import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from messages_app.management.base import MailCommand, positive_int
from messages_app.services.crm_links import links_backfill


class Command(MailCommand):
    help = "Link the mail already stored to CRM records (a one-off backfill)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        backfill = sub.add_parser("backfill")
        which = backfill.add_mutually_exclusive_group()
        which.add_argument("--account", type=positive_int)
        which.add_argument("--user")
        backfill.add_argument("--no-sources", action="store_true",
                              help="do not download the sources of linked messages now")

    def handle(self, *args, action, **o):
        owner_ids = account_ids = None
        if o.get("user"):
            user = get_user_model().objects.filter(username=o["user"]).first()
            if user is None:
                raise CommandError(f"no user named {o['user']!r}")
            owner_ids = [user.pk]
        if o.get("account"):
            account_ids = [o["account"]]
        tty = sys.stderr.isatty()

        def progress(done, total):
            if tty:
                sys.stderr.write(f"\r{done}/{total}")
                sys.stderr.flush()

        started = time.monotonic()
        seen, made = links_backfill(account_ids=account_ids, owner_ids=owner_ids,
                                    keep_sources=not o["no_sources"], on_progress=progress)
        if tty:
            sys.stderr.write("\n")
        elapsed = max(time.monotonic() - started, 1e-6)
        self.stdout.write(f"messages {seen}, links {made}, {seen / elapsed:.0f} messages/s")
