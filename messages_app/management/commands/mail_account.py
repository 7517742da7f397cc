"""mail_account create|list|diagnose|delete (contract in DESIGN.md)."""

import os

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from messages_app.enums import Preset, Security
from messages_app.exceptions import MailError
from messages_app.management.base import MailCommand, port_number, positive_int
from messages_app.models import MailAccount
from messages_app.presets import split_host_scheme
from messages_app.selectors import own_accounts
from messages_app.services.accounts import apply_server_defaults, mail_account_delete, mail_account_save
from messages_app.services.connection_test import connection_report_store, connection_test_run

SECURITY_CHOICES = [value for value in Security.values]


class Command(MailCommand):
    help = "Create, list, diagnose and delete mail accounts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--user", required=True)
        create.add_argument("--preset", required=True, choices=Preset.values)
        create.add_argument("--username", required=True)
        create.add_argument("--email", default="")
        create.add_argument("--description", default="")
        create.add_argument("--password-env", help="name of the environment variable holding the password")
        create.add_argument("--imap-host")
        create.add_argument("--imap-port", type=port_number)
        create.add_argument("--imap-security", choices=SECURITY_CHOICES)
        create.add_argument("--smtp-host")
        create.add_argument("--smtp-port", type=port_number)
        create.add_argument("--smtp-security", choices=SECURITY_CHOICES)
        create.add_argument("--smtp-username", default="")
        create.add_argument("--smtp-no-auth", action="store_true")
        create.add_argument("--primary", action="store_true")
        create.add_argument("--shared-sender", action="store_true")
        listing = sub.add_parser("list")
        listing.add_argument("--user")
        listing.add_argument("--json", action="store_true")
        diagnose = sub.add_parser("diagnose")
        diagnose.add_argument("id", type=positive_int)
        delete = sub.add_parser("delete")
        delete.add_argument("id", type=positive_int)

    def handle(self, *args, action, **options):
        return getattr(self, f"_{action}")(**options) or None

    def _create(self, **o):
        owner = _user(o["user"])
        account = MailAccount(owner=owner, preset=o["preset"], username=o["username"], email=o["email"],
                              description=o["description"], is_primary=o["primary"],
                              is_shared_sender=o["shared_sender"], smtp_username=o["smtp_username"],
                              smtp_auth_required=not o["smtp_no_auth"])
        apply_server_defaults(account)
        for proto in ("imap", "smtp"):
            if o[f"{proto}_host"]:
                host, security = split_host_scheme(o[f"{proto}_host"], getattr(account, f"{proto}_security"))
                setattr(account, f"{proto}_host", host)
                setattr(account, f"{proto}_security", security)
            if o[f"{proto}_port"]:
                setattr(account, f"{proto}_port", o[f"{proto}_port"])
            if o[f"{proto}_security"]:
                setattr(account, f"{proto}_security", o[f"{proto}_security"])
        if not account.imap_host or not account.smtp_host:
            raise CommandError("the custom preset needs --imap-host and --smtp-host")
        password = ""
        if o["password_env"]:
            if o["password_env"] not in os.environ:
                raise CommandError(f"environment variable {o['password_env']} is not set")
            password = os.environ[o["password_env"]]
        # The command acts as the operator: shared sender is allowed only for a staff owner's
        # command line or when the operator is trusted, which a shell on the server is.
        actor = _Operator()
        try:
            mail_account_save(account=account, actor=actor, password=password)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(account.pk))

    def _list(self, **o):
        accounts = MailAccount.objects.select_related("owner").order_by("owner__username", "id")
        if o["user"]:
            accounts = accounts.filter(pk__in=own_accounts(_user(o["user"])).values("pk"))
        rows = [{
            "id": a.pk, "user": a.owner.username, "preset": a.preset, "email": a.email,
            "description": a.description, "username": a.username,
            "imap": f"{a.imap_host}:{a.imap_port}/{a.imap_security}",
            "smtp": f"{a.smtp_host}:{a.smtp_port}/{a.smtp_security}",
            "primary": a.is_primary, "shared_sender": a.is_shared_sender,
            "last_test_ok": a.last_test_ok, "auth_failed": a.auth_failed,
        } for a in accounts]
        if o["json"]:
            self.write_json_rows(rows)
            return
        for row in rows:
            flags = " ".join(f for f, on in (("primary", row["primary"]), ("shared", row["shared_sender"])) if on)
            self.stdout.write(f"{row['id']}\t{row['user']}\t{row['email']}\t{row['preset']}\t{row['imap']}\t{flags}")

    def _diagnose(self, **o):
        account = _account(o["id"])
        try:
            report = connection_test_run(account=account, rate_limited=False)
        except MailError as exc:
            raise CommandError(exc.user_message()) from None
        connection_report_store(account=account, report=report)
        self.stdout.write(f"IMAP {'ok' if report.imap_ok else 'FAILED'}: {report.imap_message}")
        self.stdout.write(f"SMTP {'ok' if report.smtp_ok else 'FAILED'}: {report.smtp_message}")
        if not report.ok:
            raise CommandError("connection test failed: " + (report.imap_message if not report.imap_ok
                                                              else report.smtp_message))

    def _delete(self, **o):
        mail_account_delete(account=_account(o["id"]))
        self.stdout.write(f"deleted {o['id']}")


class _Operator:
    """Whoever runs manage.py on the server already holds every power."""

    is_staff = True


def _user(username: str):
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"no user named {username!r}") from None


def _account(pk: int) -> MailAccount:
    try:
        return MailAccount.objects.select_related("owner").get(pk=pk)
    except MailAccount.DoesNotExist:
        raise CommandError(f"no mail account with id {pk}") from None
