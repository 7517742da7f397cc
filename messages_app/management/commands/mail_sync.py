"""mail_sync [--account ID | --user USERNAME | --all] [--folder NAME] [--wait SECONDS]: one
synchronous pass, including what follows new mail (the arrival pipeline), in this process."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from messages_app.exceptions import MailError
from messages_app.management.base import MailCommand
from messages_app.models import MailAccount
from messages_app.selectors import own_accounts
from messages_app.services.sync import account_sync
from messages_app.sync.lock import SyncBusy


class Command(MailCommand):
    help = "Sync mail accounts now, in this process (the same code the workers run)."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--account", type=int)
        target.add_argument("--user")
        target.add_argument("--all", action="store_true")
        parser.add_argument("--folder", help="only this folder (full IMAP name)")
        parser.add_argument("--wait", type=float, nargs="?", const=300.0, default=0.0, metavar="SECONDS",
                            help="wait for a busy account's lock (default 300 s when given without a value)")

    def handle(self, *args, account=None, user=None, all=False, folder=None, wait=0.0, **options):  # noqa: A002
        if wait < 0:
            raise CommandError("--wait takes a number of seconds, 0 or more")
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
                result = account_sync(account_id, folder_name=folder, wait_seconds=wait)
            except SyncBusy as exc:
                failures.append(f"{exc} (use --wait to wait for it)")
                continue
            except MailError as exc:
                failures.append(f"account {account_id}: {exc.user_message()}")
                continue
            if result.error:
                failures.append(f"account {account_id}: {result.error}")
                continue
            changed = sum(r.changed for r in result.folders.values())
            removed = sum(r.removed for r in result.folders.values())
            line = (f"account {account_id}: {len(result.folders)} folders, {result.new} new, "
                    f"{changed} changed, {removed} removed")
            arrivals = result.arrivals
            if arrivals.completed or arrivals.retrying or arrivals.failed:
                line += (f"; arrivals: {arrivals.completed} done, {arrivals.retrying} to retry, "
                         f"{arrivals.failed} failed")
            self.stdout.write(line)
            failures.extend(f"account {account_id}: {error}" for error in arrivals.errors)
        if failures:
            raise CommandError("; ".join(failures))
