"""Build realistic raw messages for sync tests."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

_BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def make_message(subject: str = "Offerta", *, sender: str = "Mario Rossi <mario@cliente.test>",
                 to: str = "owner@crm.test", body: str = "Buongiorno,\nin allegato l'offerta.",
                 message_id: str | None = None, in_reply_to: str | None = None,
                 references: list[str] | None = None, minutes: int = 0, attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(_BASE + timedelta(minutes=minutes))
    message["Message-ID"] = message_id or make_msgid(domain="cliente.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="offerta.pdf")
    return bytes(message)
