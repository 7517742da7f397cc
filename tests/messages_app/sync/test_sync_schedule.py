"""Beat's periodic pass: accounts on push get a full pass rarely; a server that is down is backed off."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messages_app import tasks
from messages_app.exceptions import MailError
from messages_app.models import SyncLock
from messages_app.services.sync import account_sync
from messages_app.sync import account as account_pass
from messages_app.sync.idle_lease import ListenerLeases
from tests.conftest import account_on
from tests.servers.ports import free_port


@pytest.fixture
def queued(monkeypatch):
    ids = []
    monkeypatch.setattr(tasks.sync_account_task, "delay", lambda account_id, *a: ids.append(account_id))
    return ids


def test_an_account_on_push_gets_a_full_pass_only_every_push_interval(settings, queued, owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    assert tasks.sync_all_accounts() == 1 and queued == [account.pk]  # no listener holds it: every pass
    listener = ListenerLeases()
    listener.heartbeat()
    assert listener.claim(1) == [account.pk]
    assert tasks.sync_all_accounts() == 0  # on push, and its folders were synced just now
    account_sync(account.pk, folder_name="INBOX")  # the listener's Inbox passes do not count as full ones
    SyncLock.objects.filter(pk=account.pk).update(
        last_full_pass_at=timezone.now() - timedelta(seconds=settings.MAIL_SYNC_PUSH_INTERVAL_SECONDS + 1))
    assert tasks.sync_all_accounts() == 1  # its other folders are due
    account_sync(account.pk)
    assert tasks.sync_all_accounts() == 0
    listener.stop()
    assert tasks.sync_all_accounts() == 1  # the listener stopped: back to every pass


def test_an_account_whose_server_is_down_is_backed_off_longer_after_each_failure(settings, monkeypatch, queued,
                                                                                 owner, mail_user):
    monkeypatch.setattr(account_pass, "RETRY_DELAYS", (0.0,))  # one quick reconnect within the pass
    settings.MAIL_SYNC_INTERVAL_SECONDS = 120
    settings.MAIL_SYNC_BACKOFF_MAX_SECONDS = 400
    account = account_on(owner, mail_user, imap_port=free_port())  # nothing listens there
    waits = []
    for _failure in range(4):
        before = timezone.now()
        with pytest.raises(MailError):
            account_sync(account.pk)
        waits.append(round((SyncLock.objects.get(pk=account.pk).retry_at - before).total_seconds() / 10) * 10)
        assert tasks.sync_all_accounts() == 0 and queued == []  # it holds no worker while backed off
        SyncLock.objects.filter(pk=account.pk).update(retry_at=timezone.now() - timedelta(seconds=1))
    assert waits == [120, 240, 400, 400]
    assert SyncLock.objects.get(pk=account.pk).failures == 4
    assert tasks.sync_all_accounts() == 1  # its retry time came
    account.imap_port = mail_user.imap_port  # the server is back
    account.save(update_fields=["imap_port"])
    account_sync(account.pk)
    lock = SyncLock.objects.get(pk=account.pk)
    assert lock.failures == 0 and lock.retry_at is None
