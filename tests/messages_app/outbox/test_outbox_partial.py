"""Per-recipient outcomes when the server takes the message for some recipients and not others:
refused for good -> not delivered (smtp); asked to try later -> retried for that one alone, and
whoever already took it never gets it twice."""

import uuid
from datetime import timedelta

from django.utils import timezone

from messages_app.enums import DeliveryStatus, OutboxState
from messages_app.models import OutgoingMessage
from messages_app.services.outbox import MAX_ATTEMPTS, outbox_queue, outbox_resend, outbox_send_due
from tests.messages_app.outbox.helpers import sent_copies


def later(**kwargs):
    return timezone.now() + timedelta(**kwargs)


def address(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}@example.test"


def queue(owner, account, to):
    return outbox_queue(user=owner, account=account, to=to, subject="Offerta", text="Buongiorno", undo_seconds=0)


def statuses(item) -> dict[str, tuple[str, str]]:
    return {r.address: (r.status, r.source) for r in item.recipients.all()}


def test_a_4xx_recipient_is_retried_alone_and_the_accepted_ones_are_not_sent_again(owner, mail_account, mail_user,
                                                                                   smtp_server):
    busy, fine = address("busy"), address("fine")
    smtp_server.refuse_recipient(busy, "450 4.2.1 Mailbox busy, try later")
    item = queue(owner, mail_account, [busy, fine])
    result = outbox_send_due()
    assert (result.retried, result.sent) == (1, 0)
    item.refresh_from_db()
    assert item.state == OutboxState.SCHEDULED and item.sent_at is not None and item.send_at > later(seconds=20)
    assert busy in item.error and "450" in item.error
    assert statuses(item) == {fine: (DeliveryStatus.ACCEPTED, "smtp")}  # nothing final for the busy one yet
    assert smtp_server.wait_for(1, login=mail_user.login)[-1].rcpt_tos == [fine]
    del smtp_server.recipient_replies[busy]
    assert outbox_send_due(now=later(hours=1)).sent == 1
    received = smtp_server.wait_for(2, login=mail_user.login)
    assert [m.rcpt_tos for m in received] == [[fine], [busy]]  # the accepted one got it once
    item.refresh_from_db()
    assert item.state == OutboxState.SENT and item.error == ""
    assert statuses(item) == {fine: (DeliveryStatus.ACCEPTED, "smtp"), busy: (DeliveryStatus.ACCEPTED, "smtp")}
    assert len(sent_copies(mail_user, item.message_id)) == 1  # one copy in Sent, from the first attempt


def test_a_recipient_refused_for_good_is_not_delivered_and_not_tried_again(owner, mail_account, mail_user,
                                                                           smtp_server):
    ghost, busy = address("ghost"), address("busy")
    smtp_server.refuse_recipient(ghost, "550 5.1.1 No such user")
    smtp_server.refuse_recipient(busy, "451 4.3.0 Try again later")
    item = queue(owner, mail_account, [ghost, busy])
    assert outbox_send_due().retried == 1  # every recipient refused, one of them only for now
    item.refresh_from_db()
    assert item.state == OutboxState.SCHEDULED
    ghost_row = item.recipients.get(address=ghost)
    assert (ghost_row.status, ghost_row.smtp_code, ghost_row.smtp_enhanced, ghost_row.smtp_text) == (
        DeliveryStatus.NOT_DELIVERED, 550, "5.1.1", "No such user")
    del smtp_server.recipient_replies[busy]
    assert outbox_send_due(now=later(hours=1)).sent == 1
    assert smtp_server.wait_for(1, login=mail_user.login)[-1].rcpt_tos == [busy]
    item.refresh_from_db()
    assert statuses(item) == {ghost: (DeliveryStatus.NOT_DELIVERED, "smtp"), busy: (DeliveryStatus.ACCEPTED, "smtp")}


def test_a_recipient_still_deferred_after_the_last_attempt_is_failed_and_the_message_sent(owner, mail_account,
                                                                                          mail_user, smtp_server):
    busy, fine = address("busy"), address("fine")
    smtp_server.refuse_recipient(busy, "452 4.2.2 Mailbox full")
    item = queue(owner, mail_account, [busy, fine])
    OutgoingMessage.objects.filter(pk=item.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert outbox_send_due().sent == 1
    item.refresh_from_db()
    assert item.state == OutboxState.SENT and busy in item.error and "Mailbox full" in item.error
    assert statuses(item) == {fine: (DeliveryStatus.ACCEPTED, "smtp"), busy: (DeliveryStatus.FAILED, "smtp")}


def test_a_worker_killed_while_retrying_a_partial_send_leaves_it_uncertain(owner, mail_account, mail_user,
                                                                           smtp_server):
    busy, fine = address("busy"), address("fine")
    smtp_server.refuse_recipient(busy, "450 4.2.1 Mailbox busy")
    item = queue(owner, mail_account, [busy, fine])
    assert outbox_send_due().retried == 1
    # The retry's worker died mid-send: the copy in Sent (from the first attempt) proves nothing.
    OutgoingMessage.objects.filter(pk=item.pk).update(state=OutboxState.SENDING, claim_token="dead",
                                                      claimed_until=later(minutes=-1))
    assert outbox_send_due().uncertain == 1
    item.refresh_from_db()
    assert item.state == OutboxState.UNCERTAIN
    del smtp_server.recipient_replies[busy]
    # The user sends it again: only to the one that had not taken it.
    assert outbox_resend(user=owner, outbox_id=item.pk)
    assert outbox_send_due().sent == 1
    assert [m.rcpt_tos for m in smtp_server.wait_for(2, login=mail_user.login)] == [[fine], [busy]]


def test_a_partial_send_that_ends_refused_still_removes_its_draft(owner, mail_account, mail_user, smtp_server):
    from messages_app.services.compose import ComposeData, compose_send, draft_save, new_draft_id
    from tests.messages_app.compose.test_compose import drafts_on_server

    busy, fine = address("busy"), address("fine")
    smtp_server.refuse_recipient(busy, "450 4.2.1 Mailbox busy, try later")
    draft_id = new_draft_id()
    data = ComposeData(account=mail_account, to=[("", busy), ("", fine)], subject="Offerta",
                       body_html="<p>Buongiorno</p>", draft_id=draft_id)
    draft_save(user=owner, data=data)
    item = compose_send(user=owner, data=data, send_at=timezone.now())
    assert outbox_send_due().retried == 1
    assert len(drafts_on_server(mail_user, draft_id)) == 1  # not sent to everyone yet: the draft stays
    del smtp_server.recipient_replies[busy]
    smtp_server.refuse_data_from(mail_account.email, "554 5.6.0 Message rejected")  # now refused for good
    try:
        assert outbox_send_due(now=later(hours=1)).sent == 1  # sent, to the one who took it
    finally:
        del smtp_server.data_replies[mail_account.email.lower()]
    item.refresh_from_db()
    assert item.state == OutboxState.SENT and "Message rejected" in item.error
    assert drafts_on_server(mail_user, draft_id) == []
