"""The mail_account command contract (DESIGN.md): exit codes, last line of stdout, stderr reason."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from messages_app.models import MailAccount


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def create_args(mail_user, *extra):
    return ["mail_account", "create", "--user", "owner", "--preset", "custom", "--username", mail_user.login,
            "--password-env", "TEST_MAIL_PASSWORD", "--imap-host", mail_user.host,
            "--imap-port", str(mail_user.imap_port), "--imap-security", "none",
            "--smtp-host", mail_user.host, "--smtp-port", str(mail_user.smtp_port), "--smtp-security", "none",
            *extra]


def test_create_prints_the_new_id_last_and_list_shows_it(owner, mail_user, monkeypatch):
    monkeypatch.setenv("TEST_MAIL_PASSWORD", mail_user.password)
    account_id = int(run(*create_args(mail_user)).strip().splitlines()[-1])
    account = MailAccount.objects.get(pk=account_id)
    assert account.get_password() == mail_user.password and account.is_primary
    rows = [json.loads(line) for line in run("mail_account", "list", "--user", "owner", "--json").splitlines()]
    assert [row["id"] for row in rows] == [account_id]


def test_create_with_a_preset_fills_the_servers(owner, monkeypatch):
    monkeypatch.setenv("TEST_MAIL_PASSWORD", "app-password")
    account_id = int(run("mail_account", "create", "--user", "owner", "--preset", "pec_legalmail",
                         "--username", "studio@legalmail.it", "--password-env", "TEST_MAIL_PASSWORD").split()[-1])
    account = MailAccount.objects.get(pk=account_id)
    assert (account.imap_host, account.smtp_host, account.smtp_port) == (
        "mbox.cert.legalmail.it", "sendm.cert.legalmail.it", 465)


def test_diagnose_reports_success_and_failure(owner, mail_user, monkeypatch):
    monkeypatch.setenv("TEST_MAIL_PASSWORD", mail_user.password)
    good = run(*create_args(mail_user)).split()[-1]
    assert "IMAP ok" in run("mail_account", "diagnose", good)
    monkeypatch.setenv("TEST_MAIL_PASSWORD", "wrong")
    bad = run(*create_args(mail_user)).split()[-1]
    with pytest.raises(CommandError, match="refused|rifiutata"):
        run("mail_account", "diagnose", bad)


def test_delete_and_unknown_ids(owner, mail_user, monkeypatch):
    monkeypatch.setenv("TEST_MAIL_PASSWORD", mail_user.password)
    account_id = run(*create_args(mail_user)).split()[-1]
    run("mail_account", "delete", account_id)
    assert not MailAccount.objects.filter(pk=account_id).exists()
    with pytest.raises(CommandError, match="no mail account"):
        run("mail_account", "delete", account_id)


def test_create_refuses_an_unknown_user_and_a_missing_password_variable(owner, mail_user):
    with pytest.raises(CommandError, match="no user"):
        run("mail_account", "create", "--user", "nobody", "--preset", "gmail", "--username", "x@gmail.com")
    with pytest.raises(CommandError, match="not set"):
        run(*create_args(mail_user))


def test_shared_sender_from_the_command_line(owner, mail_user, monkeypatch):
    monkeypatch.setenv("TEST_MAIL_PASSWORD", mail_user.password)
    account_id = run(*create_args(mail_user, "--shared-sender")).split()[-1]
    assert MailAccount.objects.get(pk=account_id).is_shared_sender


@pytest.mark.parametrize(("option", "value", "reason"), [
    ("--imap-port", "-5", "imap.port"), ("--smtp-port", "73677", "smtp.port"), ("--imap-host", "h" * 300, "imap_host"),
])
def test_create_refuses_a_port_out_of_range_or_an_overlong_host_in_one_line(owner, mail_user, monkeypatch,
                                                                            option, value, reason):
    monkeypatch.setenv("TEST_MAIL_PASSWORD", mail_user.password)
    args = create_args(mail_user)
    args[args.index(option) + 1] = value

    with pytest.raises(CommandError, match=reason) as refused:
        run(*args)

    assert "\n" not in str(refused.value)
    assert not MailAccount.objects.exists()


def test_saving_an_account_checks_the_port_range_whoever_saves(owner, mail_user):
    from django.core.exceptions import ValidationError

    from tests.conftest import account_on

    with pytest.raises(ValidationError, match="65535"):
        account_on(owner, mail_user, imap_port=70000)
