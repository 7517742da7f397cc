"""The parts of a PEC envelope or receipt, and the inner message an envelope carries.

An envelope is signed -> multipart/mixed with the provider's human text, `daticert.xml` and
`postacert.eml` (message/rfc822: the original, untouched). A receipt has the same shape, with
`postacert.eml` only in a *completa* delivery receipt. The parts are found by name and type
through the bounded MIME parser, so hostile mail costs no more here than anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from messages_app.mime.parse import ParsedMessage, Part, iter_part_payloads, parse_message

from .daticert import Daticert, DaticertError, parse_daticert

DATICERT = "daticert.xml"
POSTACERT = "postacert.eml"
SIGNATURE_TYPES = ("application/pkcs7-signature", "application/x-pkcs7-signature")


@dataclass
class PecParts:
    daticert: Daticert | None = None
    daticert_path: str = ""
    postacert_path: str = ""  # the part path of postacert.eml: its parts are below it (IMAP numbering)
    postacert: bytes = b""  # the inner message, as the envelope carries it
    signature_path: str = ""
    notes: list[str] = field(default_factory=list)


def _named(parts: list[Part], name: str, types: tuple[str, ...]) -> Part | None:
    for part in parts:
        if part.filename.lower() == name:
            return part
    return next((part for part in parts if part.content_type in types and not part.filename), None)


def find_parts(raw: bytes) -> PecParts:
    """What of daticert.xml, postacert.eml and the signature this message has; never raises."""
    parsed = parse_message(raw)
    parts = [*parsed.attachments, *parsed.inline_parts]
    result = PecParts()
    daticert = _named(parts, DATICERT, ("application/xml", "text/xml"))
    postacert = _named(parts, POSTACERT, ("message/rfc822",))
    signature = next((part for part in parts if part.content_type in SIGNATURE_TYPES), None)
    wanted = [part.part_path for part in (daticert, postacert) if part is not None]
    payloads = dict(iter_part_payloads(raw, wanted)) if wanted else {}
    if daticert is not None:
        result.daticert_path = daticert.part_path
        try:
            result.daticert = parse_daticert(payloads[daticert.part_path])
        except DaticertError as exc:
            result.notes.append(str(exc))
    else:
        result.notes.append("The message has no daticert.xml.")
    if postacert is not None:
        result.postacert_path = postacert.part_path
        result.postacert = payloads[postacert.part_path]
    if signature is not None:
        result.signature_path = signature.part_path
    return result


def inner_part_path(postacert_path: str, inner_path: str) -> str:
    """The path, in the envelope, of a part the inner message numbers `inner_path`."""
    return f"{postacert_path}.{inner_path}"


def parse_inner(raw: bytes) -> ParsedMessage | None:
    """The message an envelope carries, parsed for reading, its part paths those of the envelope
    (so its attachments download from the envelope as they are); None without a postacert.eml."""
    parts = find_parts(raw)
    if not parts.postacert_path or not parts.postacert:
        return None
    inner = parse_message(parts.postacert)

    def rebase(items: list[Part]) -> list[Part]:
        return [replace(part, part_path=inner_part_path(parts.postacert_path, part.part_path)) for part in items]

    inner.attachments = rebase(inner.attachments)
    inner.inline_parts = rebase(inner.inline_parts)
    inner.notes = [*parts.notes, *inner.notes]
    return inner
