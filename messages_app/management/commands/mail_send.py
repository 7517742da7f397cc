"""mail_send --account ID --to ADDR ... --subject S (--body TEXT | --body-file F) [--html] [--attach FILE ...]
[--at ISO8601]: queue a message through the outbox (contract in DESIGN.md); the outbox id is the last line."""

import mimetypes
from datetime import datetime
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

from messages_app.management.base import MailCommand, positive_int
from messages_app.mime.build import Attachment
from messages_app.mime.html_text import html_to_text
from messages_app.models import MailAccount
from messages_app.services.outbox import outbox_queue


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at {text!r} is not an ISO 8601 date and time (2026-12-24T09:30+01:00)") from None
    return value if value.tzinfo else timezone.make_aware(value)  # a bare time is in TIME_ZONE


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None


class Command(MailCommand):
    help = "Queue a message through the outbox (scheduled with --at); prints the outbox id."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=positive_int, required=True)
        parser.add_argument("--to", action="append", required=True)
        parser.add_argument("--cc", action="append", default=[])
        parser.add_argument("--subject", required=True)
        body = parser.add_mutually_exclusive_group(required=True)
        body.add_argument("--body")
        body.add_argument("--body-file")
        parser.add_argument("--html", action="store_true", help="the body is HTML (a text part is derived)")
        parser.add_argument("--attach", action="append", default=[], metavar="FILE")
        parser.add_argument("--at", help="ISO 8601 date and time to send at (default: now)")

    def handle(self, *args, **o):
        account = MailAccount.objects.select_related("owner").filter(pk=o["account"]).first()
        if account is None:
            raise CommandError(f"no mail account with id {o['account']}")
        body = o["body"]
        if body is None:
            raw = _read(o["body_file"], "the body file")
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CommandError(f"the body file {o['body_file']!r} is not UTF-8 text") from None
        attachments = []
        for path in o["attach"]:
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            attachments.append(Attachment(filename=Path(path).name, content_type=content_type,
                                          data=_read(path, "the attachment")))
        send_at = _when(o["at"]) if o["at"] else None
        text, html = (html_to_text(body), body) if o["html"] else (body, None)
        # Scripts have no undo button: without --at the message is due at once (mail_send_due or the worker).
        item = outbox_queue(user=account.owner, account=account, to=o["to"], cc=o["cc"], subject=o["subject"],
                            text=text, html=html, attachments=attachments, send_at=send_at, undo_seconds=0)
        self.stdout.write(str(item.pk))
