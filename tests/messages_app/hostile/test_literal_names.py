"""Mailbox names sent as IMAP literals (issue 16, item 5): `{n}` names in LIST and STATUS are
legal IMAP; they are parsed as imapclient parses them, and a reply that cannot be parsed is a
MailError (the account shows why), never imapclient's bare ProtocolError."""

import pytest

from messages_app.exceptions import MailError
from messages_app.gateways import imap as imap_gateway
from messages_app.services.connections import imap_connect
from messages_app.services.sync import account_sync
from tests.servers.fake_imap import FakeImap, fake_account

NAMES = ["INBOX", "Lavoro/Clienti 2026", "Età \"strana\""]


@pytest.fixture
def literal_server():
    server = FakeImap(folders=NAMES, literal_names=True,
                      capabilities="IMAP4rev1 AUTH=PLAIN LIST-STATUS").start()
    yield server
    server.stop()


def test_list_reads_literal_names(owner, literal_server):
    account = fake_account(owner, literal_server)
    with imap_connect(account) as conn:
        folders = conn.list_folders()
        assert [f.name for f in folders] == NAMES
        assert all(f.delimiter == "/" for f in folders)


def test_status_lines_with_literal_names_parse():
    lines = [(b"{5}", b"INBOX"), b" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 1 UNSEEN 0)",
             (b"{4}", b"Bozz"), b" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 1 UNSEEN 1)"]
    assert imap_gateway._parse_status_lines(lines) == {
        "INBOX": {"MESSAGES": 3, "UIDNEXT": 9, "UIDVALIDITY": 1, "UNSEEN": 0},
        "Bozz": {"MESSAGES": 1, "UIDNEXT": 2, "UIDVALIDITY": 1, "UNSEEN": 1},
    }


def test_a_sync_pass_over_literal_names_completes(owner, literal_server):
    account = fake_account(owner, literal_server)
    account_sync(account.pk)
    assert set(account.folders.values_list("name", flat=True)) == set(NAMES)


def test_an_unparsable_list_reply_is_a_mail_error():
    with pytest.raises(MailError):
        imap_gateway._parse_list_lines([b'(\\HasNoChildren "/" "unterminated'])
