"""Deterministic, realistic mailboxes for the benchmark.

Same seed, same mailbox, byte for byte: every random choice comes from one `random.Random`
per mailbox. The mix follows the issue: multipart/alternative, attachments, 40% replies with
In-Reply-To/References, non-ASCII subjects and names (RFC 2047, UTF-8 and Latin-1), 80% seen,
2% flagged. Rendering builds the MIME text with string templates rather than `email.message`,
which is about 20 times slower and would dominate the set-up time of a 250k-message run.

Two outputs from one stream: `raw` bytes for Maildir seeding, and `Meta` (what the sync would
store) for the database-only sets that are bulk-loaded without IMAP.
"""

from __future__ import annotations

import base64
import hashlib
import random
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

OWNER_ADDR = "olga.owner@postino.test"
OWNER_NAME = "Olga Owner"

# Search terms planted at known rates, so the search pages have rare and common hits.
RARE_TERM = "zanzibarite"  # about 1 message in 10,000
COMMON_TERM = "offerta"  # about 1 in 3
TWO_WORD_TERMS = ("fattura", "scadenza")
# The search pages' figure names and what each searches for.
SEARCH_TERMS = (("search_rare", RARE_TERM), ("search_common", COMMON_TERM),
                ("search_two_words", " ".join(TWO_WORD_TERMS)))

_FIRST = ["Mario", "Luca", "Giulia", "Francesca", "Paolo", "Anna", "Marco", "Chiara", "Andrea", "Sara",
          "Niccolò", "Lucía", "François", "Jürgen", "Zoë", "Ægir", "Björn", "Małgorzata", "Søren", "José",
          "Elena", "Davide", "Martina", "Stefano", "Valentina", "Alessandro", "Federica", "Matteo", "Laura", "Emma"]
_LAST = ["Rossi", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti",
         "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro",
         "Müller", "Dvořák", "García", "Nuñez", "O'Brien", "Østergaard", "Łukasiewicz", "Caruso", "Ferrari", "Esposito"]
_COMPANIES = ["cliente", "fornitore", "acme", "studio-legale", "logistica", "edilnord", "tessuti-bianchi",
              "meccanica-sud", "farmacia-centrale", "agenzia-viaggi", "consulenze", "alimentari-rossi",
              "officina", "hotel-lago", "cantina-colli", "assicurazioni", "banca-locale", "ceramiche", "vetri",
              "trasporti-nord", "idraulica", "elettro", "arredo", "stampa-digitale", "marmi", "impianti"]
_TLDS = ["it", "com", "eu", "de", "fr", "net"]
_SUBJECT_WORDS = [
    "offerta", "ordine", "fattura", "preventivo", "consegna", "riunione", "contratto", "pagamento", "listino",
    "campionatura", "reclamo", "spedizione", "appuntamento", "aggiornamento", "progetto", "verbale", "budget",
    "rinnovo", "scadenza", "sollecito", "conferma", "richiesta", "documenti", "bozza", "report", "quotation",
    "invoice", "meeting", "delivery", "proposal", "follow-up", "agenda", "catalogo", "garanzia", "assistenza",
]
_NON_ASCII_SUBJECTS = [
    "Attività di manutenzione", "Perché il ritardo?", "Città e provincia: novità", "Caffè con il cliente",
    "Preventivo n. {n} — revisione", "Fattura € {n}", "Größe und Menge", "Réunion à Paris", "Año nuevo, precios",
    "Пример заказа {n}", "見積もり {n}", "Ordine confermato ✅", "Consegna entro lunedì", "Qualità del prodotto",
    "Übergabe der Unterlagen", "Ελληνικά έγγραφα {n}", "Résumé des échanges", "Più tempo per la consegna",
]
_BODY_WORDS = (  # noqa: SIM905 - prose reads better than a list of 150 words
    "buongiorno gentile cliente in allegato trova la nostra offerta aggiornata per la fornitura richiesta "
    "restiamo a disposizione per qualsiasi chiarimento cordiali saluti grazie per la risposta confermiamo "
    "la consegna entro la fine del mese il pagamento è previsto a trenta giorni data fattura fine mese "
    "vi preghiamo di verificare i documenti allegati e di inviarci la conferma d'ordine firmata il prezzo "
    "unitario comprende il trasporto e l'imballaggio la riunione è fissata per giovedì alle dieci presso "
    "la nostra sede come concordato telefonicamente vi inviamo il listino con gli sconti riservati "
    "please find attached the updated proposal we look forward to hearing from you best regards "
    "the shipment left our warehouse this morning and should arrive by friday let me know if anything "
    "is missing from the order thanks again for your patience the invoice is due at the end of the month"
).split()
_ATTACHMENTS = [("application/pdf", "offerta.pdf"), ("application/pdf", "fattura.pdf"),
                ("image/jpeg", "foto.jpg"), ("image/png", "schema.png"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "contratto.docx"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "listino.xlsx")]
_ZONES = [timezone(timedelta(hours=1)), timezone(timedelta(hours=2)), UTC, timezone(timedelta(hours=-5))]


def seed_for(name: str) -> int:
    """A stable seed from a mailbox name (hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def _shared_texts() -> tuple[str, list[str]]:
    rng = random.Random(seed_for("corpus"))
    words = " ".join(rng.choice(_BODY_WORDS) for _ in range(200_000))
    # Wrapped once here: wrapping each body is what made rendering slow.
    corpus = "\r\n".join(textwrap.wrap(words, 72, break_long_words=False, break_on_hyphens=False))
    blob = base64.encodebytes(rng.randbytes(600_000)).decode()
    return corpus, blob.splitlines()


_CORPUS, _BASE64_LINES = _shared_texts()


@dataclass(frozen=True)
class Meta:
    """What the sync stores for a message: used by the database-only loads and the floors."""

    index: int
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_addr: str
    to: tuple[tuple[str, str], ...]
    date: datetime
    size: int
    preview: str
    has_attachments: bool
    seen: bool
    flagged: bool
    answered: bool
    conversation: int  # index of the conversation's first message: a stand-in thread key


@dataclass(frozen=True)
class Generated:
    raw: bytes
    flags: str  # Maildir info letters: S seen, F flagged, R answered
    internal_date: datetime
    meta: Meta


@dataclass
class _Conversation:
    root: int
    subject: str
    message_ids: list[str]


def _encode_word(text: str, rng: random.Random) -> str:
    """RFC 2047 encode non-ASCII header text the way real mailers do (mostly B, some Q, some Latin-1)."""
    if text.isascii():
        return text
    roll = rng.random()
    if roll < 0.15:
        try:
            data = text.encode("iso-8859-1")
            return "=?ISO-8859-1?Q?" + _q_encode(data) + "?="
        except UnicodeEncodeError:
            pass
    data = text.encode("utf-8")
    if roll < 0.4:
        return "=?UTF-8?Q?" + _q_encode(data) + "?="
    # Long values fold into several encoded words, as mailers do (each at most 75 chars).
    words = []
    for start in range(0, len(data), 45):
        chunk = data[start:start + 45]
        # never split a UTF-8 sequence: move back to a lead byte
        words.append(chunk)
    encoded, carry = [], b""
    for chunk in words:
        chunk = carry + chunk
        cut = len(chunk)
        while cut > 0 and (chunk[cut - 1] & 0xC0) == 0x80:
            cut -= 1
        if cut > 0 and chunk[cut - 1] >= 0xC0:
            cut -= 1
        if cut == 0:
            cut = len(chunk)
        carry = chunk[cut:]
        encoded.append("=?UTF-8?B?" + base64.b64encode(chunk[:cut]).decode() + "?=")
    if carry:
        encoded.append("=?UTF-8?B?" + base64.b64encode(carry).decode() + "?=")
    return "\r\n ".join(encoded)


def _q_encode(data: bytes) -> str:
    out = []
    for byte in data:
        if byte == 0x20:
            out.append("_")
        elif 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A:
            out.append(chr(byte))
        else:
            out.append(f"={byte:02X}")
    return "".join(out)


def _address(name: str, addr: str, rng: random.Random) -> str:
    if not name:
        return addr
    if name.isascii():
        return f'"{name}" <{addr}>' if "'" in name or "," in name else f"{name} <{addr}>"
    return f"{_encode_word(name, rng)} <{addr}>"


class MailboxGenerator:
    """One mailbox's messages in UID order, oldest first."""

    def __init__(self, name: str, count: int, *, sent: bool = False, start: datetime | None = None,
                 end: datetime | None = None, contacts: int = 600, reply_rate: float = 0.4,
                 seen_rate: float = 0.8, flagged_rate: float = 0.02) -> None:
        self.name = name
        self.count = count
        self.sent = sent
        self.rng = random.Random(seed_for(name))
        self._tag = seed_for(name) % 10**8
        # Rendering draws from its own stream, seeded per message, so a metadata-only pass
        # (render=False) yields the same Meta values, and a message renders the same whichever
        # of its neighbours were rendered (seeding splits one mailbox over two processes).
        self._render_seed = seed_for(name + "/render") << 32
        self.render_rng = random.Random(0)
        self.start = start or datetime(2023, 1, 2, 8, 0, tzinfo=UTC)
        self.end = end or datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
        self.reply_rate = reply_rate
        self.seen_rate = 1.0 if sent else seen_rate
        self.flagged_rate = flagged_rate
        rng = random.Random(seed_for("contacts"))  # the same address book for every mailbox
        self.contacts = []
        for _ in range(contacts):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            company = rng.choice(_COMPANIES)
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            local = local.encode("ascii", "ignore").decode() or "info"
            self.contacts.append((f"{first} {last}", f"{local}@{company}.{rng.choice(_TLDS)}"))
        self._open: list[_Conversation] = []

    def __iter__(self) -> Iterator[Generated]:
        return self.messages()

    def messages(self, *, render: bool = True, render_from: int = 0,
                 render_to: int | None = None) -> Iterator[Generated]:
        """Every message in order; only those in [render_from, render_to) get raw bytes."""
        span = (self.end - self.start).total_seconds()
        step = span / max(self.count, 1)
        render_to = self.count if render_to is None else render_to
        for index in range(self.count):
            when = self.start + timedelta(seconds=index * step + self.rng.random() * step * 0.9)
            yield self._one(index, when.replace(microsecond=0), render and render_from <= index < render_to)
            if index + 1 >= render_to and render:
                return

    # --------------------------------------------------------------------------------------
    def _subject(self, index: int) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.22:
            return rng.choice(_NON_ASCII_SUBJECTS).format(n=rng.randint(100, 9999))
        words = rng.sample(_SUBJECT_WORDS, rng.randint(2, 5))
        if rng.random() < 0.3:
            words.append(f"n. {rng.randint(1, 20000)}/{2023 + index % 4}")
        if rng.random() < 0.3 and COMMON_TERM not in words:
            words.insert(0, COMMON_TERM)
        text = " ".join(words)
        return text[0].upper() + text[1:]

    def _body_text(self, chars: int, planted: list[str]) -> str:
        """A slice of the shared corpus (picking words one by one is the generator's hot spot)."""
        rng = self.rng
        start = rng.randrange(len(_CORPUS) - chars - 1)
        start = _CORPUS.find(" ", start) + 1
        text = _CORPUS[start:start + chars].rsplit(" ", 1)[0]
        for term in planted:
            cut = text.find(" ", rng.randrange(len(text)))
            text = text + " " + term if cut < 0 else text[:cut] + " " + term + text[cut:]
        return text

    def _one(self, index: int, when: datetime, render: bool) -> Generated:
        rng = self.rng
        msg_id = f"<{index}.{self._tag}.{rng.getrandbits(40):x}@{self.name.lower()}.postino.test>"
        conversation = None
        if self._open and rng.random() < self.reply_rate:
            conversation = rng.choice(self._open[-2000:])
        if conversation is None:
            subject = self._subject(index)
            conversation = _Conversation(root=index, subject=subject, message_ids=[])
            self._open.append(conversation)
            if len(self._open) > 4000:
                del self._open[:2000]
            in_reply_to, references = "", ()
            subject_line = subject
        else:
            in_reply_to = conversation.message_ids[-1]
            references = tuple(conversation.message_ids[:1] + conversation.message_ids[-9:]) \
                if len(conversation.message_ids) > 10 else tuple(conversation.message_ids)
            subject_line = rng.choice(("Re: ", "R: ", "RE: ", "Re: Re: ", "AW: ")) + conversation.subject
        conversation.message_ids.append(msg_id)

        contact = rng.choice(self.contacts)
        if self.sent:
            from_name, from_addr = OWNER_NAME, OWNER_ADDR
            recipients = [contact] + rng.sample(self.contacts, rng.choice((0, 0, 0, 1, 2)))
        else:
            from_name, from_addr = contact
            recipients = [(OWNER_NAME, OWNER_ADDR)] + rng.sample(self.contacts, rng.choice((0, 0, 1, 3)))
        cc = rng.sample(self.contacts, 1) if rng.random() < 0.15 else []

        planted = []
        if rng.random() < 0.0001 or index == self.count // 2:
            planted.append(RARE_TERM)
        if rng.random() < 0.25:
            planted.append(COMMON_TERM)
        if rng.random() < 0.05:
            planted.extend(TWO_WORD_TERMS)
        text = self._body_text(rng.randint(150, 2500), planted)
        kind = rng.random()
        has_attachment = kind >= 0.85
        seen = rng.random() < self.seen_rate
        flagged = rng.random() < self.flagged_rate
        answered = not self.sent and seen and rng.random() < 0.1
        date_header = when.astimezone(rng.choice(_ZONES)) - timedelta(seconds=rng.randint(1, 90))
        preview = text[:220].replace("\r\n", " ")[:200]

        raw = b""
        if render:
            raw = self._render(msg_id, in_reply_to, references, subject_line, (from_name, from_addr), recipients,
                               cc, date_header, text, kind, index)
        flags = "".join(letter for letter, on in (("F", flagged), ("R", answered), ("S", seen)) if on)
        meta = Meta(
            index=index, message_id=msg_id, in_reply_to=in_reply_to, references=references,
            subject=subject_line, from_name=from_name, from_addr=from_addr,
            to=tuple(recipients), date=date_header, size=len(raw) or 1200 + len(text), preview=preview,
            has_attachments=has_attachment, seen=seen, flagged=flagged, answered=answered,
            conversation=conversation.root,
        )
        return Generated(raw=raw, flags=flags, internal_date=when, meta=meta)

    def _render(self, msg_id, in_reply_to, references, subject, sender, recipients, cc, date_header, text,
                kind, index) -> bytes:
        rng = self.render_rng
        rng.seed(self._render_seed | index)
        headers = [
            "Return-Path: <" + sender[1] + ">",
            f"Received: from mx{rng.randint(1, 9)}.postino.test (mx.postino.test [192.0.2.{rng.randint(1, 254)}])"
            f"\r\n\tby imap.postino.test with ESMTPS id {rng.getrandbits(48):012x}"
            f"\r\n\tfor <{OWNER_ADDR}>; {date_header.strftime('%a, %d %b %Y %H:%M:%S %z')}",
            "From: " + _address(*sender, rng),
            "To: " + ",\r\n ".join(_address(n, a, rng) for n, a in recipients),
        ]
        if cc:
            headers.append("Cc: " + ", ".join(_address(n, a, rng) for n, a in cc))
        headers += [
            "Subject: " + _encode_word(subject, rng),
            "Date: " + date_header.strftime("%a, %d %b %Y %H:%M:%S %z"),
            "Message-ID: " + msg_id,
        ]
        if in_reply_to:
            headers.append("In-Reply-To: " + in_reply_to)
            headers.append("References: " + "\r\n ".join(references))
        if rng.random() < 0.08:
            headers.append(f"List-Id: Newsletter <news.{rng.choice(_COMPANIES)}.it>")
            headers.append("Precedence: bulk")
        headers.append("MIME-Version: 1.0")
        headers.append("X-Mailer: Postino-Bench 1.0")
        body_text = text + "\r\n"
        if kind < 0.35:
            headers += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
            body = body_text
        else:
            boundary = f"=_alt_{index}_{rng.getrandbits(32):08x}"
            html = "<html><body><p>" + text + "</p>" \
                   + ('<p><a href="https://www.postino.test/offerta">Link</a></p>' if rng.random() < 0.3 else "") \
                   + '<img src="https://tracker.postino.test/p.gif" width="1" height="1"></body></html>\r\n'
            alternative = (
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                f"{body_text}\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n--{boundary}--\r\n"
            )
            if kind < 0.85:
                headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
                body = alternative
            else:
                outer = f"=_mix_{index}_{rng.getrandbits(32):08x}"
                ctype, filename = rng.choice(_ATTACHMENTS)
                lines = rng.randint(20, 400)  # 1.5 to 30 KB of base64
                first = rng.randrange(len(_BASE64_LINES) - lines)
                payload = "\r\n".join(_BASE64_LINES[first:first + lines]) + "\r\n"
                headers.append(f'Content-Type: multipart/mixed; boundary="{outer}"')
                body = (
                    f"This is a multi-part message in MIME format.\r\n--{outer}\r\n"
                    f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n{alternative}\r\n'
                    f"--{outer}\r\nContent-Type: {ctype}; name=\"{filename}\"\r\n"
                    f'Content-Disposition: attachment; filename="{filename}"\r\n'
                    f"Content-Transfer-Encoding: base64\r\n\r\n{payload}--{outer}--\r\n"
                )
        return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


def maildir_items(generator: MailboxGenerator, metas: list[Meta] | None = None):
    """(raw, flags, internal date) tuples for Dovecot.write_maildir, optionally collecting Meta."""
    for item in generator:
        if metas is not None:
            metas.append(item.meta)
        yield item.raw, item.flags, item.internal_date
