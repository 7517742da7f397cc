"""mail_status [--account ID | --user USERNAME] [--json]: per-folder state of the local copy."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from messages_app.management.base import MailCommand, positive_int
from messages_app.models import MailAccount
from messages_app.selectors import folder_status_rows, special_folder_rows


class Command(MailCommand):
    help = "Show each folder's counts, cursor and last error."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--account", type=positive_int)
        target.add_argument("--user")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, account=None, user=None, **options):
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"no user named {user!r}")
        if account is not None and not MailAccount.objects.filter(pk=account).exists():
            raise CommandError(f"no mail account with id {account}")
        rows = folder_status_rows(account_id=account, user=owner)
        if owner is not None:
            rows += special_folder_rows(owner)
        if options["json"]:
            self.write_json_rows(rows)
            return
        for row in rows:
            self.stdout.write(f"{row['account'] or '-'}\t{row['folder']}\t{row['role'] or '-'}\t"
                              f"{row['messages']} msgs\t{row['unread']} unread\t{row['last_synced'] or 'never'}"
                              f"{'  ERROR: ' + row['error'] if row['error'] else ''}")
