"""Delivery status notifications (RFC 3464, RFC 6533): pure parsing, no database.

A DSN is a multipart/report (report-type=delivery-status) whose second part, message/delivery-status
(or message/global-delivery-status), holds one block of per-message fields (Original-Envelope-Id,
Reporting-MTA...) and one block per recipient (Final-Recipient, Original-Recipient, Action, Status,
Diagnostic-Code). The third part, when there is one, returns the original message or its headers
(message/rfc822, text/rfc822-headers, message/global-headers): its Message-ID tells which message
bounced. `parse_dsn` returns None for anything that is not such a report, and never raises.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from .bounded import DEFAULT_LIMITS, Notes, ParseLimits, bounded_parse
from .charset import decode_bytes, decode_words, one_line
from .headers import extract_msg_ids

_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_TYPES = ("message/rfc822", "message/global")
_RETURNED_HEADER_TYPES = ("text/rfc822-headers", "message/global-headers")
_STATUS_RE = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY_RE = re.compile(r"^\s*([245]\d\d)(?:[\s-]+([245]\.\d{1,3}\.\d{1,3}))?\s*(.*)$", re.DOTALL)
_XTEXT_RE = re.compile(r"\+([0-9A-Fa-f]{2})")
_MAX_FIELD = 2000
_MAX_RECIPIENTS = 500


@dataclass(frozen=True)
class DsnRecipient:
    final_recipient: str  # the bare address ("rfc822;" stripped), "" when missing
    original_recipient: str  # the address as the sender gave it (ORCPT), often ""
    action: str  # failed, delayed, delivered, relayed, expanded (lowercase)
    status: str  # the RFC 3463 code, "5.1.1"
    diagnostic: str  # the remote server's reply, "550 5.1.1 <x@y>: user unknown" (type "smtp;" stripped)
    remote_mta: str = ""

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5")

    @property
    def address(self) -> str:
        """The address to match with what was sent: ORCPT when given, else the final one."""
        return self.original_recipient or self.final_recipient

    @property
    def smtp_code(self) -> int | None:
        match = _REPLY_RE.match(self.diagnostic)
        return int(match.group(1)) if match else None

    @property
    def detail(self) -> str:
        """The reply without its codes: "<x@y>: user unknown"."""
        match = _REPLY_RE.match(self.diagnostic)
        return (match.group(3).strip() if match else self.diagnostic) or self.diagnostic


@dataclass(frozen=True)
class DeliveryReport:
    envelope_id: str = ""  # Original-Envelope-Id, xtext-decoded
    message_id: str = ""  # the returned message's Message-ID, "<id>"
    reporting_mta: str = ""
    recipients: list[DsnRecipient] = field(default_factory=list)

    def failed(self) -> list[DsnRecipient]:
        return [r for r in self.recipients if r.action == "failed"]


def parse_dsn(raw: bytes, *, limits: ParseLimits = DEFAULT_LIMITS) -> DeliveryReport | None:
    """The report in `raw`, or None when `raw` is no delivery status notification."""
    try:
        root = bounded_parse(raw, limits, Notes([]), time.monotonic() + limits.time_budget)
        if root is None:
            return None
        report = _find_report(root)
        if report is None:
            return None
        return _read_report(report)
    except Exception:  # hostile or broken mail is simply "not a DSN"
        return None


def _find_report(root: Message) -> Message | None:
    """The multipart/report (the top, or one level down: some servers wrap it in a multipart/mixed)."""
    if _is_report(root):
        return root
    if root.is_multipart():
        for child in root.get_payload()[:20]:
            if isinstance(child, Message) and _is_report(child):
                return child
    return None


def _is_report(part: Message) -> bool:
    if part.get_content_type() != "multipart/report" or not part.is_multipart():
        return False
    kind = str(part.get_param("report-type", "", header="content-type") or "").lower()
    if kind in ("delivery-status", "global-delivery-status"):
        return True
    # A missing report-type with a delivery-status part inside is still read.
    return not kind and any(isinstance(c, Message) and c.get_content_type() in _STATUS_TYPES
                            for c in part.get_payload())


def _read_report(report: Message) -> DeliveryReport | None:
    status_part = returned = None
    for child in report.get_payload():
        if not isinstance(child, Message):
            continue
        kind = child.get_content_type()
        if kind in _STATUS_TYPES and status_part is None:
            status_part = child
        elif kind in _RETURNED_TYPES + _RETURNED_HEADER_TYPES and returned is None:
            returned = child
    if status_part is None:
        return None
    blocks = _status_blocks(status_part)
    if not blocks:
        return None
    per_message, per_recipient = blocks[0], blocks[1:]
    recipients = []
    for block in per_recipient[:_MAX_RECIPIENTS]:
        final = _address(block.get("final-recipient", ""))
        original = _address(block.get("original-recipient", ""))
        if not (final or original):
            continue
        recipients.append(DsnRecipient(
            final_recipient=final, original_recipient=original,
            action=_token(block.get("action", "")), status=_status(block.get("status", "")),
            diagnostic=_typed_value(block.get("diagnostic-code", "")),
            remote_mta=_typed_value(block.get("remote-mta", ""))))
    if not recipients:
        return None
    return DeliveryReport(envelope_id=xtext_decode(_field(per_message.get("original-envelope-id", ""))),
                          message_id=_returned_message_id(returned),
                          reporting_mta=_typed_value(per_message.get("reporting-mta", "")),
                          recipients=recipients)


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The blocks of fields, each as {lowercase name: value} (the first value of a name wins)."""
    payload = part.get_payload()
    if part.get_content_type() == "message/delivery-status" and isinstance(payload, list):
        # The stdlib splits message/delivery-status into one Message per block.
        return [_fields(block.items()) for block in payload if isinstance(block, Message)]
    text = _part_text(part)
    text = text.replace("\r\n", "\n")
    blocks = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip("\n")):
        if chunk.strip():
            blocks.append(_fields(HeaderParser(policy=compat32).parsestr(chunk + "\n\n", headersonly=True).items()))
    return blocks


def _fields(items) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in items:
        key = str(name).strip().lower()
        if key not in found:
            found[key] = _field(str(value))
    return found


def _field(value: str) -> str:
    return one_line(decode_words(str(value))[0], _MAX_FIELD)


def _typed_value(value: str) -> str:
    """ "rfc822; a@b" -> "a@b", "smtp; 550 ..." -> "550 ..." (a value without a type stays whole)."""
    kind, sep, rest = value.partition(";")
    if sep and re.fullmatch(r"\s*[A-Za-z0-9][A-Za-z0-9.+-]*\s*", kind):
        return rest.strip()
    return value.strip()


def _address(value: str) -> str:
    address = _typed_value(value).strip().strip("<>").strip()
    return address if "@" in address and " " not in address else ""


def _token(value: str) -> str:
    return value.split("(")[0].strip().lower()[:32]


def _status(value: str) -> str:
    match = _STATUS_RE.match(value)
    return ".".join(match.groups()) if match else ""


def _part_text(part: Message) -> str:
    """The part's content as text; a message/* type other parsers would have taken for an
    encapsulated message (global-delivery-status, global-headers) is written back first."""
    payload = part.get_payload()
    if isinstance(payload, list):
        data = b"".join(m.as_bytes(policy=compat32) for m in payload if isinstance(m, Message))
    else:
        data = part.get_payload(decode=True) or b""
    return decode_bytes(data, part.get_content_charset() or "utf-8")[0]


def _returned_message_id(part: Message | None) -> str:
    if part is None:
        return ""
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        ids = extract_msg_ids(str(inner[0].get("Message-ID", "")))
        return ids[0] if ids else ""
    headers = HeaderParser(policy=compat32).parsestr(_part_text(part), headersonly=True)
    ids = extract_msg_ids(str(headers.get("Message-ID", "")))
    return ids[0] if ids else ""


def xtext_encode(value: str) -> str:
    """RFC 3461 xtext: "+" and "=", controls, space and non-ASCII as "+XX"."""
    return "".join(chr(b) if 33 <= b <= 126 and b not in (43, 61) else f"+{b:02X}"
                   for b in value.encode("utf-8"))


def xtext_decode(value: str) -> str:
    return _XTEXT_RE.sub(lambda m: chr(int(m.group(1), 16)), value.strip())
