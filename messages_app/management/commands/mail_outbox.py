"""mail_outbox list [--user USERNAME] [--state STATE] [--json] | show ID [--json] (contract in DESIGN.md)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from messages_app.enums import OutboxState
from messages_app.management.base import MailCommand, positive_int
from messages_app.selectors.outbox import outbox_items, outbox_row


class Command(MailCommand):
    help = "List outgoing messages with their state and per-recipient delivery, or show one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list")
        listing.add_argument("--user")
        listing.add_argument("--state", choices=OutboxState.values)
        listing.add_argument("--json", action="store_true")
        show = sub.add_parser("show")
        show.add_argument("id", type=positive_int)
        show.add_argument("--json", action="store_true")

    def handle(self, *args, action, **o):
        if action == "show":
            item = outbox_items().filter(pk=o["id"]).first()
            if item is None:
                raise CommandError(f"no outgoing message with id {o['id']}")
            items = [item]
        else:
            user = None
            if o.get("user"):
                user = get_user_model().objects.filter(username=o["user"]).first()
                if user is None:
                    raise CommandError(f"no user named {o['user']!r}")
            items = outbox_items(user=user, state=o.get("state"))
        rows = [outbox_row(item) for item in items]
        if o["json"]:
            self.write_json_rows(rows)
            return
        for row in rows:
            self._write_text(row, detailed=action == "show")

    def _write_text(self, row: dict, *, detailed: bool) -> None:
        when = row["sent_at"] or row["send_at"]
        self.stdout.write(f"{row['id']}\t{row['state']}\t{when}\taccount {row['account']}\t{row['subject']}"
                          f"{'  ERROR: ' + row['error'] if row['error'] else ''}")
        if detailed:
            self.stdout.write(f"  Message-ID: {row['message_id']}")
            for entry in row["delivery"]:
                reply = " ".join(str(p) for p in (entry["smtp_code"], entry["smtp_enhanced"], entry["smtp_text"]) if p)
                self.stdout.write(f"  {entry['address']}\t{entry['status']}\t{entry['source']}\t{entry['at']}"
                                  f"{'  ' + reply if reply else ''}")
