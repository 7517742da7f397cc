"""mail_import --user USERNAME [--link-to EMAIL] FILE... (contract in DESIGN.md).

.eml files, mbox files and Maildir directories become local messages of the user, in Importata,
once each (Message-ID plus a content hash), linked to the user's records by address, and to the
record holding --link-to when given. A progress bar is drawn on a terminal."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from crm.addresses import normalise
from crm.selectors import records_by_address
from messages_app.management.base import MailCommand
from messages_app.models import LinkReason
from messages_app.services.crm_links import link_add, links_match
from messages_app.services.local_messages import BATCH, count_messages, local_messages_create, read_messages


class Progress:
    """A one-line bar on stderr when it is a terminal; silent otherwise (scripts, tests)."""

    def __init__(self, total: int, stream):
        self.total, self.done, self.stream = max(total, 1), 0, stream
        self.active = hasattr(stream, "isatty") and stream.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        if self.active:
            width = 30
            filled = min(width, width * self.done // self.total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            self.stream.flush()

    def finish(self) -> None:
        if self.active:
            self.stream.write("\n")


class Command(MailCommand):
    help = "Import .eml, .mbox or Maildir mail into the user's Importata, deduplicated and linked to records."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True)
        parser.add_argument("--link-to", dest="link_to")
        parser.add_argument("files", nargs="+")

    def handle(self, *args, user, link_to=None, files=(), **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"no user named {user!r}")
        targets = []
        if link_to:
            address = normalise(link_to)
            targets = records_by_address(owner.pk, [address]).get(address, [])
            if not targets:
                raise CommandError(f"no record of {user} has the address {link_to!r}")
        paths = [Path(name) for name in files]
        for path in paths:
            if not path.exists():
                raise CommandError(f"{path}: no such file or directory")
        progress = Progress(sum(count_messages(p) for p in paths), sys.stderr)
        imported = duplicates = 0
        seen: set[str] = set()
        for path in paths:
            try:
                batch = []
                for raw in read_messages(path):
                    batch.append(raw)
                    if len(batch) >= BATCH:
                        imported, duplicates = self._store(owner, batch, seen, targets, imported, duplicates)
                        progress.advance(len(batch))
                        batch = []
                if batch:
                    imported, duplicates = self._store(owner, batch, seen, targets, imported, duplicates)
                    progress.advance(len(batch))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{path}: {exc}") from exc
        progress.finish()
        self.stdout.write(f"imported {imported}, already present {duplicates}")

    def _store(self, owner, batch, seen, targets, imported, duplicates):
        result = local_messages_create(owner=owner, raws=batch, seen_keys=seen)
        links_match(message_ids=result.message_ids, keep_sources=False)
        for message_id in result.message_ids:
            for kind, record_id in targets:
                link_add(user=owner, message=_message(message_id), kind=kind, record_id=record_id,
                         reason=LinkReason.IMPORT, detail="mail_import --link-to")
        return imported + result.imported, duplicates + result.duplicates


def _message(pk: int):
    from messages_app.models import Message

    return Message.objects.get(pk=pk)
