"""Full parse of an opened message with `policy.default`, bounded so hostile mail cannot hang a worker
(the limits are enforced in `bounded.py`).

Part paths follow IMAP section numbers ("1", "2.1", ...), so a part can later be fetched with
`get_part_payload` here or with BODY[section] from the server.
"""

from __future__ import annotations

import binascii
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO
from typing import Any
from urllib.parse import unquote

from .bounded import DEFAULT_LIMITS, Notes, ParseLimits, bounded_parse
from .charset import (
    as_bytes,
    clean_filename,
    decode_bytes,
    decode_words,
    lenient_b64decode,
    one_line,
    recover_text,
    scrub,
)
from .headers import HeaderSummary, parse_header_block_with_notes
from .html_text import make_preview

_PART_PATH_RE = re.compile(r"[1-9][0-9]{0,3}(?:\.[1-9][0-9]{0,3}){0,60}")
_CID_REF_RE = re.compile(r"cid:([^\"'\s<>)]+)", re.IGNORECASE)
_UUENCODE_RE = re.compile(r"^begin [0-7]{3,4} \S", re.MULTILINE)
_BODY_TYPES = ("text/plain", "text/html")
_ENCAPSULATED = ("message/rfc822", "message/global")
# compat32 writes stored header values back as they came; max_line_length=0 stops it refolding them.
_SERIALISE_POLICY = compat32.clone(linesep="\r\n", max_line_length=0)


@dataclass(frozen=True)
class Part:
    """An attachment or inline part; `filename` is display text only, never a path."""

    content_id: str
    content_type: str
    filename: str
    size: int
    part_path: str


@dataclass
class ParsedMessage:
    headers: HeaderSummary
    text: str = ""
    html: str = ""  # raw and unsanitised: sanitise before rendering
    inline_parts: list[Part] = field(default_factory=list)
    attachments: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preview: str = ""


class PartNotFoundError(LookupError):
    """The part path does not name a part of this message (or one beyond the parse limits)."""


def parse_message(raw: bytes, *, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedMessage:
    """Parse a whole message; never raises, and returns what it could with notes on the rest."""
    raw = as_bytes(raw)
    headers, header_notes = parse_header_block_with_notes(raw)
    notes = Notes(header_notes)
    walker = _Walker(limits, notes, time.monotonic() + limits.time_budget)
    root = bounded_parse(raw, limits, notes, walker.deadline)
    texts: list[str] = []
    htmls: list[str] = []
    failed = root is None
    if root is not None:
        try:
            walker.walk_message(root, texts, htmls)
        except _OutOfTime:
            notes.add(f"Reading the parts took longer than {limits.time_budget:g} s; the rest was skipped.")
        except Exception as exc:  # RecursionError, LookupError, stdlib surprises: keep what we have
            notes.add(f"The message structure could not be fully read ({type(exc).__name__}).")
            failed = True
    html = "\n".join(part for part in htmls if part)
    text = "\n\n".join(part for part in texts if part)
    if failed and not text and not html:
        text = _fallback_text(raw, limits)
    if _UUENCODE_RE.search(text):
        notes.add("The text contains uuencoded data, which is not shown as an attachment.")
    # Inline means "shown inside the HTML": a part with a Content-ID the HTML never references
    # stays an attachment, so nothing the sender attached disappears.
    referenced = {unquote(match.group(1)).strip("<>").lower() for match in _CID_REF_RE.finditer(html)}
    inline = [bool(part.content_id) and part.content_id.lower() in referenced for part in walker.parts]
    return ParsedMessage(
        headers=headers,
        text=text,
        html=html,
        inline_parts=[part for part, is_inline in zip(walker.parts, inline, strict=True) if is_inline],
        attachments=[part for part, is_inline in zip(walker.parts, inline, strict=True) if not is_inline],
        notes=notes.items,
        preview=make_preview(text, html),
    )


def get_part_payload(raw: bytes, part_path: str, *, limits: ParseLimits = DEFAULT_LIMITS) -> bytes:
    """The decoded bytes of one part, by the `part_path` that `parse_message` reported."""
    return next(iter_part_payloads(raw, [part_path], limits=limits))[1]


def iter_part_payloads(raw: bytes, part_paths: list[str], *,
                       limits: ParseLimits = DEFAULT_LIMITS) -> Iterator[tuple[str, bytes]]:
    """(path, decoded bytes) of several parts from one parse: a zip of 500 attachments must not
    parse a 5,000-part message 500 times. Raises PartNotFoundError for a path it lacks."""
    for part_path in part_paths:
        if not isinstance(part_path, str) or not _PART_PATH_RE.fullmatch(part_path):
            raise PartNotFoundError(part_path)
    notes = Notes([])
    root = bounded_parse(as_bytes(raw), limits, notes, time.monotonic() + limits.time_budget)
    if root is None:
        raise PartNotFoundError(part_paths[0] if part_paths else "")
    for part_path in part_paths:
        yield part_path, _part_at(root, part_path, notes)


def _part_at(root: Message, part_path: str, notes: Notes) -> bytes:
    part: Message | None = None
    children = _message_children(root)
    for number in (int(piece) for piece in part_path.split(".")):
        if number > len(children):
            raise PartNotFoundError(part_path)
        part = children[number - 1]
        children = _part_children(part)
    assert part is not None  # the path regex guarantees at least one number
    return _decoded_payload(part, notes)[0]


class _OutOfTime(Exception):
    pass


# --- walking the tree ----------------------------------------------------------------------------


class _Walker:
    def __init__(self, limits: ParseLimits, notes: Notes, deadline: float) -> None:
        self.limits = limits
        self.notes = notes
        self.deadline = deadline
        self.parts: list[Part] = []

    def walk_message(self, root: Message, texts: list[str], htmls: list[str]) -> None:
        if _is_container(root):
            self.visit(root, "", 0, True, texts, htmls)
        else:
            self.visit(root, "1", 0, True, texts, htmls)

    def visit(self, part: Message, path: str, depth: int, body_ok: bool, texts: list[str], htmls: list[str]) -> None:
        if time.monotonic() > self.deadline:
            raise _OutOfTime
        self._record_defects(part, path)
        if depth > self.limits.max_depth:
            self.notes.add(f"Parts nested deeper than {self.limits.max_depth} levels were not read.")
            return
        ctype = _content_type(part)
        if not _is_container(part):
            self.leaf(part, path, ctype, body_ok, texts, htmls)
            return
        children = _raw_payload(part)
        prefix = f"{path}." if path else ""
        if ctype == "multipart/signed":
            self.notes.add("The message is signed; the signature was not verified.")
        elif ctype == "multipart/encrypted":
            self.notes.add("The message is encrypted; it was not decrypted.")
        if ctype == "multipart/alternative":
            # Alternatives are versions of one body: keep the last (richest) of each kind.
            best_texts: list[str] = []
            best_htmls: list[str] = []
            for number, child in enumerate(children, 1):
                child_texts: list[str] = []
                child_htmls: list[str] = []
                self.visit(child, f"{prefix}{number}", depth + 1, body_ok, child_texts, child_htmls)
                best_texts = child_texts if any(child_texts) else best_texts
                best_htmls = child_htmls if any(child_htmls) else best_htmls
            texts.extend(best_texts)
            htmls.extend(best_htmls)
            return
        root_index = _related_root(part, children) if ctype == "multipart/related" else -1
        for number, child in enumerate(children, 1):
            # Only the root of a multipart/related is a body; the rest are its resources.
            child_body_ok = body_ok and (root_index < 0 or number - 1 == root_index)
            self.visit(child, f"{prefix}{number}", depth + 1, child_body_ok, texts, htmls)

    def leaf(self, part: Message, path: str, ctype: str, body_ok: bool, texts: list[str], htmls: list[str]) -> None:
        filename = _display_filename(part)
        disposition = _safe(part.get_content_disposition) or ""
        if ctype.startswith("multipart/"):
            ctype = "text/plain"  # no boundary: the whole body is text (a note was recorded)
        if body_ok and ctype in _BODY_TYPES and disposition != "attachment" and not filename:
            text = self.decode_text(part, path)
            (htmls if ctype == "text/html" else texts).append(text)
            return
        if ctype in ("application/ms-tnef", "application/vnd.ms-tnef"):
            self.notes.add("winmail.dat (Outlook TNEF) is listed as an attachment; its contents were not unpacked.")
        elif ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
            self.notes.add("The message contains S/MIME content that was not decrypted or unpacked.")
        payload, _ = _decoded_payload(part, self.notes, path)
        content_id = one_line(str(_safe(lambda: part.get("content-id")) or ""), 255).strip("<> ")
        self.parts.append(Part(content_id, ctype, filename, len(payload), path))

    def decode_text(self, part: Message, path: str) -> str:
        data, truncated = _decoded_payload(part, self.notes, path, limit=self.limits.max_text_bytes)
        if truncated:
            self.notes.add(f"Part {path}: the text is longer than the limit and was cut.")
        charset = _safe(lambda: part.get_param("charset"))
        text, problem = decode_bytes(data, charset if isinstance(charset, str) else None)
        if problem:
            self.notes.add(f"Part {path}: {problem}.")
        return scrub(text).replace("\r\n", "\n").replace("\r", "\n")

    def _record_defects(self, part: Message, path: str) -> None:
        where = f"Part {path}" if path else "The message"
        for defect in getattr(part, "defects", ())[:5]:
            # The email.errors docstrings are readable sentences ("A start boundary was found, but ...").
            text = (type(defect).__doc__ or type(defect).__name__).strip().splitlines()[0].rstrip(".")
            self.notes.add(f"{where}: {text[:1].lower()}{text[1:]}.")
        if getattr(part, "had_long_header", False):
            self.notes.add(f"{where}: an overlong or overly nested Content-* header was simplified.")


def _raw_payload(part: Message) -> Any:
    """The parser's own payload: a str with surrogate escapes, or a list of parts.

    get_payload() without decode=True re-decodes 8-bit text as ASCII with replacement
    characters, destroying it (and copying it); `_payload` has been stable since Python 3.2.
    """
    return getattr(part, "_payload", None)


def _is_container(part: Message) -> bool:
    return part.get_content_maintype() == "multipart" and isinstance(_raw_payload(part), list)


def _message_children(message: Message) -> list[Message]:
    """IMAP numbering: the parts of a message, or the message itself as part 1 when not multipart."""
    return list(_raw_payload(message)) if _is_container(message) else [message]


def _part_children(part: Message) -> list[Message]:
    if _is_container(part):
        return list(_raw_payload(part))
    payload = _raw_payload(part)
    if _content_type(part) in _ENCAPSULATED and isinstance(payload, list) and payload:
        return _message_children(payload[0])
    return []


def _related_root(part: Message, children: list[Message]) -> int:
    start = str(_safe(lambda: part.get_param("start")) or "").strip().strip("<>")
    for index, child in enumerate(children):
        if start and str(child.get("content-id", "")).strip().strip("<>") == start:
            return index
    return 0


def _content_type(part: Message) -> str:
    return str(_safe(part.get_content_type) or "application/octet-stream")[:255]


def _safe(getter: Any) -> Any:
    """Header access under policy.default can raise on hostile values; treat that as absent."""
    try:
        return getter()
    except Exception:
        return None


def _display_filename(part: Message) -> str:
    """Display text only: the last path component, decoded, without controls or bidi overrides."""
    name = _safe(part.get_filename)
    if isinstance(name, str) and "\ufffd" in name:
        name = _safe(lambda: _legacy_filename(part)) or name
    if not isinstance(name, str) or not name:
        return ""
    name = recover_text(name)
    if "=?" in name:
        name = decode_words(name)[0]
    return clean_filename(name)


def _legacy_filename(part: Message) -> Any:
    """policy.default turns raw 8-bit filenames into U+FFFD: guess the charset of the raw header first."""
    legacy = Message()
    for name, value in part.raw_items():
        if name.lower() in ("content-type", "content-disposition") and isinstance(value, str):
            legacy.set_raw(name, recover_text(value))
    return legacy.get_filename()


def _decoded_payload(part: Message, notes: Notes, path: str = "", limit: int | None = None) -> tuple[bytes, bool]:
    """Transfer-decoded bytes of a part and whether `limit` cut them; message/* parts are re-serialised."""
    payload = _raw_payload(part)
    if isinstance(payload, list):
        data = _serialise_body(part, notes, path)
    elif isinstance(payload, str):  # the parser's surrogate escapes turn back into the original bytes
        data = payload.encode("utf-8", "surrogateescape")
    else:
        data = b""
    truncated = limit is not None and len(data) > limit
    if truncated:
        data = data[:limit]
    cte = str(_safe(lambda: part.get("content-transfer-encoding")) or "").split(";")[0].strip().lower()
    if cte == "base64":
        decoded, damaged = lenient_b64decode(data)
        if damaged and not truncated:
            notes.add(f"Part {path or '1'}: the base64 data is damaged; decoded what was readable.")
        return decoded, truncated
    if cte == "quoted-printable":
        return binascii.a2b_qp(data), truncated
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        decoded = _safe(lambda: part.get_payload(decode=True))
        return (decoded if isinstance(decoded, bytes) else data), truncated
    return data, truncated


def _serialise_body(part: Message, notes: Notes, path: str) -> bytes:
    """The body of a message/* part as bytes (the stdlib keeps no original bytes for subparts).

    compat32 leaves stored header values as they came, so this is close to the original.
    """
    buffer = BytesIO()
    try:
        generator = BytesGenerator(buffer, mangle_from_=False, policy=_SERIALISE_POLICY)
        generator.flatten(part, unixfrom=False)
    except Exception as exc:
        notes.add(f"Part {path or '1'}: the attached message could not be re-serialised ({type(exc).__name__}).")
        return b""
    data = buffer.getvalue()
    if not part.keys():
        return data[2:]
    end = data.find(b"\r\n\r\n")
    return data[end + 4 :] if end >= 0 else b""


def _fallback_text(raw: bytes, limits: ParseLimits) -> str:
    """Whatever follows the header block, decoded leniently: better than nothing when MIME failed."""
    ends = [pos for pos in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if pos >= 0]
    body = raw[min(ends) :] if ends else b""
    text = decode_bytes(body[: limits.max_text_bytes], None)[0]
    return scrub(text).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
