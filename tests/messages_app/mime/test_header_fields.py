"""The header summary's fields for filters, out-of-office and PEC (Sender, Return-Path, PEC receipts,
unsubscribe, priority, auto-reply markers, address defects), and the fast header splitter giving
exactly what the stdlib path gives on every message we have."""

from __future__ import annotations

from pathlib import Path

import pytest

from messages_app.mime import headers
from messages_app.mime.headers import HeaderSummary, parse_header_block, parse_header_block_with_notes
from tests.corpus import SHARED_CORPUS

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "eml"
ALL_MESSAGES = sorted(FIXTURES.glob("*.eml")) + (
    sorted(path for path in SHARED_CORPUS.rglob("*") if path.is_file()) if SHARED_CORPUS.is_dir() else []
)


@pytest.fixture(autouse=True)
def _loopback_servers_allowed():
    """Overrides the suite-wide Django settings fixture: these tests are pure (run with -p no:django too)."""


def block(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def test_it_reads_a_pec_acceptance_receipt():
    summary = parse_header_block((FIXTURES / "pec_ricevuta_accettazione.eml").read_bytes())

    assert summary.x_ricevuta == "accettazione"
    assert summary.x_trasporto == "posta-certificata"
    assert summary.x_riferimento_message_id == "20240307101500.12345@mail.example.net"
    assert summary.subject == "ACCETTAZIONE: Fattura n. 12/2024"
    assert not summary.address_defects


def test_it_reads_a_pec_envelope_with_its_real_sender_in_reply_to_and_the_return_path():
    summary = parse_header_block((FIXTURES / "pec_posta_certificata.eml").read_bytes())

    assert summary.x_trasporto == "posta-certificata"
    assert summary.x_ricevuta == ""
    assert summary.x_riferimento_message_id == "20240307101500.12345@mail.example.net"
    assert (summary.from_name, summary.from_addr) == (
        "Per conto di: fornitore@pec.example.net",
        "posta-certificata@pec.example.net",
    )
    assert summary.reply_to == [("", "fornitore@pec.example.net")]
    assert summary.return_path == "posta-certificata@pec.example.net"


def test_it_reads_the_pec_submission_and_security_headers_lowercased():
    summary = parse_header_block(block(
        "From: fornitore@pec.example.net",
        "X-Ricevuta: Errore-Consegna",
        "X-Trasporto: errore",
        "X-TipoRicevuta: Completa",
        "X-VerificaSicurezza: errore",
        "X-Riferimento-Message-ID:\r\n <orig.1@mail.example.net>",
    ))

    assert (summary.x_ricevuta, summary.x_trasporto) == ("errore-consegna", "errore")
    assert (summary.x_tiporicevuta, summary.x_verificasicurezza) == ("completa", "errore")
    assert summary.x_riferimento_message_id == "orig.1@mail.example.net"


def test_it_reads_sender_delivery_and_list_headers():
    summary = parse_header_block(block(
        "Return-Path: <bounces+123@lists.example.org>",
        "Delivered-To: laura@example.it",
        "Delivered-To: info@example.it",
        "From: Newsletter <news@example.org>",
        "Sender: =?UTF-8?Q?Societ=C3=A0_Edilnord?= <mailer@esp.example.net>",
        "List-Unsubscribe: <mailto:unsub@example.org?subject=unsubscribe>,\r\n <https://example.org/u/abc>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "X-Spam-Flag: YES",
    ))

    assert summary.return_path == "bounces+123@lists.example.org"
    assert summary.delivered_to == "laura@example.it"  # the topmost: the last hop's recipient
    assert (summary.sender_name, summary.sender_addr) == ("Società Edilnord", "mailer@esp.example.net")
    assert summary.list_unsubscribe == "<mailto:unsub@example.org?subject=unsubscribe>, <https://example.org/u/abc>"
    assert summary.list_unsubscribe_post == "List-Unsubscribe=One-Click"
    assert summary.x_spam_flag == "yes"
    assert not summary.has_defects and not summary.address_defects


def test_the_null_return_path_of_a_bounce_is_empty_without_a_defect():
    summary = parse_header_block((FIXTURES / "null_sender_bounce_plain.eml").read_bytes())
    assert summary.return_path == ""
    null_path = parse_header_block(block("Return-Path: <>", "From: a@example.org"))
    assert null_path == HeaderSummary(from_addr="a@example.org")


def test_a_return_path_that_is_not_one_address_is_dropped_with_a_note():
    summary, notes = parse_header_block_with_notes(block("Return-Path: <a@x.org b@y.org>", "From: a@x.org"))
    assert summary.return_path == ""
    assert summary.has_defects and not summary.address_defects
    assert "The Return-Path header is not a single address." in notes


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Importance: High"], "high"),
        (["Importance: low"], "low"),
        (["Importance: Normal", "X-Priority: 1 (Highest)"], "normal"),  # Importance wins
        (["X-Priority: 1 (Highest)"], "high"),
        (["X-Priority: 2"], "high"),
        (["X-Priority: 3 (Normal)"], "normal"),
        (["X-Priority: 5 (Lowest)"], "low"),
        (["Importance: whenever", "X-Priority: 4"], "low"),
        (["X-Priority: 12"], ""),
        ([], ""),
    ],
)
def test_it_reads_the_importance_from_importance_or_x_priority(lines: list[str], expected: str):
    assert parse_header_block(block("From: a@example.org", *lines)).importance == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["X-Autoreply: yes"], "yes"),
        (["X-Autorespond: Out of office"], "out of office"),
        (["X-Autoreply: YES", "X-Autorespond: other"], "yes"),
        ([], ""),
    ],
)
def test_it_reads_the_auto_reply_markers(lines: list[str], expected: str):
    assert parse_header_block(block("From: a@example.org", *lines)).x_autoreply == expected


@pytest.mark.parametrize(
    "line",
    [
        'From: "unbalanced <alice@bank.example>',
        "From: alice@bank.example, mallory@evil.example",
        "Sender: mallory@evil.example@bank.example",
        "Reply-To: =?UTF-8?Q?a=0Ab?= <reply@example.org>",
        "To: <laura at example.org>",
        "Cc: (((((unclosed comment mallory@evil.example",
        "To: =?UTF-8?B?!!!notbase64?= <laura@example.org>",
    ],
)
def test_a_defective_address_header_sets_address_defects(line: str):
    summary = parse_header_block(block("Subject: hi", line) if not line.startswith("From:") else block(line))
    assert summary.address_defects and summary.has_defects


def test_a_repeated_address_header_sets_address_defects():
    summary = parse_header_block(block("From: alice@bank.example", "From: mallory@evil.example"))
    assert summary.from_addr == "alice@bank.example"
    assert summary.address_defects


def test_a_defect_outside_the_address_headers_leaves_address_defects_false():
    summary = parse_header_block(block("From: Alice <alice@example.org>", "Date: not a date", "Subject: a\x85b"))
    assert summary.has_defects
    assert not summary.address_defects


def test_clean_address_headers_have_no_address_defects():
    summary = parse_header_block(block(
        "From: =?UTF-8?Q?Societ=C3=A0_Edilnord_S.r.l.?= <info@edilnord.example>",
        "To: Laura <laura@example.org>, undisclosed-recipients:;",
        'Cc: "Bianchi, Anna" <anna@example.org>, "Rossi, Mario" <mario.rossi@example.it>',
        "Reply-To: ufficio@edilnord.example",
    ))
    assert summary.from_name == "Società Edilnord S.r.l."
    assert not summary.address_defects


def _stdlib_path(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[HeaderSummary, list[str]]:
    with monkeypatch.context() as patch:
        patch.setattr(headers, "_split_header_lines", lambda block: None)
        return parse_header_block_with_notes(raw)


@pytest.mark.parametrize("path", ALL_MESSAGES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_the_fast_splitter_and_the_stdlib_parser_give_the_same_summary(path: Path, monkeypatch):
    raw = path.read_bytes()
    assert parse_header_block_with_notes(raw) == _stdlib_path(raw, monkeypatch)


def test_the_fast_splitter_is_used_for_well_formed_headers(monkeypatch):
    calls = []
    real = headers._split_header_lines
    monkeypatch.setattr(headers, "_split_header_lines", lambda block: calls.append(real(block)) or calls[-1])
    parse_header_block((FIXTURES / "pec_ricevuta_accettazione.eml").read_bytes())
    assert calls and calls[0] is not None and calls[0]["x-ricevuta"] == ["accettazione"]
