"""Realistic PEC samples, built here as the published rules describe them (see PEC.md): a
throwaway provider CA signs each envelope and receipt (S/MIME, multipart/signed, detached).

`Provider` holds the CA and the signing certificate; its `envelope(...)` and `receipt(...)` return
the raw bytes a PEC box would receive, CRLF line ends, ready for Dovecot.
"""

from __future__ import annotations

import email
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from pathlib import Path
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

PROVIDER_NAME = "Gestore di prova PEC S.p.A."
PROVIDER_DOMAIN = "pec.example.test"
WHEN = datetime(2026, 11, 25, 9, 15, 3, tzinfo=UTC)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, PROVIDER_NAME),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: x509.Name, issuer: x509.Name, key, signing_key, *, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signing_key, hashes.SHA256()))


@dataclass
class Provider:
    ca: x509.Certificate
    signer: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def ca_pem(self) -> bytes:
        return self.ca.public_bytes(serialization.Encoding.PEM)

    def write_ca(self, path: Path) -> str:
        path.write_bytes(self.ca_pem())
        return str(path)

    def sign(self, headers: list[tuple[str, str]], content: bytes) -> bytes:
        """headers, then multipart/signed over `content` (a MIME part with its own headers)."""
        signed = (pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(self.signer, self.key, hashes.SHA256())
                  .sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature]))
        head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode()
        return crlf(head + signed)

    def envelope(self, original: bytes, *, anomaly: bool = False, when: datetime = WHEN) -> bytes:
        inner = email.message_from_bytes(original, policy=policy.SMTP)
        sender = email.utils.parseaddr(str(inner["From"]))[1]
        recipients = [addr for _name, addr in email.utils.getaddresses([str(inner.get("To", ""))])]
        subject = str(inner["Subject"])
        tipo = "errore" if anomaly else "posta-certificata"
        data = daticert_xml(tipo=tipo, mittente=sender, destinatari=recipients, oggetto=subject,
                            msgid=str(inner["Message-ID"]), when=when)
        human = (f"Messaggio di posta certificata\r\n\r\nIl giorno {when:%d/%m/%Y} alle ore {when:%H:%M:%S} "
                 f"il messaggio \"{subject}\" è stato inviato da \"{sender}\"\r\nindirizzato a:\r\n"
                 + "".join(f"{addr}\r\n" for addr in recipients)
                 + "Il messaggio originale è incluso in allegato.\r\n")
        postacert = MIMEMessage(inner)
        postacert.add_header("Content-Disposition", "attachment", filename="postacert.eml")
        content = _mixed(human, data, postacert)
        prefix = "ANOMALIA MESSAGGIO" if anomaly else "POSTA CERTIFICATA"
        return self.sign([
            ("Return-Path", f"<posta-certificata@{PROVIDER_DOMAIN}>"),
            ("Message-ID", make_msgid(domain=PROVIDER_DOMAIN)),
            ("Date", format_datetime(when)),
            ("From", f'"Per conto di: {sender}" <posta-certificata@{PROVIDER_DOMAIN}>'),
            ("Reply-To", sender),
            ("To", ", ".join(recipients)),
            ("Subject", f"{prefix}: {subject}"),
            ("X-Riferimento-Message-ID", str(inner["Message-ID"])),
            ("X-Trasporto", tipo),
        ], content)

    def receipt(self, tipo: str, *, msgid: str, mittente: str, destinatari: list[str], oggetto: str,
                consegna: str = "", errore: str = "nessuno", errore_esteso: str = "", original: bytes | None = None,
                when: datetime = WHEN) -> bytes:
        prefix = {
            "accettazione": "ACCETTAZIONE", "non-accettazione": "AVVISO DI NON ACCETTAZIONE",
            "presa-in-carico": "PRESA IN CARICO", "avvenuta-consegna": "CONSEGNA",
            "errore-consegna": "AVVISO DI MANCATA CONSEGNA",
            "preavviso-errore-consegna": "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO",
            "rilevazione-virus": "PROBLEMA DI SICUREZZA",
        }[tipo]
        data = daticert_xml(tipo=tipo, errore=errore, mittente=mittente, destinatari=destinatari, oggetto=oggetto,
                            msgid=msgid, consegna=consegna, errore_esteso=errore_esteso, when=when)
        human = f"Ricevuta di {tipo}\r\n\r\nIl messaggio \"{oggetto}\" inviato da \"{mittente}\".\r\n"
        if consegna:
            human += f"Destinatario: {consegna}\r\n"
        if errore_esteso:
            human += f"Errore: {errore_esteso}\r\n"
        extra = None
        if original is not None:
            extra = MIMEMessage(email.message_from_bytes(original, policy=policy.SMTP))
            extra.add_header("Content-Disposition", "attachment", filename="postacert.eml")
        content = _mixed(human, data, extra)
        return self.sign([
            ("Message-ID", make_msgid(domain=PROVIDER_DOMAIN)),
            ("Date", format_datetime(when)),
            ("From", f"posta-certificata@{PROVIDER_DOMAIN}"),
            ("To", mittente),
            ("Subject", f"{prefix}: {oggetto}"),
            ("X-Ricevuta", tipo),
            ("X-Riferimento-Message-ID", msgid),
        ], content)


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _mixed(human: str, daticert: bytes, postacert=None) -> bytes:
    mixed = MIMEMultipart("mixed")
    mixed.attach(MIMEText(human, "plain", "utf-8"))
    xml = MIMEApplication(daticert, "xml")
    xml.add_header("Content-Disposition", "attachment", filename="daticert.xml")
    mixed.attach(xml)
    if postacert is not None:
        mixed.attach(postacert)
    return crlf(mixed.as_bytes(policy=policy.SMTP))


@functools.cache
def provider() -> Provider:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("CA di prova PEC")
    ca = _certificate(ca_name, ca_name, ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    signer = _certificate(_name(f"posta-certificata@{PROVIDER_DOMAIN}"), ca_name, key, ca_key, ca=False)
    return Provider(ca=ca, signer=signer, key=key)


@functools.cache
def other_provider() -> Provider:
    """A CA nobody configured: its signatures are intact but not trusted."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA sconosciuta")])
    ca = _certificate(ca_name, ca_name, ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    signer = _certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "falso gestore")]), ca_name, key,
                          ca_key, ca=False)
    return Provider(ca=ca, signer=signer, key=key)


def daticert_xml(*, tipo: str, mittente: str, destinatari: list[str], oggetto: str, msgid: str, errore: str = "nessuno",
                 consegna: str = "", errore_esteso: str = "", when: datetime = WHEN,
                 identificativo: str = "opec21.20261125101503.12345.67.1.89@pec.example.test") -> bytes:
    local = when.astimezone(__import__("datetime").timezone(timedelta(hours=1)))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<!DOCTYPE postacert SYSTEM "Docs/daticert.dtd">',
        f'<postacert tipo="{tipo}" errore="{errore}">',
        "  <intestazione>",
        f"    <mittente>{escape(mittente)}</mittente>",
        *(f'    <destinatari tipo="certificato">{escape(addr)}</destinatari>' for addr in destinatari),
        f"    <risposte>{escape(mittente)}</risposte>",
        f"    <oggetto>{escape(oggetto)}</oggetto>",
        "  </intestazione>",
        "  <dati>",
        f"    <gestore-emittente>{escape(PROVIDER_NAME)}</gestore-emittente>",
        f'    <data zona="+0100"><giorno>{local:%d/%m/%Y}</giorno><ora>{local:%H:%M:%S}</ora></data>',
        f"    <identificativo>{escape(identificativo)}</identificativo>",
        f"    <msgid>{escape(msgid)}</msgid>",
        '    <ricevuta tipo="completa"/>' if tipo == "avvenuta-consegna" else "",
        f"    <consegna>{escape(consegna)}</consegna>" if consegna else "",
        f"    <errore-esteso>{escape(errore_esteso)}</errore-esteso>" if errore_esteso else "",
        "  </dati>",
        "</postacert>",
    ]
    return ("\r\n".join(line for line in lines if line) + "\r\n").encode()


def original_message(*, sender: str, to: list[str], subject: str, text: str, message_id: str | None = None,
                     name: str = "Studio Legale Bianchi",
                     attachment: tuple[str, bytes] | None = None, when: datetime = WHEN) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage(policy=policy.SMTP)
    message["From"] = f"{name} <{sender}>"
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(when - timedelta(minutes=1))
    message["Message-ID"] = message_id or make_msgid(domain=sender.split("@")[-1])
    message.set_content(text)
    if attachment:
        message.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return crlf(message.as_bytes())


def tamper(raw: bytes, old: bytes, new: bytes) -> bytes:
    """The same envelope with a word of the signed content changed (same length or not)."""
    assert old in raw
    return raw.replace(old, new, 1)
