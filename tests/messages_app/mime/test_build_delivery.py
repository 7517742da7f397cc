"""A built message through a real SMTP server (aiosmtpd) and back into IMAP (Dovecot): the server
receives exactly the built bytes, Bcc only in the envelope, and the sync reads what went in."""

from messages_app.gateways import smtp as smtp_gateway
from messages_app.mime.build import Attachment, as_bytes, build_message, envelope_recipients
from messages_app.mime.headers import parse_header_block
from messages_app.mime.parse import get_part_payload, parse_message
from messages_app.services.connections import smtp_config_for
from messages_app.services.sync import open_connection
from tests.conftest import account_on


def test_a_built_message_is_delivered_as_built_with_bcc_only_in_the_envelope(owner, mail_user):
    account = account_on(owner, mail_user)
    bcc = [("Archivio", "archivio@edilnord.example")]
    message = build_message(
        from_addr=mail_user.email, from_name="Società Edilnord S.r.l.", to=[("Laura Bianchi", "laura@example.it")],
        bcc=bcc, subject="Perché la fattura?\r\nBcc: evil@attacker.example", text=".\nUna riga col punto\n",
        html="<p>Perché?</p>", attachments=[Attachment("Fattura n°12.pdf", "application/pdf", b"%PDF-1.4\n%\xe2\xe3")],
    )
    raw = as_bytes(message)
    recipients = envelope_recipients(message, bcc)

    result = smtp_gateway.send(smtp_config_for(account), sender=mail_user.email, recipients=recipients, message=raw)

    assert result.refused == ()
    assert set(result.accepted) == {"laura@example.it", "archivio@edilnord.example"}
    [received] = mail_user.smtp.wait_for(1, login=mail_user.login)
    assert received.rcpt_tos == ["laura@example.it", "archivio@edilnord.example"]
    assert received.data.rstrip(b"\r\n") == raw.rstrip(b"\r\n")
    assert b"archivio" not in received.data

    mail_user.dovecot.append(mail_user.login, "INBOX", received.data)
    with open_connection(account) as conn:
        conn.select("INBOX", readonly=True)
        [meta] = conn.fetch_meta("1:*")
        stored = conn.fetch_raw(meta.uid)
    summary = parse_header_block(meta.header_bytes)
    assert summary.subject == "Perché la fattura? Bcc: evil@attacker.example"
    assert (summary.from_name, summary.to) == ("Società Edilnord S.r.l.", [("Laura Bianchi", "laura@example.it")])
    parsed = parse_message(stored)
    assert parsed.text == ".\nUna riga col punto\n"
    [attachment] = parsed.attachments
    assert attachment.filename == "Fattura n°12.pdf"
    assert get_part_payload(stored, attachment.part_path) == b"%PDF-1.4\n%\xe2\xe3"
