"""Raw messages for the mailbox tests: plain, HTML with remote and inline images, attachments."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

BASE_DATE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _headers(message: EmailMessage, subject: str, sender: str, to: str, minutes: int,
             message_id: str | None, in_reply_to: str | None, cc: str | None) -> None:
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(BASE_DATE + timedelta(minutes=minutes))
    message["Message-ID"] = message_id or make_msgid(domain="cliente.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to


def plain(subject: str = "Offerta", body: str = "Buongiorno,\nin allegato l'offerta.", *,
          sender: str = "Mario Rossi <mario@cliente.test>", to: str = "Olga Owner <olga@crm.test>",
          cc: str | None = None, minutes: int = 0, message_id: str | None = None,
          in_reply_to: str | None = None, attachments: list[tuple[str, str, bytes]] = ()) -> bytes:
    message = EmailMessage()
    _headers(message, subject, sender, to, minutes, message_id, in_reply_to, cc)
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


def html(subject: str = "Newsletter", html_body: str = "<p>Ciao</p>", *, text: str | None = None,
         sender: str = "Notizie <news@shop.test>", to: str = "olga@crm.test", minutes: int = 0,
         inline_png_cid: str | None = None, message_id: str | None = None) -> bytes:
    message = EmailMessage()
    _headers(message, subject, sender, to, minutes, message_id, None, None)
    message.set_content(text if text is not None else "Versione testo")
    message.add_alternative(html_body, subtype="html")
    if inline_png_cid:
        html_part = message.get_payload()[1]
        html_part.add_related(PNG_1PX, maintype="image", subtype="png", cid=f"<{inline_png_cid}>")
    return bytes(message)
