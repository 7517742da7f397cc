"""A message keeps its row: moves by other clients, servers without UIDPLUS or MOVE, UIDVALIDITY
resets; and what becomes of a message the server no longer has anywhere."""

import pytest

from messages_app.models import Attachment, Folder, Message, MessageBody
from messages_app.services.message_body import attachment_payload, message_body_get, message_source_keep
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.servers.dovecot import CAPABILITIES_WITHOUT_CONDSTORE
from tests.servers.fixtures import new_mail_user

PDF = b"%PDF-1.4 preventivo Edilnord\n" * 40
CAPABILITIES_WITHOUT_UIDPLUS_OR_MOVE = " ".join(
    cap for cap in CAPABILITIES_WITHOUT_CONDSTORE.split() if cap not in ("UIDPLUS", "MOVE")) + " CONDSTORE QRESYNC"


def seed_offer(dovecot, login):
    dovecot.append(login, "INBOX", make_message("Preventivo cantiere", attachment=PDF))
    dovecot.append(login, "INBOX", make_message("Altro", minutes=5))


def opened_offer(account) -> Message:
    message = Message.objects.get(account=account, subject="Preventivo cantiere")
    message_body_get(message=message)
    assert message.attachments.filter(is_inline=False).count() == 1
    return message


def other_client_moves(dovecot, login, subject, destination, *, with_move=True):
    client = dovecot.imap_client(login)
    try:
        if not client.folder_exists(destination):
            client.create_folder(destination)
        client.select_folder("INBOX")
        uids = client.search(["SUBJECT", subject])
        if with_move:
            client.move(uids, destination)
        else:  # what a client does on a server without MOVE: COPY, \Deleted, EXPUNGE
            client.copy(uids, destination)
            client.add_flags(uids, [b"\\Deleted"])
            client.expunge()
    finally:
        client.logout()


def assert_same_row(before: Message, folder_name: str):
    after = Message.objects.get(pk=before.pk)
    assert after.folder.name == folder_name
    assert after.uid is not None
    assert MessageBody.objects.filter(message=after).exists()
    assert list(Attachment.objects.filter(message=after).values_list("pk", flat=True)) == \
        list(before.attachments.values_list("pk", flat=True))
    assert Message.objects.filter(account=before.account, subject=before.subject).count() == 1


@pytest.mark.parametrize("destination", ["Archivio", "Zeta"])  # synced before INBOX, and after it
def test_a_message_moved_by_another_client_keeps_its_row_body_and_attachments(owner, mail_user, destination):
    seed_offer(mail_user.dovecot, mail_user.login)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    message = opened_offer(account)
    other_client_moves(mail_user.dovecot, mail_user.login, "Preventivo cantiere", destination)
    account_sync(account.pk)
    assert_same_row(message, destination)
    assert not Message.objects.filter(account=account, folder__isnull=True).exists()


def test_copy_and_expunge_on_a_server_without_uidplus_or_move_keeps_the_row(owner, make_dovecot, smtp_server):
    dovecot = make_dovecot(extra_conf=f"imap_capability = {CAPABILITIES_WITHOUT_UIDPLUS_OR_MOVE}\n")
    user = new_mail_user(dovecot, smtp_server)
    seed_offer(dovecot, user.login)
    account = account_on(owner, user)
    account_sync(account.pk)
    message = opened_offer(account)
    other_client_moves(dovecot, user.login, "Preventivo cantiere", "Clienti", with_move=False)
    account_sync(account.pk)
    assert_same_row(message, "Clienti")


def test_after_a_uidvalidity_reset_every_row_keeps_its_id(owner, mail_user):
    dovecot = mail_user.dovecot
    for i in range(12):
        dovecot.append(mail_user.login, "INBOX", make_message(f"Pratica {i}", minutes=i), flags=["\\Seen"])
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    ids_by_subject = dict(Message.objects.filter(account=account).values_list("subject", "pk"))
    old_validity = Folder.objects.get(account=account, name="INBOX").uidvalidity
    dovecot.recreate_folder(mail_user.login, "INBOX")
    account_sync(account.pk)
    inbox = Folder.objects.get(account=account, name="INBOX")
    assert inbox.uidvalidity != old_validity
    assert dict(Message.objects.filter(folder=inbox).values_list("subject", "pk")) == ids_by_subject
    assert not Message.objects.filter(account=account, folder__isnull=True).exists()


def test_a_referenced_message_expunged_everywhere_becomes_local_with_body_and_attachments(owner, mail_user, referrer):
    seed_offer(mail_user.dovecot, mail_user.login)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    message = Message.objects.get(account=account, subject="Preventivo cantiere")
    message_source_keep(message=message)  # what a CRM link does when it starts referring
    referrer.add(message.pk)
    uid = message.uid
    mail_user.dovecot.expunge(mail_user.login, "INBOX", uid)
    account_sync(account.pk)
    local = Message.objects.get(pk=message.pk)
    assert (local.account_id, local.folder_id, local.uid, local.local_owner_id) == (None, None, None, owner.pk)
    assert MessageBody.objects.get(message=local).text.startswith("Buongiorno")
    attachment = local.attachments.get(is_inline=False)
    assert attachment_payload(attachment=attachment) == PDF


def test_an_unreferenced_message_expunged_everywhere_is_deleted(owner, mail_user, referrer):
    seed_offer(mail_user.dovecot, mail_user.login)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    message = opened_offer(account)
    mail_user.dovecot.expunge(mail_user.login, "INBOX", message.uid)
    account_sync(account.pk, folder_name="INBOX")
    # A single-folder pass cannot know the message is gone everywhere: it waits, invisible.
    assert Message.objects.get(pk=message.pk).folder_id is None
    account_sync(account.pk)
    assert not Message.objects.filter(pk=message.pk).exists()
    assert not Attachment.objects.filter(message_id=message.pk).exists()
