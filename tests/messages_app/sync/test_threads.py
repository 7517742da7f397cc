"""Incremental threading in the database (no IMAP needed: rows are built as the sync builds them)."""

from datetime import UTC, datetime, timedelta

from messages_app.models import Folder, Message, Thread
from messages_app.sync.threads import assign_threads
from tests.conftest import account_on

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def store(folder, uid, subject, message_id="", in_reply_to="", references="", minutes=0):
    row = Message(folder=folder, account_id=folder.account_id, uid=uid, dedup_key=f"k{folder.pk}-{uid}",
                  subject=subject, message_id=message_id, in_reply_to=in_reply_to, references=references,
                  date=T0 + timedelta(minutes=minutes))
    assign_threads(folder.account.owner_id, [row])
    row.save()
    return row


def test_a_message_linking_two_conversations_merges_them(owner, mail_user):
    account = account_on(owner, mail_user)
    inbox = Folder.objects.create(account=account, name="INBOX", role="inbox")
    first = store(inbox, 1, "Ordine 12", "<a@x>")
    second = store(inbox, 2, "Consegna", "<b@x>", minutes=5)
    assert first.thread_id != second.thread_id
    bridge = store(inbox, 3, "Re: Ordine 12", "<c@x>", in_reply_to="<b@x>", references="<a@x> <b@x>", minutes=9)
    ids = set(Message.objects.filter(pk__in=[first.pk, second.pk, bridge.pk]).values_list("thread_id", flat=True))
    assert len(ids) == 1
    thread = Thread.objects.get(pk=ids.pop())
    assert thread.message_count == 3
    assert thread.last_date == bridge.date


def test_threads_span_accounts_of_the_same_user_but_never_users(owner, colleague, mail_user):
    mine = Folder.objects.create(account=account_on(owner, mail_user), name="INBOX")
    my_sent = Folder.objects.create(account=account_on(owner, mail_user), name="Sent", role="sent")
    theirs = Folder.objects.create(account=account_on(colleague, mail_user), name="INBOX")
    question = store(mine, 1, "Preventivo", "<q@x>")
    answer = store(my_sent, 1, "Re: Preventivo", "<r@x>", in_reply_to="<q@x>", minutes=3)
    other = store(theirs, 1, "Re: Preventivo", "<r2@x>", in_reply_to="<q@x>", minutes=4)
    assert question.thread_id == answer.thread_id
    assert other.thread_id != question.thread_id


def test_only_reply_prefixed_messages_fall_back_to_the_subject(owner, mail_user):
    inbox = Folder.objects.create(account=account_on(owner, mail_user), name="INBOX")
    original = store(inbox, 1, "Riunione lunedì", "<m1@x>")
    same_subject = store(inbox, 2, "Riunione lunedì", "<m2@x>", minutes=1)
    reply = store(inbox, 3, "AW: Riunione lunedì", "<m3@x>", minutes=2)
    assert same_subject.thread_id != original.thread_id
    assert reply.thread_id in (original.thread_id, same_subject.thread_id)
