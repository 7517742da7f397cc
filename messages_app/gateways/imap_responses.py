"""Reading IMAP responses: untagged LIST/STATUS lines (literals included), ESEARCH and VANISHED
sets, COPYUID pairs, modified-UTF-7 names. Pure functions over what imaplib hands back; a reply
that cannot be read is a ProtocolError of our family.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager

from imapclient import exceptions as imap_exc
from imapclient.imap_utf7 import decode as utf7_decode
from imapclient.response_parser import parse_response

from messages_app.exceptions import ProtocolError


def _decode_name(raw) -> str:
    if isinstance(raw, int):
        raw = str(raw).encode()
    if isinstance(raw, str):
        raw = raw.encode()
    return utf7_decode(raw)


def _find_header_item(data: dict) -> bytes:
    for key, value in data.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[HEADER"):
            return value or b""
    return b""


def _join_literals(lines: list) -> list[bytes]:
    """imaplib returns a line with a literal as a tuple (prefix, literal); flatten it back."""
    joined = []
    for line in lines:
        if isinstance(line, tuple):
            prefix, literal = line
            joined.append(prefix + literal)
        elif line is not None:
            joined.append(line)
    return joined


@contextmanager
def _parse_errors(what: str, host: str) -> Iterator[None]:
    """A reply the parser cannot read is the server's fault: a ProtocolError of our family (the
    account shows it), never imapclient's own exception escaping the gateway."""
    try:
        yield
    except (imap_exc.IMAPClientError, ValueError, TypeError, IndexError, AttributeError, UnicodeError) as exc:
        raise ProtocolError(f"unreadable {what} reply: {exc}"[:300], host=host) from None


def _parse_atoms(lines: list) -> tuple:
    """Parse untagged lines as imapclient does: a line with a literal arrives from imaplib as a
    tuple (prefix, literal) followed by the rest of the line as its own item, so the lines are
    parsed as one token stream rather than glued one by one (which loses the literal's CRLF)."""
    return parse_response([line for line in lines if line not in (b"", None)])


def _parse_list_lines(lines: list, *, host: str = "") -> list[tuple[tuple[str, ...], str, str]]:
    """(flags, delimiter, name) of each LIST line."""
    with _parse_errors("LIST", host):
        atoms = _parse_atoms(lines)
        if len(atoms) % 3:
            raise ValueError(f"{len(atoms)} items is not a whole number of LIST lines")
        folders = []
        for i in range(0, len(atoms), 3):
            flags, delimiter, raw_name = atoms[i:i + 3]
            folders.append((
                tuple(f.decode() if isinstance(f, bytes) else str(f) for f in flags),
                delimiter.decode() if isinstance(delimiter, bytes) else (delimiter or ""),
                _decode_name(raw_name),
            ))
        return folders


def _parse_status_lines(lines: list, *, host: str = "") -> dict[str, dict]:
    statuses = {}
    with _parse_errors("STATUS", host):
        atoms = _parse_atoms(lines)
        for i in range(0, len(atoms) - 1, 2):
            name, values = _decode_name(atoms[i]), atoms[i + 1]
            statuses[name] = {
                values[j].decode().upper(): int(values[j + 1]) for j in range(0, len(values) - 1, 2)
            }
    return statuses


_ESEARCH_ALL_RE = re.compile(rb"\bALL\s+([0-9:,]+)", re.IGNORECASE)
_VANISHED_RE = re.compile(rb"^\(EARLIER\)\s+(.*)$", re.IGNORECASE)


def _parse_vanished(lines: list) -> set[int]:
    uids: set[int] = set()
    for line in _join_literals(lines):
        match = _VANISHED_RE.match(line.strip())
        text = match.group(1) if match else line.strip()
        uids |= parse_uid_set(text.decode())
    return uids


_COPYUID_RE = re.compile(rb"COPYUID\s+(\d+)\s+([0-9:,]+)\s+([0-9:,]+)")


def _expand_ordered(text: str) -> list[int]:
    uids: list[int] = []
    for chunk in text.split(","):
        if ":" in chunk:
            low, high = (int(x) for x in chunk.split(":", 1))
            step = 1 if high >= low else -1
            uids.extend(range(low, high + step, step))
        elif chunk:
            uids.append(int(chunk))
    return uids


def _parse_copyuid(value) -> dict[int, int]:
    """COPYUID <uidvalidity> <source set> <destination set>: the sets pair up in order."""
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, bytes):
        return {}
    match = _COPYUID_RE.search(value)
    if not match:
        return {}
    source = _expand_ordered(match.group(2).decode())
    target = _expand_ordered(match.group(3).decode())
    return dict(zip(source, target, strict=False)) if len(source) == len(target) else {}


def parse_uid_set(text: str) -> set[int]:
    uids: set[int] = set()
    for chunk in text.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        if ":" in chunk:
            low, high = (int(x) for x in chunk.split(":", 1))
            uids.update(range(min(low, high), max(low, high) + 1))
        else:
            uids.add(int(chunk))
    return uids
