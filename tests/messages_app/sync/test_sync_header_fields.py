"""The sync fetches every header the summary reads: filters, out-of-office and PEC need no resync."""

from messages_app.gateways.imap import SYNC_HEADER_FIELDS
from messages_app.mime.headers import parse_header_block
from messages_app.services.sync import open_connection
from tests.conftest import account_on

RAW = (
    b"Return-Path: <bounces@pec.example.net>\r\n"
    b"Delivered-To: amministrazione@pec.example.it\r\n"
    b"Received: from mx.pec.example.net by pec.example.it; Thu, 7 Mar 2024 10:15:03 +0100\r\n"
    b"Message-ID: <ric.1@pec.example.net>\r\n"
    b"Date: Thu, 7 Mar 2024 10:15:01 +0100\r\n"
    b"From: posta-certificata@pec.example.net\r\n"
    b"Sender: Gestore PEC <gestore@pec.example.net>\r\n"
    b"Reply-To: fornitore@pec.example.net\r\n"
    b"To: amministrazione@pec.example.it\r\n"
    b"Subject: CONSEGNA: Fattura n. 12/2024\r\n"
    b"X-Ricevuta: avvenuta-consegna\r\n"
    b"X-Trasporto: posta-certificata\r\n"
    b"X-Riferimento-Message-ID: <20240307101500.12345@mail.example.net>\r\n"
    b"X-TipoRicevuta: completa\r\n"
    b"X-VerificaSicurezza: errore\r\n"
    b"X-Spam-Flag: NO\r\n"
    b"Importance: high\r\n"
    b"X-Priority: 5\r\n"
    b"X-Autoreply: yes\r\n"
    b"X-Auto-Response-Suppress: All\r\n"
    b"List-Unsubscribe: <mailto:unsub@example.org>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Ricevuta di avvenuta consegna\r\n"
)


def test_the_metadata_fetch_brings_every_header_the_summary_reads(owner, mail_user):
    mail_user.dovecot.append(mail_user.login, "INBOX", RAW)
    account = account_on(owner, mail_user)
    with open_connection(account) as conn:
        conn.select("INBOX", readonly=True)
        [meta] = conn.fetch_meta("1:*")

    assert b"Received:" not in meta.header_bytes  # only the listed fields travel
    summary = parse_header_block(meta.header_bytes)
    assert summary == parse_header_block(RAW)
    assert (summary.sender_name, summary.sender_addr) == ("Gestore PEC", "gestore@pec.example.net")
    assert summary.return_path == "bounces@pec.example.net"
    assert summary.delivered_to == "amministrazione@pec.example.it"
    assert summary.reply_to == [("", "fornitore@pec.example.net")]
    assert (summary.x_ricevuta, summary.x_trasporto, summary.x_tiporicevuta, summary.x_verificasicurezza) == (
        "avvenuta-consegna", "posta-certificata", "completa", "errore"
    )
    assert summary.x_riferimento_message_id == "20240307101500.12345@mail.example.net"
    assert (summary.x_spam_flag, summary.importance, summary.x_autoreply) == ("no", "high", "yes")
    assert summary.list_unsubscribe == "<mailto:unsub@example.org>"
    assert summary.list_unsubscribe_post == "List-Unsubscribe=One-Click"
    assert "X-Autorespond" in SYNC_HEADER_FIELDS and "X-Priority" in SYNC_HEADER_FIELDS


def test_a_sync_stores_those_headers_on_the_message(owner, mail_user):
    from messages_app.models import Message
    from messages_app.services.sync import account_sync

    mail_user.dovecot.append(mail_user.login, "INBOX", RAW)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    stored = Message.objects.get(account=account)
    assert stored.return_path == "bounces@pec.example.net"
    assert stored.delivered_to == "amministrazione@pec.example.it"
    assert (stored.sender_name, stored.sender_addr) == ("Gestore PEC", "gestore@pec.example.net")
    assert stored.reply_to == [["", "fornitore@pec.example.net"]]
    assert (stored.x_ricevuta, stored.x_trasporto) == ("avvenuta-consegna", "posta-certificata")
    assert stored.x_riferimento_message_id == "20240307101500.12345@mail.example.net"
    assert (stored.x_tiporicevuta, stored.x_verificasicurezza) == ("completa", "errore")
    assert stored.x_auto_response_suppress == "All"
    assert stored.x_autoreply == "yes"
    assert stored.importance == "high"
    assert stored.list_unsubscribe == "<mailto:unsub@example.org>"
    assert stored.list_unsubscribe_post == "List-Unsubscribe=One-Click"
    assert stored.x_spam_flag.lower() == "no"
    assert stored.address_defects is False
