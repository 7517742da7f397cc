"""Filters against the real Dovecot: each action on new Inbox mail, once per message across a
crash, and "apply now" over a full Inbox."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from messages_app.models import ArrivalMarker, Message, RuleJob, RuleRun
from messages_app.rules import rule_from_dict
from messages_app.services.rules import rule_job_run, rule_job_start, rule_problems, rules_replace
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_sync_robustness import worker_env

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[3]


def rule(name, field, op, value, *actions, match="all"):
    return rule_from_dict({"name": name, "match": match,
                           "conditions": [{"field": field, "op": op, "value": value}],
                           "actions": [dict(a) for a in actions]})


def server_view(mail_user, folder):
    """{subject: flags} of a folder, as the server has it."""
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["ENVELOPE", "FLAGS"]) if uids else {}
        return {item[b"ENVELOPE"].subject.decode(): sorted(f.decode() for f in item[b"FLAGS"] if f != b"\\Recent")
                for item in data.values()}
    finally:
        client.logout()


@pytest.fixture
def filed_account(owner, mail_user):
    for name in ("Clienti", "Archivio"):
        mail_user.dovecot.create_folder(mail_user.login, name)
    account = account_on(owner, mail_user)
    account_sync(account.pk)  # the first sync: what follows is genuinely new
    return account


def deliver(mail_user, subject, **kwargs):
    mail_user.dovecot.append(mail_user.login, "INBOX", make_message(subject, **kwargs))


def test_each_action_on_new_inbox_mail_in_rule_order_with_stop(filed_account, mail_user):
    rules_replace(account=filed_account, rules=[
        rule("clienti", "from", "ends_with", "@cliente.test", {"action": "move", "folder": "Clienti"}),
        rule("copia", "subject", "contains", "copia", {"action": "copy", "folder": "Archivio"},
             {"action": "keyword", "keyword": "Archiviato"}),
        rule("letto", "subject", "contains", "letto", {"action": "mark_read"}, {"action": "stop"}),
        rule("importante", "subject", "contains", "importante", {"action": "flag"}),
        rule("cestino", "subject", "contains", "cestino", {"action": "delete"}),
    ])
    deliver(mail_user, "Offerta", sender="mario@cliente.test")
    deliver(mail_user, "Da copiare: copia", sender="anna@altro.test")
    deliver(mail_user, "Letto, importante", sender="anna@altro.test")  # stop: no flag
    deliver(mail_user, "Solo importante", sender="anna@altro.test")
    deliver(mail_user, "Da cestino", sender="anna@altro.test")
    deliver(mail_user, "Niente", sender="anna@altro.test")
    account_sync(filed_account.pk)
    assert server_view(mail_user, "Clienti") == {"Offerta": []}
    assert server_view(mail_user, "Archivio") == {"Da copiare: copia": ["Archiviato"]}  # flags first, then copies
    assert server_view(mail_user, "Trash") == {"Da cestino": []}
    assert server_view(mail_user, "INBOX") == {
        "Da copiare: copia": ["Archiviato"], "Letto, importante": ["\\Seen"],
        "Solo importante": ["\\Flagged"], "Niente": []}
    offerta = Message.objects.get(account=filed_account, subject="Offerta")
    assert offerta.folder.name == "Clienti"
    assert Message.objects.get(account=filed_account, subject="Letto, importante", folder__name="INBOX").is_seen
    assert RuleRun.objects.filter(state=RuleRun.State.DONE).count() == 5
    account_sync(filed_account.pk)  # nothing runs twice
    assert len(server_view(mail_user, "Archivio")) == 1


def test_history_and_other_folders_are_left_alone(owner, mail_user):
    deliver(mail_user, "Vecchia offerta", sender="mario@cliente.test")
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    account = account_on(owner, mail_user)
    rules_replace(account=account, rules=[
        rule("clienti", "from", "contains", "cliente.test", {"action": "flag"})])
    account_sync(account.pk)
    mail_user.dovecot.append(mail_user.login, "Clienti", make_message("Altrove", sender="mario@cliente.test"))
    account_sync(account.pk)
    assert server_view(mail_user, "INBOX") == {"Vecchia offerta": []}
    assert server_view(mail_user, "Clienti") == {"Altrove": []}


def test_a_vanished_target_folder_is_reported_and_the_message_stays(filed_account, mail_user):
    rules_replace(account=filed_account, rules=[
        rule("ordini", "subject", "contains", "ordine", {"action": "move", "folder": "Ordini"}, {"action": "flag"})])
    row = filed_account.rules.get()
    assert list(rule_problems(filed_account)) == [row.pk]
    assert "Ordini" in rule_problems(filed_account)[row.pk][0]
    deliver(mail_user, "Nuovo ordine")
    account_sync(filed_account.pk)
    assert server_view(mail_user, "INBOX") == {"Nuovo ordine": ["\\Flagged"]}  # stays, the rest applies


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_server_work_does_not_repeat_it(owner, mail_user):
    for name in ("Clienti", "Archivio"):
        mail_user.dovecot.create_folder(mail_user.login, name)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    rules_replace(account=account, rules=[
        rule("copia", "subject", "contains", "Richiesta", {"action": "copy", "folder": "Archivio"},
             {"action": "flag"}),
        rule("sposta", "subject", "contains", "sposta", {"action": "move", "folder": "Clienti"})])
    deliver(mail_user, "Richiesta 1")
    deliver(mail_user, "Richiesta 2 sposta")
    killed = subprocess.run([sys.executable, str(WORKER), str(account.pk)], cwd=ROOT, env=worker_env(),
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert RuleRun.objects.filter(state=RuleRun.State.STARTED).count() == 2
    ArrivalMarker.objects.update(claimed_until=timezone.now())  # the dead worker's claim lapsed
    account_sync(account.pk)
    assert not ArrivalMarker.objects.exists()
    assert server_view(mail_user, "Archivio") == {"Richiesta 1": ["\\Flagged"], "Richiesta 2 sposta": ["\\Flagged"]}
    assert server_view(mail_user, "Clienti") == {"Richiesta 2 sposta": ["\\Flagged"]}
    assert server_view(mail_user, "INBOX") == {"Richiesta 1": ["\\Flagged"]}
    assert RuleRun.objects.filter(state=RuleRun.State.DONE).count() == 2


def test_apply_now_over_a_thousand_messages_reports_what_moved(owner, mail_user):
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    mail_user.dovecot.write_maildir(mail_user.login, "INBOX", [
        (make_message(f"Richiesta {i}", sender="mario@cliente.test" if i % 2 else "anna@altro.test"), "")
        for i in range(1000)])
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    rules_replace(account=account, rules=[
        rule("clienti", "from", "contains", "cliente.test", {"action": "move", "folder": "Clienti"}),
        rule("altro", "from", "contains", "altro.test", {"action": "mark_read"})])
    job = rule_job_start(account=account)
    assert job.total == 1000
    job = rule_job_run(job_id=job.pk)
    assert (job.state, job.done, job.matched, job.moved) == (RuleJob.State.DONE, 1000, 1000, {"Clienti": 500})
    assert job.percent == 100
    client = mail_user.dovecot.imap_client(mail_user.login)
    assert client.folder_status("Clienti", [b"MESSAGES"])[b"MESSAGES"] == 500
    client.select_folder("INBOX", readonly=True)
    assert len(client.search(["SEEN"])) == 500 and len(client.search(["ALL"])) == 500
    client.logout()
    assert Message.objects.filter(account=account, folder__name="Clienti").count() == 500


def test_a_body_rule_files_by_the_words_of_the_body(filed_account, mail_user):
    rules_replace(account=filed_account, rules=[
        rule("preventivo", "body", "contains", "preventivo", {"action": "copy", "folder": "Archivio"})])
    for i in range(30):
        deliver(mail_user, f"Messaggio {i}", body="Allego il preventivo." if i % 2 else "Niente di che.")
    account_sync(filed_account.pk)
    assert len(server_view(mail_user, "Archivio")) == 15


def test_a_header_the_sync_does_not_store_is_read_from_the_server(filed_account, mail_user):
    from email.message import EmailMessage

    rules_replace(account=filed_account, rules=[rule_from_dict({
        "name": "gestionale", "conditions": [{"field": "header", "header": "X-Gestionale", "op": "is",
                                              "value": "ordini"}],
        "actions": [{"action": "keyword", "keyword": "Gestionale"}]})])
    for subject, tag in (("Dal gestionale", "ordini"), ("Altro", "fatture")):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"], m["X-Gestionale"] = "erp@cliente.test", mail_user.login, subject, tag
        m.set_content("ordine 7")
        mail_user.dovecot.append(mail_user.login, "INBOX", bytes(m))
    account_sync(filed_account.pk)
    assert server_view(mail_user, "INBOX") == {"Dal gestionale": ["Gestionale"], "Altro": []}
