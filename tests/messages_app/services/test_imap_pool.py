"""Kept IMAP connections (services/imap_pool.py) against the real Dovecot: an open after another
logs in no more, a connection the server closed is replaced, idle ones are logged out, the pool
stays bounded under concurrent use, and a connection never serves another account."""

import threading
import time

import pytest
from django.urls import reverse

from messages_app.models import MessageBody
from messages_app.services.accounts import mail_account_delete, mail_account_save
from messages_app.services.imap_pool import POOL, with_pooled_connection
from messages_app.services.message_body import message_raw
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox, server_flags
from tests.servers.fixtures import new_mail_user

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reading"}


@pytest.fixture
def mail_user_2(dovecot, smtp_server):
    return new_mail_user(dovecot, smtp_server)


def logins(mail_user) -> int:
    """Logins of this user as Dovecot itself logged them."""
    marker = f"Login: user=<{mail_user.login}>"
    return mail_user.dovecot.log_path.read_text(errors="replace").count(marker)


def logins_settled(mail_user, at_least: int = 0) -> int:
    """The count once Dovecot's log process has written what happened so far."""
    deadline = time.monotonic() + 3
    count = logins(mail_user)
    while count < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
        count = logins(mail_user)
    time.sleep(0.3)  # and nothing still on its way
    return logins(mail_user)


def sessions(mail_user) -> int:
    return sum(1 for line in mail_user.dovecot.doveadm("who", "-1").splitlines()
               if line.split() and line.split()[0] == mail_user.login)


def three_messages(owner, mail_user):
    return make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain(f"Messaggio {n}", f"Testo numero {n}.", minutes=n), ()) for n in range(3)])


def open_message(client, message):
    response = client.get(reverse("messages_app:message", args=[message.pk]), **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_open_of_the_same_account_does_not_log_in_again(owner_client, owner, mail_user):
    box = three_messages(owner, mail_user)
    before = logins_settled(mail_user)

    assert "Testo numero 0." in open_message(owner_client, box.message("Messaggio 0"))
    after_first = logins_settled(mail_user, at_least=before + 1)
    assert "Testo numero 1." in open_message(owner_client, box.message("Messaggio 1"))

    assert after_first == before + 1  # the body fetch and marking it read shared one login
    assert logins_settled(mail_user) == after_first
    flags = server_flags(mail_user, "INBOX")
    assert "\\Seen" in flags[box.uids["Messaggio 0"]] and "\\Seen" in flags[box.uids["Messaggio 1"]]
    assert MessageBody.objects.filter(message__account=box.account).count() == 2


def test_a_kept_connection_the_server_closed_is_replaced_without_an_error(owner_client, owner, mail_user):
    box = three_messages(owner, mail_user)
    open_message(owner_client, box.message("Messaggio 0"))
    assert POOL.idle_count(box.account.pk) == 1
    before = logins_settled(mail_user)

    mail_user.dovecot.kick(mail_user.login)  # the server ends every session of the user
    page = open_message(owner_client, box.message("Messaggio 1"))

    assert "Testo numero 1." in page
    assert logins_settled(mail_user, at_least=before + 1) == before + 1
    assert POOL.idle_count(box.account.pk) == 1


def test_idle_connections_are_logged_out_after_the_idle_timeout(settings, owner_client, owner, mail_user):
    settings.MAIL_IMAP_POOL_IDLE_SECONDS = 1
    box = three_messages(owner, mail_user)
    open_message(owner_client, box.message("Messaggio 0"))
    assert POOL.idle_count(box.account.pk) == 1
    assert sessions(mail_user) == 1

    deadline = time.monotonic() + 5
    while (POOL.idle_count(box.account.pk) or sessions(mail_user)) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert POOL.idle_count(box.account.pk) == 0
    assert sessions(mail_user) == 0  # logged out on the server too, not only forgotten


def test_concurrent_opens_never_use_more_connections_than_the_pool_size(settings, owner, mail_user):
    settings.MAIL_IMAP_POOL_SIZE = 2
    box = make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain(f"Parallelo {n}", f"Corpo {n}.", minutes=n), ()) for n in range(8)])
    uids = [box.uids[f"Parallelo {n}"] for n in range(8)]
    before = logins_settled(mail_user)
    peak, results, errors, lock = [0], {}, [], threading.Lock()

    def fetch(uid):
        def work(conn):
            with lock:
                peak[0] = max(peak[0], POOL.lent_count(box.account.pk))
            conn.select("INBOX", readonly=True)
            time.sleep(0.05)  # hold it, so the callers really overlap
            return conn.fetch_raw(uid)
        try:
            results[uid] = with_pooled_connection(box.account, work)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(uid,)) for uid in uids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(f"Corpo {n}.".encode() in results[uid] for n, uid in enumerate(uids))
    assert peak[0] == 2
    assert logins_settled(mail_user, at_least=before + 2) == before + 2
    assert POOL.idle_count(box.account.pk) == 2


def test_a_new_password_closes_the_kept_connections(owner_client, owner, mail_user):
    box = three_messages(owner, mail_user)
    open_message(owner_client, box.message("Messaggio 0"))
    assert POOL.idle_count(box.account.pk) == 1

    mail_account_save(account=box.account, actor=owner, password="not-the-password")

    assert POOL.idle_count(box.account.pk) == 0
    page = open_message(owner_client, box.message("Messaggio 1"))
    # The new credential is used, and refused: said in words, no body.
    assert 'class="error body-error">Password rifiutata dal server' in page
    assert "Testo numero 1." not in page


def test_a_deleted_account_leaves_no_kept_connection(owner_client, owner, mail_user):
    box = three_messages(owner, mail_user)
    open_message(owner_client, box.message("Messaggio 0"))
    account_id = box.account.pk
    assert POOL.idle_count(account_id) == 1

    mail_account_delete(account=box.account)

    assert POOL.idle_count(account_id) == 0
    assert sessions(mail_user) == 0


def test_a_connection_never_serves_another_account(owner, colleague, mail_user, mail_user_2):
    mine = make_mailbox(owner, mail_user, [("INBOX", mails.plain("Solo mio", "Di Olga."), ())])
    theirs = make_mailbox(colleague, mail_user_2, [("INBOX", mails.plain("Solo loro", "Del collega."), ())])
    assert b"Di Olga." in message_raw(mine.message("Solo mio"))

    assert b"Del collega." in message_raw(theirs.message("Solo loro"))

    assert POOL.idle_count(mine.account.pk) == 1 and POOL.idle_count(theirs.account.pk) == 1
    users = {pk: with_pooled_connection(account, lambda conn: conn.config.username)
             for pk, account in ((mine.account.pk, mine.account), (theirs.account.pk, theirs.account))}
    assert users == {mine.account.pk: mail_user.login, theirs.account.pk: mail_user_2.login}


def test_a_thread_holding_every_connection_gets_one_more_instead_of_waiting_for_itself(settings, owner, mail_user):
    settings.MAIL_IMAP_POOL_SIZE = 1
    box = three_messages(owner, mail_user)
    message = box.message("Messaggio 1")
    started = time.monotonic()

    # A run's connection held (an arrival step), then an open inside it on the same thread.
    inner = with_pooled_connection(box.account, lambda outer: (outer.noop(), message_raw(message))[1])

    assert b"Testo numero 1." in inner
    assert time.monotonic() - started < settings.MAIL_CONNECT_TIMEOUT  # no wait for itself
    assert POOL.idle_count(box.account.pk) == 1  # the extra one was not kept
