"""The folder column's counters against a count of the rows after what really writes them: the
first sync and resyncs from the real Dovecot (flag changes, expunges, moves and copies by another
client), the actions' write path, a referenced message settling into Importata, imports."""

import json

from django.urls import reverse

from messages_app.models import Folder, MailboxCounts, Message
from messages_app.services.local_messages import local_messages_create
from messages_app.services.message_body import message_source_keep
from tests.messages_app.mailbox.counting import assert_counters_right
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox

HTMX = {"HTTP_HX_REQUEST": "true"}


def act(client, action, messages, scope="unified:inbox", **extra):
    data = {"action": action, "ids": [str(m.pk) for m in messages], "scope": scope, **extra}
    response = client.post(reverse("messages_app:actions"), data, **HTMX)
    assert response.status_code == 200
    return response


def column_counts(client) -> dict[str, int]:
    """The polled counts endpoint, as the page's script reads it: key -> number shown."""
    return {key: unread for key, unread in client.get(reverse("messages_app:counts")).context["counts"].items()}


def other_client(mail_user, folder: str):
    client = mail_user.dovecot.imap_client(mail_user.login)
    client.select_folder(folder)
    return client


def test_first_sync_and_a_resync_with_changes_from_another_client(owner_client, owner, mailbox, mail_user):
    assert_counters_right(owner)
    inbox = Folder.objects.get(account=mailbox.account, name="INBOX")
    assert (inbox.message_count, inbox.unread_count) == (4, 3)
    assert column_counts(owner_client)["unified:inbox"] == 3
    dovecot, login = mail_user.dovecot, mail_user.login
    dovecot.set_flags(login, "INBOX", mailbox.uids["Offerta rinnovo"], ["\\Seen", "\\Flagged"])
    dovecot.set_flags(login, "INBOX", mailbox.uids["Re: Offerta rinnovo"], ["\\Flagged"])
    dovecot.expunge(login, "INBOX", mailbox.uids["Newsletter di novembre"])
    client = other_client(mail_user, "INBOX")
    try:
        client.create_folder("Archivio")
        client.move([mailbox.uids["Fattura novembre"]], "Archivio")
    finally:
        client.logout()
    dovecot.append(login, "INBOX", mails.plain("Urgente", minutes=40), flags=("\\Flagged",))
    mailbox.sync()
    assert_counters_right(owner)
    inbox.refresh_from_db()
    archive = Folder.objects.get(account=mailbox.account, name="Archivio")
    assert (inbox.message_count, inbox.unread_count, inbox.flagged_count) == (3, 2, 3)
    assert (archive.message_count, archive.unread_count) == (1, 1)
    counts = column_counts(owner_client)
    assert (counts["unified:inbox"], counts[f"folder:{archive.pk}"], counts["special:flagged"]) == (2, 1, 2)


def test_a_copy_in_two_folders_is_one_flagged_message(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain("Contratto"), ("\\Flagged",))])
    client = other_client(mail_user, "INBOX")
    try:
        client.create_folder("Clienti")
        client.copy([box.uids["Contratto"]], "Clienti")
    finally:
        client.logout()
    box.sync()
    assert Message.objects.filter(account=box.account, subject="Contratto").count() == 2
    assert_counters_right(owner)
    assert MailboxCounts.objects.get(owner=owner).flagged_unread == 1
    assert column_counts(owner_client)["special:flagged"] == 1


def test_actions_keep_the_counters(owner_client, owner, mailbox, mail_user):
    offer = mailbox.message("Offerta rinnovo")
    for action in ("read", "flag", "unread", "unflag", "flag"):
        act(owner_client, action, [offer])
        assert_counters_right(owner)
    counts = column_counts(owner_client)
    assert counts["unified:inbox"] == 3 and counts["special:flagged"] == 1
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    mailbox.sync()
    clienti = Folder.objects.get(account=mailbox.account, name="Clienti")
    act(owner_client, "move", [offer, mailbox.message("Fattura novembre")], destination=clienti.pk)
    assert_counters_right(owner)
    assert column_counts(owner_client)[f"folder:{clienti.pk}"] == 2
    act(owner_client, "spam", [mailbox.message("Newsletter di novembre")])
    assert_counters_right(owner)
    act(owner_client, "delete", [mailbox.message("Offerta rinnovo")], scope=f"folder:{clienti.pk}")
    assert_counters_right(owner)
    trash = Folder.objects.get(account=mailbox.account, role="trash")
    in_trash = mailbox.message("Offerta rinnovo")
    assert in_trash.folder_id == trash.pk
    act(owner_client, "delete", [in_trash], scope=f"folder:{trash.pk}", confirm="1")
    assert not Message.objects.filter(pk=in_trash.pk).exists()
    assert_counters_right(owner)
    mailbox.sync()  # the server's view of all of it comes back: still right
    assert_counters_right(owner)
    assert json.loads(act(owner_client, "read", [mailbox.message("Fattura novembre")])["HX-Trigger"]) == \
        {"countsStale": True}
    assert_counters_right(owner)


def test_a_referenced_message_gone_from_the_server_counts_in_importata(owner_client, owner, mailbox, mail_user,
                                                                      referrer):
    message = mailbox.message("Fattura novembre")
    act(owner_client, "flag", [message])
    message_source_keep(message=Message.objects.get(pk=message.pk))
    referrer.add(message.pk)
    mail_user.dovecot.expunge(mail_user.login, "INBOX", message.uid)
    mailbox.sync()
    local = Message.objects.get(pk=message.pk)
    assert (local.account_id, local.folder_id, local.local_owner_id) == (None, None, owner.pk)
    assert_counters_right(owner)
    row = MailboxCounts.objects.get(owner=owner)
    assert (row.local_messages, row.local_unread, row.flagged_unread) == (1, 1, 1)
    act(owner_client, "read", [local], scope="special:imported")
    assert_counters_right(owner)
    assert column_counts(owner_client)["special:imported"] == 0


def test_imported_messages_count_in_importata(owner_client, owner, colleague):
    local_messages_create(owner=owner, raws=[mails.plain("Importata uno"), mails.plain("Importata due", minutes=3)])
    local_messages_create(owner=colleague, raws=[mails.plain("Del collega")])
    assert_counters_right(owner, colleague)
    assert MailboxCounts.objects.get(owner=owner).local_messages == 2
    assert column_counts(owner_client)["special:imported"] == 0  # imported as read
    imported = list(Message.objects.filter(local_owner=owner))
    act(owner_client, "unread", imported, scope="special:imported")
    act(owner_client, "flag", imported[:1], scope="special:imported")
    assert_counters_right(owner, colleague)
    assert column_counts(owner_client)["special:imported"] == 2
    assert column_counts(owner_client)["special:flagged"] == 1
