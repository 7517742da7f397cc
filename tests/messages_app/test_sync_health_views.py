"""Sync health page, verify button and first-sync progress fragment."""

from django.urls import reverse

from messages_app.models import Folder, Message, SyncLock
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message


def test_health_lists_each_folder_with_server_and_local_counts(owner_client, owner, mail_user):
    mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Uno"))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    page = owner_client.get(reverse("messages_app:sync_health", args=[account.pk])).content.decode()
    for name in ("INBOX", "Sent", "Trash", "Junk", "Drafts"):
        assert f'data-folder="{name}"' in page
    assert 'class="mismatch"' not in page


def test_verify_fetches_what_is_missing_and_drops_what_is_gone(owner_client, owner, mail_user):
    for i in range(3):
        mail_user.dovecot.append(mail_user.login, "INBOX", make_message(f"M{i}"))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    inbox = Folder.objects.get(account=account, name="INBOX")
    Message.objects.filter(folder=inbox, uid=2).delete()  # a "silent" gap
    ghost = Message.objects.get(folder=inbox, uid=3)
    ghost.pk, ghost.uid, ghost.dedup_key = None, 99, "ghost"
    ghost.save()  # a row the server does not have
    Folder.objects.filter(pk=inbox.pk).update(last_seen_uid=99)
    response = owner_client.post(reverse("messages_app:sync_verify", args=[account.pk, inbox.pk]))
    assert response.status_code == 302
    assert sorted(Message.objects.filter(folder=inbox).values_list("uid", flat=True)) == [1, 2, 3]


def test_progress_fragment_shows_the_running_first_sync(owner_client, owner, mail_user):
    account = account_on(owner, mail_user)
    SyncLock.objects.create(account=account, holder="worker-1", folders_total=5, folders_done=2,
                            messages_total=200, messages_done=50)
    page = owner_client.get(reverse("messages_app:sync_progress", args=[account.pk])).content.decode()
    assert 'value="25"' in page and "200" in page


def test_progress_polling_stops_once_the_first_sync_is_done(owner_client, owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    response = owner_client.get(reverse("messages_app:sync_progress", args=[account.pk]))
    assert response.status_code == 286


def test_another_user_gets_404_on_health_verify_and_progress(client, colleague, owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    inbox = Folder.objects.get(account=account, name="INBOX")
    client.force_login(colleague)
    assert client.get(reverse("messages_app:sync_health", args=[account.pk])).status_code == 404
    assert client.get(reverse("messages_app:sync_progress", args=[account.pk])).status_code == 404
    assert client.post(reverse("messages_app:sync_verify", args=[account.pk, inbox.pk])).status_code == 404
