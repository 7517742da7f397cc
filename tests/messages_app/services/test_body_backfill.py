"""The body backfill for search (message_bodies_fetch / message_bodies_prefetch) against the real
Dovecot: every body stored once, as an open would store it, in a few batched FETCHes; a message
the server lost meanwhile does not break its batch."""

import pytest

from messages_app.models import Attachment, Message, MessageBody
from messages_app.services import message_body
from messages_app.services.message_body import message_bodies_fetch, message_bodies_prefetch
from tests.conftest import account_on
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import deliver
from tests.servers.fixtures import new_mail_user

COUNT = 30


@pytest.fixture
def logged_user(dovecot_no_condstore, smtp_server):
    """A user on the Dovecot that keeps a rawlog: what our client sent can be counted."""
    return new_mail_user(dovecot_no_condstore, smtp_server)


def synced_account(owner, mail_user, count=COUNT):
    from messages_app.services.sync import account_sync

    for n in range(count):
        attachments = [(f"allegato-{n}.txt", "text/plain", b"dati")] if n % 3 == 0 else []
        deliver(mail_user, "INBOX", mails.plain(f"Storico {n}", f"Parola{n} nel corpo.", minutes=n,
                                                attachments=attachments))
    deliver(mail_user, "INBOX", mails.html("Solo html", "<p>Testo <b>visibile</b> in html</p>", text=""))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    return account


def body_fetches(mail_user) -> int:
    return mail_user.dovecot.imap_rawlog(mail_user.login).count(b"BODY.PEEK[]")


def test_every_body_is_stored_once_in_one_fetch(owner, logged_user):
    account = synced_account(owner, logged_user)
    before = body_fetches(logged_user)

    stored = message_bodies_prefetch(account=account)

    assert stored == COUNT + 1
    assert body_fetches(logged_user) - before == 1  # one UID FETCH for the whole folder
    assert MessageBody.objects.filter(message__account=account).count() == COUNT + 1
    five = MessageBody.objects.get(message__subject="Storico 5")
    assert five.text.strip() == "Parola5 nel corpo."
    html_only = MessageBody.objects.get(message__subject="Solo html")
    assert "<b>visibile</b>" in html_only.html
    assert Attachment.objects.filter(message__account=account).count() == len(range(0, COUNT, 3))
    assert set(Message.objects.filter(account=account, has_attachments=True).values_list("subject", flat=True)) \
        == {f"Storico {n}" for n in range(0, COUNT, 3)}
    assert message_bodies_prefetch(account=account) == 0  # idempotent: nothing fetched twice
    assert body_fetches(logged_user) - before == 1


def test_batches_are_bounded_by_the_total_size(monkeypatch, owner, logged_user):
    account = synced_account(owner, logged_user, count=12)
    sizes = list(Message.objects.filter(account=account).order_by("uid").values_list("size", flat=True))
    # About two large messages' worth per FETCH: a mailbox of large mail never sits in memory whole.
    budget = max(sizes) * 2
    monkeypatch.setattr(message_body, "PREFETCH_BATCH_BYTES", budget)
    batches, total = 1, 0
    for size in sizes:
        if total and total + size > budget:
            batches, total = batches + 1, 0
        total += size
    before = body_fetches(logged_user)

    assert message_bodies_prefetch(account=account) == 13

    assert body_fetches(logged_user) - before == batches >= 3
    assert MessageBody.objects.filter(message__account=account).count() == 13


def test_a_message_deleted_on_the_server_meanwhile_does_not_break_the_batch(owner, logged_user):
    account = synced_account(owner, logged_user, count=10)
    gone = Message.objects.get(account=account, subject="Storico 4")
    logged_user.dovecot.expunge(logged_user.login, "INBOX", gone.uid)  # after the sync saw it

    stored = message_bodies_fetch(message_ids=list(Message.objects.filter(account=account)
                                                   .values_list("pk", flat=True)))

    assert stored == 10
    assert not MessageBody.objects.filter(message=gone).exists()
    assert MessageBody.objects.filter(message__account=account).count() == 10


def test_a_body_an_open_stored_first_is_left_as_it_is(owner, logged_user):
    account = synced_account(owner, logged_user, count=5)
    opened = Message.objects.get(account=account, subject="Storico 2")
    first = message_body.message_body_get(message=opened)

    assert message_bodies_prefetch(account=account) == 5

    assert MessageBody.objects.filter(message=opened).count() == 1
    assert MessageBody.objects.get(message=opened).text == first.text
    assert Attachment.objects.filter(message=opened).count() == 0
