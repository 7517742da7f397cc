"""Build outgoing mail (compose, auto-replies, tests) as a stdlib `EmailMessage`.

Shape: text and HTML are a multipart/alternative; HTML with inline `cid:` images is a
multipart/related; attachments wrap all of that in a multipart/mixed. Text is UTF-8, 7bit or
quoted-printable (never 8bit: not every server takes it); files are base64 with RFC 2231 names.
Header values are encoded and folded in `header_encoding.py`, never by the email package, so no
text can add a header. Bcc is never a header; pass it to `envelope_recipients`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses

from .charset import clean_filename, one_line
from .header_encoding import (
    MAX_HEADER_TEXT_CHARS,
    Prefolded,
    address_header,
    check_address,
    disposition_header,
    ids_header,
    text_header,
)
from .headers import extract_msg_ids

# Building uses "\n"; `as_bytes` writes CRLF, as SMTP wants. refold_source="none" writes the
# headers of an attached message as they came (refolding would decode their encoded words).
BUILD_POLICY = email_policy.default
SMTP_POLICY = email_policy.SMTP.clone(refold_source="none")
# The thread root and the nearest ancestors are what threading needs; the middle goes.
MAX_REFERENCES = 20

_CONTENT_TYPE_RE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# atext, "." and "@": no "?" (policy.default would read "=?...?=" as an encoded word).
_CID_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=^_`{|}~.@-]+")
_FIELD_NAME_RE = re.compile(r"[!-9;-~]+")
_RESERVED_HEADERS = frozenset({
    "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
})


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML shows as <img src="cid:{cid}">; `cid` without the angle brackets."""

    cid: str
    content_type: str
    data: bytes
    filename: str = ""


def build_message(
    *,
    from_addr: str,
    from_name: str = "",
    to: Sequence[tuple[str, str]] = (),
    cc: Sequence[tuple[str, str]] = (),
    bcc: Sequence[tuple[str, str]] = (),
    reply_to: Sequence[tuple[str, str]] = (),
    subject: str,
    text: str | None = None,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    inline_images: Sequence[InlineImage] = (),
    in_reply_to: str | None = None,
    references: Sequence[str] | str = (),
    message_id: str | None = None,
    date: datetime | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The message, ready for `as_bytes`. Raises ValueError on an address, content id or header
    name that cannot be sent as given. `bcc` is only validated here: it never becomes a header."""
    sender = check_address(from_addr)
    for _, addr in bcc:
        check_address(addr)
    if inline_images and html is None:
        raise ValueError("inline images need an HTML body")
    message = EmailMessage(policy=BUILD_POLICY)
    message["From"] = address_header("From", [(from_name, sender)])
    for name, pairs in (("To", to), ("Cc", cc), ("Reply-To", reply_to)):
        if pairs:
            message[name] = address_header(name, pairs)
    message["Subject"] = text_header("Subject", subject)
    when = date or datetime.now(UTC)
    message["Date"] = format_datetime(when if when.tzinfo else when.replace(tzinfo=UTC))
    message["Message-ID"] = ids_header("Message-ID", [_one_msg_id(message_id or new_message_id(sender))])
    parent = extract_msg_ids(one_line(in_reply_to or "", MAX_HEADER_TEXT_CHARS))
    if parent:
        message["In-Reply-To"] = ids_header("In-Reply-To", parent[:1])
    reference_ids = _cap_references(_msg_ids(references))
    if reference_ids:
        message["References"] = ids_header("References", reference_ids)
    for name, value in (extra_headers or {}).items():
        if not _FIELD_NAME_RE.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{name!r} cannot be set as an extra header")
        message[name] = text_header(name, value)
    message["MIME-Version"] = "1.0"
    _adopt(message, _body(text, html, inline_images, attachments))
    return message


def as_bytes(message: EmailMessage) -> bytes:
    """The message as SMTP sends it: CRLF line ends, no Bcc (it was never a header)."""
    return message.as_bytes(policy=SMTP_POLICY)


def envelope_recipients(message: EmailMessage, bcc: Iterable[tuple[str, str] | str] = ()) -> list[str]:
    """RCPT TO addresses: To, Cc and then Bcc, each once (compared without case)."""
    found: list[str] = []
    for name in ("To", "Cc"):
        for value in message.get_all(name, []):
            found.extend(getattr(value, "addresses", None) or [addr for _, addr in getaddresses([str(value)])])
    found.extend(check_address(item if isinstance(item, str) else item[1]) for item in bcc)
    seen: set[str] = set()
    unique = []
    for addr in found:
        if addr and addr.lower() not in seen:
            seen.add(addr.lower())
            unique.append(addr)
    return unique


def reply_headers(parent_message_id: str, parent_references: Sequence[str] | str = ()) -> dict[str, object]:
    """`in_reply_to` and `references` for a reply to the given message, to pass to build_message."""
    parent = _msg_ids(parent_message_id)[:1]
    ancestors = _msg_ids(parent_references)
    chain = ancestors + [msg_id for msg_id in parent if msg_id not in ancestors]
    return {"in_reply_to": parent[0] if parent else None, "references": _cap_references(chain)}


def new_message_id(from_addr: str) -> str:
    """A fresh "<random@domain>", the domain taken from the sender's address."""
    return f"<{uuid.uuid4().hex}@{_domain(from_addr)}>"


def new_content_id(from_addr: str) -> str:
    """A fresh content id for an inline image (without angle brackets)."""
    return f"{uuid.uuid4().hex}@{_domain(from_addr)}"


def body_text(text: str) -> str:
    """A text body as it will read back: "\n" line ends, no NUL, ending with a line end."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"




def _msg_ids(value: Sequence[str] | str) -> list[str]:
    text = value if isinstance(value, str) else " ".join(value)
    return extract_msg_ids(one_line(text, 200_000))


def _one_msg_id(value: str) -> str:
    ids = _msg_ids(value)
    if not ids:
        raise ValueError(f"not a valid message id: {value!r}")
    return ids[0]


def _cap_references(ids: list[str]) -> list[str]:
    return ids if len(ids) <= MAX_REFERENCES else ids[:1] + ids[-(MAX_REFERENCES - 1):]


def _domain(addr: str) -> str:
    try:
        return check_address(addr).rsplit("@", 1)[1].lower()
    except ValueError:
        return "postino.invalid"


# --- body ---------------------------------------------------------------------------------------


def _body(text: str | None, html: str | None, images: Sequence[InlineImage],
          attachments: Sequence[Attachment]) -> MIMEPart:
    html_part = _text_part(html, "html") if html is not None else None
    if html_part is not None and images:
        html_part = _multipart("related", [html_part, *(_image_part(image) for image in images)], type="text/html")
    if html_part is None:
        body = _text_part(text or "", "plain")
    elif text is None:
        body = html_part
    else:
        body = _multipart("alternative", [_text_part(text, "plain"), html_part])
    if attachments:
        body = _multipart("mixed", [body, *(_attachment_part(item) for item in attachments)])
    return body


def _text_part(text: str, subtype: str) -> MIMEPart:
    """UTF-8 text, 7bit when it can be, else quoted-printable (never 8bit: not every server takes it)."""
    text = body_text(text)
    lines = text.split("\n")
    ascii_ok = text.isascii() and max(len(line) for line in lines) <= 998
    part = MIMEPart(policy=BUILD_POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8", cte="7bit" if ascii_ok else "quoted-printable")
    return part


def _multipart(subtype: str, parts: list[MIMEPart], **params: str) -> MIMEPart:
    container = MIMEPart(policy=BUILD_POLICY)
    container["Content-Type"] = f"multipart/{subtype}"
    for key, value in params.items():
        container.set_param(key, value)
    for part in parts:
        container.attach(part)
    return container


def _image_part(image: InlineImage) -> MIMEPart:
    cid = image.cid.strip().strip("<>")
    if not _CID_RE.fullmatch(cid):
        raise ValueError(f"not a valid content id: {image.cid!r}")
    maintype, subtype = _content_type(image.content_type).split("/")
    part = MIMEPart(policy=BUILD_POLICY)
    part.set_content(bytes(image.data), maintype, subtype)
    part["Content-Disposition"] = disposition_header("inline", clean_filename(image.filename))
    part["Content-ID"] = Prefolded("Content-ID", f"<{cid}>", [(" ", f"<{cid}>")])
    return part


def _attachment_part(attachment: Attachment) -> MIMEPart:
    content_type = _content_type(attachment.content_type)
    part = MIMEPart(policy=BUILD_POLICY)
    data = bytes(attachment.data)
    if content_type == "message/rfc822":  # RFC 2046: never base64, so carried as a message
        inner = BytesParser(policy=BUILD_POLICY).parsebytes(data)
        part.set_content(inner, cte="7bit" if data.isascii() else "8bit")
    else:
        maintype, subtype = content_type.split("/")
        part.set_content(data, maintype, subtype)
    part["Content-Disposition"] = disposition_header("attachment", clean_filename(attachment.filename) or "attachment")
    return part


def _content_type(value: str) -> str:
    content_type = (value or "").strip().lower()
    if not _CONTENT_TYPE_RE.fullmatch(content_type) or content_type.startswith(("multipart/", "message/")):
        return "message/rfc822" if content_type == "message/rfc822" else "application/octet-stream"
    return content_type


def _adopt(message: EmailMessage, body: MIMEPart) -> None:
    """Make `body` the content of `message`, keeping the message's own headers."""
    for name, value in body.items():
        message[name] = value
    message.set_payload(body.get_payload())
