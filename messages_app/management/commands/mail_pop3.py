"""mail_pop3 add|list|fetch|delete (contract in DESIGN.md)."""

import os

from django.core.management.base import CommandError

from messages_app.enums import Security
from messages_app.management.base import MailCommand, positive_int
from messages_app.models import MailAccount, Pop3Box
from messages_app.services.pop3 import pop3_box_save, pop3_fetch_boxes


def _row(box: Pop3Box) -> dict:
    return {"id": box.pk, "account": box.account_id, "host": box.host, "port": box.port, "security": box.security,
            "username": box.username, "folder": box.folder, "delete_after_download": box.delete_after_download,
            "active": box.is_active, "last_fetched_at": box.last_fetched_at.isoformat() if box.last_fetched_at
            else None, "error": box.last_error}


class Command(MailCommand):
    help = "Add, list, download or delete the POP3 boxes of mail accounts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add")
        add.add_argument("--account", type=positive_int, required=True)
        add.add_argument("--host", required=True)
        add.add_argument("--port", type=positive_int, required=True)
        add.add_argument("--security", choices=Security.values, required=True)
        add.add_argument("--username", required=True)
        add.add_argument("--password-env", required=True)
        add.add_argument("--folder", required=True)
        add.add_argument("--delete-after-download", action="store_true")
        listing = sub.add_parser("list")
        listing.add_argument("--account", type=positive_int)
        listing.add_argument("--json", action="store_true")
        fetch = sub.add_parser("fetch")
        which = fetch.add_mutually_exclusive_group(required=True)
        which.add_argument("--account", type=positive_int)
        which.add_argument("--all", action="store_true")
        delete = sub.add_parser("delete")
        delete.add_argument("id", type=positive_int)

    def _account(self, account_id: int) -> MailAccount:
        account = MailAccount.objects.filter(pk=account_id).first()
        if account is None:
            raise CommandError(f"no mail account with id {account_id}")
        return account

    def handle(self, *args, action, **o):
        if action == "add":
            account = self._account(o["account"])
            password = os.environ.get(o["password_env"])
            if not password:
                raise CommandError(f"the environment variable {o['password_env']} is not set or empty")
            box = Pop3Box(account=account, host=o["host"], port=o["port"], security=o["security"],
                          username=o["username"], folder=o["folder"],
                          delete_after_download=o["delete_after_download"])
            pop3_box_save(box=box, password=password)
            self.stdout.write(str(box.pk))
        elif action == "list":
            boxes = Pop3Box.objects.all()
            if o.get("account"):
                boxes = boxes.filter(account_id=self._account(o["account"]).pk)
            rows = [_row(box) for box in boxes]
            if o["json"]:
                self.write_json_rows(rows)
            else:
                for row in rows:
                    self.stdout.write(f"{row['id']}\taccount {row['account']}\t{row['username']}@{row['host']}:"
                                      f"{row['port']}\t-> {row['folder']}"
                                      f"{'  ERROR: ' + row['error'] if row['error'] else ''}")
        elif action == "fetch":
            account_id = None if o["all"] else self._account(o["account"]).pk
            result = pop3_fetch_boxes(account_id=account_id)
            for error in result.errors:
                self.stderr.write(error)
            self.stdout.write(f"downloaded {result.downloaded}, already there {result.already_there}, "
                              f"deleted on the server {result.deleted}")
            if result.errors:
                raise CommandError(f"{len(result.errors)} POP3 box(es) failed: {result.errors[0]}")
        else:
            deleted, _ = Pop3Box.objects.filter(pk=o["id"]).delete()
            if not deleted:
                raise CommandError(f"no POP3 box with id {o['id']}")
            self.stdout.write(f"POP3 box {o['id']} deleted")
