"""Set the folder column's counters from the message rows (after a load with triggers off, or
to repair them): every folder's, every user's Importata and Contrassegnata counts."""

from messages_app.management.base import MailCommand
from messages_app.services.counts import counts_recount


class Command(MailCommand):
    help = "Recount the unread, flagged and message counters of every folder and user."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        result = counts_recount()
        if options["json"]:
            self.write_json_rows([result])
            return
        self.stdout.write(f"{result['folders']} folders, {result['users']} users recounted")
