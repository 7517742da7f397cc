"""Log in to IMAP and SMTP with an account's settings and say, in words, what failed."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from messages_app.exceptions import MailError, RateLimited, message_for
from messages_app.models import MailAccount
from messages_app.services.connections import imap_connect, smtp_connect
from messages_app.services.rate_limit import hourly_quota_take

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionReport:
    imap_ok: bool
    imap_message: str
    smtp_ok: bool
    smtp_message: str

    @property
    def ok(self) -> bool:
        return self.imap_ok and self.smtp_ok

    @property
    def summary(self) -> str:
        return f"IMAP: {self.imap_message}\nSMTP: {self.smtp_message}"


def _rate_limit(user_id: int) -> None:
    """At most MAIL_CONNECTION_TESTS_PER_HOUR tests per user: each one dials out for them."""
    if not hourly_quota_take(name=f"mail-connection-tests:{user_id}", limit=settings.MAIL_CONNECTION_TESTS_PER_HOUR):
        raise RateLimited()


def _check_imap(account: MailAccount) -> tuple[bool, str]:
    try:
        with imap_connect(account, deadline=settings.MAIL_CONNECTION_TEST_SECONDS):
            return True, _("login succeeded")
    except MailError as exc:
        logger.info("IMAP test of account %s failed: %s", account.pk, type(exc).__name__)
        return False, message_for(exc, account.owner)


def _check_smtp(account: MailAccount) -> tuple[bool, str]:
    try:
        with smtp_connect(account, deadline=settings.MAIL_CONNECTION_TEST_SECONDS):
            pass
        return True, _("login succeeded") if account.smtp_auth_required else _("connection succeeded")
    except MailError as exc:
        logger.info("SMTP test of account %s failed: %s", account.pk, type(exc).__name__)
        return False, message_for(exc, account.owner)


def connection_test_run(*, account: MailAccount, rate_limited: bool = True) -> ConnectionReport:
    """Test both servers. `account` may be unsaved (the form tests before it saves)."""
    if rate_limited:
        _rate_limit(account.owner_id)
    imap_ok, imap_message = _check_imap(account)
    smtp_ok, smtp_message = _check_smtp(account)
    return ConnectionReport(imap_ok, imap_message, smtp_ok, smtp_message)


def connection_report_store(*, account: MailAccount, report: ConnectionReport) -> None:
    account.last_test_ok = report.ok
    account.last_test_message = report.summary
    account.last_tested_at = timezone.now()
    if report.imap_ok:
        account.auth_failed = False
    if account.pk:
        MailAccount.objects.filter(pk=account.pk).update(
            last_test_ok=account.last_test_ok, last_test_message=account.last_test_message,
            last_tested_at=account.last_tested_at, auth_failed=account.auth_failed,
        )
