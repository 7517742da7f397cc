"""Management commands pick a user's accounts through the selectors: `--user` means that user's own."""

import io

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import account_on


@pytest.fixture
def two_accounts(owner, colleague, dovecot, smtp_server, mail_user):
    from tests.servers.fixtures import new_mail_user

    return account_on(owner, mail_user), account_on(colleague, new_mail_user(dovecot, smtp_server))


def test_mail_sync_and_mail_fetch_bodies_for_a_user_touch_only_that_users_accounts(two_accounts, staff):
    mine, theirs = two_accounts
    out = io.StringIO()
    call_command("mail_sync", "--user", "owner", stdout=out)
    assert out.getvalue().startswith(f"account {mine.pk}:") and f"account {theirs.pk}" not in out.getvalue()
    out = io.StringIO()
    call_command("mail_fetch_bodies", "--user", "colleague", stdout=out)
    assert out.getvalue().strip() == f"account {theirs.pk}: 0 bodies stored"
    with pytest.raises(CommandError, match="no matching mail account"):
        call_command("mail_sync", "--user", "boss")  # staff, without an account of their own
    with pytest.raises(CommandError, match="no matching mail account"):
        call_command("mail_sync", "--user", "nobody")
    with pytest.raises(CommandError, match="no such account"):
        call_command("mail_fetch_bodies", "--user", "nobody")


def test_mail_account_list_for_a_user_shows_only_their_accounts(two_accounts):
    mine, _theirs = two_accounts
    out = io.StringIO()
    call_command("mail_account", "list", "--user", "owner", stdout=out)
    assert [line.split("\t")[0] for line in out.getvalue().splitlines()] == [str(mine.pk)]
