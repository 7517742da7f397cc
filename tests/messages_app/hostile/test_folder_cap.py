"""A cap on folders (issue 16, item 14): a server listing more folders than MAIL_MAX_FOLDERS gets
only that many rows (INBOX and the special-use folders first), the sync health page says how many
were left out, and the folder tree stays the size of the cap."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from messages_app.models import Folder
from messages_app.services.sync import account_sync
from tests.servers.fake_imap import FakeImap, fake_account

LISTED = ["INBOX"] + [f"Progetti/P{n:03d}" for n in range(60)]


@pytest.fixture
def crowded_server():
    server = FakeImap(folders=LISTED).start()
    yield server
    server.stop()


def test_a_server_listing_more_folders_than_the_cap_gets_the_cap(settings, owner_client, owner, crowded_server):
    settings.MAIL_MAX_FOLDERS = 12
    account = fake_account(owner, crowded_server)
    account_sync(account.pk)
    names = set(Folder.objects.filter(account=account).values_list("name", flat=True))
    assert len(names) == 12 and "INBOX" in names
    account.refresh_from_db()
    assert account.folders_skipped == len(LISTED) - 12

    account_sync(account.pk)  # the same folders on the next pass, not another twelve
    assert set(Folder.objects.filter(account=account).values_list("name", flat=True)) == names

    with translation.override("en"):
        owner.language = "en"
        owner.save()
        page = owner_client.get(reverse("messages_app:sync_health", args=[account.pk])).content.decode()
    assert "folders-skipped" in page and f"{len(LISTED) - 12} folders more" in page

    tree = owner_client.get(reverse("messages_app:index"))
    assert tree.status_code == 200
    shown = set(re.findall(r"P0\d\d", tree.content.decode()))
    assert 0 < len(shown) <= 11  # the tree holds the kept folders only


def test_under_the_cap_nothing_is_skipped_or_shown(settings, owner_client, owner, crowded_server):
    settings.MAIL_MAX_FOLDERS = 1000
    account = fake_account(owner, crowded_server)
    account_sync(account.pk)
    assert Folder.objects.filter(account=account).count() == len(LISTED)
    page = owner_client.get(reverse("messages_app:sync_health", args=[account.pk])).content.decode()
    assert "folders-skipped" not in page
