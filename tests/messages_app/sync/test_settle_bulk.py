"""Settling at the end of a full pass deletes the unreferenced rows with one statement per
referring table (sync/purge.py), and still makes the referenced ones local with what they have."""

import pytest

from messages_app.models import (
    ArrivalMarker,
    Attachment,
    Message,
    MessageBody,
    MessageSource,
    RuleRun,
)
from messages_app.services.message_body import attachment_payload, message_body_get, message_source_keep
from messages_app.services.sync import account_sync
from messages_app.sync.purge import _references, purge_messages
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message

PDF = b"%PDF-1.4 capitolato\n" * 40


@pytest.fixture
def synced(owner, mail_user):
    dovecot, login = mail_user.dovecot, mail_user.login
    for i, subject in enumerate(("Capitolato", "Sollecito", "Resta")):
        dovecot.append(login, "INBOX", make_message(subject, minutes=i, attachment=PDF if i < 2 else None))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    return account, mail_user


def test_every_reference_to_a_message_is_settled_by_a_plain_statement():
    tables = {table for table, _column, _action in _references()}
    assert {MessageBody._meta.db_table, Attachment._meta.db_table, ArrivalMarker._meta.db_table,
            RuleRun._meta.db_table, MessageSource._meta.db_table} <= tables


def test_expunged_everywhere_referenced_rows_become_local_and_the_others_go_with_all_they_hold(synced, referrer):
    account, user = synced
    kept = Message.objects.get(account=account, subject="Sollecito")
    message_source_keep(message=kept)
    referrer.add(kept.pk)
    doomed = Message.objects.get(account=account, subject="Capitolato")
    message_body_get(message=doomed)
    RuleRun.objects.create(message=doomed)
    ArrivalMarker.objects.create(message=doomed, account=account)
    attachments = list(Attachment.objects.filter(message=doomed).values_list("pk", flat=True))
    assert attachments
    for message in (kept, doomed):
        user.dovecot.expunge(user.login, "INBOX", message.uid)

    result = account_sync(account.pk)

    assert result.settled == {"merged": 0, "localised": 1, "deleted": 1}
    local = Message.objects.get(pk=kept.pk)
    assert (local.account_id, local.folder_id, local.local_owner_id) == (None, None, account.owner_id)
    assert MessageBody.objects.filter(message=local).exists()
    assert attachment_payload(attachment=local.attachments.get(is_inline=False)) == PDF
    assert not Message.objects.filter(pk=doomed.pk).exists()
    for model in (MessageBody, RuleRun, ArrivalMarker, MessageSource):
        assert not model.objects.filter(message_id=doomed.pk).exists()
    assert not Attachment.objects.filter(pk__in=attachments).exists()
    assert Message.objects.filter(account=account, subject="Resta", folder__name="INBOX").exists()


def test_purge_leaves_other_messages_and_their_rows_alone(synced):
    account, _user = synced
    gone, stays = Message.objects.filter(account=account, subject__in=("Capitolato", "Sollecito")).order_by("subject")
    for message in (gone, stays):
        message_body_get(message=message)
    assert purge_messages([gone.pk, gone.pk]) == 1
    assert not Message.objects.filter(pk=gone.pk).exists()
    assert MessageBody.objects.filter(message=stays).exists()
    assert Attachment.objects.filter(message=stays).exists()
    assert purge_messages([]) == 0
