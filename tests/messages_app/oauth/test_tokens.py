"""token_get_valid() and the XOAUTH2 logins: refresh ahead of expiry, one refresh for two workers,
invalid_grant leading to "sign in again", and no token in clear anywhere."""

import logging
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import translation

from messages_app.exceptions import ReauthRequired
from messages_app.models import MailAccount, Message
from messages_app.oauth.tokens import token_get_valid
from messages_app.services.connections import imap_connect, smtp_connect
from messages_app.services.sync import account_sync
from tests.messages_app.oauth.conftest import connect, oauth_account_on
from tests.messages_app.sync.mailgen import make_message
from tests.servers.fixtures import new_mail_user


def test_smtp_sends_and_imap_syncs_with_xoauth2(oauth_settings, oauth_provider, owner, oauth_mail_user):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider)
    oauth_mail_user.dovecot.append(oauth_mail_user.login, "INBOX", make_message("Via XOAUTH2"))
    smtp = oauth_mail_user.smtp

    with smtp_connect(account) as session:
        session.send(sender=oauth_mail_user.login, recipients=["cliente@example.test"],
                     message=b"Subject: ciao\r\n\r\ninviato con un token\r\n")
    account_sync(account.pk)

    received = smtp.wait_for(1, login=oauth_mail_user.login)
    assert received[0].rcpt_tos == ["cliente@example.test"] and oauth_mail_user.login in smtp.oauth_logins
    assert Message.objects.filter(account=account, subject="Via XOAUTH2").exists()


def test_oauthbearer_where_the_server_offers_only_that(oauth_settings, oauth_provider, owner, make_dovecot):
    dovecot = make_dovecot(extra_conf=oauth_provider.dovecot_conf().replace(
        "plain login xoauth2 oauthbearer", "plain login oauthbearer").replace(
        "mechanisms = xoauth2 oauthbearer", "mechanisms = oauthbearer"))
    login, _ = dovecot.add_user()
    from tests.servers.fixtures import MailUser

    server_user = MailUser(login=login, password="", host=dovecot.host, imap_port=dovecot.imap_port,
                           pop3_port=0, sieve_port=0, smtp_host=dovecot.host, smtp_port=1, dovecot=dovecot,
                           smtp=None)
    account = oauth_account_on(owner, server_user, oauth_provider)
    with imap_connect(account) as conn:
        assert conn.has("IMAP4REV1")
    deadline = time.monotonic() + 5  # Dovecot's log process writes the line a moment later
    while "method=OAUTHBEARER" not in dovecot.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "method=OAUTHBEARER" in dovecot.log_path.read_text()


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_a_token_near_expiry_is_refreshed_before_use(provider, oauth_settings, oauth_provider, owner,
                                                     oauth_mail_user):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider, provider=provider, expires_in=60)  # margin 300
    old = account.get_oauth_tokens()
    before = oauth_provider.refresh_grants

    with imap_connect(account) as conn:
        assert conn.has("IMAP4REV1")

    stored = MailAccount.objects.get(pk=account.pk).get_oauth_tokens()
    assert oauth_provider.refresh_grants == before + 1
    assert stored["access_token"] != old["access_token"] and stored["refresh_token"] != old["refresh_token"]
    assert stored["expires_at"] > old["expires_at"] + 3000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_two_workers_refreshing_at_once_both_succeed_with_exactly_one_refresh(
        provider, oauth_settings, oauth_provider, owner, oauth_mail_user):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider, provider=provider, expires_in=0)
    before = oauth_provider.refresh_grants
    attempts_before = len(oauth_provider.refresh_attempts)
    oauth_provider.refresh_delay = 0.5  # both workers are waiting while the first refresh runs
    start = threading.Barrier(2)
    tokens, errors = [], []

    def worker():
        try:
            mine = MailAccount.objects.get(pk=account.pk)
            start.wait(5)
            tokens.append(token_get_valid(mine))
            with imap_connect(mine) as conn:  # and the token works
                conn.noop()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        oauth_provider.refresh_delay = 0
    assert errors == []
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert oauth_provider.refresh_grants == before + 1
    assert oauth_provider.refresh_attempts[attempts_before:] == ["ok"]  # rotation: a second try would fail


def test_a_refused_token_that_looked_valid_gets_one_refresh_and_one_retry(
        oauth_settings, oauth_provider, owner, oauth_mail_user):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider)
    oauth_provider.expire_access_tokens(oauth_mail_user.login)  # revoked early: we still think it is valid
    before = oauth_provider.refresh_grants

    with imap_connect(account) as conn:
        conn.noop()

    assert oauth_provider.refresh_grants == before + 1


def test_a_second_refusal_after_the_refresh_is_sign_in_again_not_a_loop(
        oauth_settings, oauth_provider, owner, oauth_mail_user):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider)
    grants, introspections = oauth_provider.refresh_grants, oauth_provider.introspections
    oauth_provider.inactive_for.add(oauth_mail_user.login)  # the server refuses every token of this user
    try:
        with pytest.raises(ReauthRequired):
            imap_connect(account)
    finally:
        oauth_provider.inactive_for.discard(oauth_mail_user.login)
    assert oauth_provider.refresh_grants == grants + 1  # one refresh
    assert oauth_provider.introspections == introspections + 2  # two logins, no third


def test_invalid_grant_marks_the_account_sign_in_again_and_stops_trying(
        oauth_settings, oauth_provider, owner, owner_client, oauth_mail_user, dovecot_oauth, smtp_server_oauth):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider, expires_in=0)
    other_user = new_mail_user(dovecot_oauth, smtp_server_oauth)
    other = oauth_account_on(owner, other_user, oauth_provider, expires_in=0)
    dovecot_oauth.append(other_user.login, "INBOX", make_message("Altro account"))
    oauth_provider.revoke_all(oauth_mail_user.login)  # the user withdrew consent at the provider

    with pytest.raises(ReauthRequired):
        account_sync(account.pk)
    account.refresh_from_db()
    assert account.reauth_required and account.get_oauth_tokens()["revoked"]
    with translation.override("it"):  # the sentence is kept in the site's language
        assert account.sync_error == ReauthRequired().user_message() and "accedi di nuovo" in account.sync_error

    attempts, introspections = len(oauth_provider.refresh_attempts), oauth_provider.introspections
    account_sync(account.pk)  # the next pass: stopped, no request to the provider nor the server
    with pytest.raises(ReauthRequired):
        smtp_connect(account)
    assert (len(oauth_provider.refresh_attempts), oauth_provider.introspections) == (attempts, introspections)

    account_sync(other.pk)  # the other account is not held up
    assert Message.objects.filter(account=other, subject="Altro account").exists()

    settings_page = owner_client.get(reverse("messages_app:account_list")).content.decode()
    mailbox = owner_client.get(reverse("messages_app:index")).content.decode()
    for page in (settings_page, mailbox):
        assert "Accedi di nuovo con Google" in page and f'data-reauth="{account.pk}"' in page
    assert f'data-reauth="{other.pk}"' not in settings_page


def test_signing_in_again_clears_the_mark_and_syncing_resumes(
        oauth_settings, oauth_provider, owner, owner_client, oauth_mail_user):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider, expires_in=0)
    oauth_provider.revoke_all(oauth_mail_user.login)
    with pytest.raises(ReauthRequired):
        account_sync(account.pk)
    oauth_mail_user.dovecot.append(oauth_mail_user.login, "INBOX", make_message("Dopo la riconnessione"))

    start = owner_client.post(reverse("messages_app:oauth_start", args=["google"]), {"account": account.pk})
    from urllib.parse import parse_qs, urlparse

    back = urlparse(oauth_provider.sign_in(start["Location"], oauth_mail_user.login))
    owner_client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})

    account.refresh_from_db()
    assert not account.reauth_required and account.last_test_ok
    account_sync(account.pk)
    assert Message.objects.filter(account=account, subject="Dopo la riconnessione").exists()


def test_reconnecting_as_another_identity_is_refused(oauth_settings, oauth_provider, owner, owner_client,
                                                     oauth_mail_user):
    account = oauth_account_on(owner, oauth_mail_user, oauth_provider)
    before = account.oauth_token_encrypted
    start = owner_client.post(reverse("messages_app:oauth_start", args=["google"]), {"account": account.pk})
    from urllib.parse import parse_qs, urlparse

    back = urlparse(oauth_provider.sign_in(start["Location"], "someone-else@example.test"))
    page = owner_client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()}, follow=True)
    assert "someone-else@example.test" in page.content.decode()
    assert MailAccount.objects.get(pk=account.pk).oauth_token_encrypted == before


def test_no_token_in_clear_in_the_database_logs_or_task_arguments(
        oauth_settings, oauth_provider, owner, owner_client, oauth_mail_user, caplog, monkeypatch,
        django_capture_on_commit_callbacks):
    from celery.signals import task_prerun

    from crm.celery import app

    oauth_settings.MAIL_SYNC_ON_SAVE = True
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the queued sync runs here, no broker
    task_calls = []

    def record(sender=None, args=None, kwargs=None, **_):
        task_calls.append(repr((sender.name, args, kwargs)))

    task_prerun.connect(record, weak=False)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("mail.log").setLevel(logging.INFO)  # aiosmtpd's own wire log (the test server's)
    oauth_mail_user.dovecot.append(oauth_mail_user.login, "INBOX", make_message("Segreto"))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            connect(owner_client, oauth_provider, oauth_mail_user, "microsoft")
        account = MailAccount.objects.get(owner=owner)
        MailAccount.objects.filter(pk=account.pk).update(
            oauth_token_encrypted=_expired(account))  # and one refresh, so rotated tokens exist too
        with smtp_connect(MailAccount.objects.get(pk=account.pk)) as session:
            session.send(sender=oauth_mail_user.login, recipients=["x@example.test"],
                         message=b"Subject: s\r\n\r\nb\r\n")
    finally:
        task_prerun.disconnect(record)

    tokens = oauth_provider.tokens_of(oauth_mail_user.login)
    assert len(tokens) >= 4 and task_calls and Message.objects.filter(subject="Segreto").exists()
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        dump = []
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the schema
            dump.append(repr(cursor.fetchall()))
    dump = "\n".join(dump)
    logs = caplog.text
    for token in tokens:
        assert token not in dump
        assert token not in logs
        assert all(token not in call for call in task_calls)


def _expired(account: MailAccount) -> str:
    tokens = account.get_oauth_tokens()
    account.set_oauth_tokens({**tokens, "expires_at": 0})
    return account.oauth_token_encrypted
