"""The per-account sync lock: one holder, a short renewed lease, words for the operator."""

import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from messages_app.models import SyncLock
from messages_app.sync.lock import SyncBusy, account_lock
from tests.conftest import account_on


def test_a_second_claim_is_refused_with_who_holds_it_and_until_when(owner, mail_user):
    account = account_on(owner, mail_user)
    with account_lock(account.pk):
        with pytest.raises(SyncBusy) as busy, account_lock(account.pk):
            pass
        with pytest.raises(CommandError) as refused:
            call_command("mail_sync", "--account", str(account.pk))
    assert "pid" in str(busy.value) and "until" in str(busy.value)
    assert "pid" in str(refused.value) and "--wait" in str(refused.value)
    assert SyncLock.objects.get(pk=account.pk).expires_at is None  # released


@pytest.mark.django_db(transaction=True)
def test_mail_sync_wait_waits_for_the_holder_to_finish(owner, mail_user):
    account = account_on(owner, mail_user)
    held = threading.Event()

    def hold_for_a_moment():
        try:
            with account_lock(account.pk):
                held.set()
                time.sleep(2)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_for_a_moment)
    holder.start()
    held.wait(10)
    started = time.monotonic()
    call_command("mail_sync", "--account", str(account.pk), "--wait", "30")
    holder.join()
    assert 1.0 < time.monotonic() - started < 30


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_the_lease_while_the_holder_works(owner, mail_user, settings):
    settings.MAIL_SYNC_LOCK_SECONDS = 10  # renewed every 3.3 s
    account = account_on(owner, mail_user)
    with account_lock(account.pk):
        first = SyncLock.objects.get(pk=account.pk).expires_at
        time.sleep(4)
        renewed = SyncLock.objects.get(pk=account.pk).expires_at
    assert (renewed - first).total_seconds() >= 3
