"""parse_message / get_part_payload: the full parse of an opened message.

Whatever arrives, it returns headers, some text, every part a mail client would show (as display
data only), and notes on what it could not read; hostile shapes cost bounded time."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages_app.mime import parse
from messages_app.mime.html_text import html_to_text, make_preview
from messages_app.mime.parse import (
    ParsedMessage,
    ParseLimits,
    PartNotFoundError,
    get_part_payload,
    parse_message,
)
from tests.corpus import SHARED_CORPUS

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "eml"
CORPUS = SHARED_CORPUS
ALL_MESSAGES = sorted(FIXTURES.glob("*.eml")) + (
    sorted(path for path in CORPUS.rglob("*") if path.is_file()) if CORPUS.is_dir() else []
)
PDF_SIZE = 45  # the tiny PDF used by the fixtures


@pytest.fixture(autouse=True)
def _loopback_servers_allowed():
    """Overrides the suite-wide Django settings fixture: these tests are pure (run with -p no:django too)."""


def raw_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parsed(name: str) -> ParsedMessage:
    return parse_message(raw_of(name))


def by_name(parts, filename: str):
    return next(part for part in parts if part.filename == filename)


def nested_multiparts(depth: int) -> bytes:
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n) for n in range(depth))
    closing = b"".join(b"\r\n--b%d--" % n for n in reversed(range(depth)))
    return b"From: a@example.com\r\nSubject: deep\r\n" + opening + b"Content-Type: text/plain\r\n\r\nhello" + closing


@pytest.mark.parametrize("path", ALL_MESSAGES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_it_parses_every_fixture_and_corpus_message_and_can_fetch_every_part(path: Path):
    raw = path.read_bytes()

    message = parse_message(raw)

    assert isinstance(message, ParsedMessage)
    for text in (message.text, message.html, message.preview):
        assert "\x00" not in text
    assert len(message.preview) <= 200 and "\n" not in message.preview
    assert len(message.notes) <= 50
    for part in message.attachments + message.inline_parts:
        assert "/" not in part.filename and "\\" not in part.filename
        assert len(get_part_payload(raw, part.part_path)) == part.size


def test_it_lists_the_pec_original_message_the_certificate_data_and_the_signature():
    message = parsed("pec_posta_certificata.eml")

    assert message.headers.subject == "POSTA CERTIFICATA: Fattura n. 12/2024"
    assert message.text.startswith("Messaggio di posta certificata")
    assert by_name(message.attachments, "postacert.eml").content_type == "message/rfc822"
    assert by_name(message.attachments, "daticert.xml").content_type == "application/xml"
    assert by_name(message.attachments, "smime.p7s").content_type == "application/x-pkcs7-signature"
    assert "The message is signed; the signature was not verified." in message.notes


def test_it_opens_the_pec_original_from_its_attachment_bytes():
    raw = raw_of("pec_posta_certificata.eml")
    postacert = by_name(parse_message(raw).attachments, "postacert.eml")

    original = parse_message(get_part_payload(raw, postacert.part_path))

    assert original.headers.subject == "Fattura n. 12/2024"
    assert original.text.startswith("Si trasmette in allegato")
    assert [(part.filename, part.size) for part in original.attachments] == [("fattura_12_2024.pdf", PDF_SIZE)]


def test_it_reads_a_pec_acceptance_receipt():
    message = parsed("pec_ricevuta_accettazione.eml")

    assert message.headers.subject.startswith("ACCETTAZIONE: ")
    assert b'tipo="accettazione"' in get_part_payload(
        raw_of("pec_ricevuta_accettazione.eml"), by_name(message.attachments, "daticert.xml").part_path
    )


def test_it_reduces_a_path_traversal_filename_to_a_display_name():
    message = parsed("rfc2231_path_traversal_filename.eml")

    assert [part.filename for part in message.attachments] == ["x", "evil.dll", "passwd.txt"]


def test_it_drops_bidi_overrides_and_control_characters_from_filenames():
    message = parsed("rtlo_and_control_filename.eml")

    assert [part.filename for part in message.attachments] == ["invoicefdp.exe", "badname.pdf"]


def test_it_decodes_encoded_word_and_raw_8bit_filenames():
    assert parsed("encoded_word_filename_outlook.eml").attachments[0].filename == "Relazione trimestrale – Q1.pdf"
    if CORPUS.is_dir():  # a raw Latin-1 filename in a 2000-era Eudora message
        legacy = parse_message((CORPUS / "legacy" / "016.eml").read_bytes())
        assert legacy.attachments[-1].filename == "HasenundFrösche.txt"


def test_it_keeps_headers_free_of_encoded_newlines():
    message = parsed("subject_encoded_newline.eml")

    assert "\n" not in message.headers.subject and "\r" not in message.headers.from_name


def test_it_still_yields_text_for_an_unknown_charset():
    message = parsed("charset_unknown_x_unknown.eml")

    assert message.text == "Il caffè è già pronto.\n"
    assert any("x-unknown" in note for note in message.notes)


def test_it_decodes_windows_1252_declared_as_utf8():
    assert parsed("charset_cp1252_declared_utf8.eml").text == "“Smart quotes” and a café that costs €5.\n"


def test_it_never_lets_a_charset_label_pick_a_compression_codec():
    message = parsed("charset_zlib_codec_label.eml")

    assert "AAAA" not in message.text
    assert len(message.text) < 1000


def test_it_lists_a_calendar_invitation_as_an_attachment_with_its_type():
    raw = raw_of("calendar_invitation_request.eml")
    message = parse_message(raw)

    calendar = next(part for part in message.attachments if part.content_type == "text/calendar")
    assert b"METHOD:REQUEST" in get_part_payload(raw, calendar.part_path)
    assert by_name(message.attachments, "invite.ics").content_type == "application/ics"
    assert message.text.startswith("Sei stato invitato a: Revisione trimestrale")
    assert "<b>Revisione trimestrale</b>" in message.html


def test_it_finds_inline_images_by_content_id():
    message = parsed("apple_mail_inline_images.eml")

    [image] = message.inline_parts
    assert image.content_id == "F1E2D3C4-B5A6-4798-8A9B-0C1D2E3F4A5B"
    assert f"cid:{image.content_id}" in message.html
    assert message.attachments == []
    assert message.text.startswith("Ecco le foto di oggi.")


def test_it_lists_outlook_winmail_dat_as_an_attachment_beside_the_inline_logo():
    message = parsed("outlook_related_tnef_winmail.eml")

    assert [(part.filename, part.content_type) for part in message.attachments] == [
        ("winmail.dat", "application/ms-tnef")
    ]
    assert [part.content_id for part in message.inline_parts] == ["image001.png@01DA6E0A.5B8C1E20"]
    assert "Il totale è invariato." in message.text


def test_it_previews_an_html_only_message_without_tags_scripts_or_styles():
    message = parsed("html_only.eml")

    assert message.text == ""
    assert message.preview.startswith("Offerte della settimana Sconti fino al 50% & spedizione gratuita € 0.")
    assert re.search(r"<[a-z/!]", message.preview) is None
    assert "alert" not in message.preview and "color" not in message.preview and "title" not in message.preview


def test_it_shows_a_bounce_report_and_its_parts():
    message = parsed("dsn_bounce_multipart_report.eml")

    assert "could not" in message.text
    assert [part.content_type for part in message.attachments] == ["message/delivery-status", "message/rfc822"]
    assert message.headers.auto_submitted == "auto-replied"


def test_it_keeps_the_parts_before_a_missing_closing_boundary():
    message = parsed("missing_closing_boundary.eml")

    assert message.text == "Il file segue.\n"
    assert [(part.filename, part.size) for part in message.attachments] == [("report.pdf", PDF_SIZE)]
    assert any("close boundary" in note for note in message.notes)


def test_it_shows_a_multipart_without_boundary_as_text():
    message = parsed("multipart_without_boundary.eml")

    assert "names no boundary" in message.text
    assert any("no boundary parameter" in note for note in message.notes)


def test_it_decodes_damaged_base64_as_far_as_possible():
    message = parsed("base64_bad_padding.eml")

    assert message.text == "Testo in base64 senza padding: città"
    assert by_name(message.attachments, "odd.bin").size == 8
    assert any("base64 data is damaged" in note for note in message.notes)


def test_it_decodes_quoted_printable_with_soft_line_errors():
    message = parsed("quoted_printable_soft_line_errors.eml")

    assert "Lowercase è decodes" in message.text and "=ZZ" in message.text


def test_it_lists_a_forwarded_message_once_and_opens_three_levels_deep():
    raw = raw_of("forwarded_rfc822_three_levels.eml")
    for expected_subject in ("Fwd: Fwd: Level 3 original", "Fwd: Level 3 original", "Level 3 original"):
        [forwarded] = parse_message(raw).attachments
        assert forwarded.content_type == "message/rfc822"
        raw = get_part_payload(raw, forwarded.part_path)
        assert parse_message(raw).headers.subject == expected_subject
    assert parse_message(raw).text == "The innermost message.\n"


def test_it_notes_signed_and_encrypted_content_it_does_not_verify_or_decrypt():
    signed = parsed("smime_signed.eml")
    assert signed.text == "This message is signed.\n"
    assert [part.filename for part in signed.attachments] == ["smime.p7s"]
    assert any("not decrypted" in note for note in parsed("smime_encrypted_pkcs7_mime.eml").notes)
    assert any("not decrypted" in note for note in parsed("pgp_encrypted.eml").notes)


def test_it_notes_uuencoded_text():
    assert any("uuencoded" in note for note in parsed("uuencoded_body.eml").notes)


def test_it_removes_nul_bytes():
    message = parsed("nul_bytes.eml")

    assert message.text == "Text with a NUL byte and another one.\n"
    assert message.headers.subject == "NUL in the subject"


@pytest.mark.parametrize("kind", ["crlf", "lf", "cr_only", "mixed"])
def test_it_reads_the_same_message_whatever_the_line_endings(kind: str):
    raw = raw_of(f"line_endings_{kind}.eml")
    message = parse_message(raw)

    assert message.text == "First line.\nSecond line.\n"
    [attachment] = message.attachments
    assert get_part_payload(raw, attachment.part_path) == bytes(range(10))


def test_it_lists_digest_entries_as_messages():
    message = parsed("multipart_digest.eml")

    assert [part.content_type for part in message.attachments] == ["message/rfc822", "message/rfc822"]


@pytest.mark.parametrize("name", ["empty.eml", "headers_only_no_body.eml"])
def test_it_returns_an_empty_body_for_empty_and_header_only_messages(name: str):
    message = parsed(name)

    assert (message.text, message.html, message.attachments) == ("", "", [])


def test_it_cuts_overlong_content_headers_before_the_slow_header_parser_sees_them():
    started = time.monotonic()
    message = parsed("huge_content_disposition.eml")

    assert time.monotonic() - started < 1.0
    assert message.attachments[0].size == 3
    assert any("overlong or overly nested Content-* header" in note for note in message.notes)


def test_it_survives_a_content_type_made_of_nested_comments():
    raw = b"Content-Type: text/plain; charset=" + b"(" * 4000 + b"\r\n\r\nhello\r\n"

    assert parse_message(raw).text == "hello\n"


@pytest.mark.parametrize("path", ["", "0", "9", "1.1", "1.2.3.4", "abc", "1..2", "-1"])
def test_it_refuses_part_paths_that_name_no_part(path: str):
    with pytest.raises(PartNotFoundError):
        get_part_payload(raw_of("smime_signed.eml"), path)


@pytest.mark.parametrize("depth", [1000, 2000])
def test_it_stops_at_the_nesting_limit_quickly_with_a_note(depth: int):
    started = time.monotonic()
    message = parse_message(nested_multiparts(depth))

    assert time.monotonic() - started < 2.0
    assert "Parts nested deeper than 50 levels were not read." in message.notes
    assert message.headers.subject == "deep"


def test_it_reads_text_nested_up_to_the_limit():
    assert parse_message(nested_multiparts(50)).text == "hello"


def test_it_stops_after_the_part_limit_on_100000_empty_parts():
    raw = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\n\r\n" * 100_000 + b"--a--\r\n"
    started = time.monotonic()

    message = parse_message(raw)

    assert time.monotonic() - started < 3.0
    assert "Only the first 500 parts were read." in message.notes


def test_it_parses_a_50_mb_message_in_bounded_time_with_the_attachment_size_right():
    data = bytes(range(256)) * (37_500_000 // 256)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    raw = (
        b"From: a@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--XX\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=big.bin\r\n\r\n" + encoded + b"--XX--\r\n"
    )
    assert len(raw) > 50_000_000
    started = time.monotonic()

    message = parse_message(raw)

    assert time.monotonic() - started < 10.0  # about 1.5 s here
    assert message.text == "see attachment"
    assert [(part.filename, part.size) for part in message.attachments] == [("big.bin", len(data))]
    assert message.notes == []


def test_it_returns_what_it_has_when_the_time_budget_runs_out():
    message = parse_message(raw_of("pec_posta_certificata.eml"), limits=ParseLimits(time_budget=0.0))

    assert message.headers.subject == "POSTA CERTIFICATA: Fattura n. 12/2024"
    assert any("longer than 0 s" in note for note in message.notes)


def test_it_reads_only_the_start_of_a_message_above_the_size_limit():
    message = parse_message(b"Subject: big\r\n\r\n" + b"x" * 5000, limits=ParseLimits(max_bytes=1000))

    assert len(message.text) < 1000
    assert any("only the start was read" in note for note in message.notes)


def test_it_falls_back_to_the_raw_body_text_when_the_structure_cannot_be_walked(monkeypatch):
    def explode(*args, **kwargs):
        raise RecursionError

    monkeypatch.setattr(parse._Walker, "visit", explode)

    message = parse_message(b"Subject: s\r\nContent-Type: text/plain\r\n\r\ncaff\xe8\r\n")

    assert message.text == "caffè"
    assert "The message structure could not be fully read (RecursionError)." in message.notes


@pytest.mark.parametrize("hostile", ["<!--" * 100_000, "<" * 300_000, "<a" * 150_000, "<style>" * 50_000])
def test_it_strips_hostile_html_in_linear_time(hostile: str):
    started = time.monotonic()
    html_to_text(hostile)

    assert time.monotonic() - started < 1.0


def test_it_keeps_tags_aligned_when_lowercasing_would_change_the_length():
    assert html_to_text("İİİİ<STYLE>hidden</STYLE><P>Hello</P>").split() == ["İİİİ", "Hello"]


def test_it_builds_a_short_single_line_preview():
    assert make_preview("  Hello\n\n  world \u200b " + "x" * 500, "") == "Hello world " + "x" * 188
    assert make_preview("", "<p>Hi&nbsp;<b>there</b></p><script>x()</script>") == "Hi there"


MIME_PIECES = st.lists(
    st.sampled_from(
        [
            b"--b\r\n",
            b"--b--\r\n",
            b"--c\r\n",
            b"Content-Type: multipart/mixed; boundary=c\r\n",
            b"Content-Type: message/rfc822\r\n",
            b"Content-Type: text/html; charset=x-unknown\r\n",
            b"Content-Transfer-Encoding: base64\r\n",
            b"Content-Transfer-Encoding: quoted-printable\r\n",
            b"Content-Disposition: attachment; filename*=utf-8''..%2Fx\r\n",
            b"\r\n",
            b"SGVsbG8=\r\n",
            b"=E8=\r\n",
            b"<p>hi</p>\r\n",
            b"\xff\xfe\x00\r\n",
        ]
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_it_never_raises_on_random_bytes(raw: bytes):
    assert isinstance(parse_message(raw), ParsedMessage)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MIME_PIECES)
def test_it_never_raises_on_random_mime_structures(pieces: list[bytes]):
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"".join(pieces)

    message = parse_message(raw)

    for part in message.attachments + message.inline_parts:
        assert len(get_part_payload(raw, part.part_path)) == part.size
