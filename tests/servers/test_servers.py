"""Proof that the test bed's servers are real and behave as the other tests assume."""

from __future__ import annotations

import datetime
import imaplib
import poplib
import smtplib
import socket
import ssl
import time
import warnings

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError
from sievelib.managesieve import Client as SieveClient

from tests.servers import dovecot as dovecot_module
from tests.servers.dovecot import SPECIAL_USE_FOLDERS, Dovecot, process_group_members
from tests.servers.fixtures import _run_dovecot, new_mail_user
from tests.servers.smtp import SmtpServer

# Works whether or not tests/conftest.py already loads the plugin.
pytest_plugins = ["tests.servers.fixtures"]

MESSAGE = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: Hello\r\n"
    b"Message-ID: <hello-1@example.test>\r\n"
    b"\r\n"
    b"Hi Bob.\r\n"
)


def test_imap_login_and_special_use_folders(mail_user):
    with IMAPClient(mail_user.host, mail_user.imap_port, ssl=False) as client:
        client.login(mail_user.login, mail_user.password)
        flags_by_name = {name: flags for flags, _sep, name in client.list_folders()}
        assert b"SPECIAL-USE" in client.capabilities()
        assert b"IDLE" in client.capabilities()
        assert b"CONDSTORE" in client.capabilities()
    for name, flag in SPECIAL_USE_FOLDERS.items():
        assert flag.encode() in flags_by_name[name]
    assert "INBOX" in flags_by_name


def test_wrong_imap_password_is_refused_quickly(dovecot, mail_user):
    # Several failures in a row: without the anvil penalty workaround the
    # later logins (even correct ones) would each wait seconds.
    started = time.monotonic()
    for _ in range(3):
        client = IMAPClient(dovecot.host, dovecot.imap_port, ssl=False)
        with pytest.raises(imaplib.IMAP4.error):
            client.login(mail_user.login, "wrong")
        client.shutdown()
    dovecot.imap_client(mail_user.login).logout()
    assert time.monotonic() - started < 3


def test_append_and_fetch(dovecot, mail_user):
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    uid = dovecot.append(mail_user.login, "Projects", MESSAGE, flags=[r"\Flagged"], internaldate=when)
    with dovecot.imap_client(mail_user.login) as client:
        # Trap: by default imapclient turns INTERNALDATE into naive local time
        # with today's UTC offset, which is an hour off across DST (seen with
        # Django's TIME_ZONE set). Ask for aware datetimes.
        client.normalise_times = False
        client.select_folder("Projects", readonly=True)
        data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])[uid]
    assert data[b"BODY[]"] == MESSAGE
    assert set(data[b"FLAGS"]) - {b"\\Recent"} == {b"\\Flagged"}
    assert data[b"INTERNALDATE"] == when


def test_folder_and_flag_helpers(dovecot, mail_user):
    login = mail_user.login
    first = dovecot.append(login, "INBOX", MESSAGE)
    second = dovecot.append(login, "INBOX", MESSAGE)
    assert second == first + 1
    dovecot.set_flags(login, "INBOX", first, [r"\Seen", r"\Answered"])
    dovecot.expunge(login, "INBOX", second)
    dovecot.create_folder(login, "Old")
    dovecot.rename_folder(login, "Old", "New")
    dovecot.create_folder(login, "Gone")
    dovecot.delete_folder(login, "Gone")
    with dovecot.imap_client(login) as client:
        names = {name for _flags, _sep, name in client.list_folders()}
        client.select_folder("INBOX")
        flags = client.get_flags(client.search("ALL"))
    assert "New" in names and "Old" not in names and "Gone" not in names
    assert flags == {first: (b"\\Answered", b"\\Seen")}


def test_idle_reports_new_mail(dovecot, mail_user):
    with dovecot.imap_client(mail_user.login) as client:
        client.select_folder("INBOX")
        client.idle()
        dovecot.append(mail_user.login, "INBOX", MESSAGE)
        responses = client.idle_check(timeout=5)
        client.idle_done()
    assert (1, b"EXISTS") in responses


def test_hide_condstore_hides_only_condstore(dovecot, dovecot_no_condstore):
    normal_login, _ = dovecot.add_user()
    hidden_login, _ = dovecot_no_condstore.add_user()
    with dovecot.imap_client(normal_login) as client:
        normal_caps = set(client.capabilities())
    client = dovecot_no_condstore.imap_client(hidden_login)
    try:
        hidden_caps = set(client.capabilities())
        greeting = client.welcome
        # Dovecot does not refuse them when sent anyway (its ENABLE does not
        # consult the advertised list); the rawlog is how a test catches a
        # client that uses them without seeing them advertised.
        assert client.enable("CONDSTORE") == [b"CONDSTORE"]
    finally:
        client.logout()
    assert hidden_caps == normal_caps - {b"CONDSTORE", b"QRESYNC"}
    assert b"CONDSTORE" not in greeting and b"QRESYNC" not in greeting
    assert b"ENABLE CONDSTORE" in dovecot_no_condstore.imap_rawlog(hidden_login)


def test_tls_imap_and_pop3_verify_against_the_ca(dovecot_tls):
    login, password = dovecot_tls.add_user()
    context = ssl.create_default_context(cafile=str(dovecot_tls.ca_path))
    with IMAPClient(dovecot_tls.host, dovecot_tls.imap_port, ssl=True, ssl_context=context) as client:
        client.login(login, password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    pop = poplib.POP3_SSL(dovecot_tls.host, dovecot_tls.pop3_port, context=context)
    pop.user(login)
    pop.pass_(password)
    pop.quit()
    # The system trust store does not know the throwaway CA: verification is real.
    system_trust = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(dovecot_tls.host, dovecot_tls.imap_port, ssl=True, ssl_context=system_trust)


def test_pop3_login_and_retrieve(dovecot, mail_user):
    dovecot.append(mail_user.login, "INBOX", MESSAGE)
    pop = poplib.POP3(mail_user.host, mail_user.pop3_port, timeout=5)
    try:
        pop.user(mail_user.login)
        pop.pass_(mail_user.password)
        assert pop.stat()[0] == 1
        _resp, lines, _octets = pop.retr(1)
    finally:
        pop.quit()
    assert b"Subject: Hello" in lines


def test_managesieve_greeting_and_vacation_script(dovecot, mail_user):
    with socket.create_connection((mail_user.host, mail_user.sieve_port), timeout=5) as sock:
        greeting = b""
        while not greeting.endswith(b"\r\n") or b"\r\nOK" not in b"\r\n" + greeting:
            greeting += sock.recv(4096)
    sieve_line = next(line for line in greeting.splitlines() if line.startswith(b'"SIEVE"'))
    assert b"vacation" in sieve_line.split()

    script = (
        'require ["vacation"];\n'
        'vacation :days 1 :subject "Away" "I am away.";\n'
    )
    client = SieveClient(mail_user.host, mail_user.sieve_port)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "credentials over an unencrypted connection": loopback
        assert client.connect(mail_user.login, mail_user.password, authmech="PLAIN")
    try:
        assert client.putscript("away", script), client.errmsg
        assert client.setactive("away"), client.errmsg
        assert client.listscripts() == ("away", [])
    finally:
        client.logout()
    assert (dovecot.root / "home" / mail_user.login / "sieve" / "away.sieve").read_text() == script


def _smtp_client(server: SmtpServer) -> smtplib.SMTP:
    if server.tls == "implicit":
        return smtplib.SMTP_SSL(server.host, server.port, context=server.ssl_context(), timeout=5)
    client = smtplib.SMTP(server.host, server.port, timeout=5)
    if server.tls == "starttls":
        client.starttls(context=server.ssl_context())
    return client


@pytest.mark.parametrize("fixture", ["smtp_server", "smtp_server_starttls", "smtp_server_tls"])
def test_smtp_auth_send_is_received(request, dovecot, fixture):
    server: SmtpServer = request.getfixturevalue(fixture)
    user = new_mail_user(dovecot, server)
    with _smtp_client(server) as client:
        # Unauthenticated senders are refused: the server really requires AUTH.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(user.email, ["bob@example.test"], MESSAGE)
        assert refused.value.smtp_code == 530
        client.login(user.login, user.password)
        client.sendmail(user.email, ["bob@example.test", "carol@example.test"], MESSAGE)
    [received] = server.wait_for(1, login=user.login)
    assert received.mail_from == user.email
    assert received.rcpt_tos == ["bob@example.test", "carol@example.test"]
    assert received.data == MESSAGE
    assert received.tls is (server.tls is not None)


def test_smtp_wrong_password_is_refused(smtp_server, mail_user):
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client,
        pytest.raises(smtplib.SMTPAuthenticationError) as refused,
    ):
        client.login(mail_user.login, "wrong")
    assert refused.value.smtp_code == 535
    assert smtp_server.wait_for(0, login=mail_user.login) == []


def test_restart_keeps_mail_and_stop_leaves_no_process(make_dovecot):
    server: Dovecot = make_dovecot()
    login, _ = server.add_user()
    uid = server.append(login, "INBOX", MESSAGE)
    idle_client = server.imap_client(login)  # a live session: an imap process to clean up
    master_pid = server._proc.pid
    server.restart()
    with server.imap_client(login) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == MESSAGE
    idle_client.shutdown()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    assert process_group_members(master_pid) == []  # not even zombies
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.imap_port), timeout=1)


def test_write_maildir_1000_messages_visible_on_select(dovecot, mail_user):
    messages = [
        (f"Subject: bulk {n}\r\nMessage-ID: <{n}@x.test>\r\n\r\n{n}\r\n".encode(), "S" if n % 2 else "SF")
        for n in range(1000)
    ]
    with dovecot.imap_client(mail_user.login) as client:
        client.select_folder("INBOX")  # already indexed before the files appear
        assert dovecot.write_maildir(mail_user.login, "INBOX", messages) == 1000
        dovecot.write_maildir(mail_user.login, "Archive.2023", messages[:10])
        client.unselect_folder()
        assert client.select_folder("INBOX")[b"EXISTS"] == 1000
        fetched = client.fetch([1, 1000], ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        assert client.folder_status("Archive.2023", [b"MESSAGES"])[b"MESSAGES"] == 10
        names = {name for _flags, _sep, name in client.list_folders()}
    # UIDs follow the order given.
    assert fetched[1][b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() == b"Subject: bulk 0"
    assert set(fetched[1][b"FLAGS"]) - {b"\\Recent"} == {b"\\Seen", b"\\Flagged"}
    assert fetched[1000][b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() == b"Subject: bulk 999"
    assert set(fetched[1000][b"FLAGS"]) - {b"\\Recent"} == {b"\\Seen"}
    assert "Archive.2023" in names


@pytest.mark.parametrize("folder", ["INBOX", "Lists"])
def test_recreate_folder_changes_uidvalidity_and_keeps_messages(dovecot, mail_user, folder):
    dovecot.append(mail_user.login, folder, MESSAGE)
    before = dovecot.uidvalidity(mail_user.login, folder)
    open_session = dovecot.imap_client(mail_user.login)
    open_session.select_folder(folder)
    after = dovecot.recreate_folder(mail_user.login, folder)
    assert after != before
    # The server hung up on the session that had the old folder open.
    with pytest.raises((IMAPClientAbortError, OSError)):
        open_session.noop()
    with dovecot.imap_client(mail_user.login) as client:
        status = client.select_folder(folder)
    assert status[b"EXISTS"] == 1 and status[b"UIDVALIDITY"] == after


def test_extra_conf_is_applied(make_dovecot):
    server = make_dovecot(extra_conf="imap_capability = +XPOSTINO")
    login, _ = server.add_user()
    with server.imap_client(login) as client:
        assert b"XPOSTINO" in client.capabilities()


def test_missing_dovecot_fails_instead_of_skipping(monkeypatch):
    monkeypatch.setattr(dovecot_module, "DOVECOT_BINARY", "/nonexistent/dovecot")
    with pytest.raises(pytest.fail.Exception, match="dovecot is missing"):
        next(_run_dovecot())


def test_a_non_ascii_password_works_through_authenticate_plain(dovecot, smtp_server):
    user = new_mail_user(dovecot, smtp_server, password="pässwörd-€")
    with IMAPClient(user.host, user.imap_port, ssl=False) as client:
        assert b"AUTH=PLAIN" in client.capabilities()
        with pytest.raises(UnicodeEncodeError):  # the trap: imaplib sends LOGIN as ASCII
            client.login(user.login, user.password)
    with IMAPClient(user.host, user.imap_port, ssl=False) as client:
        client.plain_login(user.login, user.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    assert dovecot.append(user.login, "INBOX", MESSAGE)  # the helpers log in with it too
    # aiosmtpd decodes AUTH as UTF-8 (smtplib cannot send it: it encodes AUTH as ASCII);
    # tests/messages_app/test_non_ascii_passwords.py sends through it with aiosmtplib.
    assert smtp_server.users[user.login] == "pässwörd-€"


def test_smtp_refusals_are_configurable_per_address(dovecot, smtp_server):
    user = new_mail_user(dovecot, smtp_server)
    unknown = f"unknown-{user.login}"
    smtp_server.refuse_recipient(unknown, "550 5.1.1 No such user")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.login(user.login, user.password)
        refused = client.sendmail(user.email, [unknown, "bob@example.test"], MESSAGE)
        assert refused == {unknown: (550, b"5.1.1 No such user")}
        smtp_server.refuse_data_from(user.email, "554 5.6.0 Rejected")
        with pytest.raises(smtplib.SMTPDataError) as data_refused:
            client.sendmail(user.email, ["bob@example.test"], MESSAGE)
        assert data_refused.value.smtp_code == 554
    assert [m.rcpt_tos for m in smtp_server.wait_for(1, login=user.login)] == [["bob@example.test"]]
