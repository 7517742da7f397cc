"""Every management command fails in one line, never a traceback (messages_app/management/base.py),
and every --json is JSON Lines: one object per line."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, OperationalError

from messages_app.services.sync import account_sync

ROOT = Path(__file__).resolve().parents[3]


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("command", ["mail_status", "mail_idle", "mail_fetch_bodies"])
def test_an_unknown_account_is_a_one_line_reason(db, command):
    with pytest.raises(CommandError, match="99999") as refused:
        run(command, "--account", "99999")
    assert "\n" not in str(refused.value)


def test_a_negative_limit_is_refused_before_any_work(db):
    with pytest.raises(CommandError, match="--limit: must be 1 or more"):
        run("mail_fetch_bodies", "--all", "--limit", "-1")


def test_a_locked_database_is_named_in_words(db, monkeypatch):
    def locked(**_kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr("messages_app.management.commands.mail_status.folder_status_rows", locked)
    with pytest.raises(CommandError, match="database is busy"):
        run("mail_status")


def test_a_value_the_database_refuses_is_named_in_words(db, monkeypatch):
    def too_long(**_kwargs):
        raise DataError("value too long for type character varying(255)\nDETAIL: ...")

    monkeypatch.setattr("messages_app.management.commands.mail_status.folder_status_rows", too_long)
    with pytest.raises(CommandError, match="does not fit the database: value too long") as refused:
        run("mail_status")
    assert "\n" not in str(refused.value)


def test_a_password_the_protocol_cannot_carry_is_named_in_words(mail_account, monkeypatch):
    def ascii_login(**_kwargs):
        "pässword".encode("ascii")

    monkeypatch.setattr("messages_app.management.commands.mail_account.connection_test_run", ascii_login)
    with pytest.raises(CommandError, match="non-ASCII") as refused:
        run("mail_account", "diagnose", str(mail_account.pk))
    assert "\n" not in str(refused.value)


def test_secrets_under_another_key_name_mail_encryption_keys(settings, mail_account):
    settings.MAIL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="MAIL_ENCRYPTION_KEYS"):
        run("mail_account", "diagnose", str(mail_account.pk))
    with pytest.raises(CommandError, match="MAIL_ENCRYPTION_KEYS"):
        run("mail_rotate_keys")


def test_a_malformed_key_names_mail_encryption_keys(settings, mail_account):
    settings.MAIL_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(CommandError, match="MAIL_ENCRYPTION_KEYS"):
        run("mail_account", "diagnose", str(mail_account.pk))


def test_every_json_output_is_one_object_per_line(owner, mail_account):
    account_sync(mail_account.pk)
    for args in (("mail_status", "--json"), ("mail_status", "--user", "owner", "--json"),
                 ("mail_account", "list", "--json")):
        lines = run(*args).splitlines()
        assert lines, args
        assert all(isinstance(json.loads(line), dict) for line in lines), args
    status = [json.loads(line) for line in run("mail_status", "--account", str(mail_account.pk), "--json").splitlines()]
    assert {"account", "folder", "role", "uidvalidity", "messages", "unread", "last_synced", "error"} <= set(status[0])


# From a real shell: what an operator sees on stderr, and the exit code.

@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    _manage(var, "migrate", "--noinput")
    _manage(var, "shell", "-c", (
        "from accounts.models import User; from messages_app.models import MailAccount, Folder\n"
        "u = User.objects.create_user('olga', password='x')\n"
        "a = MailAccount.objects.create(owner=u, username='o', email='o@x.test', description='o',"
        " imap_host='imap.x.test', smtp_host='smtp.x.test')\n"
        "Folder.objects.bulk_create([Folder(account=a, name=f'Cartella {n:05}') for n in range(4000)])"))
    return var


def _manage(var: Path, *args: str, piped_into: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env["POSTINO_VAR_DIR"] = str(var)
    command = [sys.executable, "manage.py", *args]
    if piped_into:
        command = ["bash", "-c", f"{' '.join(command)} | {piped_into}"]
    return subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True, timeout=120)


@pytest.mark.parametrize("args", [
    ("mail_status", "--account", "99999"),
    ("mail_idle", "--account", "99999"),
    ("mail_fetch_bodies", "--all", "--limit", "-1"),
    ("mail_account", "create", "--user", "olga", "--preset", "custom", "--username", "u",
     "--imap-host", "h", "--smtp-host", "h", "--imap-port", "-5"),
    ("mail_account", "diagnose", "abc"),
])
def test_from_the_shell_a_failure_is_one_line_on_stderr_and_a_non_zero_exit(var_dir, args):
    done = _manage(var_dir, *args)

    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_mail_status_piped_into_head_ends_without_a_traceback(var_dir):
    done = _manage(var_dir, "mail_status", piped_into="head -n 1")

    assert done.stdout.count("\n") == 1 and "Cartella 00000" in done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
