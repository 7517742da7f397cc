"""Re-encrypt every stored secret with the newest key in MAIL_ENCRYPTION_KEYS."""

from django.core.management.base import CommandError
from django.db import transaction

from messages_app import crypto
from messages_app.management.base import MailCommand
from messages_app.models import MailAccount, Pop3Box


class Command(MailCommand):
    help = "Re-encrypt every secret with the newest key (put the new key first in MAIL_ENCRYPTION_KEYS)."

    def handle(self, *args, **options):
        rotated = 0
        fields = [name for name, _binding in MailAccount.SECRET_FIELDS]
        with transaction.atomic():
            for account in MailAccount.objects.select_for_update().only("pk", *fields):
                changed = []
                for name in fields:
                    value = getattr(account, name)
                    if not value:
                        continue
                    try:
                        setattr(account, name, crypto.rotate(value))
                    except crypto.SecretError as exc:
                        raise CommandError(f"account {account.pk}: {exc}; nothing was changed") from None
                    changed.append(name)
                if changed:
                    account.save(update_fields=changed)
                    rotated += len(changed)
            for box in Pop3Box.objects.select_for_update().exclude(password_encrypted="").only("pk",
                                                                                             "password_encrypted"):
                try:
                    box.password_encrypted = crypto.rotate(box.password_encrypted)
                except crypto.SecretError as exc:
                    raise CommandError(f"POP3 box {box.pk}: {exc}; nothing was changed") from None
                box.save(update_fields=["password_encrypted"])
                rotated += 1
        self.stdout.write(f"re-encrypted {rotated} secrets")
