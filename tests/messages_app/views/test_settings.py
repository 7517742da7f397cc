"""Impostazioni > Layout and Impostazioni > Cartelle."""

import pytest
from django.test import Client
from django.urls import reverse

from messages_app.models import Folder, MailPreferences


def test_layout_starts_from_the_defaults_and_saves_each_change_at_once(owner_client, owner):
    page = owner_client.get(reverse("messages_app:settings_layout"))
    assert page.status_code == 200 and 'name="show_preview"' in page.content.decode()
    response = owner_client.post(reverse("messages_app:settings_layout"),
                                 {"show_preview": "on", "merge_accounts": "on"}, HTTP_HX_REQUEST="true")
    assert 'class="ok saved"' in response.content.decode()
    saved = MailPreferences.objects.get(user=owner)
    assert (saved.show_preview, saved.threaded, saved.merge_accounts, saved.mark_read_on_open) == (
        True, False, True, False)


def test_layout_without_htmx_redirects_back(owner_client):
    response = owner_client.post(reverse("messages_app:settings_layout"), {"threaded": "on"})
    assert response.status_code == 302


def test_folder_roles_can_be_reassigned(owner_client, mailbox, mail_user):
    mail_user.dovecot.create_folder(mail_user.login, "Posta inviata")
    mailbox.sync()
    account = mailbox.account
    folders = {f.name: f.pk for f in Folder.objects.filter(account=account)}
    page = owner_client.get(reverse("messages_app:settings_folders")).content.decode()
    assert "Posta inviata" in page and "Inviata" in page
    data = {"inbox": folders["INBOX"], "drafts": folders["Drafts"], "sent": folders["Posta inviata"],
            "spam": "", "trash": folders["Trash"]}
    response = owner_client.post(reverse("messages_app:settings_folders_save", args=[account.pk]), data)
    assert response.status_code == 302
    roles = dict(Folder.objects.filter(account=account).exclude(role="").values_list("role", "name"))
    assert roles == {"inbox": "INBOX", "drafts": "Drafts", "sent": "Posta inviata", "trash": "Trash"}
    mailbox.sync()  # the user's choice survives the next pass
    assert Folder.objects.get(account=account, role="sent").name == "Posta inviata"


@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


def test_another_user_gets_404_for_the_folder_roles_of_an_account(colleague_client, mailbox):
    inbox = Folder.objects.get(account=mailbox.account, role="inbox")
    url = reverse("messages_app:settings_folders_save", args=[mailbox.account.pk])
    assert colleague_client.post(url, {"inbox": inbox.pk}).status_code == 404
    assert mailbox.account.email not in colleague_client.get(reverse("messages_app:settings_folders")).content.decode()


def test_a_folder_of_another_account_cannot_take_a_role(owner_client, owner, colleague, mailbox, mail_user_2):
    from tests.conftest import account_on

    theirs = account_on(colleague, mail_user_2)
    foreign = Folder.objects.create(account=theirs, name="Altro", delimiter=".")
    url = reverse("messages_app:settings_folders_save", args=[mailbox.account.pk])
    assert owner_client.post(url, {"sent": foreign.pk}).status_code == 404


def test_each_user_has_their_own_layout(owner_client, colleague_client, owner, colleague):
    owner_client.post(reverse("messages_app:settings_layout"), {"threaded": "on"}, HTTP_HX_REQUEST="true")
    assert not MailPreferences.objects.filter(user=colleague).exists()
    page = colleague_client.get(reverse("messages_app:settings_layout")).content.decode()
    assert 'name="threaded" id="id_threaded" checked' not in page


def test_one_folder_chosen_for_two_roles_is_refused_in_words_and_nothing_changes(owner_client, mailbox):
    account = mailbox.account
    folders = {f.name: f.pk for f in Folder.objects.filter(account=account)}
    before = dict(Folder.objects.filter(account=account).exclude(role="").values_list("role", "name"))
    data = {"inbox": folders["INBOX"], "drafts": folders["Drafts"], "sent": folders["Sent"],
            "spam": folders["Trash"], "trash": folders["Trash"]}
    url = reverse("messages_app:settings_folders_save", args=[account.pk])
    page = owner_client.post(url, data, follow=True).content.decode()
    assert "Trash è stata scelta sia per Spam sia per Cestino" in page
    assert dict(Folder.objects.filter(account=account).exclude(role="").values_list("role", "name")) == before


def test_the_role_choices_name_folders_without_the_namespace_prefix(owner_client, mailbox):
    Folder.objects.filter(account=mailbox.account).update(namespace_prefix="")
    folder = Folder.objects.create(account=mailbox.account, name="INBOX.Progetti", delimiter=".",
                                   namespace_prefix="INBOX.")
    page = owner_client.get(reverse("messages_app:settings_folders")).content.decode()
    assert f'<option value="{folder.pk}">Progetti</option>' in page
    assert 'id="role-conflict-text"' in page
