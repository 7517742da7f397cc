"""parse_header_block: the sync's fast header summary. It must never raise and never emit text
that could break a reply (line breaks, NUL) or a database row."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages_app.mime.headers import HeaderSummary, extract_msg_ids, parse_header_block, parse_header_block_with_notes
from tests.corpus import SHARED_CORPUS

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "eml"
CORPUS = SHARED_CORPUS
ALL_MESSAGES = sorted(FIXTURES.glob("*.eml")) + (
    sorted(path for path in CORPUS.rglob("*") if path.is_file()) if CORPUS.is_dir() else []
)


@pytest.fixture(autouse=True)
def _loopback_servers_allowed():
    """Overrides the suite-wide Django settings fixture: these tests are pure (run with -p no:django too)."""


def fixture(name: str) -> HeaderSummary:
    return parse_header_block((FIXTURES / name).read_bytes())


def assert_clean(text: str) -> None:
    assert not any(ch in text for ch in "\r\n\x00\x85\u2028\u2029"), repr(text)


def test_it_finds_the_shared_corpus():
    if not CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared mail corpus is missing at {CORPUS}")
        pytest.skip(f"the shared mail corpus is not checked out at {CORPUS} (it is in CI)")
    assert len(list(CORPUS.rglob("*.eml"))) >= 100


@pytest.mark.parametrize("path", ALL_MESSAGES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_it_summarises_every_fixture_and_corpus_message_without_raising(path: Path):
    summary = parse_header_block(path.read_bytes())

    assert isinstance(summary, HeaderSummary)
    for text in (summary.subject, summary.from_name, summary.from_addr, summary.list_id, summary.message_id):
        assert_clean(text)
    for name, addr in summary.to + summary.cc + summary.reply_to:
        assert_clean(name)
        assert_clean(addr)
    assert len(summary.subject) <= 1000
    assert summary.date is None or summary.date.tzinfo is not None
    assert summary.message_id == "" or (summary.message_id.startswith("<") and summary.message_id.endswith(">"))
    assert len(summary.references) <= 100
    assert "/" in summary.content_type


def test_it_reads_the_usual_fields_of_a_reply():
    summary = fixture("gmail_alternative.eml")

    assert summary.subject == "Re: Riunione di giovedì"
    assert (summary.from_name, summary.from_addr) == ("Luca Neri", "luca.neri@gmail.example.com")
    assert summary.to == [("Mario Rossi", "mario.rossi@corp.example.com")]
    assert summary.date == datetime(2024, 3, 6, 9, 1, 2, tzinfo=UTC)
    assert summary.message_id == "<CAHx9Y=def456+qq@mail.gmail.com>"
    assert summary.in_reply_to == "<CAF=abc123@mail.gmail.com>"
    assert summary.references == ["<CAF=abc123@mail.gmail.com>"]
    assert summary.content_type == "multipart/alternative"
    assert summary.has_defects is False


def test_it_reads_only_the_header_block_of_a_whole_message():
    raw = b"Subject: real\r\n\r\nSubject: fake in the body\r\nFrom: body@example.com\r\n"

    summary = parse_header_block(raw)

    assert summary.subject == "real"
    assert summary.from_addr == ""


@pytest.mark.parametrize(
    ("name", "subject", "from_name"),
    [
        ("subject_big5.eml", "會議通知", "王小明"),
        ("subject_iso2022jp.eml", "お見積りの件", "山田太郎"),
        ("subject_koi8r.eml", "Счёт на оплату", "Иван"),
    ],
)
def test_it_decodes_east_asian_and_cyrillic_encoded_words(name: str, subject: str, from_name: str):
    summary = fixture(name)

    assert (summary.subject, summary.from_name, summary.has_defects) == (subject, from_name, False)


def test_it_turns_an_encoded_newline_in_the_subject_into_a_space():
    summary = fixture("subject_encoded_newline.eml")

    assert summary.subject == "x Bcc: y and line sep nel"
    assert summary.has_defects is True


def test_it_keeps_the_real_sender_when_an_encoded_display_name_hides_address_syntax():
    summary = fixture("subject_encoded_newline.eml")

    assert summary.from_addr == "attacker@example.net"
    assert summary.from_name == "Evil Bcc: victim@example.org"


def test_it_decodes_raw_utf8_headers_and_guesses_raw_latin1_ones_with_a_defect():
    summary, notes = parse_header_block_with_notes((FIXTURES / "raw_8bit_headers.eml").read_bytes())

    assert summary.subject == "Preventivo – offerta da 100 €"
    assert summary.to == [("Müller, Jürgen", "juergen@example.de")]
    assert (summary.from_name, summary.from_addr) == ("José Pérez", "jose@example.es")
    assert summary.has_defects is True
    assert notes == ["The From header could not be parsed reliably."]


def test_it_decodes_what_it_can_of_broken_encoded_words():
    summary = fixture("broken_encoded_words.eml")

    assert summary.subject.startswith("Hello worldcaféè ok")
    assert summary.from_name == "Mario Rossi"
    assert summary.has_defects is True


def test_it_gives_no_date_and_no_defect_when_the_date_is_missing():
    summary = fixture("no_date.eml")

    assert (summary.date, summary.has_defects) == (None, False)


@pytest.mark.parametrize(
    "value",
    [
        "next tuesday-ish, 99:99 +9999",
        "Mon, 32 Mar 2024 10:00:00 +0000",
        "Mon, 22 Mar 99999 09:41:09 +0000",
        "Fri, 31 Dec 9999 23:59:59 -1200",
    ],
)
def test_it_gives_no_date_and_a_defect_for_a_garbage_date(value: str):
    summary = parse_header_block(f"Date: {value}\r\n".encode())

    assert (summary.date, summary.has_defects) == (None, True)


def test_it_reads_minus_zero_zone_dates_as_utc():
    summary = parse_header_block(b"Date: 9 Mar 2024 07:05:00 -0000\r\n")

    assert summary.date == datetime(2024, 3, 9, 7, 5, tzinfo=UTC)


def test_it_flags_duplicate_message_ids_and_subjects_and_keeps_the_first():
    summary, notes = parse_header_block_with_notes((FIXTURES / "duplicate_message_id_and_subject.eml").read_bytes())

    assert summary.message_id == "<dup-1@corp.example.com>"
    assert summary.subject == "First subject"
    assert summary.has_defects is True
    assert any("Message-Id header appears 2 times" in note for note in notes)


def test_it_caps_huge_references_keeping_the_root_and_the_nearest_ancestors():
    summary = fixture("huge_references.eml")

    assert len(summary.references) == 100
    assert summary.references[0] == "<ref-00000.xxxxxxxxxxxxxxxxxxxx@lists.example.org>"
    assert summary.references[-1] == "<ref-02999.xxxxxxxxxxxxxxxxxxxx@lists.example.org>"
    assert summary.in_reply_to == summary.references[-1]


def test_it_normalises_message_ids_without_brackets_and_skips_comments_and_repeats():
    summary = fixture("message_id_without_brackets.eml")

    assert summary.message_id == "<1234.5678@host.example.com>"
    assert summary.in_reply_to == "<orig-1@host.example.com>"
    assert summary.references == ["<orig-0@host.example.com>", "<orig-1@host.example.com>"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("<a@x> <b@y>", ["<a@x>", "<b@y>"]),
        ("<a@x>\r\n <b@y> <a@x>", ["<a@x>", "<b@y>"]),
        ('Your message of "Mon" <a@x> (sent from a phone)', ["<a@x>"]),
        ("a@x", ["<a@x>"]),
        ("<has space@x> <ok@x> <>", ["<ok@x>"]),
        ("<bad\x01id@x>", []),
        ("<" + "x" * 300 + "@x>", []),
    ],
)
def test_it_extracts_message_ids(value: str, expected: list[str]):
    assert extract_msg_ids(value) == expected


def test_it_reads_the_mailing_list_headers():
    summary = fixture("mailing_list_list_id.eml")

    assert summary.list_id == "postino-dev.lists.example.org"
    assert summary.precedence == "list"
    assert summary.subject == "[postino-dev] Re: Release plan for 0.2"


def test_it_reads_the_auto_reply_headers():
    summary = fixture("out_of_office_auto_reply.eml")

    assert (summary.auto_submitted, summary.precedence, summary.x_auto_response_suppress) == (
        "auto-replied",
        "bulk",
        "All",
    )


def test_it_flags_a_from_header_with_two_addresses_and_digs_addresses_out_of_junk():
    summary = fixture("malformed_addresses.eml")

    assert (summary.from_name, summary.from_addr) == ("alice@bank.example", "mallory@evil.example")
    assert summary.to == [("", "laura@example.org")]
    assert summary.reply_to == [("<spoof@evil.example>", "real@example.com")]
    assert summary.has_defects is True


def test_it_survives_thousands_of_nested_comments_in_address_headers():
    summary = fixture("recursive_comment_from.eml")

    assert summary.from_addr == "x@example.net"
    assert summary.has_defects is True


def test_it_skips_a_malformed_header_line_instead_of_losing_the_rest():
    summary = parse_header_block(b"Fro :x <x@example.com>\r\nthis is no header\r\nSubject: kept\r\n\r\nbody")

    assert summary.subject == "kept"
    assert summary.has_defects is True


def test_it_reads_the_content_type_even_without_a_semicolon_before_parameters():
    summary = parse_header_block(b'Content-Type: multipart/mixed\r\n\tboundary="b"\r\n\r\n')

    assert summary.content_type == "multipart/mixed"


def test_it_caps_a_very_long_subject():
    summary = fixture("very_long_header_line.eml")

    assert len(summary.subject) == 1000
    assert summary.subject.startswith("Lunghissimo Lunghissimo")


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", bytearray(b"Subject: a\r\n"), memoryview(b"Subject: a\r\n")])
def test_it_accepts_empty_and_buffer_inputs(raw):
    assert isinstance(parse_header_block(raw), HeaderSummary)


def test_it_summarises_typical_header_blocks_at_sync_speed():
    raw = (FIXTURES / "thunderbird_mixed_pdf.eml").read_bytes()
    started = time.perf_counter()
    for _ in range(1000):
        parse_header_block(raw)
    # About 0.1 s here (roughly 10,000 blocks/s); the bound only catches an accidental slow path.
    assert time.perf_counter() - started < 2.0


HEADER_LINES = st.lists(
    st.tuples(
        st.sampled_from(["Subject", "From", "To", "Cc", "Date", "Message-ID", "References", "Content-Type", "X"]),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
        | st.sampled_from(["=?utf-8?B?Y?=", "=?x?q?=ZZ?=", "((((", '"a@b', "<>", "a@b, c@d", "=?utf-8?q?=0A?="]),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_it_never_raises_on_random_bytes(raw: bytes):
    summary = parse_header_block(raw)

    assert_clean(summary.subject)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HEADER_LINES)
def test_it_never_raises_on_random_header_values(lines: list[tuple[str, str]]):
    raw = "".join(f"{name}: {value}\r\n" for name, value in lines).encode("utf-8", "surrogateescape")

    summary = parse_header_block(raw)

    assert_clean(summary.subject)
    assert all("\n" not in addr for _, addr in summary.to)
