"""A pass skips the folders LIST-STATUS proves unchanged, and never one that changed: each kind
of change on the server (a flag, new mail, an expunge, a UIDVALIDITY reset) reaches the database
on the next pass, while the untouched folders are skipped."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages_app.models import Folder, Message, SyncLock
from messages_app.services.sync import account_sync, open_connection
from messages_app.sync.identity import settle_detached
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_sync_engine import assert_in_step

CHANGED = "Clienti"


@pytest.fixture
def two_folders(owner, mail_user):
    dovecot, login = mail_user.dovecot, mail_user.login
    for i in range(4):
        dovecot.append(login, "INBOX", make_message(f"Offerta {i}", minutes=i), flags=["\\Seen"] if i % 2 else [])
    dovecot.create_folder(login, CHANGED)
    for i in range(3):
        dovecot.append(login, CHANGED, make_message(f"Pratica {i}", minutes=10 + i))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    return account, mail_user


def flag_change(dovecot, login):
    dovecot.set_flags(login, CHANGED, 2, ["\\Flagged", "$Cliente"])


def new_mail(dovecot, login):
    dovecot.append(login, CHANGED, make_message("Nuova pratica", minutes=30))


def expunge(dovecot, login):
    dovecot.expunge(login, CHANGED, 1)


CHANGES = {"flag change": flag_change, "new mail": new_mail, "expunge": expunge}


def assert_only_changed_folder_visited(result):
    assert not result.folders[CHANGED].skipped
    skipped = {name for name, outcome in result.folders.items() if outcome.skipped}
    assert skipped == set(result.folders) - {CHANGED}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_in_one_folder_is_seen_and_the_others_are_skipped(two_folders, change):
    account, user = two_folders
    assert all(outcome.skipped for outcome in account_sync(account.pk).folders.values())
    change(user.dovecot, user.login)
    result = account_sync(account.pk)
    assert_only_changed_folder_visited(result)
    assert_in_step(user.dovecot, account, user.login, CHANGED)
    assert_in_step(user.dovecot, account, user.login)


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_on_a_kept_connection_a_change_made_elsewhere_is_seen(two_folders, change):
    """The connection selected the folder in an earlier pass: its own view of it lags behind."""
    account, user = two_folders
    with open_connection(account) as conn:
        user.dovecot.append(user.login, CHANGED, make_message("Prima", minutes=40))
        assert not account_sync(account.pk, connection=conn).folders[CHANGED].skipped  # CHANGED stays selected
        change(user.dovecot, user.login)
        result = account_sync(account.pk, connection=conn)
        assert_only_changed_folder_visited(result)
        assert_in_step(user.dovecot, account, user.login, CHANGED)
        assert all(outcome.skipped for outcome in account_sync(account.pk, connection=conn).folders.values())


def test_a_uidvalidity_reset_with_the_same_counts_is_not_skipped(two_folders):
    """Same messages, same UIDNEXT, maybe the same HIGHESTMODSEQ: only UIDVALIDITY tells."""
    account, user = two_folders
    ids_by_subject = dict(Message.objects.filter(folder__account=account, folder__name=CHANGED)
                          .values_list("subject", "pk"))
    user.dovecot.recreate_folder(user.login, CHANGED)
    result = account_sync(account.pk)
    assert result.folders[CHANGED].rebuilt
    assert_only_changed_folder_visited(result)
    folder = Folder.objects.get(account=account, name=CHANGED)
    assert folder.uidvalidity == user.dovecot.uidvalidity(user.login, CHANGED)
    assert dict(Message.objects.filter(folder=folder).values_list("subject", "pk")) == ids_by_subject
    assert_in_step(user.dovecot, account, user.login, CHANGED)


def test_the_folder_row_keeps_what_the_next_skip_compares(two_folders):
    account, user = two_folders
    client = user.dovecot.imap_client(user.login)
    try:
        status = client.folder_status(CHANGED, [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES", b"HIGHESTMODSEQ"])
    finally:
        client.logout()
    folder = Folder.objects.get(account=account, name=CHANGED)
    assert (folder.uidvalidity, folder.uidnext, folder.server_messages, folder.highest_modseq) == (
        status[b"UIDVALIDITY"], status[b"UIDNEXT"], status[b"MESSAGES"], status[b"HIGHESTMODSEQ"])


def test_an_unchanged_pass_writes_no_progress_and_settles_with_one_query(two_folders):
    account, _user = two_folders
    account_sync(account.pk)
    # The claim zeroes the progress; only a pass with a folder to visit counts its folders.
    assert SyncLock.objects.get(pk=account.pk).folders_total == 0
    with CaptureQueriesContext(connection) as queries:
        assert settle_detached(account) == {"merged": 0, "localised": 0, "deleted": 0}
    assert len(queries.captured_queries) == 1
