"""Actions on a message or a selection, carried out on the IMAP server through the write path."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from messages_app.models import Folder, Message, PendingAction
from messages_app.services.preferences import preferences_update
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox, server_flags, server_subjects

HTMX = {"HTTP_HX_REQUEST": "true"}


def act(client, action, messages, scope="unified:inbox", **extra):
    data = {"action": action, "ids": [str(m.pk) for m in messages], "scope": scope, **extra}
    return client.post(reverse("messages_app:actions"), data, **HTMX)


def test_flag_and_read_reach_the_server_and_come_back_as_updated_rows(owner_client, mailbox):
    message = mailbox.message("Offerta rinnovo")
    response = act(owner_client, "flag", [message])
    assert {"\\Flagged"} <= server_flags(mailbox.mail_user, "INBOX")[message.uid]
    body = response.content.decode()
    assert f'id="m-{message.pk}" data-id="{message.pk}" hx-swap-oob="true"' in body and "flagged" in body
    assert json.loads(response["HX-Trigger"]) == {"countsStale": True}
    act(owner_client, "read", [message])
    assert "\\Seen" in server_flags(mailbox.mail_user, "INBOX")[message.uid]
    act(owner_client, "unread", [message])
    act(owner_client, "unflag", [message])
    assert server_flags(mailbox.mail_user, "INBOX")[message.uid] == set()


def test_a_selection_is_changed_in_one_request(owner_client, mailbox):
    chosen = [mailbox.message("Offerta rinnovo"), mailbox.message("Fattura novembre")]
    owner_client.post(reverse("messages_app:actions"),
                      {"action": "read", "ids": ",".join(str(m.pk) for m in chosen)}, **HTMX)
    flags = server_flags(mailbox.mail_user, "INBOX")
    assert all("\\Seen" in flags[m.uid] for m in chosen)


def test_unflagging_in_flagged_removes_the_row(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain("Urgente"), ("\\Flagged",))])
    message = box.message("Urgente")
    body = act(owner_client, "unflag", [message], scope="special:flagged").content.decode()
    assert f'<li id="m-{message.pk}" hx-swap-oob="delete">' in body


def test_move_to_a_folder_moves_it_on_the_server(owner_client, mailbox, mail_user):
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    mailbox.sync()
    message = mailbox.message("Fattura novembre")
    destination = Folder.objects.get(account=mailbox.account, name="Clienti")
    response = act(owner_client, "move", [message], destination=destination.pk)
    assert server_subjects(mail_user, "Clienti") == ["Fattura novembre"]
    assert "Fattura novembre" not in server_subjects(mail_user, "INBOX")
    assert f'<li id="m-{message.pk}" hx-swap-oob="delete">' in response.content.decode()
    assert Message.objects.get(account=mailbox.account, subject="Fattura novembre").folder == destination


def test_spam_moves_to_the_accounts_spam_folder(owner_client, mailbox, mail_user):
    act(owner_client, "spam", [mailbox.message("Newsletter di novembre")])
    assert server_subjects(mail_user, "Junk") == ["Newsletter di novembre"]


def test_delete_moves_to_trash_and_from_trash_deletes_for_good_after_confirmation(owner_client, mailbox, mail_user):
    act(owner_client, "delete", [mailbox.message("Offerta rinnovo")])
    assert server_subjects(mail_user, "Trash") == ["Offerta rinnovo"]
    in_trash = mailbox.message("Offerta rinnovo")
    trash = Folder.objects.get(account=mailbox.account, role="trash")
    asked = act(owner_client, "delete", [in_trash], scope=f"folder:{trash.pk}")
    assert asked["HX-Retarget"] == "#dialog" and 'name="confirm" value="1"' in asked.content.decode()
    assert server_subjects(mail_user, "Trash") == ["Offerta rinnovo"]  # nothing happened yet
    act(owner_client, "delete", [in_trash], scope=f"folder:{trash.pk}", confirm="1")
    assert server_subjects(mail_user, "Trash") == []
    assert not Message.objects.filter(pk=in_trash.pk).exists()


def test_an_action_on_the_open_message_updates_or_clears_the_reading_pane(owner_client, mailbox):
    message = mailbox.message("Offerta rinnovo")
    flagged = act(owner_client, "flag", [message], reading=str(message.pk)).content.decode()
    assert 'id="reading-actions"' in flagged and 'value="unflag"' in flagged
    moved = act(owner_client, "spam", [message], reading=str(message.pk)).content.decode()
    assert '<section id="reading" hx-swap-oob="innerHTML">' in moved


def test_in_threaded_view_an_action_asks_for_the_list_again(owner_client, owner, mailbox):
    preferences_update(user=owner, threaded=True)
    response = act(owner_client, "read", [mailbox.message("Offerta rinnovo")])
    assert json.loads(response["HX-Trigger"]) == {"countsStale": True, "listStale": True}


def test_when_the_server_is_down_the_change_is_queued_and_said(owner_client, owner, make_dovecot, smtp_server):
    from messages_app.services.sync import account_sync
    from tests.conftest import account_on
    from tests.servers.fixtures import new_mail_user

    server = make_dovecot()
    user = new_mail_user(server, smtp_server)
    server.append(user.login, "INBOX", mails.plain("In coda"))
    account = account_on(owner, user)
    account_sync(account.pk)
    server.stop()
    message = account.messages.get(subject="In coda")
    body = act(owner_client, "flag", [message]).content.decode()
    assert 'class="toast"' in body
    assert PendingAction.objects.filter(account=account).count() == 1
    message.refresh_from_db()
    assert message.is_flagged  # shown at once; the sync replays it on the server later


def test_an_unknown_action_is_refused(owner_client, mailbox):
    assert act(owner_client, "explode", [mailbox.message("Offerta rinnovo")]).status_code == 400


@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


def test_another_user_gets_404_and_nothing_changes_on_the_server(colleague_client, mailbox, mail_user):
    message = mailbox.message("Offerta rinnovo")
    for action in ("flag", "read", "spam", "delete"):
        assert act(colleague_client, action, [message]).status_code == 404
    assert server_flags(mail_user, "INBOX")[message.uid] == set()
    assert server_subjects(mail_user, "Junk") == [] and server_subjects(mail_user, "Trash") == []


def test_moving_into_another_users_folder_is_404(owner_client, colleague, mailbox, mail_user_2):
    from tests.conftest import account_on

    theirs = account_on(colleague, mail_user_2)
    folder = Folder.objects.create(account=theirs, name="Loro", delimiter=".")
    response = act(owner_client, "move", [mailbox.message("Offerta rinnovo")], destination=folder.pk)
    assert response.status_code == 404


@pytest.mark.parametrize(("action", "extra", "reason"), [
    ("move", {"destination": "abc"}, "destination must be"),
    ("move", {"destination": "1" * 30}, "destination must be"),
    ("flag", {"scope": "folder:abc"}, "unknown scope"),
    ("flag", {"scope": "nonsense"}, "unknown scope"),
    ("spam", {"scope": "unified:nonsense"}, "unknown scope"),
    ("delete", {"reading": "x1"}, "reading must be"),
])
def test_a_malformed_post_is_400_with_a_reason_and_the_server_is_untouched(owner_client, mailbox, mail_user,
                                                                           action, extra, reason):
    message = mailbox.message("Offerta rinnovo")

    response = act(owner_client, action, [message], **extra)

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert server_flags(mail_user, "INBOX")[message.uid] == set()
    assert server_subjects(mail_user, "Junk") == [] and server_subjects(mail_user, "Trash") == []


@pytest.mark.parametrize("ids", ["1" * 30, "12,abc", "-3", "²"])
def test_malformed_ids_are_400_not_500(owner_client, mailbox, ids):
    response = owner_client.post(reverse("messages_app:actions"), {"action": "read", "ids": ids}, **HTMX)

    assert response.status_code == 400
    assert "ids must be" in response.content.decode()
