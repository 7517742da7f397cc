"""mail_send, mail_send_due and mail_outbox: the DESIGN.md contracts."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from messages_app.enums import OutboxState
from messages_app.models import OutgoingMessage
from messages_app.tasks import outbox_send_due_task
from tests.messages_app.outbox.helpers import parse


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def json_rows(*args) -> list[dict]:
    return [json.loads(line) for line in run(*args, "--json").splitlines()]


def test_mail_send_queues_prints_the_id_last_and_mail_send_due_sends_it(owner, mail_account, mail_user, smtp_server,
                                                                       tmp_path):
    attachment = tmp_path / "listino però.csv"
    attachment.write_bytes("articolo;prezzo\ncaffè;1\n".encode())
    body = tmp_path / "body.html"
    body.write_text("<p>Gentile cliente, <b>ecco</b> il listino.</p>", encoding="utf-8")
    out = run("mail_send", "--account", str(mail_account.pk), "--to", "a@example.test", "--to", "b@example.test",
              "--cc", "c@example.test", "--subject", "Listino", "--body-file", str(body), "--html",
              "--attach", str(attachment))
    outbox_id = int(out.splitlines()[-1])
    item = OutgoingMessage.objects.get(pk=outbox_id)
    assert item.state == OutboxState.SCHEDULED and item.owner == owner
    assert "sent 1," in run("mail_send_due")
    message = parse(smtp_server.wait_for(1, login=mail_user.login)[-1].data)
    assert message.get_body(("html",)).get_content().strip() == "<p>Gentile cliente, <b>ecco</b> il listino.</p>"
    assert "ecco il listino" in message.get_body(("plain",)).get_content()
    assert next(message.iter_attachments()).get_filename() == "listino però.csv"
    [row] = json_rows("mail_outbox", "show", str(outbox_id))
    assert row["id"] == outbox_id and row["account"] == mail_account.pk and row["state"] == "sent"
    assert row["message_id"] == message["Message-ID"] and row["error"] == "" and row["sent_at"]
    assert {(d["address"], d["status"], d["source"]) for d in row["delivery"]} == {
        (a, "accepted", "smtp") for a in ("a@example.test", "b@example.test", "c@example.test")}
    assert all(d["at"] for d in row["delivery"])


def test_mail_send_at_schedules_for_later(owner, mail_account, mail_user, smtp_server):
    at = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    outbox_id = int(run("mail_send", "--account", str(mail_account.pk), "--to", "a@example.test", "--subject",
                        "Domani", "--body", "Ci vediamo", "--at", at.isoformat()).splitlines()[-1])
    assert "sent 0," in run("mail_send_due")
    [row] = json_rows("mail_outbox", "list", "--user", "owner", "--state", "scheduled")
    assert row["id"] == outbox_id and row["send_at"] == at.isoformat() and row["delivery"] == []
    assert smtp_server._matching(mail_user.login) == []


def test_mail_outbox_lists_states_and_a_refused_recipient(owner, colleague, mail_account, smtp_server):
    smtp_server.refuse_recipient("gone@example.test", "550 5.1.1 Mailbox disabled")
    ids = [int(run("mail_send", "--account", str(mail_account.pk), "--to", to, "--to", "ok@example.test",
                   "--subject", "Avviso", "--body", "Testo").splitlines()[-1]) for to in ("gone@example.test",)]
    outbox_send_due_task.apply().get()  # the beat poll's task, run locally
    rows = json_rows("mail_outbox", "list")
    assert [row["id"] for row in rows] == ids
    gone = next(d for d in rows[0]["delivery"] if d["address"] == "gone@example.test")
    assert (gone["status"], gone["smtp_code"], gone["smtp_enhanced"]) == ("not_delivered", 550, "5.1.1")
    assert json_rows("mail_outbox", "list", "--user", "colleague") == []
    assert json_rows("mail_outbox", "list", "--state", "failed") == []
    text = run("mail_outbox", "show", str(ids[0]))
    assert "gone@example.test\tnot_delivered\tsmtp" in text and "550 5.1.1 Mailbox disabled" in text


@pytest.mark.parametrize("args, reason", [
    (["mail_send", "--account", "9999", "--to", "a@example.test", "--subject", "S", "--body", "B"],
     "no mail account with id 9999"),
    (["mail_send", "--account", "{account}", "--to", "a@example.test", "--subject", "S", "--body", "B",
      "--at", "domani"], "is not an ISO 8601"),
    (["mail_send", "--account", "{account}", "--to", "a@example.test", "--subject", "S", "--body", "B",
      "--attach", "/nonexistent/file.pdf"], "cannot read the attachment"),
    (["mail_send", "--account", "{account}", "--to", "not an address", "--subject", "S", "--body", "B"], "address"),
    (["mail_outbox", "show", "9999"], "no outgoing message with id 9999"),
    (["mail_outbox", "list", "--user", "nobody"], "no user named 'nobody'"),
])
def test_commands_fail_with_a_one_line_reason(mail_account, args, reason):
    args = [arg.replace("{account}", str(mail_account.pk)) for arg in args]
    with pytest.raises(CommandError) as failure:
        run(*args)
    assert reason in str(failure.value) and "\n" not in str(failure.value)
    assert not OutgoingMessage.objects.exists()
