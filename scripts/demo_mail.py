"""The demo's mailboxes: a few hundred believable messages for two accounts of one person.

Work account: clients and suppliers in threads (replies in Sent), invoices and offers with
attachments, HTML newsletters with a logo and remote images, an Italian PEC receipt, a few
flagged and a few unread. Personal account: friends, shop orders, travel, an archive hierarchy.
Deterministic (one seeded Random) but dated relative to now, so the newest mail is from today.
"""

import random
import struct
import zlib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

WORK = ("Olga Ferri", "olga.ferri@acme.test")
HOME = ("Olga Ferri", "olga@casa.test")

PEOPLE = [
    ("Mario Rossi", "mario.rossi@edilnord.test", "Edilnord"),
    ("Giulia Bianchi", "g.bianchi@studiobianchi.test", "Studio Bianchi"),
    ("Luca Romano", "luca@logisticaromano.test", "Logistica Romano"),
    ("Chiara Colombo", "chiara.colombo@ceramiche.test", "Ceramiche Colombo"),
    ("Paolo Ricci", "p.ricci@meccanicasud.test", "Meccanica Sud"),
    ("Francesca Greco", "francesca@hotel-lago.test", "Hotel Lago"),
    ("Andrea Conti", "andrea.conti@assicurazioni.test", "Conti Assicurazioni"),
    ("Sara Gallo", "sara.gallo@cantinacolli.test", "Cantina dei Colli"),
]
COLLEAGUES = [("Marco Moretti", "marco.moretti@acme.test"), ("Elena Fontana", "elena.fontana@acme.test")]
FRIENDS = [("Anna", "anna.verdi@posta.test"), ("Davide", "davide.b@posta.test"), ("Mamma", "mamma@casa.test")]
TOPICS = [
    ("Offerta fornitura piastrelle {n}", "vi inviamo l'offerta per la fornitura richiesta, valida trenta giorni"),
    ("Preventivo ristrutturazione uffici", "in allegato il preventivo aggiornato con le voci che avevamo discusso"),
    ("Consegna ordine n. {n}", "la consegna è prevista per giovedì mattina, il corriere vi chiamerà prima"),
    ("Rinnovo contratto di assistenza", "il contratto di assistenza scade a fine mese: procediamo con il rinnovo?"),
    ("Riunione di avanzamento progetto", "propongo di vederci martedì alle 10 per fare il punto sul progetto"),
    ("Sollecito pagamento fattura {n}", "dalle nostre verifiche la fattura risulta ancora da saldare"),
    ("Campionatura tessuti", "abbiamo preparato la campionatura che ci avete chiesto, passate pure a ritirarla"),
    ("Reclamo spedizione danneggiata", "due colli sono arrivati danneggiati, alleghiamo le foto"),
]
HOME_SUBJECTS = [
    ("Pranzo di sabato", "Ci vediamo sabato per il pranzo? Porto io il dolce."),
    ("Le foto della gita", "Ti mando le foto della gita, quella sul lago è venuta benissimo!"),
    ("Novità dal paese", "Hai sentito le novità? Riaprono il cinema in piazza."),
    ("Compleanno di Luca", "Ricordati del compleanno di Luca domenica."),
    ("Cena da noi venerdì?", "Venerdì sera cena da noi? Ho prenotato anche il vino buono."),
    ("Vacanze di agosto", "Per agosto pensavamo alla Sicilia, vi unite?"),
    ("Ricetta della torta", "Ecco la ricetta della torta di mele: poco zucchero e tanta cannella."),
    ("Concerto in piazza", "Sabato c'è il concerto in piazza, ci andiamo insieme?"),
    ("Il libro che ti dicevo", "Ho finito il libro che ti dicevo, te lo porto la prossima volta."),
    ("Foto del compleanno", "Ecco qualche foto della festa, Luca era felicissimo."),
    ("Chiamami quando puoi", "Chiamami quando puoi, niente di urgente."),
    ("Mercatino di Natale", "Quest'anno il mercatino di Natale apre prima: andiamo il primo weekend?"),
]
REPLIES = ["Grazie, ricevuto. Vi aggiorno entro domani.", "Perfetto, confermo.", "Va bene per noi, procediamo pure.",
           "Possiamo spostare a mercoledì?", "Ho girato la richiesta all'amministrazione.", "Ottimo, grazie mille!"]


def _message(subject, sender, to, when, body, *, message_id=None, in_reply_to=None, references=None, cc=None):
    message = EmailMessage()
    message["From"] = f"{sender[0]} <{sender[1]}>"
    message["To"] = ", ".join(f"{name} <{addr}>" for name, addr in to)
    if cc:
        message["Cc"] = ", ".join(f"{name} <{addr}>" for name, addr in cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id or make_msgid(domain=sender[1].split("@")[1])
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join(references or [in_reply_to])
    message.set_content(body)
    return message


def _pdf(title: str) -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n% " + title.encode()
            + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _png(size: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain square PNG, built by hand (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


LOGO_PNG = _png(16, (192, 57, 43))
PHOTO_PNG = _png(64, (46, 134, 193))


def _newsletter(shop: str, sender: tuple[str, str], to, when, n: int) -> EmailMessage:
    domain = sender[1].split("@")[1]
    week = when.isocalendar().week
    message = _message(f"{shop}: le novità della settimana {week}", sender, [to], when,
                       f"Le novità di {shop}. Apri la versione HTML per vedere le offerte.")
    html = f"""<table width="100%" style="background-color:#f4f4f4"><tr><td>
      <table width="560" align="center" style="background-color:#ffffff; padding:16px; font-family:Arial">
        <tr><td><img src="cid:logo@{domain}" width="16" height="16" alt=""> <b>{shop}</b></td></tr>
        <tr><td><h2 style="color:#c0392b">Sconti fino al 40% su tutta la collezione</h2>
          <img src="https://images.{domain}/banner-{n}.jpg" width="520" height="160" alt="">
          <p>Gentile cliente, questa settimana abbiamo selezionato per te le migliori offerte della stagione.</p>
          <p><a href="https://{domain}/offerte?utm_source=newsletter">Scopri le offerte</a></p>
          <p style="font-size:11px;color:#888">Ricevi questa email perché sei iscritta alla newsletter.
          <a href="https://{domain}/disiscriviti">Disiscriviti</a></p></td></tr>
      </table></td></tr></table>"""
    message.add_alternative(html, subtype="html")
    message.get_payload()[1].add_related(LOGO_PNG, maintype="image", subtype="png", cid=f"<logo@{domain}>")
    return message


def _pec(to, when) -> EmailMessage:
    """An Aruba-style PEC envelope: the original as postacert.eml, the receipt data as daticert.xml."""
    original = _message(
        "Notifica avvio procedimento prot. 2026/1184", ("Comune di Bergamo", "protocollo@pec.comune.bergamo.test"),
        [to], when, "Si comunica l'avvio del procedimento amministrativo relativo alla pratica edilizia n. 1184.\n"
        "Il responsabile del procedimento è l'ing. Laura Pellegrini.\n\nCordiali saluti,\nUfficio Protocollo")
    envelope = EmailMessage()
    envelope["From"] = '"Per conto di: protocollo@pec.comune.bergamo.test" <posta-certificata@pec.aruba.test>'
    envelope["To"] = f"{to[0]} <{to[1]}>"
    envelope["Subject"] = "POSTA CERTIFICATA: Notifica avvio procedimento prot. 2026/1184"
    envelope["Date"] = format_datetime(when)
    envelope["Message-ID"] = make_msgid(domain="pec.aruba.test")
    envelope["X-Trasporto"] = "posta-certificata"
    envelope["X-Riferimento-Message-ID"] = original["Message-ID"]
    envelope.set_content("Messaggio di posta certificata\n\nIl giorno " + when.strftime("%d/%m/%Y alle ore %H:%M")
                         + " il messaggio \"Notifica avvio procedimento prot. 2026/1184\" è stato inviato da "
                         "\"protocollo@pec.comune.bergamo.test\" indirizzato a:\n" + to[1]
                         + "\nIl messaggio originale è incluso in allegato.\nIdentificativo messaggio: "
                         + original["Message-ID"])
    daticert = (f'<?xml version="1.0" encoding="UTF-8"?><postacert tipo="posta-certificata" errore="nessuno">'
                "<intestazione><mittente>protocollo@pec.comune.bergamo.test</mittente>"
                f"<destinatari tipo=\"certificato\">{to[1]}"
                "</destinatari><oggetto>Notifica avvio procedimento prot. 2026/1184</oggetto></intestazione>"
                f"<dati><gestore-emittente>ARUBA PEC S.p.A.</gestore-emittente><data zona=\"+0100\"><giorno>"
                f"{when:%d/%m/%Y}</giorno><ora>{when:%H:%M:%S}</ora></data></dati></postacert>")
    envelope.add_attachment(daticert.encode(), maintype="application", subtype="xml", filename="daticert.xml")
    envelope.add_attachment(original, filename="postacert.eml")
    envelope.add_attachment(b"0\x82\x06\x00demo-signature", maintype="application", subtype="pkcs7-signature",
                            filename="smime.p7s")
    return envelope


def work_mailbox(now: datetime, rng: random.Random) -> dict[str, list[tuple[bytes, str, datetime]]]:
    """{folder: [(raw, maildir flags, date)]} for the work account."""
    folders: dict[str, list] = {"INBOX": [], "Sent": [], "Clienti": [], "Clienti.Edilnord": [], "Fornitori": []}
    recent = now - timedelta(minutes=5)
    for n in range(60):  # conversations: first message from a client, replies alternating
        person = PEOPLE[n % len(PEOPLE)]
        subject, line = TOPICS[n % len(TOPICS)]
        subject = subject.format(n=2400 + n)
        start = recent - timedelta(days=n * 0.9 + rng.random(), minutes=rng.randint(0, 600))
        body = f"Buongiorno Olga,\n\n{line}.\n\nCordiali saluti,\n{person[0]}\n{person[2]}"
        first = _message(subject, person[:2], [WORK], start, body)
        if "alleg" in line and "foto" in line:  # the text promises an attachment: it has one
            first.add_attachment(PHOTO_PNG, maintype="image", subtype="png", filename="collo-danneggiato.png")
        elif "alleg" in line or n % 4 == 0:
            first.add_attachment(_pdf(subject), maintype="application", subtype="pdf",
                                 filename=f"{subject.split(' ')[0].lower()}-{2400 + n}.pdf")
        if n % 11 == 3:
            first.add_attachment(b"voce;quantita;prezzo\npiastrelle 30x30;120;18,50\n", maintype="text",
                                 subtype="csv", filename="dettaglio.csv")
        chain, when = [first], start
        for turn in range(rng.choice([0, 0, 1, 2, 3, 4])):
            when = when + timedelta(hours=rng.randint(1, 20))
            if when > recent:
                break
            sender = WORK if turn % 2 == 0 else person[:2]
            to = person[:2] if turn % 2 == 0 else WORK
            reply = _message(f"Re: {subject}", sender, [to], when,
                             rng.choice(REPLIES) + f"\n\n> {line}.", in_reply_to=chain[-1]["Message-ID"],
                             references=[m["Message-ID"] for m in chain],
                             cc=[COLLEAGUES[turn % 2]] if turn == 1 else None)
            chain.append(reply)
        for index, message in enumerate(chain):
            mine = message["From"].endswith(f"<{WORK[1]}>")
            age_days = (now - _date(message)).days
            flags = "S" if mine or age_days > 2 or rng.random() < 0.5 else ""
            if not mine and n % 13 == 5 and index == 0:
                flags += "F"
            folder = "Sent" if mine else ("Clienti.Edilnord" if person[2] == "Edilnord" and age_days > 20 else "INBOX")
            folders[folder].append((bytes(message), flags, _date(message)))
    for n in range(24):
        when = now - timedelta(days=n * 2 + 1, hours=rng.randint(0, 12))
        shop, sender = rng.choice([("Ufficio Moderno", ("Ufficio Moderno", "news@ufficiomoderno.test")),
                                   ("CartoLibreria", ("CartoLibreria", "offerte@cartolibreria.test"))])
        folders["INBOX"].append((bytes(_newsletter(shop, sender, WORK, when, n)), "S" if n > 1 else "", when))
    for n in range(18):
        when = now - timedelta(days=n * 3 + 2)
        invoice = _message(f"Fattura n. {900 + n}/2026", ("Amministrazione Carta&Co", "fatture@cartaeco.test"),
                           [WORK], when, "In allegato la fattura del mese.")
        invoice.add_attachment(_pdf(f"Fattura {900 + n}/2026"), maintype="application", subtype="pdf",
                               filename=f"fattura-{900 + n}-2026.pdf")
        folders["Fornitori"].append((bytes(invoice), "S", when))
    pec_when = now - timedelta(hours=3)
    folders["INBOX"].append((bytes(_pec(WORK, pec_when)), "", pec_when))
    return folders


def home_mailbox(now: datetime, rng: random.Random) -> dict[str, list[tuple[bytes, str, datetime]]]:
    folders: dict[str, list] = {"INBOX": [], "Sent": [], "Archivio": [], "Archivio.2025": [], "Viaggi": []}
    for n in range(70):
        friend = FRIENDS[n % len(FRIENDS)]
        when = now - timedelta(days=n * 1.3 + rng.random(), hours=rng.randint(0, 10))
        subject, line = HOME_SUBJECTS[n % len(HOME_SUBJECTS)]
        text = f"Ciao Olga,\n{line}\n\nUn abbraccio,\n{friend[0]}"
        message = _message(subject, friend, [HOME], when, text)
        if "foto" in line:
            message.add_attachment(PHOTO_PNG, maintype="image", subtype="png", filename=f"foto-{n}.png")
        folder = "Archivio.2025" if n > 60 else ("Archivio" if n > 45 else "INBOX")
        folders[folder].append((bytes(message), "S" if n > 4 else "", when))
    for n in range(20):
        when = now - timedelta(days=n * 4 + 1)
        order = _message(f"Il tuo ordine #{70321 + n} è stato spedito", ("Negozio Online", "ordini@negozio.test"),
                         [HOME], when, f"Il tuo ordine #{70321 + n} è in viaggio. Consegna prevista entro 3 giorni.")
        folders["INBOX"].append((bytes(order), "S" if n else "", when))
    for n in range(8):
        when = now - timedelta(days=30 + n * 9)
        destination = ["FCO", "CTA", "BCN", "LIS"][n % 4]
        booking = _message(f"Conferma prenotazione volo BGY-{destination}",
                           ("Volare Facile", "booking@volarefacile.test"), [HOME], when,
                           "La tua prenotazione è confermata. Carta d'imbarco in allegato.")
        booking.add_attachment(_pdf(f"Carta d'imbarco BGY-{destination}"), maintype="application", subtype="pdf",
                               filename=f"carta-imbarco-{destination.lower()}.pdf")
        folders["Viaggi"].append((bytes(booking), "SF" if n == 0 else "S", when))
    return folders


def _date(message: EmailMessage) -> datetime:
    return message["Date"].datetime
