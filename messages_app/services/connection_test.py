"""Log in to IMAP and SMTP with an account's settings and say, in words, what failed."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from messages_app.connection_results import (
    CONNECT_OK,
    LOGIN_OK,
    error_record,
    record_text,
    success_record,
    withheld_record,
)
from messages_app.exceptions import MailError, RateLimited, message_for
from messages_app.models import MailAccount
from messages_app.services.connections import imap_connect, smtp_connect
from messages_app.services.rate_limit import hourly_quota_take

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionReport:
    """Each side's outcome as a record (connection_results.py): codes, rendered when read."""

    imap: dict
    smtp: dict

    @property
    def imap_ok(self) -> bool:
        return self.imap["ok"]

    @property
    def smtp_ok(self) -> bool:
        return self.smtp["ok"]

    @property
    def imap_message(self) -> str:
        return record_text(self.imap)

    @property
    def smtp_message(self) -> str:
        return record_text(self.smtp)

    @property
    def ok(self) -> bool:
        return self.imap_ok and self.smtp_ok

    @property
    def result(self) -> dict:
        return {"imap": self.imap, "smtp": self.smtp}

    @property
    def summary(self) -> str:
        return f"IMAP: {self.imap_message}\nSMTP: {self.smtp_message}"


def _rate_limit(user_id: int) -> None:
    """At most MAIL_CONNECTION_TESTS_PER_HOUR tests per user: each one dials out for them."""
    if not hourly_quota_take(name=f"mail-connection-tests:{user_id}", limit=settings.MAIL_CONNECTION_TESTS_PER_HOUR):
        raise RateLimited()


def _record_for(exc: MailError, account: MailAccount) -> dict:
    """The failure as a record; what the server itself said (a banner, a reply) is kept for staff
    only (exceptions.message_for): shown to anyone, it would make the test a port probe."""
    if message_for(exc, account.owner) == exc.user_message():
        return error_record(exc)
    return withheld_record(exc)


def _check_imap(account: MailAccount) -> dict:
    try:
        with imap_connect(account, deadline=settings.MAIL_CONNECTION_TEST_SECONDS):
            return success_record(LOGIN_OK)
    except MailError as exc:
        logger.info("IMAP test of account %s failed: %s", account.pk, type(exc).__name__)
        return _record_for(exc, account)


def _check_smtp(account: MailAccount) -> dict:
    try:
        with smtp_connect(account, deadline=settings.MAIL_CONNECTION_TEST_SECONDS):
            pass
        return success_record(LOGIN_OK if account.smtp_auth_required else CONNECT_OK)
    except MailError as exc:
        logger.info("SMTP test of account %s failed: %s", account.pk, type(exc).__name__)
        return _record_for(exc, account)


def connection_test_run(*, account: MailAccount, rate_limited: bool = True) -> ConnectionReport:
    """Test both servers. `account` may be unsaved (the form tests before it saves)."""
    if rate_limited:
        _rate_limit(account.owner_id)
    return ConnectionReport(_check_imap(account), _check_smtp(account))


def connection_report_store(*, account: MailAccount, report: ConnectionReport) -> None:
    account.last_test_ok = report.ok
    account.last_test_result = report.result
    account.last_test_message = ""  # the sentence of rows saved before results were codes
    account.last_tested_at = timezone.now()
    if report.imap_ok:
        account.auth_failed = False
    if account.pk:
        MailAccount.objects.filter(pk=account.pk).update(
            last_test_ok=account.last_test_ok, last_test_message="",
            last_test_result=account.last_test_result,
            last_tested_at=account.last_tested_at, auth_failed=account.auth_failed,
        )
