"""mail_rules export --account ID | import --account ID FILE (contract in DESIGN.md; the JSON shape is
in the README, "Filters as JSON")."""

import json

from django.core.management.base import CommandError

from messages_app.management.base import MailCommand, positive_int
from messages_app.models import MailAccount
from messages_app.rules import RuleError
from messages_app.services.rules import rules_export, rules_parse, rules_replace
from messages_app.services.sieve import sieve_refresh


class Command(MailCommand):
    help = "Print an account's filters as JSON, or replace them with a file of that shape."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export")
        export.add_argument("--account", type=positive_int, required=True)
        load = sub.add_parser("import")
        load.add_argument("--account", type=positive_int, required=True)
        load.add_argument("file")

    def handle(self, *args, action, **o):
        account = MailAccount.objects.filter(pk=o["account"]).first()
        if account is None:
            raise CommandError(f"no mail account with id {o['account']}")
        if action == "export":
            self.stdout.write(json.dumps(rules_export(account=account), ensure_ascii=False, indent=2))
            return
        try:
            with open(o["file"], encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise CommandError(f"cannot read {o['file']}: {exc.strerror}") from None
        except (ValueError, UnicodeError) as exc:
            raise CommandError(f"{o['file']} is not valid JSON: {exc}") from None
        try:
            rules = rules_parse(data)
        except RuleError as exc:
            raise CommandError(f"nothing imported: {exc}") from None
        count = rules_replace(account=account, rules=rules)
        sieve_refresh(account=account)  # rules installed on the server follow the import
        self.stdout.write(f"{count} rules imported into account {account.pk}")
