"""Shared by the outbox tests: reading what the test servers hold."""

from email import policy
from email.parser import BytesParser


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def sent_copies(mail_user, message_id: str) -> list[bytes]:
    """The raw messages in the user's Sent folder on Dovecot carrying `message_id`."""
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder("Sent", readonly=True)
        uids = client.search(["HEADER", "Message-ID", message_id])
        return [data[b"BODY[]"] for data in client.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []
    finally:
        client.logout()
