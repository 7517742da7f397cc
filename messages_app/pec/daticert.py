"""`daticert.xml`: the certification data a provider attaches to every envelope and receipt.

Hostile input: the parser is expat driven directly, with every entity declaration, external
entity, skipped entity and parameter entity refused (no "billion laughs", no file or network
read through an external DTD), a size cap and a depth cap. A DOCTYPE naming an external DTD, as
some providers write, is allowed and never loaded. Whitespace and the encoding declaration vary
by provider; expat reads UTF-8, UTF-16, ISO-8859-1 and US-ASCII.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from xml.parsers import expat

MAX_BYTES = 256 * 1024
MAX_DEPTH = 16
MAX_TEXT = 4000


class DaticertError(ValueError):
    """The data cannot be read as daticert.xml (malformed, too big, or uses entities)."""


@dataclass(frozen=True)
class Recipient:
    address: str
    tipo: str  # certificato (a PEC box) or esterno (ordinary mail)


@dataclass(frozen=True)
class Daticert:
    tipo: str = ""  # posta-certificata, or the X-Ricevuta value
    errore: str = ""  # nessuno, no-dest, no-dominio, virus, altro
    mittente: str = ""
    destinatari: tuple[Recipient, ...] = ()
    risposte: str = ""
    oggetto: str = ""
    gestore: str = ""  # gestore-emittente: the provider that issued it
    data: datetime | None = None  # date and time of the event, with the provider's zone
    identificativo: str = ""
    msgid: str = ""  # the original Message-ID, angle brackets included
    ricevuta: str = ""  # completa, breve, sintetica
    consegna: str = ""  # the recipient a delivery receipt is about
    errore_esteso: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def child(self, tag: str) -> _Node | None:
        return next((node for node in self.children if node.tag == tag), None)

    def all(self, tag: str) -> list[_Node]:
        return [node for node in self.children if node.tag == tag]

    def value(self) -> str:
        return " ".join("".join(self.text).split())[:MAX_TEXT]


def _refuse(*_args) -> None:
    raise DaticertError("daticert.xml declares or uses entities, which are refused")


def _tree(data: bytes) -> _Node:
    if len(data) > MAX_BYTES:
        raise DaticertError(f"daticert.xml is larger than {MAX_BYTES // 1024} KB")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SkippedEntityHandler = _refuse
    stack: list[_Node] = []
    roots: list[_Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise DaticertError("daticert.xml is nested too deeply")
        node = _Node(tag.rsplit(":", 1)[-1].lower(), {k.lower(): v for k, v in attrs.items()})
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def text(chars: str) -> None:
        if stack and sum(map(len, stack[-1].text)) < MAX_TEXT:
            stack[-1].text.append(chars)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        reason = expat.errors.messages.get(exc.code, str(exc))
        raise DaticertError(f"daticert.xml is not well-formed XML ({reason})") from None
    if not roots or roots[0].tag != "postacert":
        raise DaticertError("daticert.xml has no postacert element")
    return roots[0]


_ZONE_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _date(node: _Node | None, notes: list[str]) -> datetime | None:
    if node is None:
        return None
    day = node.child("giorno")
    hour = node.child("ora")
    if day is None or hour is None:
        notes.append("The certification date is incomplete.")
        return None
    try:
        naive = datetime.strptime(f"{day.value()} {hour.value()}", "%d/%m/%Y %H:%M:%S")
    except ValueError:
        notes.append("The certification date could not be read.")
        return None
    zone = _ZONE_RE.match(node.attrs.get("zona", "").strip())
    if zone is None:
        notes.append("The certification date has no readable time zone; UTC was assumed.")
        return naive.replace(tzinfo=UTC)
    sign = -1 if zone.group(1) == "-" else 1
    offset = timedelta(hours=int(zone.group(2)), minutes=int(zone.group(3))) * sign
    return naive.replace(tzinfo=timezone(offset))


def _text(node: _Node | None, tag: str) -> str:
    found = node.child(tag) if node is not None else None
    return found.value() if found is not None else ""


def parse_daticert(data: bytes) -> Daticert:
    """The certification data; raises DaticertError for anything that is not a daticert.xml."""
    root = _tree(bytes(data))
    header = root.child("intestazione")
    dati = root.child("dati")
    notes: list[str] = []
    recipients = tuple(Recipient(node.value(), node.attrs.get("tipo", "").strip().lower())
                       for node in (header.all("destinatari") if header is not None else []) if node.value())
    ricevuta = dati.child("ricevuta") if dati is not None else None
    errore_esteso = _text(dati, "errore-esteso")
    return Daticert(
        tipo=root.attrs.get("tipo", "").strip().lower(),
        errore=root.attrs.get("errore", "").strip().lower(),
        mittente=_text(header, "mittente"),
        destinatari=recipients,
        risposte=_text(header, "risposte"),
        oggetto=_text(header, "oggetto"),
        gestore=_text(dati, "gestore-emittente"),
        data=_date(dati.child("data") if dati is not None else None, notes),
        identificativo=_text(dati, "identificativo"),
        msgid=_text(dati, "msgid"),
        ricevuta=ricevuta.attrs.get("tipo", "").strip().lower() if ricevuta is not None else "",
        consegna=_text(dati, "consegna"),
        errore_esteso=errore_esteso,
        notes=notes,
    )
