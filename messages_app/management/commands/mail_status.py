"""mail_status [--account ID | --user USERNAME] [--json]: per-folder state of the local copy."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from messages_app.selectors import folder_status_rows, special_folder_rows


class Command(BaseCommand):
    help = "Show each folder's counts, cursor and last error."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--account", type=int)
        target.add_argument("--user")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, account=None, user=None, **options):
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"no user named {user!r}")
        rows = folder_status_rows(account_id=account, user=owner)
        if owner is not None:
            rows += special_folder_rows(owner)
        if options["json"]:
            for row in rows:
                self.stdout.write(json.dumps(row))
            return
        for row in rows:
            self.stdout.write(f"{row['account'] or '-'}\t{row['folder']}\t{row['role'] or '-'}\t"
                              f"{row['messages']} msgs\t{row['unread']} unread\t{row['last_synced'] or 'never'}"
                              f"{'  ERROR: ' + row['error'] if row['error'] else ''}")
