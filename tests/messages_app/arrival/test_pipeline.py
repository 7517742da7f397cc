"""The arrival pipeline: each step once per genuinely new message, whatever dies on the way."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from messages_app.arrival import pipeline, steps
from messages_app.models import ArrivalMarker, Attachment, Message, MessageBody
from messages_app.services.sync import account_sync
from messages_app.sync import engine
from tests.conftest import account_on
from tests.messages_app.arrival import steps_for_tests
from tests.messages_app.arrival.steps_for_tests import STAR
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_sync_robustness import worker_env

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[3]


def deliver(mail_user, count, start=0, **kwargs):
    for i in range(start, start + count):
        mail_user.dovecot.append(mail_user.login, "INBOX", make_message(f"Richiesta {i}", minutes=i, **kwargs))


def marked(account) -> dict[str, int]:
    return {m.subject: m.preview.count(STAR) for m in Message.objects.filter(account=account)}


def test_a_step_runs_once_per_new_message_and_never_for_history_or_backfill(owner, mail_user, mark_step, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_SIZE", 10)  # 35 messages: a first batch, then backfill
    deliver(mail_user, 35)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    assert Message.objects.filter(account=account, folder__name="INBOX").count() == 35
    assert mark_step == []
    deliver(mail_user, 3, start=100)
    result = account_sync(account.pk)
    assert len(result.new_message_ids) == 3
    assert sorted(i for call in mark_step for i in call) == sorted(result.new_message_ids)
    account_sync(account.pk)
    assert {s: n for s, n in marked(account).items() if n} == {f"Richiesta {i}": 1 for i in range(100, 103)}
    assert not ArrivalMarker.objects.exists()


def test_nothing_runs_after_a_rebuild_or_a_move_by_another_client(owner, mail_user, mark_step):
    deliver(mail_user, 6)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    mail_user.dovecot.recreate_folder(mail_user.login, "INBOX")
    account_sync(account.pk)
    client = mail_user.dovecot.imap_client(mail_user.login)
    client.create_folder("Clienti")
    client.select_folder("INBOX")
    client.move(client.search(["SUBJECT", "Richiesta 2"]), "Clienti")
    client.copy(client.search(["SUBJECT", "Richiesta 3"]), "Clienti")
    client.logout()
    account_sync(account.pk)
    assert Message.objects.filter(account=account, folder__name="Clienti").count() == 2
    assert mark_step == []
    assert not ArrivalMarker.objects.exists()


def test_mail_arriving_in_a_folder_created_later_is_new(owner, mail_user, mark_step):
    deliver(mail_user, 2)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    mail_user.dovecot.append(mail_user.login, "Ordini", make_message("Ordine 7"))  # a server-side filter filed it
    account_sync(account.pk)
    assert marked(account)["Ordine 7"] == 1


def test_an_inbox_only_first_pass_leaves_the_other_folders_history(owner, mail_user, mark_step):
    """The IDLE listener may take a new account before the worker's first full pass: its Inbox
    pass must not end the first sync, or every other folder's history would look like new mail."""
    deliver(mail_user, 2)
    for i in range(3):
        mail_user.dovecot.append(mail_user.login, "Sent", make_message(f"Inviata {i}", minutes=i))
    account = account_on(owner, mail_user)
    account_sync(account.pk, folder_name="INBOX")
    account.refresh_from_db()
    assert not account.initial_sync_done
    result = account_sync(account.pk)
    assert Message.objects.filter(account=account, folder__name="Sent").count() == 3
    assert result.new_message_ids == [] and mark_step == []
    account.refresh_from_db()
    assert account.initial_sync_done
    mail_user.dovecot.append(mail_user.login, "Sent", make_message("Inviata dopo"))
    assert len(account_sync(account.pk).new_message_ids) == 1


def run_worker(mode: str, account_id: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(WORKER), mode, str(account_id)], cwd=ROOT, env=worker_env(),
                          capture_output=True, text=True, timeout=120)


def lapse_claims():
    """What a minute's wait does to a dead consumer's claims."""
    ArrivalMarker.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["die", "mark_then_die", "prefetch_then_die"])
def test_a_worker_killed_before_or_inside_a_step_leaves_each_step_done_once(owner, mail_user, mark_step, settings,
                                                                          mode):
    settings.MAIL_PREFETCH_BODIES = True
    deliver(mail_user, 2)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    deliver(mail_user, 2, start=10, attachment=b"%PDF-1.4 ordine\n" * 20)
    killed = run_worker(mode, account.pk)
    assert killed.returncode == -9, killed.stderr
    new = Message.objects.filter(account=account, subject__in=["Richiesta 10", "Richiesta 11"])
    assert new.count() == 2
    assert ArrivalMarker.objects.filter(message__in=new).count() == 2  # stored with their markers
    lapse_claims()
    account_sync(account.pk)
    assert not ArrivalMarker.objects.exists()
    assert {m.subject: m.preview.count(STAR) for m in new} == {"Richiesta 10": 1, "Richiesta 11": 1}
    assert MessageBody.objects.filter(message__in=new).count() == 2
    assert Attachment.objects.filter(message__in=new, is_inline=False).count() == 2


def test_a_permanent_step_failure_is_shown_on_sync_health(owner, owner_client, mail_user):
    deliver(mail_user, 1)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    steps.register(steps.Step("test_refuse", steps_for_tests.refuse))
    try:
        deliver(mail_user, 1, start=20)
        result = account_sync(account.pk)
    finally:
        steps.unregister("test_refuse")
    assert result.arrivals.failed == 1
    marker = ArrivalMarker.objects.get()
    assert marker.failed_step == "test_refuse" and marker.failed_at is not None
    page = owner_client.get(reverse("messages_app:sync_health", args=[account.pk])).content.decode()
    assert "Richiesta 20" in page
    assert "the CRM refused the link: record 42 is archived" in page
    account_sync(account.pk)  # stopped for good: not retried
    assert ArrivalMarker.objects.get().attempts == 0


def test_a_transient_step_failure_is_retried_with_backoff_until_it_works(owner, mail_user):
    deliver(mail_user, 1)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    flaky = steps_for_tests.Flaky(times=2)
    steps.register(steps.Step("test_flaky", flaky, atomic=True))
    try:
        deliver(mail_user, 1, start=30)
        first = account_sync(account.pk)
        assert first.arrivals.retrying == 1
        marker = ArrivalMarker.objects.get()
        assert marker.attempts == 1 and marker.next_attempt_at > timezone.now() + timedelta(seconds=20)
        assert pipeline.drain(account_id=account.pk).retrying == 0  # not due yet: left alone
        for expected_attempts in (2, None):
            ArrivalMarker.objects.update(next_attempt_at=timezone.now())
            pipeline.drain(account_id=account.pk)
            if expected_attempts:
                assert ArrivalMarker.objects.get().attempts == expected_attempts
    finally:
        steps.unregister("test_flaky")
    assert not ArrivalMarker.objects.exists()
    assert marked(account)["Richiesta 30"] == 1
    assert pipeline.backoff_seconds(1) < pipeline.backoff_seconds(3) <= pipeline.BACKOFF_MAX_SECONDS
