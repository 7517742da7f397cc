"""mail_ooo set --account ID --start ISO8601 [--end ISO8601] --subject S (--body TEXT | --body-file F)
[--days N] [--known-only] | off --account ID | show --account ID [--json] (contract in DESIGN.md)."""

from datetime import datetime, timedelta
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

from messages_app.management.base import MailCommand, positive_int
from messages_app.mime.sanitize import text_to_html
from messages_app.models import MailAccount, OutOfOffice
from messages_app.services.ooo import ooo_off, ooo_row, ooo_set


def _when(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} {text!r} is not an ISO 8601 date or date and time (2026-12-24T09:30+01:00)") \
            from None
    return value if value.tzinfo else timezone.make_aware(value)  # a bare time (or date) is in TIME_ZONE


class Command(MailCommand):
    help = "Set, end or show out-of-office for an account (an admin covering a colleague, say)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        on = sub.add_parser("set")
        on.add_argument("--account", type=positive_int, required=True)
        on.add_argument("--start", required=True)
        on.add_argument("--end")
        on.add_argument("--subject", required=True)
        body = on.add_mutually_exclusive_group(required=True)
        body.add_argument("--body")
        body.add_argument("--body-file")
        on.add_argument("--days", type=positive_int, default=5)
        on.add_argument("--known-only", action="store_true")
        off = sub.add_parser("off")
        off.add_argument("--account", type=positive_int, required=True)
        show = sub.add_parser("show")
        show.add_argument("--account", type=positive_int, required=True)
        show.add_argument("--json", action="store_true")

    def handle(self, *args, action, **o):
        account = MailAccount.objects.filter(pk=o["account"]).first()
        if account is None:
            raise CommandError(f"no mail account with id {o['account']}")
        if action == "set":
            if o.get("body_file"):
                try:
                    text = Path(o["body_file"]).read_text(encoding="utf-8")
                except (OSError, UnicodeError) as exc:
                    raise CommandError(f"cannot read --body-file {o['body_file']!r}: {exc}") from None
            else:
                text = o["body"]
            html = text if text.lstrip().startswith("<") else text_to_html(text)
            end = None
            if o.get("end"):
                end = _when(o["end"], "--end")
                if len(o["end"].strip()) == 10:  # a date alone: out for the whole of that day
                    end = timezone.make_aware(end.replace(tzinfo=None) + timedelta(days=1))
            ooo_set(account=account, start=_when(o["start"], "--start"), end=end, subject=o["subject"], body_html=html,
                    known_only=o["known_only"], days=o["days"])
            self.stdout.write(f"out of office set for account {account.pk}")
        elif action == "off":
            ended = ooo_off(account=account)
            self.stdout.write(f"out of office {'ended' if ended else 'was not on'} for account {account.pk}")
        else:
            row = ooo_row(OutOfOffice.objects.filter(account=account).first(), account)
            if o["json"]:
                self.write_json_rows([row])
            else:
                for key, value in row.items():
                    self.stdout.write(f"{key}: {value}")
