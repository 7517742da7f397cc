"""parse_dsn: delivery status notifications (RFC 3464 / 6533) read into recipients, status and the
bounced message's Message-ID; anything else (the whole shared corpus, broken reports) is None."""

from __future__ import annotations

import pytest

from messages_app.mime.dsn import parse_dsn, xtext_decode, xtext_encode
from tests.corpus import SHARED_CORPUS


def postfix_bounce(*, message_id="<abc.123@postino.test>", envid="abc.123+40postino.test",
                   returned="message/rfc822", status_type="message/delivery-status",
                   report_type="delivery-status", action="failed") -> bytes:
    returned_body = (f"From: Olga <olga@postino.test>\r\nTo: ghost@example.test\r\n"
                     f"Subject: Offerta\r\nMessage-ID: {message_id}\r\n\r\n")
    if returned == "message/rfc822":
        returned_body += "Buongiorno\r\n"
    return (
        "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\n"
        "To: olga@postino.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="B1"\r\n'
        "Message-ID: <bounce.1@mx.example.test>\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        "--B1\r\n"
        f"Content-Type: {status_type}\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\n"
        f"Original-Envelope-Id: {envid}\r\n"
        "Arrival-Date: Tue,  1 Dec 2026 17:00:00 +0100 (CET)\r\n"
        "\r\n"
        "Final-Recipient: rfc822; ghost@example.test\r\n"
        "Original-Recipient: rfc822;Ghost@Example.test\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Remote-MTA: dns; in.example.test\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <ghost@example.test>: Recipient address\r\n"
        "    rejected: User unknown in local recipient table\r\n"
        "\r\n"
        "Final-Recipient: rfc822; real@example.test\r\n"
        "Action: delivered\r\n"
        "Status: 2.0.0\r\n"
        "\r\n"
        "--B1\r\n"
        f"Content-Type: {returned}\r\n\r\n"
        f"{returned_body}"
        "--B1--\r\n"
    ).encode()


def test_a_postfix_bounce_gives_each_recipient_its_action_status_and_diagnostic():
    report = parse_dsn(postfix_bounce())
    assert report is not None
    assert report.message_id == "<abc.123@postino.test>"
    assert report.envelope_id == "abc.123@postino.test"  # xtext decoded
    assert report.reporting_mta == "mx.example.test"
    ghost, real = report.recipients
    assert (ghost.final_recipient, ghost.original_recipient, ghost.address) == (
        "ghost@example.test", "Ghost@Example.test", "Ghost@Example.test")
    assert (ghost.action, ghost.status, ghost.permanent) == ("failed", "5.1.1", True)
    assert ghost.diagnostic.startswith("550 5.1.1 <ghost@example.test>: Recipient address rejected")
    assert ghost.smtp_code == 550
    assert ghost.detail == "<ghost@example.test>: Recipient address rejected: User unknown in local recipient table"
    assert ghost.remote_mta == "in.example.test"
    assert (real.action, real.status, real.diagnostic, real.smtp_code) == ("delivered", "2.0.0", "", None)
    assert report.failed() == [ghost]


def test_returned_headers_only_and_the_global_types_are_read_too():
    headers_only = parse_dsn(postfix_bounce(returned="text/rfc822-headers"))
    assert headers_only is not None and headers_only.message_id == "<abc.123@postino.test>"
    utf8 = parse_dsn(postfix_bounce(returned="message/global-headers", status_type="message/global-delivery-status",
                                    report_type="global-delivery-status"))
    assert utf8 is not None and utf8.message_id == "<abc.123@postino.test>"
    assert [r.action for r in utf8.recipients] == ["failed", "delivered"]


def test_a_report_wrapped_in_a_mixed_message_is_found():
    inner = postfix_bounce()
    head, _, body = inner.partition(b"\r\n\r\n")
    content_type = [line for line in head.split(b"\r\n") if line.startswith(b"Content-Type")][0]
    wrapped = (b"From: postmaster@example.test\r\nSubject: Bounce\r\nMIME-Version: 1.0\r\n"
               b'Content-Type: multipart/mixed; boundary="W"\r\n\r\n--W\r\n' + content_type + b"\r\n\r\n" + body
               + b"\r\n--W--\r\n")
    report = parse_dsn(wrapped)
    assert report is not None and report.failed()[0].final_recipient == "ghost@example.test"


def test_a_delay_warning_is_read_as_delayed_not_failed():
    report = parse_dsn(postfix_bounce(action="delayed"))
    assert report is not None and report.failed() == [] and report.recipients[0].action == "delayed"


@pytest.mark.parametrize("raw", [
    b"",
    b"From: a@b\r\nSubject: hello\r\n\r\nno report here\r\n",
    # a multipart/report of another kind (a read receipt, RFC 8098)
    b'Content-Type: multipart/report; report-type=disposition-notification; boundary="X"\r\n\r\n'
    b"--X\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; a@b\r\n"
    b"Disposition: manual-action/MDN-sent-manually; displayed\r\n--X--\r\n",
    # a delivery-status report without any recipient block
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="X"\r\n\r\n'
    b"--X\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n--X--\r\n",
    # garbage where the structure should be
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="X"\r\n\r\n'
    b"--X\r\nContent-Type: message/delivery-status\r\n\r\n\x00\xff\xfe:::\r\n\r\n: :\r\n",
])
def test_what_is_not_a_delivery_report_is_none(raw):
    assert parse_dsn(raw) is None


def test_no_message_of_the_shared_corpus_is_taken_for_a_bounce():
    files = sorted(path for path in SHARED_CORPUS.rglob("*.eml"))
    assert len(files) > 50
    assert [path.name for path in files if parse_dsn(path.read_bytes()) is not None] == []


def test_xtext_round_trips_what_an_envid_may_hold():
    value = "id+tag=1 è@postino.test"
    encoded = xtext_encode(value)
    assert encoded.isascii() and " " not in encoded and "=" not in encoded.replace("+3D", "")
    assert encoded == "id+2Btag+3D1+20+C3+A8@postino.test"
    assert xtext_decode("abc.123+40postino.test") == "abc.123@postino.test"
