"""The per-account sync lock: one holder, a short renewed lease, words for the operator."""

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from messages_app.models import SyncLock
from messages_app.sync.lock import SyncBusy, account_lock, holder_name
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


def _held_by(account, name: str) -> None:
    SyncLock.objects.update_or_create(pk=account.pk, defaults={
        "holder": "a-token", "holder_name": name, "expires_at": timezone.now() + timedelta(minutes=5)})


def _dead_pid() -> int:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return int(ended.stdout)  # run() reaped it: no zombie keeps the pid


def test_a_lock_held_by_a_process_of_this_host_that_is_gone_is_taken_over_at_once(owner, mail_user):
    account = account_on(owner, mail_user)
    _held_by(account, f"{socket.gethostname()} pid {_dead_pid()}")
    with account_lock(account.pk):
        assert SyncLock.objects.get(pk=account.pk).holder_name == holder_name()
    assert SyncLock.objects.get(pk=account.pk).expires_at is None


def test_a_lock_held_by_a_live_process_or_on_another_host_waits_for_its_lease(owner, mail_user):
    account = account_on(owner, mail_user)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for name in (f"{socket.gethostname()} pid {sleeper.pid}", f"another-host pid {_dead_pid()}",
                     f"{socket.gethostname()} pid {os.getpid()}", "a name with no pid"):
            _held_by(account, name)
            with pytest.raises(SyncBusy), account_lock(account.pk):
                pass
            assert SyncLock.objects.get(pk=account.pk).holder == "a-token"
    finally:
        sleeper.kill()
        sleeper.wait()
