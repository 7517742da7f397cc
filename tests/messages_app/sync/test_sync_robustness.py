"""Robustness: restarts, SIGKILLed workers, concurrent workers, servers without CONDSTORE, IDLE."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from messages_app.models import Folder, Message
from messages_app.services.idle_listener import listen
from messages_app.services.sync import account_sync
from messages_app.sync import engine
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_sync_engine import assert_in_step
from tests.servers.fixtures import new_mail_user

ROOT = Path(__file__).resolve().parents[3]


def seed(dovecot, login, count, folder="INBOX"):
    dovecot.write_maildir(login, folder, [(make_message(f"Pratica {i}", minutes=i), "S" if i % 3 else "F")
                                          for i in range(count)])


def worker_env() -> dict:
    """Environment for a child process that must see this test's database."""
    env = dict(os.environ)
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
                               f"{settings['PORT'] or 5432}/{settings['NAME']}")
    else:
        env["DATABASE_URL"] = f"sqlite:///{settings['NAME']}"
    env["MAIL_ALLOW_PRIVATE_HOSTS"] = "1"
    return env


def test_a_server_restart_mid_sync_ends_in_the_servers_state(owner, make_dovecot, smtp_server, monkeypatch):
    dovecot = make_dovecot()
    user = new_mail_user(dovecot, smtp_server)
    seed(dovecot, user.login, 600)
    account = account_on(owner, user)
    monkeypatch.setattr(engine, "BATCH_SIZE", 100)
    restarted = []
    original = engine._store_batch

    def restart_after_first_batch(*args, **kwargs):
        stored = original(*args, **kwargs)
        if not restarted:
            restarted.append(True)
            dovecot.restart()
        return stored

    monkeypatch.setattr(engine, "_store_batch", restart_after_first_batch)
    account_sync(account.pk)  # the dropped connection is retried within the pass
    assert restarted
    assert_in_step(dovecot, account, user.login)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_then_rerun_gives_the_servers_state_within_90_seconds(owner, mail_user):
    seed(mail_user.dovecot, mail_user.login, 6000)
    account = account_on(owner, mail_user)
    command = [sys.executable, "manage.py", "mail_sync", "--account", str(account.pk)]
    process = subprocess.Popen(command, cwd=ROOT, env=worker_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Message.objects.filter(account=account).count() < 1500:
        if process.poll() is not None:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = time.monotonic()
    partial = Message.objects.filter(account=account).count()
    assert 0 < partial < 6000, f"the kill should land mid-sync (had {partial})"
    # The dead holder's lease lapses by itself (about a minute): the re-run waits for it.
    rerun = subprocess.run([*command, "--wait", "120"], cwd=ROOT, env=worker_env(), capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert time.monotonic() - killed_at < 90
    assert_in_step(mail_user.dovecot, account, mail_user.login)
    assert Message.objects.filter(account=account).count() == 6000


def test_a_server_without_condstore_gives_the_same_end_state(owner, dovecot_no_condstore, smtp_server):
    user = new_mail_user(dovecot_no_condstore, smtp_server)
    seed(dovecot_no_condstore, user.login, 300)
    account = account_on(owner, user)
    account_sync(account.pk)
    dovecot_no_condstore.set_flags(user.login, "INBOX", 5, ["\\Flagged"])
    dovecot_no_condstore.set_flags(user.login, "INBOX", 6, [])
    dovecot_no_condstore.expunge(user.login, "INBOX", 7)
    dovecot_no_condstore.append(user.login, "INBOX", make_message("Nuova"))
    dovecot_no_condstore.set_flags(user.login, "INBOX", 8, ["\\Seen", "$Label1", "$Forwarded"])
    account_sync(account.pk)
    assert_in_step(dovecot_no_condstore, account, user.login)
    assert Message.objects.get(folder__name="INBOX", uid=8).keywords == ["$Forwarded", "$Label1"]
    dovecot_no_condstore.set_flags(user.login, "INBOX", 8, ["\\Seen", "$Label1"])
    account_sync(account.pk)
    assert_in_step(dovecot_no_condstore, account, user.login)
    assert Message.objects.get(folder__name="INBOX", uid=8).keywords == ["$Label1"]
    assert b"CONDSTORE" not in dovecot_no_condstore.imap_rawlog(user.login)
    assert b"QRESYNC" not in dovecot_no_condstore.imap_rawlog(user.login)


@pytest.mark.django_db(transaction=True)
def test_idle_brings_new_mail_into_the_database_within_seconds(owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    stop = threading.Event()
    listener = threading.Thread(target=listen, args=(account.pk, stop), daemon=True)
    listener.start()
    try:
        time.sleep(1.0)  # let it enter IDLE
        mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Urgente", message_id="<idle@test>"))
        sent = time.monotonic()
        while time.monotonic() - sent < 5 and not Message.objects.filter(message_id="<idle@test>").exists():
            time.sleep(0.05)
        assert Message.objects.filter(message_id="<idle@test>").exists(), "not delivered within 5 s"
    finally:
        stop.set()
        listener.join(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_redis_and_postgresql_sync_twenty_accounts_exactly(owner, mail_user, dovecot, smtp_server):
    if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        if os.environ.get("CI"):
            pytest.fail("CI must run this with DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...")
        pytest.skip("needs PostgreSQL and Redis (set DATABASE_URL and CELERY_BROKER_URL, as CI does)")
    accounts = []
    for index in range(20):
        user = new_mail_user(dovecot, smtp_server)
        seed(dovecot, user.login, 150 + index)
        accounts.append((account_on(owner, user), user))
    env = worker_env()
    workers = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "crm", "worker", "--concurrency=2",
                                 "--pool=prefork", f"--hostname=w{n}@%h", "--loglevel=WARNING",
                                 "--without-mingle", "--without-gossip"],
                                cwd=ROOT, env=env, start_new_session=True, stderr=subprocess.PIPE)
               for n in range(2)]
    try:
        from messages_app.tasks import sync_account_task

        for _round in range(2):  # every account queued twice: the lock must keep passes apart
            for account, _user in accounts:
                sync_account_task.delay(account.pk)
        deadline = time.monotonic() + 180
        expected = {account.pk: 150 + i for i, (account, _u) in enumerate(accounts)}
        while time.monotonic() < deadline:
            counts = {a.pk: Message.objects.filter(account=a).count() for a, _u in accounts}
            if counts == expected:
                break
            time.sleep(0.5)
        time.sleep(2)  # let the duplicate tasks finish too
        for account, user in accounts:
            assert_in_step(dovecot, account, user.login)
            assert Folder.objects.filter(account=account, name="INBOX").count() == 1
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)


@pytest.mark.django_db(transaction=True)
def test_the_mail_idle_command_delivers_new_mail_and_stops_on_sigterm(owner, mail_user):
    account = account_on(owner, mail_user)
    process = subprocess.Popen([sys.executable, "manage.py", "mail_idle"], cwd=ROOT, env=worker_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert "listening on 1 accounts" in process.stdout.readline()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not Folder.objects.filter(account=account, role="inbox").exists():
            time.sleep(0.1)  # the listener's catch-up pass creates the folders
        time.sleep(0.5)
        mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Push", message_id="<push@test>"))
        sent = time.monotonic()
        while time.monotonic() - sent < 5 and not Message.objects.filter(message_id="<push@test>").exists():
            time.sleep(0.05)
        assert Message.objects.filter(message_id="<push@test>").exists(), "not delivered within 5 s"
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
