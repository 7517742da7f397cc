"""IDLE listeners that share the accounts by leases: claim, even shares, renewal, takeover of a
SIGKILLed listener's accounts, and bounded database connections (PostgreSQL)."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messages_app.models import Folder, IdleListener, ListenerLease, Message
from messages_app.sync.idle_lease import ListenerLeases, live_listener_accounts
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_sync_robustness import ROOT, worker_env
from tests.servers.fixtures import new_mail_user
from tests.servers.processes import stop_process_group


def make_accounts(owner, dovecot, smtp_server, count):
    return [(account_on(owner, user), user) for user in (new_mail_user(dovecot, smtp_server) for _ in range(count))]


def holders() -> dict[int, str]:
    now = timezone.now()
    return dict(ListenerLease.objects.filter(expires_at__gte=now).exclude(holder="")
                .values_list("account_id", "holder_name"))


def held_by(process) -> set[int]:
    return {pk for pk, name in holders().items() if name.endswith(f"pid {process.pid}")}


def wait_for(condition, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def test_two_listeners_split_the_accounts_evenly_and_never_claim_the_same_one(owner, dovecot, smtp_server):
    accounts = [account for account, _user in make_accounts(owner, dovecot, smtp_server, 7)]
    first, second = ListenerLeases(), ListenerLeases()
    first.heartbeat()
    assert first.share() == 7  # alone: all of them
    assert len(first.claim(first.share())) == 7
    second.heartbeat()
    assert second.share() == 4  # two alive: an even part each
    assert second.claim(second.share()) == []  # none is free: the first holds them all
    first.release(sorted(first.heartbeat())[4:])  # the first gives back its excess
    won = second.claim(second.share())
    assert len(won) == 3
    assert first.heartbeat().isdisjoint(second.heartbeat())
    assert first.heartbeat() | second.heartbeat() == {a.pk for a in accounts}
    assert live_listener_accounts() == {a.pk for a in accounts}


def test_a_lapsed_lease_is_taken_over_and_its_old_holder_learns_it_lost_it(owner, dovecot, smtp_server):
    [(account, _user)] = make_accounts(owner, dovecot, smtp_server, 1)
    dead, alive = ListenerLeases(), ListenerLeases()
    dead.heartbeat()
    assert dead.claim(1) == [account.pk]
    alive.heartbeat()
    assert alive.claim(1) == []  # held and not lapsed
    ListenerLease.objects.filter(pk=account.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert account.pk not in live_listener_accounts()
    assert alive.claim(1) == [account.pk]
    assert dead.heartbeat() == set()  # its renewal no longer touches the row
    assert ListenerLease.objects.get(pk=account.pk).holder == alive.token
    alive.stop()
    assert ListenerLease.objects.get(pk=account.pk).expires_at is None
    assert not IdleListener.objects.filter(token=alive.token).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_the_same_accounts_give_each_to_one_listener(owner, dovecot, smtp_server):
    accounts = [account for account, _user in make_accounts(owner, dovecot, smtp_server, 12)]
    listeners = [ListenerLeases(capacity=12) for _ in range(4)]
    won: dict[int, list[int]] = {}
    start = threading.Barrier(4)

    def claim(index):
        try:
            start.wait()
            won[index] = listeners[index].claim(12)  # all of them, racing the others
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [pk for pks in won.values() for pk in pks]
    assert sorted(claimed) == sorted(a.pk for a in accounts)  # each once, none twice


def _listener(env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen([sys.executable, "manage.py", "mail_idle"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True), log


def _stop(process) -> None:
    stop_process_group(process, timeout=15)


def _imap_sessions(dovecot) -> dict[str, int]:
    sessions: dict[str, int] = {}
    for line in dovecot.doveadm("who").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "imap":
            sessions[fields[0]] = sessions.get(fields[0], 0) + int(fields[1])
    return sessions


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_listeners_accounts_are_taken_over_within_the_lease_and_get_push(owner, dovecot, smtp_server,
                                                                                    tmp_path):
    accounts = make_accounts(owner, dovecot, smtp_server, 6)
    logins = {account.pk: user.login for account, user in accounts}
    env = worker_env() | {"MAIL_IDLE_LEASE_SECONDS": "3", "MAIL_IDLE_RENEW_SECONDS": "1"}
    (first, first_log), (second, second_log) = (_listener(env, tmp_path / "idle-a.log"),
                                                _listener(env, tmp_path / "idle-b.log"))
    try:
        # Both alive: three accounts each, every account held by exactly one of them.
        assert wait_for(lambda: len(held_by(first)) == len(held_by(second)) == 3, 30), holders()
        assert held_by(first) | held_by(second) == set(logins)
        # On the server too: one IMAP session per account, never two listeners on one Inbox.
        assert wait_for(lambda: _imap_sessions(dovecot) == dict.fromkeys(logins.values(), 1), 10), \
            _imap_sessions(dovecot)

        victims = held_by(first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        assert wait_for(lambda: held_by(second) == set(logins), 20), holders()
        took = time.monotonic() - killed_at
        assert took < 3 + 1 + 10  # a lease, a renewal, and slack for this shared 2-core machine
        # Mail to an account of the killed listener arrives by push from the survivor.
        victim = min(victims)
        assert wait_for(lambda: _imap_sessions(dovecot).get(logins[victim]) == 1, 10)  # the survivor logged in
        time.sleep(1.0)  # let its catch-up pass end and IDLE begin
        dovecot.append(logins[victim], "INBOX", make_message("Dopo", message_id="<takeover@test>"))
        assert wait_for(lambda: Message.objects.filter(account_id=victim, message_id="<takeover@test>").exists(),
                        15, step=0.05), \
            "not delivered within 15 s of the takeover:\n" + (tmp_path / "idle-b.log").read_text()[-3000:]
        _stop(second)
        assert second.returncode == 0
        assert holders() == {}  # a clean stop frees its leases at once
    finally:
        _stop(first)
        _stop(second)
        first_log.close()
        second_log.close()



@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_listener_holding_thirty_accounts_keeps_its_database_connections_under_the_setting(
        owner, dovecot, smtp_server, tmp_path):
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("CI must run this with DATABASE_URL=postgres://... (pg_stat_activity)")
        pytest.skip("needs PostgreSQL (set DATABASE_URL, as CI does)")
    accounts = make_accounts(owner, dovecot, smtp_server, 30)
    env = worker_env()
    env["DATABASE_URL"] += "?application_name=postino-idle-test"
    env["MAIL_IDLE_DB_CONNECTIONS"] = "10"
    peak = 0

    def sample() -> int:
        nonlocal peak
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND application_name = 'postino-idle-test'")
            count = cursor.fetchone()[0]
        peak = max(peak, count)
        return count

    process, log = _listener(env, tmp_path / "idle-pg.log")
    try:
        assert wait_for(lambda: sample() >= 0 and len(holders()) == 30, 30, step=0.05), holders()
        assert wait_for(lambda: sample() >= 0 and Folder.objects.filter(role="inbox").count() == 30, 30, step=0.05)
        time.sleep(0.5)  # the catch-up passes of all thirty are done: let the last ones enter IDLE
        # New mail at ten accounts at once: their passes share the bounded pool.
        for index, (_account, user) in enumerate(accounts[:10]):
            dovecot.append(user.login, "INBOX", make_message(f"Ondata {index}", message_id=f"<wave{index}@test>"))
        assert wait_for(lambda: sample() >= 0 and Message.objects.filter(message_id__startswith="<wave").count() == 10,
                        15, step=0.05), "the wave was not delivered within 15 s"
        assert 0 < peak <= 10, f"{peak} connections for 30 accounts"
    finally:
        _stop(process)
        log.close()
        peak_before_stop = peak
        wait_for(lambda: sample() == 0, 5, step=0.05)  # its server sessions end after it (teardown drops the db)
        peak = peak_before_stop
