"""Delivery reports for sent mail: a DSN that arrives in the sending account's INBOX is matched to
its outgoing message by a sync pass (the arrival step `dsn_reports`), marks the recipient not
delivered (source dsn) with the remote server's words, and keeps the message in Importata."""

import io
import json
import uuid

import pytest
from django.core.management import call_command

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.models import Message, OutgoingMessage
from messages_app.selectors.messages import local_messages
from messages_app.services.delivery import delivery_record
from messages_app.services.outbox import outbox_queue, outbox_send_due
from tests.conftest import account_on
from tests.servers.fixtures import new_mail_user


def bounce_for(message_id: str, recipient: str, *, action="failed", status="5.1.1", sender="MAILER-DAEMON@mx.test",
               subject="Undelivered Mail Returned to Sender") -> bytes:
    return (
        f"From: Mail Delivery System <{sender}>\r\n"
        "To: whoever@postino.test\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <bounce.{uuid.uuid4().hex}@mx.test>\r\n"
        "Date: Tue, 1 Dec 2026 18:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected: User unknown\r\n\r\n"
        "--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: sender@postino.test\r\nSubject: Offerta\r\nMessage-ID: {message_id}\r\n\r\n"
        "--R--\r\n"
    ).encode()


def unique(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}@example.test"  # the SMTP server's refusals are per address, per session


def send(owner, account, to):
    item = outbox_queue(user=owner, account=account, to=to, subject="Offerta", text="Buongiorno", undo_seconds=0)
    assert outbox_send_due().sent == 1
    return item


def outbox_show(item) -> dict:
    out = io.StringIO()
    call_command("mail_outbox", "show", str(item.pk), "--json", stdout=out)
    return json.loads(out.getvalue().strip())


def delivery_of(row: dict) -> dict[str, tuple[str, str]]:
    return {entry["address"]: (entry["status"], entry["source"]) for entry in row["delivery"]}


@pytest.mark.parametrize("prefetch", [True, False], ids=["bodies-prefetched", "no-prefetch"])
def test_a_dsn_delivered_to_the_inbox_marks_the_recipient_not_delivered_after_a_sync(
        owner, mail_account, mail_user, smtp_server, settings, prefetch):
    settings.MAIL_PREFETCH_BODIES = prefetch
    call_command("mail_sync", "--account", str(mail_account.pk), stdout=io.StringIO())  # the first pass: history
    ghost, real = unique("ghost"), unique("real")
    item = send(owner, mail_account, [ghost, real])
    assert delivery_of(outbox_show(item)) == {ghost: ("accepted", "smtp"), real: ("accepted", "smtp")}
    mail_user.dovecot.append(mail_user.login, "INBOX", bounce_for(item.message_id, ghost))
    mail_user.dovecot.append(mail_user.login, "INBOX", b"From: a@b.test\r\nSubject: unrelated\r\n\r\nhello\r\n")
    out = io.StringIO()
    call_command("mail_sync", "--account", str(mail_account.pk), stdout=out)
    assert "arrivals: 3 done, 0 to retry, 0 failed" in out.getvalue()  # the two and the copy in Sent
    row = outbox_show(item)
    assert delivery_of(row) == {ghost: ("not_delivered", "dsn"), real: ("accepted", "smtp")}
    entry = next(entry for entry in row["delivery"] if entry["address"] == ghost)
    assert entry["smtp_enhanced"] == "5.1.1" and entry["smtp_code"] == 550
    assert "User unknown" in entry["smtp_text"]
    # Kept in Importata for the sender, once, with the bytes that went out.
    imported = list(local_messages(owner).filter(message_id=item.message_id))
    assert len(imported) == 1 and imported[0].subject == "Offerta"
    assert bytes(imported[0].source.raw) == bytes(item.raw)
    call_command("mail_sync", "--account", str(mail_account.pk), stdout=io.StringIO())
    assert local_messages(owner).filter(message_id=item.message_id).count() == 1


def test_a_bounce_in_another_accounts_inbox_marks_nothing(owner, colleague, mail_account, mail_user, dovecot,
                                                         smtp_server):
    ghost = unique("ghost")
    item = send(owner, mail_account, [ghost])
    other_user = new_mail_user(dovecot, smtp_server)
    other = account_on(colleague, other_user)
    call_command("mail_sync", "--account", str(other.pk), stdout=io.StringIO())
    send(colleague, other, ["someone@example.test"])  # the other account has sent mail too
    other_user.dovecot.append(other_user.login, "INBOX", bounce_for(item.message_id, ghost))
    call_command("mail_sync", "--account", str(other.pk), stdout=io.StringIO())
    assert delivery_of(outbox_show(item)) == {ghost: ("accepted", "smtp")}
    assert not Message.objects.filter(account__isnull=True, message_id=item.message_id).exists()


def test_delivery_record_keeps_final_words_and_finds_the_message_by_its_message_id(owner, mail_account,
                                                                                   smtp_server):
    item = send(owner, mail_account, ["Ada@Example.test", "bob@example.test"])
    row = delivery_record(outbox=item.message_id.strip("<>"), address="ada@example.test",
                          status=DeliveryStatus.DELIVERED, source=DeliverySource.PEC, detail="avvenuta-consegna")
    assert (row.address, row.status, row.source, row.smtp_text) == (
        "Ada@Example.test", DeliveryStatus.DELIVERED, DeliverySource.PEC, "avvenuta-consegna")
    # A late "accepted" does not undo it; a later final word replaces it.
    delivery_record(outbox=item.pk, address="ada@example.test", status=DeliveryStatus.ACCEPTED,
                    source=DeliverySource.PEC)
    assert item.recipients.get(address="Ada@Example.test").status == DeliveryStatus.DELIVERED
    delivery_record(outbox=item, address="bob@example.test", status=DeliveryStatus.NOT_DELIVERED,
                    source=DeliverySource.PEC, detail="errore-consegna")
    assert item.recipients.get(address="bob@example.test").status == DeliveryStatus.NOT_DELIVERED
    assert local_messages(owner).filter(message_id=item.message_id).count() == 1
    assert delivery_record(outbox="<nobody@nowhere>", address="x@y.test", status=DeliveryStatus.DELIVERED,
                           source=DeliverySource.PEC) is None
    with pytest.raises(ValueError):
        delivery_record(outbox=item, address="bob@example.test", status="lost", source=DeliverySource.PEC)
    assert OutgoingMessage.objects.get(pk=item.pk).recipients.count() == 2
