"""build_message: what goes in comes back out through our own parser (parse.py and the header
summary), and no header text, however hostile, can add a header or reveal the Bcc."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messages_app.mime.build import (
    MAX_REFERENCES,
    Attachment,
    InlineImage,
    as_bytes,
    body_text,
    build_message,
    envelope_recipients,
    reply_headers,
)
from messages_app.mime.charset import clean_filename
from messages_app.mime.header_encoding import display_name, header_text
from messages_app.mime.headers import parse_header_block
from messages_app.mime.parse import get_part_payload, parse_message

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BUILT_HEADERS = {"from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
                 "mime-version", "content-type", "content-transfer-encoding"}
INJECTIONS = ["\r\nBcc: evil@attacker.example", "\nX-Injected: 1", "\rTo: evil@attacker.example",
              "\x85Cc: evil@attacker.example", "\u2028Reply-To: evil@attacker.example", "\u2029\r\n\r\nbody",
              "=?UTF-8?Q?x=0ABcc:_evil@attacker.example?="]


@pytest.fixture(autouse=True)
def _loopback_servers_allowed():
    """Overrides the suite-wide Django settings fixture: these tests are pure (run with -p no:django too)."""


def header_names(raw: bytes) -> list[str]:
    """Names of the header lines, a line ending at any CR or LF (as lenient servers read it)."""
    assert_crlf_only(raw)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0].lower() for line in re.split(r"\r\n|\r|\n", head) if not line[:1].isspace()]


def assert_crlf_only(raw: bytes) -> None:
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b""), raw


addresses = st.from_regex(r"[a-z0-9][a-z0-9+_-]{0,8}(\.[a-z0-9_-]{1,4})?@[a-z0-9]{1,8}\.(it|org|example)",
                          fullmatch=True)
tricky_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(INJECTIONS),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=20), st.sampled_from(INJECTIONS), st.text(max_size=20)),
    st.sampled_from(["Perché", "Società Edilnord S.r.l.", "Rossi, Mario", '"Quoted" \\ name', "😀 emoji ✉", "a  \t b"]),
)
bodies = st.text(max_size=300)
filenames = st.text(min_size=1, max_size=60).filter(lambda name: "=?" not in name and "\ufffd" not in name)
content_types = st.sampled_from(["application/pdf", "image/png", "text/plain", "text/csv", "application/zip",
                                 "application/vnd.ms-excel", "nonsense", "multipart/mixed"])
cids = st.from_regex(r"[a-z0-9.]{1,12}@[a-z]{1,8}\.example", fullmatch=True)


@PROPERTY
@given(
    from_name=tricky_text,
    from_addr=addresses,
    to=st.lists(st.tuples(tricky_text, addresses), min_size=1, max_size=4),
    cc=st.lists(st.tuples(tricky_text, addresses), max_size=3),
    subject=tricky_text,
    text=st.none() | bodies,
    html=st.none() | bodies,
    files=st.lists(st.tuples(filenames, content_types, st.binary(max_size=300)), max_size=3),
    image_cids=st.lists(cids, max_size=2, unique=True),
)
def test_what_is_built_parses_back_to_what_went_in(from_name, from_addr, to, cc, subject, text, html, files,
                                                   image_cids):
    if html is None and image_cids:
        html = ""
    if html is not None:
        html += "".join(f'<img src="cid:{cid}">' for cid in image_cids)
    images = [InlineImage(cid, "image/png", cid.encode() * 3, f"{n}.png") for n, cid in enumerate(image_cids)]
    message = build_message(
        from_addr=from_addr, from_name=from_name, to=to, cc=cc, bcc=[("Hidden", "hidden@bcc.example")],
        subject=subject, text=text, html=html,
        attachments=[Attachment(name, ctype, data) for name, ctype, data in files], inline_images=images,
    )
    raw = as_bytes(message)

    assert set(header_names(raw)) <= BUILT_HEADERS
    assert b"hidden@bcc.example" not in raw
    parsed = parse_message(raw)
    summary = parsed.headers
    assert summary == parse_header_block(raw)
    assert summary.subject == header_text(subject)
    assert (summary.from_name, summary.from_addr) == (display_name(from_name), from_addr)
    assert summary.to == [(display_name(name), addr) for name, addr in to]
    assert summary.cc == [(display_name(name), addr) for name, addr in cc]
    assert not summary.has_defects and not summary.address_defects
    assert summary.message_id.endswith(f"@{from_addr.split('@')[1]}>")
    assert parsed.text == ("" if text is None and html is not None else body_text(text or ""))
    assert parsed.html == ("" if html is None else body_text(html))
    assert [(part.content_id, part.content_type) for part in parsed.inline_parts] == [
        (cid, "image/png") for cid in image_cids
    ]
    for part, image in zip(parsed.inline_parts, images, strict=True):
        assert get_part_payload(raw, part.part_path) == image.data
    expected_names = [clean_filename(name) or "attachment" for name, _, _ in files]
    assert [part.filename for part in parsed.attachments] == expected_names
    for part, (_, _, data) in zip(parsed.attachments, files, strict=True):
        assert get_part_payload(raw, part.part_path) == data
    assert parsed.notes == []
    assert envelope_recipients(message, [("", "hidden@bcc.example")])[-1] == "hidden@bcc.example"


@PROPERTY
@given(value=tricky_text, extra=tricky_text)
def test_no_header_text_can_add_a_header(value, extra):
    message = build_message(
        from_addr="mario@edilnord.example", from_name=value, to=[(value, "laura@example.org")],
        reply_to=[(value, "ufficio@edilnord.example")], subject=value + extra, text=value,
        extra_headers={"X-Mailer": value, "Auto-Submitted": extra},
    )
    raw = as_bytes(message)

    assert header_names(raw) == ["from", "to", "reply-to", "subject", "date", "message-id", "x-mailer",
                                 "auto-submitted", "mime-version", "content-type", "content-transfer-encoding"]
    summary = parse_header_block(raw)
    assert summary.subject == header_text(value + extra)
    assert summary.reply_to == [(display_name(value), "ufficio@edilnord.example")]


def test_it_encodes_italian_names_and_subjects_with_rfc_2047_and_file_names_with_rfc_2231():
    raw = as_bytes(build_message(
        from_addr="info@edilnord.example", from_name="Società Edilnord S.r.l.", to=[("Perché Sì", "laura@example.it")],
        subject="Perché la fattura è già scaduta?", text="Buongiorno,\nla fattura è in allegato.",
        attachments=[Attachment("Fattura n°12 — società.pdf", "application/pdf", b"%PDF-1.4")],
    ))

    assert raw.isascii()
    assert b"Subject: =?utf-8?" in raw and b"From: =?utf-8?" in raw
    assert b"filename*=utf-8''Fattura%20n%C2%B012%20%E2%80%94%20societ%C3%A0.pdf" in raw
    parsed = parse_message(raw)
    assert parsed.headers.subject == "Perché la fattura è già scaduta?"
    assert parsed.headers.from_name == "Società Edilnord S.r.l."
    assert parsed.headers.to == [("Perché Sì", "laura@example.it")]
    assert parsed.text == "Buongiorno,\nla fattura è in allegato.\n"
    assert [part.filename for part in parsed.attachments] == ["Fattura n°12 — società.pdf"]


def test_a_subject_with_line_breaks_stays_one_header_line():
    raw = as_bytes(build_message(from_addr="a@example.org", to=[("", "b@example.org")],
                                 subject="Ciao\r\nBcc: evil@attacker.example\n\nbody?", text="x"))

    assert header_names(raw).count("bcc") == 0
    assert b"\r\nBcc:" not in raw
    assert parse_header_block(raw).subject == "Ciao Bcc: evil@attacker.example body?"


@pytest.mark.parametrize("field", ["subject", "from_name", "to_name", "extra_header"])
def test_an_encoded_newline_typed_into_a_header_is_sent_literally_not_decoded_into_a_header(field):
    # policy.default would decode it and write "Bcc: y" as a header line of its own.
    value = "About =?UTF-8?Q?x=0ABcc:_y@attacker.example?= in headers"
    arguments = {"subject": "x", "from_name": "", "to": [("", "b@example.org")], "extra_headers": {}}
    if field == "to_name":
        arguments["to"] = [(value, "b@example.org")]
    elif field == "extra_header":
        arguments["extra_headers"] = {"X-Note": value}
    else:
        arguments[field] = value
    raw = as_bytes(build_message(from_addr="a@example.org", text="", **arguments))

    assert "bcc" not in header_names(raw)
    summary = parse_header_block(raw)
    assert value in (summary.subject, summary.from_name, summary.to[0][0]) or field == "extra_header"
    assert not summary.has_defects


def test_bcc_is_never_a_header_and_envelope_recipients_list_everyone_once():
    message = build_message(
        from_addr="a@example.org", to=[("Laura", "laura@example.org"), ("", "Laura@Example.org")],
        cc=[("", "cc@example.org")], bcc=[("Segreta", "secret@example.org"), ("", "cc@example.org")],
        subject="x", text="x",
    )
    raw = as_bytes(message)

    assert b"secret@example.org" not in raw and b"Segreta" not in raw
    assert "Bcc" not in message
    assert envelope_recipients(message, [("Segreta", "secret@example.org"), "cc@example.org"]) == [
        "laura@example.org", "cc@example.org", "secret@example.org"
    ]


def test_long_references_keep_the_root_and_the_nearest_ancestors_and_are_never_encoded():
    references = [f"<{n}.{'x' * 90}@mail.example.org>" for n in range(60)]
    message = build_message(from_addr="a@example.org", subject="Re: x", text="x", **reply_headers(
        "<parent.1@mail.example.org>", references
    ))
    raw = as_bytes(message)

    summary = parse_header_block(raw)
    assert summary.in_reply_to == "<parent.1@mail.example.org>"
    assert len(summary.references) == MAX_REFERENCES
    assert summary.references == [references[0], *references[-(MAX_REFERENCES - 2):], "<parent.1@mail.example.org>"]
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0]
    references_block = re.search(rb"\r\nReferences:(.*?)\r\n(?! )", raw, re.S).group(1)
    assert all(len(line) <= 998 for line in references_block.split(b"\r\n"))


def test_reply_headers_accept_stored_strings_and_do_not_repeat_the_parent():
    headers = reply_headers("<p@x.org>", "<root@x.org> <p@x.org>")
    assert headers == {"in_reply_to": "<p@x.org>", "references": ["<root@x.org>", "<p@x.org>"]}
    assert reply_headers("", "") == {"in_reply_to": None, "references": []}


def test_text_and_html_are_alternatives_and_inline_images_are_related_to_the_html():
    message = build_message(
        from_addr="a@example.org", subject="x", text="plain", html='<img src="cid:logo@x.example">',
        inline_images=[InlineImage("<logo@x.example>", "image/png", b"PNG", "logo.png")],
        attachments=[Attachment("a.txt", "text/plain", b"attached")],
    )

    shape = [(part.get_content_type(), part.get_content_disposition()) for part in message.walk()]
    assert shape == [("multipart/mixed", None), ("multipart/alternative", None), ("text/plain", None),
                     ("multipart/related", None), ("text/html", None), ("image/png", "inline"),
                     ("text/plain", "attachment")]
    parsed = parse_message(as_bytes(message))
    assert [part.content_id for part in parsed.inline_parts] == ["logo@x.example"]
    assert [part.filename for part in parsed.attachments] == ["a.txt"]


def test_it_sets_a_message_id_on_the_senders_domain_and_the_given_date():
    when = datetime(2024, 3, 7, 10, 15, tzinfo=UTC)
    summary = parse_header_block(as_bytes(build_message(from_addr="a@Edilnord.Example", subject="x", date=when)))
    assert re.fullmatch(r"<[0-9a-f]{32}@edilnord\.example>", summary.message_id)
    assert summary.date == when
    given_id = parse_header_block(as_bytes(build_message(from_addr="a@x.org", subject="x", message_id="id.1@x.org")))
    assert given_id.message_id == "<id.1@x.org>"


def test_a_forwarded_message_is_attached_as_a_message():
    inner = b"From: b@example.org\r\nSubject: Originale\r\n\r\nTesto originale\r\n"
    raw = as_bytes(build_message(from_addr="a@example.org", subject="Fwd", text="see attached",
                                 attachments=[Attachment("originale.eml", "message/rfc822", inner)]))
    parsed = parse_message(raw)
    [part] = parsed.attachments
    assert (part.filename, part.content_type) == ("originale.eml", "message/rfc822")
    assert parse_message(get_part_payload(raw, part.part_path)).headers.subject == "Originale"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"from_addr": "not an address"}, "valid e-mail address"),
        ({"to": [("", "a@b.org\r\nBcc: c@d.org")]}, "valid e-mail address"),
        ({"bcc": [("", "nobody")]}, "valid e-mail address"),
        ({"extra_headers": {"Bcc": "x@y.org"}}, "extra header"),
        ({"extra_headers": {"X-Bad\r\nBcc": "x@y.org"}}, "extra header"),
        ({"inline_images": [InlineImage("x@y", "image/png", b"")]}, "need an HTML body"),
        ({"html": "<p>", "inline_images": [InlineImage("a b", "image/png", b"")]}, "content id"),
        ({"message_id": "no id here"}, "message id"),
    ],
)
def test_it_refuses_what_cannot_be_sent_as_given(kwargs, reason):
    arguments = {"from_addr": "a@example.org", "subject": "x", "text": "x", **kwargs}
    with pytest.raises(ValueError, match=reason):
        build_message(**arguments)


@pytest.mark.parametrize(
    "filename",
    ["=?UTF-8?Q?x=0A=0AContent-Type:_text/html?=.pdf", 'a "quoted" \\ name;.pdf', "é" * 120 + ".pdf", "x\u2028y.pdf"],
)
def test_a_file_name_cannot_break_the_part_headers_and_long_ones_fold_in_rfc_2231_pieces(filename):
    raw = as_bytes(build_message(from_addr="a@example.org", subject="x", text="x",
                                 attachments=[Attachment(filename, "application/pdf", b"%PDF")]))

    assert_crlf_only(raw)
    part_head = raw.split(b"Content-Type: application/pdf\r\n", 1)[1].split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0] for line in part_head.split(b"\r\n") if not line[:1].isspace()]
    assert names == [b"Content-Transfer-Encoding", b"Content-Disposition"]
    assert all(len(line) <= 78 for line in part_head.split(b"\r\n"))
    [part] = parse_message(raw).attachments
    assert get_part_payload(raw, part.part_path) == b"%PDF"
    if "=?" not in filename:  # the parser decodes Outlook's encoded-word names on purpose
        assert part.filename == clean_filename(filename)


def test_an_attached_message_keeps_its_own_headers_as_they_came():
    subject = b"Subject: =?UTF-8?Q?x=0ABcc:_y@attacker.example?= " + b"long " * 20 + b"\r\n"
    inner = b"From: b@example.org\r\n" + subject + b"\r\nTesto\r\n"
    raw = as_bytes(build_message(from_addr="a@example.org", subject="Fwd", text="x",
                                 attachments=[Attachment("fwd.eml", "message/rfc822", inner)]))

    assert subject in raw
    assert b"\r\nBcc:" not in raw
    assert_crlf_only(raw)
