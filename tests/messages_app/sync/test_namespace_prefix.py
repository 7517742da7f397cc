"""A server whose personal namespace has a prefix (Courier's "INBOX." with "." as separator):
the prefix NAMESPACE reports is never shown, as in Thunderbird; the server name stays the key."""

import pytest
from django.urls import reverse

from messages_app.mailbox.scopes import folder_path_label
from messages_app.mailbox.tree import folder_tree, move_targets
from messages_app.models import Folder
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.servers.fixtures import new_mail_user

COURIER_NAMESPACE = "namespace inbox {\n  prefix = INBOX.\n  separator = .\n}\n"


@pytest.fixture
def prefixed_account(owner, make_dovecot, smtp_server):
    dovecot = make_dovecot(extra_conf=COURIER_NAMESPACE)
    user = new_mail_user(dovecot, smtp_server)
    client = dovecot.imap_client(user.login)
    try:
        client.create_folder("INBOX.Progetti.2026")  # INBOX.Progetti is a \Noselect parent
        client.create_folder("INBOX.Vuota.Sotto")
        client.delete_folder("INBOX.Vuota.Sotto")  # leaves INBOX.Vuota: \Noselect with no children
    finally:
        client.logout()
    dovecot.append(user.login, "INBOX.Progetti.2026", make_message("Cantiere 2026"))
    account = account_on(owner, user)
    account_sync(account.pk)
    return account


def test_the_server_names_stay_the_keys_and_roles_are_found(prefixed_account):
    roles = dict(Folder.objects.filter(account=prefixed_account).exclude(role="").values_list("role", "name"))
    assert roles == {"inbox": "INBOX", "drafts": "INBOX.Drafts", "sent": "INBOX.Sent", "spam": "INBOX.Junk",
                     "trash": "INBOX.Trash"}
    assert set(Folder.objects.filter(account=prefixed_account).values_list("namespace_prefix", flat=True)) \
        == {"", "INBOX."}
    nested = Folder.objects.get(account=prefixed_account, name="INBOX.Progetti.2026")
    assert (nested.path, nested.display_name, nested.depth, nested.parent_name) \
        == ("Progetti.2026", "2026", 1, "INBOX.Progetti")
    assert nested.messages.count() == 1


def test_the_tree_shows_folders_at_the_top_not_under_entrata(prefixed_account, owner):
    entries = folder_tree(owner, merged=False).accounts[0].entries
    shown = [(e.label, e.depth, e.selectable) for e in entries]
    assert shown == [("Entrata", 0, True), ("Bozze", 0, True), ("Inviata", 0, True), ("Spam", 0, True),
                     ("Cestino", 0, True), ("Progetti", 0, False), ("2026", 1, True)]


def test_move_targets_use_the_names_without_the_prefix(prefixed_account, owner):
    targets = [folder_path_label(f) for f in move_targets(list(prefixed_account.folders.all()))]
    assert targets == ["Entrata", "Bozze", "Inviata", "Spam", "Cestino", "Progetti › 2026"]


def test_the_mailbox_page_never_shows_the_prefix(prefixed_account, owner_client):
    inbox = prefixed_account.folders.get(name="INBOX")
    page = owner_client.get(reverse("messages_app:folder", args=[inbox.pk])).content.decode()
    assert "Progetti › 2026" in page
    assert "INBOX." not in page
    assert "Vuota" not in page  # a non-selectable folder with nothing below it is not listed


def test_without_special_use_the_roles_come_from_the_names_after_the_prefix():
    from messages_app.sync.roles import assign_roles

    listing = [("INBOX", ".", ()), ("INBOX.Archivio.Sent", ".", ()), ("INBOX.Sent", ".", ()),
               ("INBOX.Cestino", ".", ()), ("INBOX.Bozze", ".", ())]
    roles = {name: role for name, (role, _source) in assign_roles(listing, {}).items()}
    assert roles == {"INBOX": "inbox", "INBOX.Sent": "sent", "INBOX.Cestino": "trash", "INBOX.Bozze": "drafts"}
