"""Several workers and dead workers: each due message leaves exactly once, none is lost."""

import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from messages_app.enums import OutboxState
from messages_app.models import OutgoingMessage
from messages_app.services.outbox import outbox_queue, outbox_resend, outbox_send_due
from tests.conftest import account_on
from tests.messages_app.outbox.helpers import parse, sent_copies
from tests.messages_app.sync.test_sync_robustness import worker_env
from tests.servers.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("worker.py")


def queue(owner, account, subject="Offerta"):
    return outbox_queue(user=owner, account=account, to=["dest@example.test"], subject=subject, text="Testo",
                        undo_seconds=0)


@pytest.mark.django_db(transaction=True)
def test_two_workers_over_50_due_messages_deliver_each_exactly_once(owner, mail_account, mail_user, smtp_server):
    items = [queue(owner, mail_account, f"Pratica {n}") for n in range(50)]
    results, errors = [], []
    start = threading.Barrier(2)

    def work():
        try:
            start.wait(5)
            results.append(outbox_send_due())
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()  # this thread's own database connection

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    received = smtp_server.wait_for(50, login=mail_user.login)
    ids = Counter(parse(m.data)["Message-ID"] for m in received)
    assert len(received) == 50 and set(ids.values()) == {1}
    assert set(ids) == {item.message_id for item in items}
    assert sorted(results[0].ids + results[1].ids) == sorted(item.pk for item in items)
    assert all(result.sent for result in results), "both workers should have won some claims"
    assert set(OutgoingMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_over_50_due_messages_deliver_each_exactly_once(owner, mail_account, mail_user,
                                                                           smtp_server, tmp_path):
    """The same race between two real processes, each with its own database connection."""
    import json

    items = [queue(owner, mail_account, f"Pratica {n}") for n in range(50)]
    gate = tmp_path
    workers = [subprocess.Popen([sys.executable, str(WORKER), "race", str(gate)], cwd=ROOT, env=worker_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 30
    while len(list(gate.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    (gate / "go").touch()  # both are set up: they claim side by side
    outputs = [worker.communicate(timeout=60) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _out, err in outputs]
    sent_by = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    assert all(sent_by), "both workers should have won some claims"
    assert sorted(sent_by[0] + sent_by[1]) == sorted(item.pk for item in items)  # each by exactly one worker
    received = smtp_server.wait_for(50, login=mail_user.login)
    ids = Counter(parse(m.data)["Message-ID"] for m in received)
    assert len(received) == 50 and set(ids.values()) == {1}
    assert set(ids) == {item.message_id for item in items}
    assert set(OutgoingMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}


def run_killed_worker(mode: str) -> None:
    process = subprocess.run([sys.executable, str(WORKER), mode], cwd=ROOT, env=worker_env(), capture_output=True,
                             text=True, timeout=60)
    assert process.returncode == -9, process.stderr  # SIGKILL, at the point the mode names


def lapse_claims():
    """What the lease's passing does to a dead worker's claim."""
    OutgoingMessage.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_smtp_leaves_uncertain_and_only_the_user_sends_again(owner, mail_account, mail_user,
                                                                                  smtp_server):
    item = queue(owner, mail_account)
    run_killed_worker("after_smtp")
    assert len(smtp_server.wait_for(1, login=mail_user.login)) == 1
    item.refresh_from_db()
    assert item.state == OutboxState.SENDING
    assert outbox_send_due().sent == 0  # its claim has not lapsed: nobody touches it
    lapse_claims()
    result = outbox_send_due()
    item.refresh_from_db()
    assert (result.uncertain, result.sent) == (1, 0)
    assert item.state == OutboxState.UNCERTAIN and "Invialo di nuovo" in item.error  # in words, in Italian
    assert outbox_send_due(now=timezone.now() + timedelta(days=1)).sent == 0  # never blindly again
    assert len(smtp_server._matching(mail_user.login)) == 1
    assert outbox_resend(user=owner, outbox_id=item.pk)
    assert outbox_send_due().sent == 1
    assert len(smtp_server.wait_for(2, login=mail_user.login)) == 2
    item.refresh_from_db()
    assert item.state == OutboxState.SENT


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_sent_copy_is_reconciled_as_sent_without_a_second_send(owner, mail_account,
                                                                                        mail_user, smtp_server):
    item = queue(owner, mail_account)
    run_killed_worker("after_sent_copy")
    lapse_claims()
    result = outbox_send_due()
    item.refresh_from_db()
    assert result.reconciled_sent == 1 and item.state == OutboxState.SENT and item.sent_at is not None
    assert len(smtp_server.wait_for(1, login=mail_user.login)) == 1
    assert len(sent_copies(mail_user, item.message_id)) == 1


def test_reconciliation_waits_while_sent_cannot_be_read(owner, mail_user, smtp_server):
    account = account_on(owner, mail_user)
    item = queue(owner, account)
    # What a worker killed mid-send leaves behind, once its lease has passed.
    OutgoingMessage.objects.filter(pk=item.pk).update(state=OutboxState.SENDING, claim_token="dead")
    lapse_claims()
    account.imap_port = free_port()  # the IMAP server is unreachable for now
    account.save(update_fields=["imap_port"])
    result = outbox_send_due()
    item.refresh_from_db()
    assert (result.uncertain, result.reconciled_sent, result.sent) == (0, 0, 0)
    assert item.state == OutboxState.SENDING  # undecided, not guessed: looked at again next poll
    assert smtp_server._matching(mail_user.login) == []
    account.imap_port = mail_user.imap_port
    account.save(update_fields=["imap_port"])
    lapse_claims()
    assert outbox_send_due().uncertain == 1


def test_a_slow_sender_whose_claim_lapsed_still_records_the_send(owner, mail_account, mail_user, smtp_server,
                                                                 monkeypatch):
    from messages_app.services import outbox

    item = queue(owner, mail_account)
    original = outbox._file_in_sent

    def meanwhile_a_reconciler_decided(account, raw, sessions):
        # The lease lapsed mid-send and another worker, finding nothing in Sent yet, said uncertain.
        OutgoingMessage.objects.filter(pk=item.pk).update(state=OutboxState.UNCERTAIN, claim_token="other")
        return original(account, raw, sessions)

    monkeypatch.setattr(outbox, "_file_in_sent", meanwhile_a_reconciler_decided)
    assert outbox_send_due().sent == 1
    item.refresh_from_db()
    assert item.state == OutboxState.SENT and item.recipients.count() == 1
    assert len(smtp_server.wait_for(1, login=mail_user.login)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_long_send_keeps_its_claim_alive(owner, mail_account, mail_user, monkeypatch):
    from messages_app.services import outbox

    monkeypatch.setattr(outbox, "claim_lease", lambda: timedelta(seconds=0.6))  # renewed every 0.2 s
    item = queue(owner, mail_account)
    original = outbox._file_in_sent
    seen = []

    def slow_copy(account, raw, sessions):
        for _ in range(4):
            time.sleep(0.3)
            seen.append(OutgoingMessage.objects.get(pk=item.pk).claimed_until)
        return original(account, raw, sessions)

    monkeypatch.setattr(outbox, "_file_in_sent", slow_copy)
    assert outbox_send_due().sent == 1
    assert seen == sorted(seen) and len(set(seen)) >= 3  # pushed forward while the send went on


@pytest.mark.django_db(transaction=True)
def test_a_reply_reconciled_as_sent_flags_its_original_and_removes_its_draft_once(owner, mail_user, smtp_server):
    from messages_app.models import OutgoingContext
    from messages_app.services.compose import ComposeData, compose_after_sent, compose_send, draft_save, new_draft_id
    from tests.messages_app.compose.test_compose import drafts_on_server
    from tests.messages_app.views import mails
    from tests.messages_app.views.conftest import make_mailbox, server_flags

    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain(
        "Riunione", "Ci vediamo?", message_id="<riunione@cliente.test>"), ())])
    draft_id = new_draft_id()
    data = ComposeData(account=box.account, to=[("Mario Rossi", "mario@cliente.test")], subject="Re: Riunione",
                       body_html="<p>Sì, alle 10.</p>", original=box.message("Riunione"), kind="reply",
                       draft_id=draft_id)
    draft_save(user=owner, data=data)
    item = compose_send(user=owner, data=data, send_at=timezone.now())
    run_killed_worker("after_sent_copy")  # sent and filed in Sent; the after-send steps never ran
    assert "\\Answered" not in server_flags(mail_user, "INBOX")[box.uids["Riunione"]]
    assert len(drafts_on_server(mail_user, draft_id)) == 1
    lapse_claims()
    assert outbox_send_due().reconciled_sent == 1
    assert "\\Answered" in server_flags(mail_user, "INBOX")[box.uids["Riunione"]]
    assert drafts_on_server(mail_user, draft_id) == []
    assert OutgoingContext.objects.get(message=item).done
    draft_save(user=owner, data=data)  # the user saves a new draft with that id: not ours to remove again
    compose_after_sent(item=item)
    assert len(drafts_on_server(mail_user, draft_id)) == 1
    assert len(smtp_server.wait_for(1, login=mail_user.login)) == 1
    assert len(sent_copies(mail_user, item.message_id)) == 1
