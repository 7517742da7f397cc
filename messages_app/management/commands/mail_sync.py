"""mail_sync [--account ID | --user USERNAME | --all] [--folder NAME]: one synchronous pass."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from messages_app.exceptions import MailError
from messages_app.models import MailAccount
from messages_app.selectors import own_accounts
from messages_app.sync.account import sync_account
from messages_app.sync.lock import SyncBusy


class Command(BaseCommand):
    help = "Sync mail accounts now, in this process (the same code the workers run)."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--account", type=int)
        target.add_argument("--user")
        target.add_argument("--all", action="store_true")
        parser.add_argument("--folder", help="only this folder (full IMAP name)")

    def handle(self, *args, account=None, user=None, all=False, folder=None, **options):  # noqa: A002
        accounts = MailAccount.objects.order_by("id")
        if account is not None:
            accounts = accounts.filter(pk=account)
        elif user:
            accounts = own_accounts(get_user_model().objects.filter(username=user).first()).order_by("id")
        ids = list(accounts.values_list("pk", flat=True))
        if not ids:
            raise CommandError("no matching mail account")
        failures = []
        for account_id in ids:
            try:
                result = sync_account(account_id, folder_name=folder)
            except SyncBusy as exc:
                failures.append(f"account {account_id}: {exc}")
                continue
            except MailError as exc:
                failures.append(f"account {account_id}: {exc.user_message()}")
                continue
            if result.error:
                failures.append(f"account {account_id}: {result.error}")
                continue
            changed = sum(r.changed for r in result.folders.values())
            removed = sum(r.removed for r in result.folders.values())
            self.stdout.write(f"account {account_id}: {len(result.folders)} folders, {result.new} new, "
                              f"{changed} changed, {removed} removed")
        if failures:
            raise CommandError("; ".join(failures))
