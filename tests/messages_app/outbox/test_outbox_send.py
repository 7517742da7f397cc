"""The outbox against aiosmtpd and the private Dovecot: what leaves, what lands in Sent, refusals,
retries, undo and who may send from which account."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messages_app.enums import DeliveryStatus, OutboxState
from messages_app.mime.build import Attachment, InlineImage
from messages_app.models import OutgoingMessage
from messages_app.services.outbox import (
    SenderNotAllowed,
    outbox_cancel,
    outbox_queue,
    outbox_send_due,
)
from tests.conftest import account_on
from tests.messages_app.outbox.helpers import parse, sent_copies
from tests.servers.fixtures import new_mail_user
from tests.servers.ports import free_port

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def later(**kwargs):
    return timezone.now() + timedelta(**kwargs)


def queue(owner, account, **overrides):
    fields = {"user": owner, "account": account, "to": ["dest@example.test"], "subject": "Offerta",
              "text": "Buongiorno", "undo_seconds": 0}
    fields.update(overrides)
    return outbox_queue(**fields)


def test_a_sent_message_arrives_byte_correct_and_its_copy_is_in_sent(owner, mail_account, mail_user, smtp_server):
    item = queue(owner, mail_account,
                 to=[("Niccolò Rossi", "niccolo@example.test")], cc=["cc@example.test"], bcc=["hidden@example.test"],
                 subject="Preventivo però è pronto", text="Testo: caffè ☕\n",
                 html='<p>Caffè <img src="cid:logo@crm.test"></p>',
                 inline_images=[InlineImage(cid="logo@crm.test", content_type="image/png", data=PNG,
                                            filename="logo.png")],
                 attachments=[Attachment(filename="offerta ç è.pdf", content_type="application/pdf",
                                         data=b"%PDF-1.4 dati")])
    result = outbox_send_due()
    assert result.sent == 1 and result.ids == [item.pk]
    received = smtp_server.wait_for(1, login=mail_user.login)[-1]
    item.refresh_from_db()
    assert received.data == bytes(item.raw)  # byte for byte what the outbox stored
    assert sorted(received.rcpt_tos) == ["cc@example.test", "hidden@example.test", "niccolo@example.test"]
    assert b"hidden@example.test" not in received.data
    assert received.data.isascii()  # RFC 2047/2231 words, quoted-printable and base64: no raw 8-bit
    message = parse(received.data)
    assert message["Subject"] == "Preventivo però è pronto"
    assert message["To"].addresses[0].display_name == "Niccolò Rossi"
    assert message["From"].addresses[0].display_name == "Olga Owner"
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds[:4] == ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related"]
    assert message.get_body(("plain",)).get_content() == "Testo: caffè ☕\r\n"  # CRLF on the wire
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo@crm.test>" and image.get_content() == PNG
    attached = next(message.iter_attachments())
    assert attached.get_filename() == "offerta ç è.pdf" and attached.get_content() == b"%PDF-1.4 dati"
    assert item.state == OutboxState.SENT and item.sent_at is not None and item.error == ""
    assert {(r.address, r.status) for r in item.recipients.all()} == {
        (a, DeliveryStatus.ACCEPTED) for a in ("niccolo@example.test", "cc@example.test", "hidden@example.test")}
    assert sent_copies(mail_user, item.message_id) == [received.data]


def test_sending_from_another_users_account_is_refused_unless_it_is_a_shared_sender(owner, colleague, mail_user):
    theirs = account_on(colleague, mail_user)
    with pytest.raises(SenderNotAllowed):
        queue(owner, theirs)
    assert not OutgoingMessage.objects.exists()
    theirs.is_shared_sender = True
    theirs.save(update_fields=["is_shared_sender"])
    assert queue(owner, theirs).state == OutboxState.SCHEDULED


def test_attachments_over_the_limit_are_refused_in_words(owner, mail_account, settings):
    settings.MAIL_MAX_ATTACHMENT_MB = 1
    with pytest.raises(ValidationError, match="più dei 1 MB consentiti"):
        queue(owner, mail_account, attachments=[Attachment("big.bin", "application/octet-stream", b"x" * 1_100_000)])


def test_undo_within_the_window_sends_nothing(owner, mail_account, mail_user, smtp_server):
    item = queue(owner, mail_account, undo_seconds=10)
    assert outbox_send_due().sent == 0  # still inside the window
    assert outbox_cancel(user=owner, outbox_id=item.pk)
    assert outbox_send_due(now=later(minutes=1)).sent == 0
    item.refresh_from_db()
    assert item.state == OutboxState.CANCELLED
    assert smtp_server._matching(mail_user.login) == []


def test_too_late_to_undo_once_a_worker_claimed_it(owner, mail_account):
    item = queue(owner, mail_account)
    OutgoingMessage.objects.filter(pk=item.pk).update(state=OutboxState.SENDING)
    assert not outbox_cancel(user=owner, outbox_id=item.pk)


def test_smtp_4xx_is_retried_later_and_then_delivered(owner, mail_account, mail_user, smtp_server):
    smtp_server.refuse_data_from(mail_account.email, "451 4.3.0 Temporary failure, try later")
    item = queue(owner, mail_account)
    result = outbox_send_due()
    item.refresh_from_db()
    assert result.retried == 1 and item.state == OutboxState.SCHEDULED
    assert item.send_at > later(seconds=20) and item.attempts == 1
    assert "451" in item.error and "Temporary failure" in item.error
    assert outbox_send_due().sent == 0  # not before its new time
    first_wait = item.send_at - timezone.now()  # about 30 s
    assert outbox_send_due(now=later(hours=1)).retried == 1  # still 4xx: retried again, after a longer wait
    item.refresh_from_db()
    assert item.attempts == 2 and item.send_at - timezone.now() > first_wait + timedelta(seconds=20)  # about 60 s
    del smtp_server.data_replies[mail_account.email.lower()]
    assert outbox_send_due(now=later(hours=2)).sent == 1
    item.refresh_from_db()
    assert item.state == OutboxState.SENT and item.attempts == 3
    assert len(smtp_server.wait_for(1, login=mail_user.login)) == 1


def test_smtp_5xx_fails_with_the_servers_reason(owner, mail_account, mail_user, smtp_server):
    smtp_server.refuse_data_from(mail_account.email, "554 5.6.0 Message rejected as spam")
    item = queue(owner, mail_account)
    assert outbox_send_due().failed == 1
    item.refresh_from_db()
    assert item.state == OutboxState.FAILED
    assert "554" in item.error and "Message rejected as spam" in item.error
    assert outbox_send_due(now=later(hours=1)).sent == 0  # never retried
    del smtp_server.data_replies[mail_account.email.lower()]


def test_a_message_too_large_for_the_server_fails_saying_so(owner, mail_account, smtp_server):
    from django.utils import translation

    smtp_server.refuse_data_from(mail_account.email, "552 5.3.4 Message size exceeds fixed maximum message size")
    item = queue(owner, mail_account)
    try:
        with translation.override("en"):
            assert outbox_send_due().failed == 1
    finally:
        del smtp_server.data_replies[mail_account.email.lower()]
    item.refresh_from_db()
    assert item.state == OutboxState.FAILED
    assert item.error.startswith("The message is too large for the mail server")
    assert "Message size exceeds fixed maximum message size" in item.error


def test_a_refused_recipient_is_marked_not_delivered_and_the_others_get_it(owner, mail_account, mail_user,
                                                                          smtp_server):
    smtp_server.refuse_recipient("ghost@example.test", "550 5.1.1 No such user here")
    item = queue(owner, mail_account, to=["ghost@example.test", "real@example.test"])
    assert outbox_send_due().sent == 1
    assert smtp_server.wait_for(1, login=mail_user.login)[-1].rcpt_tos == ["real@example.test"]
    rows = {r.address: r for r in item.recipients.all()}
    assert rows["real@example.test"].status == DeliveryStatus.ACCEPTED
    ghost = rows["ghost@example.test"]
    assert (ghost.status, ghost.smtp_code, ghost.smtp_enhanced, ghost.source) == (
        DeliveryStatus.NOT_DELIVERED, 550, "5.1.1", "smtp")
    assert ghost.smtp_text == "No such user here"


def test_every_recipient_refused_fails_with_each_one_not_delivered(owner, mail_account, smtp_server):
    smtp_server.refuse_recipient("nobody@example.test", "550 5.1.1 No such user")
    item = queue(owner, mail_account, to=["nobody@example.test"])
    assert outbox_send_due().failed == 1
    item.refresh_from_db()
    assert item.state == OutboxState.FAILED and "nobody@example.test" in item.error
    assert [(r.address, r.status) for r in item.recipients.all()] == [
        ("nobody@example.test", DeliveryStatus.NOT_DELIVERED)]


@pytest.mark.parametrize("preset", ["gmail", "office365"])
def test_gmail_and_office365_accounts_get_no_copy_from_postino(owner, dovecot, smtp_server, preset):
    user = new_mail_user(dovecot, smtp_server)
    account = account_on(owner, user, preset=preset)
    item = queue(owner, account)
    assert outbox_send_due().sent == 1
    assert len(smtp_server.wait_for(1, login=user.login)) == 1
    assert sent_copies(user, item.message_id) == []  # the provider files it itself


def test_a_refused_password_fails_in_words(owner, mail_user):
    account = account_on(owner, mail_user)
    account.set_password("wrong-password")
    account.save(update_fields=["password_encrypted"])
    item = queue(owner, account)
    assert outbox_send_due().failed == 1
    item.refresh_from_db()
    assert item.state == OutboxState.FAILED and "Password rifiutata" in item.error


def test_an_unreachable_server_is_retried_later(owner, mail_user):
    account = account_on(owner, mail_user, smtp_port=free_port())  # nothing listens there
    item = queue(owner, account)
    assert outbox_send_due().retried == 1
    item.refresh_from_db()
    assert item.state == OutboxState.SCHEDULED and item.send_at > later(seconds=20) and item.error


def test_queuing_without_an_undo_window_asks_a_worker_after_commit(owner, mail_account, monkeypatch,
                                                                  django_capture_on_commit_callbacks):
    from messages_app import tasks

    asked = []
    monkeypatch.setattr(tasks.outbox_send_due_task, "delay", lambda: asked.append(True))
    with django_capture_on_commit_callbacks() as callbacks:
        queue(owner, mail_account)
        tasks.outbox_send_after_commit()
        assert asked == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert asked == [True]


def test_the_copy_goes_to_the_folder_the_sync_knows_as_sent(owner, mail_account, mail_user):
    from messages_app.models import Folder

    mail_user.dovecot.create_folder(mail_user.login, "Posta inviata")
    Folder.objects.create(account=mail_account, name="Posta inviata", role="sent")
    item = queue(owner, mail_account)
    assert outbox_send_due().sent == 1
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder("Posta inviata", readonly=True)
        assert len(client.search(["HEADER", "Message-ID", item.message_id])) == 1
    finally:
        client.logout()
    assert sent_copies(mail_user, item.message_id) == []  # not in the server's default Sent as well


def test_only_the_owner_takes_back_or_reschedules_and_only_while_scheduled(owner, colleague, mail_account):
    from messages_app.services.outbox import outbox_reschedule

    item = queue(owner, mail_account, undo_seconds=60)
    assert not outbox_cancel(user=colleague, outbox_id=item.pk)
    assert not outbox_reschedule(user=colleague, outbox_id=item.pk, send_at=later(days=1))
    assert outbox_reschedule(user=owner, outbox_id=item.pk, send_at=later(days=1))
    assert outbox_send_due(now=later(hours=1)).sent == 0
    assert outbox_reschedule(user=owner, outbox_id=item.pk, send_at=timezone.now())  # "send now"
    assert outbox_send_due().sent == 1
    assert not outbox_reschedule(user=owner, outbox_id=item.pk, send_at=later(days=1))
    assert not outbox_cancel(user=owner, outbox_id=item.pk)


def test_transient_failures_stop_after_the_last_attempt_and_show_why(owner, mail_account, smtp_server):
    from messages_app.services.outbox import MAX_ATTEMPTS

    smtp_server.refuse_data_from(mail_account.email, "452 4.3.1 Insufficient system storage")
    item = queue(owner, mail_account)
    OutgoingMessage.objects.filter(pk=item.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert outbox_send_due().failed == 1
    item.refresh_from_db()
    assert item.state == OutboxState.FAILED and item.attempts == MAX_ATTEMPTS
    assert "452" in item.error and "Insufficient system storage" in item.error
    del smtp_server.data_replies[mail_account.email.lower()]


@pytest.mark.parametrize(("security", "server"), [("ssl", "smtp_server_tls"), ("starttls", "smtp_server_starttls")])
def test_the_outbox_sends_over_implicit_tls_and_starttls_with_a_login(owner, mail_user, settings, security, server,
                                                                     request):
    smtp = request.getfixturevalue(server)
    settings.MAIL_TLS_CA_FILE = str(smtp.ca_path)  # the test server's own throwaway CA
    smtp.add_user(mail_user.login, mail_user.password)
    account = account_on(owner, mail_user, smtp_host="localhost", smtp_port=smtp.port, smtp_security=security)
    item = queue(owner, account)
    assert outbox_send_due().sent == 1
    received = smtp.wait_for(1, login=mail_user.login)[-1]  # authenticated as the account
    assert received.tls  # STARTTLS upgraded before the login, not left in clear
    assert received.data == bytes(item.raw)
    assert sent_copies(mail_user, item.message_id) == [received.data]


def test_one_pass_files_every_copy_in_sent_looking_the_folder_up_once(owner, mail_account, mail_user, smtp_server):
    items = [queue(owner, mail_account, subject=f"Offerta {n}") for n in range(3)]
    with CaptureQueriesContext(connection) as queries:
        result = outbox_send_due()
    assert sorted(result.ids) == sorted(item.pk for item in items)
    for item in items:
        assert len(sent_copies(mail_user, item.message_id)) == 1
    folder_reads = [q["sql"] for q in queries.captured_queries if 'FROM "messages_app_folder"' in q["sql"]]
    assert len(folder_reads) == 1  # the Sent folder, found once for the pass, not once a message
