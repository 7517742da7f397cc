"""Accounts that can never sync (issue 16, item 13): a permanent error marks the account and
shows why; beat stops queueing it until its settings change; the log gets one line per state
change and no traceback per pass."""

import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from messages_app import tasks
from messages_app.models import MailAccount, SyncLock
from tests.conftest import account_on


@pytest.fixture
def queued(monkeypatch):
    ids = []
    monkeypatch.setattr(tasks.sync_account_task, "delay", lambda account_id, *a: ids.append(account_id))
    return ids


def _sync_log(caplog):
    return [r for r in caplog.records if r.name.startswith("messages_app") or r.name.startswith("celery")]


def test_a_private_host_stops_the_account_until_the_settings_change(settings, caplog, queued, owner_client, owner,
                                                                     mail_user):
    account = account_on(owner, mail_user)  # saved while loopback was allowed
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False  # now the non-staff owner may not reach it
    caplog.set_level(logging.INFO)

    for _ in range(3):  # beat's passes
        assert tasks.sync_account_task.apply(args=[account.pk]).get() == 0
    account.refresh_from_db()
    assert account.sync_stopped and account.sync_error
    stopped = [r for r in _sync_log(caplog) if "stopped" in r.getMessage()]
    assert len(stopped) == 1, [r.getMessage() for r in _sync_log(caplog)]
    assert not any(r.exc_info for r in _sync_log(caplog))

    assert tasks.sync_all_accounts() == 0 and queued == []

    page = owner_client.get(reverse("messages_app:sync_health", args=[account.pk])).content.decode()
    assert account.sync_error in page and "sync-stopped" in page

    MailAccount.objects.filter(pk=account.pk).update(imap_port=account.imap_port + 1)  # the user edits
    assert tasks.sync_all_accounts() == 1 and queued == [account.pk]


def test_a_transient_error_does_not_stop_the_account(queued, owner, mail_user, monkeypatch):
    from messages_app.sync import account as account_pass
    from tests.servers.ports import free_port

    monkeypatch.setattr(account_pass, "RETRY_DELAYS", (0.0,))  # eager retries: 6 passes, each quick

    account = account_on(owner, mail_user, imap_port=free_port())  # nothing listens: refused, transient
    result = tasks.sync_account_task.apply(args=[account.pk])
    account.refresh_from_db()
    assert not account.sync_stopped and result.state in ("RETRY", "FAILURE")
    assert tasks.sync_all_accounts() == 0  # backed off for a while (sync/schedule.py), not stopped
    SyncLock.objects.filter(pk=account.pk).update(retry_at=timezone.now())
    assert tasks.sync_all_accounts() == 1


def test_a_missing_folder_in_a_one_folder_pass_does_not_stop_the_account(owner, mail_user):
    from messages_app.exceptions import MailError
    from messages_app.services.sync import account_sync

    account = account_on(owner, mail_user)
    with pytest.raises(MailError):
        account_sync(account.pk, folder_name="Nessuna cartella")
    account.refresh_from_db()
    assert not account.sync_stopped
