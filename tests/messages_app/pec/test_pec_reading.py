"""The pure PEC logic (pec/): classification, daticert.xml on hostile input, the parts of an
envelope, the signature check. Samples are built as PEC.md describes them."""

from datetime import UTC, datetime

import pytest

from messages_app.pec import kinds
from messages_app.pec.daticert import DaticertError, parse_daticert
from messages_app.pec.envelope import find_parts, parse_inner
from messages_app.pec.signature import INTACT, TAMPERED, TRUSTED, UNSIGNED, UNTRUSTED, check_signature
from tests.messages_app.pec.samples import daticert_xml, original_message, other_provider, provider, tamper

ORIGINAL = original_message(sender="avv.bianchi@pec.studio.test", to=["ufficio@pec.comune.test"],
                            subject="Diffida ad adempiere", text="Vi diffidiamo ad adempiere entro 15 giorni.\n",
                            message_id="<diffida-1@pec.studio.test>", attachment=("diffida.pdf", b"%PDF-1.4 diffida"))


@pytest.mark.parametrize(("trasporto", "ricevuta", "kind"), [
    ("posta-certificata", "", "posta-certificata"),
    ("errore", "", "errore"),
    ("", "accettazione", "accettazione"),
    ("", "Avvenuta-Consegna ", "avvenuta-consegna"),
    *[("", receipt, receipt) for receipt in kinds.RECEIPTS],
    ("", "", ""),
    ("posta-qualunque", "", ""),
    ("", "ricevuta-inventata", ""),
])
def test_only_the_provider_headers_classify(trasporto, ricevuta, kind):
    assert kinds.classify(x_trasporto=trasporto, x_ricevuta=ricevuta) == kind


def test_daticert_in_the_official_structure_is_read():
    data = parse_daticert(daticert_xml(tipo="errore-consegna", errore="no-dest", mittente="a@pec.test",
                                       destinatari=["b@pec.test", "c@pec.test"], oggetto="Contratto n. 5 & allegati",
                                       msgid="<x1@pec.test>", consegna="c@pec.test",
                                       errore_esteso="5.1.1 - Utente sconosciuto"))
    assert (data.tipo, data.errore, data.mittente, data.oggetto) == (
        "errore-consegna", "no-dest", "a@pec.test", "Contratto n. 5 & allegati")
    assert [r.address for r in data.destinatari] == ["b@pec.test", "c@pec.test"]
    assert {r.tipo for r in data.destinatari} == {"certificato"}
    assert (data.msgid, data.consegna) == ("<x1@pec.test>", "c@pec.test")
    assert data.errore_esteso == "5.1.1 - Utente sconosciuto"
    assert data.gestore == "Gestore di prova PEC S.p.A."
    assert data.data == datetime(2026, 11, 25, 9, 15, 3, tzinfo=UTC)
    assert data.data.utcoffset().total_seconds() == 3600


def test_daticert_in_latin1_with_odd_whitespace_and_no_doctype():
    xml = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<postacert  tipo="accettazione"  errore="nessuno">'
           "<intestazione><mittente>\n  a@pec.test\n</mittente><oggetto>Perché sì</oggetto></intestazione>"
           '<dati><gestore-emittente>Gestore</gestore-emittente><data zona="+0200"><giorno>01/07/2026</giorno>'
           "<ora>08:00:00</ora></data><identificativo>id-1</identificativo><msgid>&lt;m@x&gt;</msgid></dati>"
           "</postacert>").encode("iso-8859-1")
    data = parse_daticert(xml)
    assert (data.mittente, data.oggetto, data.msgid) == ("a@pec.test", "Perché sì", "<m@x>")
    assert data.data == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("hostile", [
    # billion laughs
    b'<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><postacert tipo="accettazione"><intestazione>'
    b"<mittente>&c;</mittente></intestazione></postacert>",
    # an external entity reading a local file
    b'<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<postacert tipo="accettazione"><intestazione><mittente>&x;</mittente></intestazione></postacert>',
    # a parameter entity pulling an external DTD
    b'<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
    b'<postacert tipo="accettazione"/>',
    b"<postacert tipo='accettazione'><intestazione>",  # truncated
    b"<html><body>not daticert</body></html>",
    b"<postacert>" + b"<a>" * 40 + b"</a>" * 40 + b"</postacert>",  # nested too deep
    b"<postacert>" + b" " * 300_000 + b"</postacert>",  # too big
])
def test_hostile_daticert_is_refused_not_expanded_or_fetched(hostile):
    with pytest.raises(DaticertError):
        parse_daticert(hostile)


def test_an_external_dtd_named_by_the_doctype_is_never_loaded():
    xml = daticert_xml(tipo="accettazione", mittente="a@pec.test", destinatari=["b@pec.test"], oggetto="x",
                       msgid="<m@x>").replace(b"Docs/daticert.dtd", b"http://127.0.0.1:9/daticert.dtd")
    assert parse_daticert(xml).mittente == "a@pec.test"


def test_the_envelope_parts_and_the_inner_message():
    raw = provider().envelope(ORIGINAL)
    parts = find_parts(raw)
    assert parts.daticert.tipo == "posta-certificata"
    assert parts.daticert.msgid == "<diffida-1@pec.studio.test>"
    assert (parts.daticert_path, parts.postacert_path, parts.signature_path) == ("1.2", "1.3", "2")
    inner = parse_inner(raw)
    assert inner.headers.subject == "Diffida ad adempiere"
    assert inner.headers.from_addr == "avv.bianchi@pec.studio.test"
    assert "entro 15 giorni" in inner.text and "Messaggio di posta certificata" not in inner.text
    assert [(a.filename, a.part_path) for a in inner.attachments] == [("diffida.pdf", "1.3.2")]


def test_an_anomaly_envelope_carries_the_message_too():
    raw = provider().envelope(ORIGINAL, anomaly=True)
    assert b"Subject: ANOMALIA MESSAGGIO: Diffida ad adempiere" in raw
    assert find_parts(raw).daticert.tipo == "errore"
    assert "entro 15 giorni" in parse_inner(raw).text


def test_a_receipt_has_no_inner_message_unless_completa():
    common = {"msgid": "<diffida-1@pec.studio.test>", "mittente": "a@pec.test", "destinatari": ["b@pec.test"],
              "oggetto": "Diffida"}
    short = provider().receipt("accettazione", **common)
    assert parse_inner(short) is None and find_parts(short).daticert.tipo == "accettazione"
    full = provider().receipt("avvenuta-consegna", consegna="b@pec.test", original=ORIGINAL, **common)
    assert find_parts(full).postacert_path and find_parts(full).daticert.consegna == "b@pec.test"


def test_signature_integrity_and_trust(tmp_path):
    raw = provider().envelope(ORIGINAL)
    trust = provider().write_ca(tmp_path / "ca.pem")
    assert check_signature(raw).status == INTACT  # no trust file: intact, issuer not verified
    trusted = check_signature(raw, trust_file=trust)
    assert trusted.status == TRUSTED and "Gestore di prova PEC" in trusted.signer
    assert check_signature(other_provider().envelope(ORIGINAL), trust_file=trust).status == UNTRUSTED
    assert check_signature(ORIGINAL).status == UNSIGNED


@pytest.mark.parametrize(("old", "new"), [
    (b"entro 15 giorni", b"entro 90 giorni"),  # the inner message's text
    (b"filename=\"diffida.pdf\"", b"filename=\"ricevuta.pdf\""),  # its attachment's name
])
def test_a_tampered_postacert_is_detected(old, new):
    tampered = check_signature(tamper(provider().envelope(ORIGINAL), old, new))
    assert tampered.status == TAMPERED and not tampered.intact
