"""The sync engine against the private Dovecot: the local copy always equals the server."""

import io
import json

import pytest
from django.core.management import call_command

from messages_app.models import Folder, MailAccount, Message, Thread
from messages_app.services.message_actions import message_delete, message_flags_set, message_move
from messages_app.services.sync import account_sync, open_connection
from messages_app.sync import engine
from messages_app.sync.folders import reconcile_folders
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message


def server_state(dovecot, login: str, folder: str) -> dict[int, set[str]]:
    """{uid: flags} as the server has them."""
    client = dovecot.imap_client(login)
    try:
        client.select_folder(folder, readonly=True)
        data = client.fetch("1:*", ["FLAGS"]) if client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"] else {}
        return {uid: {f.decode() for f in item[b"FLAGS"] if f != b"\\Recent"} for uid, item in data.items()}
    finally:
        client.logout()


def local_state(account: MailAccount, folder: str) -> dict[int, set[str]]:
    state = {}
    for m in Message.objects.filter(folder__account=account, folder__name=folder):
        flags = {flag for flag, on in (("\\Seen", m.is_seen), ("\\Flagged", m.is_flagged),
                                       ("\\Answered", m.is_answered), ("\\Draft", m.is_draft)) if on}
        state[m.uid] = flags | set(m.keywords)
    return state


def assert_in_step(dovecot, account, login, folder="INBOX"):
    assert local_state(account, folder) == server_state(dovecot, login, folder)
    uids = list(Message.objects.filter(folder__account=account, folder__name=folder).values_list("uid", flat=True))
    assert len(uids) == len(set(uids))


@pytest.fixture
def seeded(owner, mail_user):
    dovecot = mail_user.dovecot
    for i in range(5):
        flags = ["\\Seen"] if i % 2 else []
        dovecot.append(mail_user.login, "INBOX", make_message(f"Offerta {i}", minutes=i), flags=flags)
    dovecot.append(mail_user.login, "Sent", make_message("Risposta", sender="owner@crm.test"))
    return account_on(owner, mail_user), mail_user


def test_first_sync_creates_folders_with_roles_and_every_message(seeded):
    account, user = seeded
    account_sync(account.pk)
    roles = dict(Folder.objects.filter(account=account).exclude(role="").values_list("role", "name"))
    assert roles == {"inbox": "INBOX", "drafts": "Drafts", "sent": "Sent", "spam": "Junk", "trash": "Trash"}
    assert_in_step(user.dovecot, account, user.login)
    assert_in_step(user.dovecot, account, user.login, "Sent")
    message = Message.objects.get(folder__name="INBOX", subject="Offerta 0")
    assert (message.from_name, message.from_addr) == ("Mario Rossi", "mario@cliente.test")


def test_a_pass_with_nothing_new_skips_every_folder(seeded):
    account, _user = seeded
    account_sync(account.pk)
    result = account_sync(account.pk)
    assert all(outcome.skipped for outcome in result.folders.values())


def test_new_mail_flag_changes_and_expunges_on_the_server_reach_the_database(seeded):
    account, user = seeded
    account_sync(account.pk)
    user.dovecot.append(user.login, "INBOX", make_message("Nuovo ordine", minutes=30))
    user.dovecot.set_flags(user.login, "INBOX", 1, ["\\Seen", "\\Flagged", "$Label1"])
    user.dovecot.expunge(user.login, "INBOX", 2)
    result = account_sync(account.pk)
    assert result.folders["INBOX"].new == 1
    assert result.folders["INBOX"].removed == 1
    assert_in_step(user.dovecot, account, user.login)


def test_local_flag_changes_are_written_to_the_server(seeded, owner):
    account, user = seeded
    account_sync(account.pk)
    message = Message.objects.get(folder__name="INBOX", uid=1)
    message_flags_set(user=owner, message_ids=[message.pk], add=("\\Flagged", "\\Seen"))
    assert server_state(user.dovecot, user.login, "INBOX")[1] >= {"\\Flagged", "\\Seen"}
    message.refresh_from_db()
    assert message.is_flagged and message.is_seen
    account_sync(account.pk)
    assert_in_step(user.dovecot, account, user.login)


def test_another_users_messages_are_untouched_by_actions(seeded, colleague):
    account, user = seeded
    account_sync(account.pk)
    message = Message.objects.get(folder__name="INBOX", uid=1)
    message_flags_set(user=colleague, message_ids=[message.pk], add=("\\Flagged",))
    assert "\\Flagged" not in server_state(user.dovecot, user.login, "INBOX")[1]


def test_a_move_keeps_the_row_and_lands_on_the_server(seeded, owner):
    account, user = seeded
    account_sync(account.pk)
    message = Message.objects.get(folder__name="INBOX", uid=3)
    archive_name = "Archivio"
    user.dovecot.create_folder(user.login, archive_name)
    account_sync(account.pk)
    archive = Folder.objects.get(account=account, name=archive_name)
    message_move(user=owner, message_ids=[message.pk], destination=archive)
    assert len(server_state(user.dovecot, user.login, archive_name)) == 1
    assert 3 not in server_state(user.dovecot, user.login, "INBOX")
    moved = Message.objects.get(pk=message.pk)  # same row: thread and links stay
    assert moved.folder_id == archive.pk
    account_sync(account.pk)
    assert_in_step(user.dovecot, account, user.login, archive_name)
    assert_in_step(user.dovecot, account, user.login)


def test_delete_goes_to_trash_and_from_trash_for_good(seeded, owner):
    account, user = seeded
    account_sync(account.pk)
    message = Message.objects.get(folder__name="INBOX", uid=4)
    message_delete(user=owner, message_ids=[message.pk])
    assert len(server_state(user.dovecot, user.login, "Trash")) == 1
    trashed = Message.objects.get(pk=message.pk)
    assert trashed.folder.role == "trash"
    message_delete(user=owner, message_ids=[trashed.pk])
    assert server_state(user.dovecot, user.login, "Trash") == {}
    assert not Message.objects.filter(pk=message.pk).exists()


def test_a_uidvalidity_reset_rebuilds_the_folder(seeded):
    account, user = seeded
    account_sync(account.pk)
    old_validity = Folder.objects.get(account=account, name="INBOX").uidvalidity
    user.dovecot.recreate_folder(user.login, "INBOX")
    user.dovecot.append(user.login, "INBOX", make_message("Dopo il reset"))
    result = account_sync(account.pk)
    assert result.folders["INBOX"].rebuilt
    folder = Folder.objects.get(account=account, name="INBOX")
    assert folder.uidvalidity != old_validity
    assert_in_step(user.dovecot, account, user.login)


def test_folders_created_renamed_and_deleted_on_the_server_are_picked_up(seeded):
    account, user = seeded
    user.dovecot.create_folder(user.login, "Clienti")
    user.dovecot.append(user.login, "Clienti", make_message("Contratto"))
    account_sync(account.pk)
    folder = Folder.objects.get(account=account, name="Clienti")
    user.dovecot.rename_folder(user.login, "Clienti", "Clienti 2026")
    user.dovecot.create_folder(user.login, "Fornitori")
    account_sync(account.pk)
    renamed = Folder.objects.get(account=account, name="Clienti 2026")
    assert renamed.pk == folder.pk  # same UIDVALIDITY: a rename, rows kept
    assert Message.objects.filter(folder=renamed).count() == 1
    user.dovecot.delete_folder(user.login, "Fornitori")
    account_sync(account.pk)
    assert not Folder.objects.filter(account=account, name="Fornitori").exists()


def test_a_refused_password_marks_the_account_and_stops_retrying(owner, mail_user):
    account = account_on(owner, mail_user, password="not-the-password")
    with pytest.raises(Exception, match="AuthFailed|refused|Authentication"):
        account_sync(account.pk)
    account.refresh_from_db()
    assert account.auth_failed
    assert "Password refused" in account.sync_error or "Password rifiutata" in account.sync_error
    assert account_sync(account.pk).folders == {}  # not retried until the user fixes it


def test_threads_join_across_folders_and_when_the_parent_arrives_late(seeded):
    account, user = seeded
    root_id, reply_id = "<root@cliente.test>", "<reply@crm.test>"
    # The reply (in Sent) is synced before its parent reaches the Inbox.
    user.dovecot.append(user.login, "Sent", make_message("Re: Preventivo", sender="owner@crm.test",
                                                         message_id=reply_id, in_reply_to=root_id,
                                                         references=[root_id], minutes=60))
    account_sync(account.pk)
    user.dovecot.append(user.login, "INBOX", make_message("Preventivo", message_id=root_id, minutes=50))
    user.dovecot.append(user.login, "INBOX", make_message("R: Preventivo", minutes=70))  # no references
    account_sync(account.pk)
    reply = Message.objects.get(message_id=reply_id)
    root = Message.objects.get(message_id=root_id)
    by_subject = Message.objects.get(subject="R: Preventivo")
    assert reply.thread_id == root.thread_id == by_subject.thread_id
    assert Thread.objects.get(pk=root.thread_id).message_count == 3


def test_mail_status_json_matches_the_server(seeded):
    account, user = seeded
    call_command("mail_sync", "--account", str(account.pk), stdout=io.StringIO())
    out = io.StringIO()
    call_command("mail_status", "--account", str(account.pk), "--json", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    client = user.dovecot.imap_client(user.login)
    try:
        for row in rows:
            status = client.folder_status(row["folder"], [b"MESSAGES", b"UNSEEN", b"UIDVALIDITY"])
            assert (row["messages"], row["unread"], row["uidvalidity"]) == (
                status[b"MESSAGES"], status[b"UNSEEN"], status[b"UIDVALIDITY"]), row
            assert row["error"] == "" and row["last_synced"]
    finally:
        client.logout()


def test_mail_status_lists_the_special_folders_for_a_user(seeded):
    account, _user = seeded
    account_sync(account.pk)
    out = io.StringIO()
    call_command("mail_status", "--user", "owner", "--json", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    specials = {row["folder"] for row in rows if row["account"] is None}
    assert specials == {"Shared", "Imported", "Flagged", "Scheduled"}


def test_a_large_folder_is_usable_newest_first_before_the_history_is_in(owner, mail_user, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_SIZE", 50)
    messages = [(make_message(f"Msg {i}", minutes=i), "S" if i % 5 else "") for i in range(230)]
    mail_user.dovecot.write_maildir(mail_user.login, "INBOX", messages)
    account = account_on(owner, mail_user)
    with open_connection(account) as conn:
        folders = reconcile_folders(account, conn, conn.list_folders())
        inbox = next(f for f in folders if f.name == "INBOX")
        outcome = engine.sync_folder(conn, inbox, max_backfill_batches=0)
    assert outcome.backfill_pending
    stored = sorted(Message.objects.filter(folder=inbox).values_list("uid", flat=True))
    assert stored == list(range(181, 231))  # the newest 50 first
    result = account_sync(account.pk)
    assert result.folders["INBOX"].new == 180
    assert Folder.objects.get(pk=inbox.pk).backfill_below_uid == 0
    assert_in_step(mail_user.dovecot, account, mail_user.login)


def test_the_same_message_in_two_folders_is_counted_once_among_flagged(seeded, owner):
    account, user = seeded
    raw = make_message("Contratto firmato", message_id="<same@x>")
    user.dovecot.append(user.login, "INBOX", raw, flags=["\\Flagged"])
    user.dovecot.create_folder(user.login, "Archivio")
    user.dovecot.append(user.login, "Archivio", raw, flags=["\\Flagged"])
    account_sync(account.pk)
    copies = Message.objects.filter(message_id="<same@x>")
    assert copies.count() == 2 and len({m.dedup_key for m in copies}) == 1
    from messages_app.selectors import unique_flagged

    assert unique_flagged(owner).filter(message_id="<same@x>").count() == 1


def test_huge_and_absurdly_nested_messages_do_not_stop_the_folder(seeded):
    account, user = seeded
    account_sync(account.pk)
    big = make_message("Allegato enorme", attachment=b"%PDF-" + b"x" * (50 * 1024 * 1024))
    nested = b"Subject: nested\r\nMIME-Version: 1.0\r\n"
    for depth in range(1000):
        nested += f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
    nested += b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    user.dovecot.write_maildir(user.login, "INBOX", [(big, ""), (nested, ""), (b"\x00\xff garbage", "")])
    result = account_sync(account.pk)
    assert result.folders["INBOX"].new == 3
    assert Message.objects.get(subject="Allegato enorme").size > 50 * 1024 * 1024
    assert_in_step(user.dovecot, account, user.login)


def test_a_kept_connection_still_sees_changes_other_clients_make(seeded):
    """STATUS of the folder a session has selected reports that session's stale view."""
    account, user = seeded
    with open_connection(account) as conn:
        account_sync(account.pk, connection=conn)
        for round_number in range(2):
            user.dovecot.set_flags(user.login, "INBOX", 1, ["\\Flagged"] if round_number == 0 else [])
            user.dovecot.append(user.login, "INBOX", make_message(f"Giro {round_number}"))
            user.dovecot.expunge(user.login, "INBOX", 2 + round_number)
            result = account_sync(account.pk, connection=conn)
            assert not result.folders["INBOX"].skipped
            assert_in_step(user.dovecot, account, user.login)
