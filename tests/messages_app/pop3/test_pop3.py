"""POP3 download against the real Dovecot: leave on server or delete, nothing twice, a crash
between APPEND and the UIDL record does not duplicate, errors in words, mail_pop3."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from messages_app.exceptions import AuthFailed, HostNotAllowed
from messages_app.mime.headers import parse_header_block
from messages_app.models import Message, Pop3Box, Pop3Seen
from messages_app.services.connections import pop3_connect
from messages_app.services.pop3 import content_hash, pop3_box_save, pop3_fetch
from messages_app.services.sync import account_sync
from tests.messages_app.sync.mailgen import make_message
from tests.servers.fixtures import new_mail_user


@pytest.fixture
def source(dovecot, smtp_server):
    """The old mailbox that is read over POP3."""
    user = new_mail_user(dovecot, smtp_server)
    for i in range(3):
        dovecot.append(user.login, "INBOX", make_message(f"Dal vecchio indirizzo {i}", minutes=i))
    return user


def box_for(account, source, **overrides) -> Pop3Box:
    fields = {"account": account, "host": source.host, "port": source.pop3_port, "security": "none",
              "username": source.login, "folder": "Vecchia casella"}
    fields.update(overrides)
    return pop3_box_save(box=Pop3Box(**fields), password=overrides.pop("password", source.password))


def subjects(user, folder):
    client = user.dovecot.imap_client(user.login)
    try:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        data = client.fetch(client.search(["ALL"]), ["ENVELOPE"])
        return sorted(item[b"ENVELOPE"].subject.decode() for item in data.values())
    finally:
        client.logout()


ALL = [f"Dal vecchio indirizzo {i}" for i in range(3)]


def test_download_leaving_mail_on_the_server_then_a_rerun_downloads_nothing(mail_account, mail_user, source):
    box = box_for(mail_account, source)
    result = pop3_fetch(box=box)
    assert (result.downloaded, result.deleted) == (3, 0)
    assert subjects(mail_user, "Vecchia casella") == ALL
    assert subjects(source, "INBOX") == ALL  # left on the server
    again = pop3_fetch(box=box)
    assert (again.downloaded, again.already_there) == (0, 0)
    assert subjects(mail_user, "Vecchia casella") == ALL
    account_sync(mail_account.pk)  # the normal sync picks them up
    assert Message.objects.filter(account=mail_account, folder__name="Vecchia casella").count() == 3


def test_download_with_delete_empties_the_pop3_box(mail_account, mail_user, source):
    box = box_for(mail_account, source, delete_after_download=True, folder="INBOX")
    assert pop3_fetch(box=box).deleted == 3
    assert subjects(source, "INBOX") == []
    assert subjects(mail_user, "INBOX") == ALL
    assert pop3_fetch(box=box).downloaded == 0
    assert subjects(mail_user, "INBOX") == ALL


def test_a_crash_between_append_and_the_uidl_record_does_not_duplicate(mail_account, mail_user, source):
    box = box_for(mail_account, source)
    # What the crashed pass left: its row still "appending", and the message already in the folder.
    client = source.dovecot.imap_client(source.login)
    client.select_folder("INBOX", readonly=True)
    first = client.fetch(client.search(["SUBJECT", "indirizzo 0"]), ["BODY.PEEK[]"])
    client.logout()
    [original] = [item[b"BODY[]"] for item in first.values()]
    with pop3_connect(box) as pop:
        uidl = next(u for u, n in pop.uidls().items() if b"indirizzo 0" in pop.retrieve(n))
    Pop3Seen.objects.create(box=box, uidl=uidl, content_hash=content_hash(original),
                            message_id=parse_header_block(original).message_id)
    mail_user.dovecot.append(mail_user.login, "Vecchia casella", original)
    result = pop3_fetch(box=box)
    assert (result.downloaded, result.already_there) == (2, 1)
    assert subjects(mail_user, "Vecchia casella") == ALL
    assert Pop3Seen.objects.filter(box=box, state=Pop3Seen.State.DONE).count() == 3


def test_errors_are_shown_in_words(mail_account, source, settings, colleague, mail_user):
    box = box_for(mail_account, source)
    box.set_password("wrong")
    box.save()
    with translation.override("en"), pytest.raises(AuthFailed):
        pop3_fetch(box=box)
    box.refresh_from_db()
    assert "Password refused" in box.last_error
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False  # a non-staff owner may not reach loopback, as for IMAP
    private = box_for(mail_account, source)
    with translation.override("en"), pytest.raises(HostNotAllowed):
        pop3_fetch(box=private)
    private.refresh_from_db()
    assert private.last_error and "127.0.0.1" in private.last_error


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_mail_pop3_add_list_fetch_delete(mail_account, mail_user, source, monkeypatch):
    monkeypatch.setenv("OLD_BOX_PASSWORD", source.password)
    out = run("mail_pop3", "add", "--account", str(mail_account.pk), "--host", source.host, "--port",
              str(source.pop3_port), "--security", "none", "--username", source.login, "--password-env",
              "OLD_BOX_PASSWORD", "--folder", "Vecchia casella", "--delete-after-download")
    box_id = int(out.splitlines()[-1])
    [row] = [json.loads(line) for line in run("mail_pop3", "list", "--json").splitlines()]
    assert row["id"] == box_id and row["delete_after_download"] is True and "password" not in json.dumps(row)
    assert "downloaded 3" in run("mail_pop3", "fetch", "--account", str(mail_account.pk))
    assert "downloaded 0" in run("mail_pop3", "fetch", "--all")
    assert "deleted" in run("mail_pop3", "delete", str(box_id))
    with pytest.raises(CommandError, match="no POP3 box with id"):
        run("mail_pop3", "delete", str(box_id))
    with pytest.raises(CommandError, match="OLD_BOX_PASSWORD2 is not set"):
        run("mail_pop3", "add", "--account", str(mail_account.pk), "--host", "h", "--port", "995", "--security",
            "ssl", "--username", "u", "--password-env", "OLD_BOX_PASSWORD2", "--folder", "INBOX")


def test_key_rotation_covers_pop3_passwords(settings, owner, mail_user, source):
    from cryptography.fernet import Fernet

    from tests.conftest import account_on

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MAIL_ENCRYPTION_KEYS = [old_key]
    box = box_for(account_on(owner, mail_user), source)
    settings.MAIL_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("mail_rotate_keys", stdout=StringIO())
    settings.MAIL_ENCRYPTION_KEYS = [new_key]
    assert Pop3Box.objects.get(pk=box.pk).get_password() == source.password


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_append_and_the_uidl_record_does_not_duplicate(owner, mail_user, source):
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import account_on
    from tests.messages_app.sync.test_sync_robustness import worker_env

    box = box_for(account_on(owner, mail_user), source, delete_after_download=True)
    worker = Path(__file__).with_name("worker.py")
    killed = subprocess.run([sys.executable, str(worker), str(box.pk)], cwd=Path(__file__).resolve().parents[3],
                            env=worker_env(), capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert len(subjects(mail_user, "Vecchia casella")) == 1  # appended, not recorded
    assert subjects(source, "INBOX") == ALL  # nothing deleted: the session never reached QUIT
    result = pop3_fetch(box=box)
    assert (result.downloaded, result.already_there, result.deleted) == (2, 1, 3)
    assert subjects(mail_user, "Vecchia casella") == ALL
    assert subjects(source, "INBOX") == []
