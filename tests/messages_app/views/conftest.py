"""A synced mailbox on the real Dovecot for the view tests."""

from dataclasses import dataclass, field

import pytest

from messages_app.models import MailAccount, Message
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.views import mails


def deliver(mail_user, folder: str, raw: bytes, flags=()) -> int:
    return mail_user.dovecot.append(mail_user.login, folder, raw, flags=flags)


def server_flags(mail_user, folder: str) -> dict[int, set[str]]:
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder(folder, readonly=True)
        data = client.fetch("1:*", ["FLAGS"])
        return {uid: {f.decode() for f in item[b"FLAGS"] if f != b"\\Recent"} for uid, item in data.items()}
    finally:
        client.logout()


def server_subjects(mail_user, folder: str) -> list[str]:
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder(folder, readonly=True)
        data = client.fetch("1:*", ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return sorted(item[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
                      for item in data.values())
    finally:
        client.logout()


@dataclass
class Mailbox:
    account: MailAccount
    mail_user: object
    uids: dict[str, int] = field(default_factory=dict)

    def message(self, subject: str) -> Message:
        return Message.objects.get(account=self.account, subject=subject)

    def sync(self) -> None:
        account_sync(self.account.pk)


def make_mailbox(user, mail_user, messages: list[tuple[str, bytes, tuple]]) -> Mailbox:
    """Deliver (folder, raw, flags) to the server, then one sync pass."""
    box = Mailbox(account_on(user, mail_user), mail_user)
    for folder, raw, flags in messages:
        uid = deliver(mail_user, folder, raw, flags)
        box.uids[raw.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].strip().decode()] = uid
    box.sync()
    return box


@pytest.fixture
def mailbox(owner, mail_user):
    """Olga's account: a few messages in INBOX and Sent, one thread, one with attachments."""
    return make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Offerta rinnovo", "Il contratto scade a dicembre: https://cliente.test/offerta",
                              minutes=0, message_id="<offerta@cliente.test>"), ()),
        ("INBOX", mails.plain("Re: Offerta rinnovo", "Confermo il preventivo zanzibar.", minutes=10,
                              in_reply_to="<offerta@cliente.test>"), ("\\Seen",)),
        ("INBOX", mails.plain("Fattura novembre", "In allegato.", minutes=20,
                              sender="Amministrazione <conti@fornitore.test>",
                              attachments=[("fattura.pdf", "application/pdf", b"%PDF-1.4 fattura"),
                                           ("dettaglio.csv", "text/csv", b"voce;importo\n")]), ()),
        ("INBOX", mails.html("Newsletter di novembre",
                             '<h1>Novità</h1><img src="http://127.0.0.1:9/track.png"><p>Saldi</p>', minutes=30), ()),
        ("Sent", mails.plain("Preventivo inviato", "Ecco il preventivo.", sender="olga@crm.test",
                             to="Luigi Verdi <luigi@cliente.test>", minutes=5), ("\\Seen",)),
    ])


@pytest.fixture
def mail_user_2(dovecot, smtp_server):
    from tests.servers.fixtures import new_mail_user

    return new_mail_user(dovecot, smtp_server)
