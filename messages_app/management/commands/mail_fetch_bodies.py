"""Fetch and store the bodies of messages nobody opened yet, so search finds words in them."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from messages_app.exceptions import MailError
from messages_app.management.base import MailCommand, positive_int
from messages_app.models import MailAccount
from messages_app.selectors import own_accounts
from messages_app.services.message_body import message_bodies_prefetch


class Command(MailCommand):
    help = "Fetch the bodies of not yet opened messages (newest first) for full-text search."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--account", type=positive_int)
        which.add_argument("--user")
        which.add_argument("--all", action="store_true")
        parser.add_argument("--limit", type=positive_int, default=500, help="at most this many per account")

    def handle(self, *args, account=None, user=None, all=False, limit=500, **options):
        accounts = MailAccount.objects.all()
        if account is not None:
            accounts = accounts.filter(pk=account)
        elif user:
            accounts = own_accounts(get_user_model().objects.filter(username=user).first())
        if not accounts.exists():
            raise CommandError(f"no mail account with id {account}" if account is not None else "no such account")
        for mail_account in accounts:
            try:
                stored = message_bodies_prefetch(account=mail_account, limit=limit)
            except MailError as exc:
                raise CommandError(f"account {mail_account.pk}: {exc.user_message()}") from None
            self.stdout.write(f"account {mail_account.pk}: {stored} bodies stored")
