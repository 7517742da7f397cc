"""PEC end to end on the real servers: built envelopes and receipts (signed by a throwaway provider
CA) delivered into Dovecot, synced, read; a message sent through the outbox to three PEC
recipients gets its acceptance and delivery receipts, one of them a failure."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from messages_app.enums import DeliverySource, DeliveryStatus
from messages_app.mailbox.listing import messages_page
from messages_app.mailbox.scopes import scope_from_key
from messages_app.models import Message, OutgoingMessage, PecMessage
from messages_app.services.outbox import outbox_queue, outbox_send_due
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.pec.samples import original_message, other_provider, provider, tamper

RECIPIENTS = ["protocollo@pec.comune.test", "ufficio.legale@pec.fornitore.test", "amministrazione@pec.chiusa.test"]
FAILURE = "5.1.1 - Casella inesistente: amministrazione@pec.chiusa.test"


@pytest.fixture
def trust_file(settings, tmp_path):
    settings.MAIL_PEC_TRUST_FILE = provider().write_ca(tmp_path / "pec-ca.pem")
    return settings.MAIL_PEC_TRUST_FILE


def speaks(user, language: str) -> None:
    user.language = language  # pages speak the signed-in user's language
    user.save(update_fields=["language"])


def send_to_three(owner, account) -> OutgoingMessage:
    item = outbox_queue(user=owner, account=account, to=RECIPIENTS, subject="Diffida ad adempiere",
                        text="Con la presente vi diffidiamo.", undo_seconds=0)
    outbox_send_due()
    item.refresh_from_db()
    assert item.state == "sent"
    return item


def receipts_for(item: OutgoingMessage, sender: str) -> list[bytes]:
    pec = provider()
    common = {"msgid": item.message_id, "mittente": sender, "oggetto": item.subject, "when": timezone.now()}
    return [
        pec.receipt("accettazione", destinatari=RECIPIENTS, **common),
        pec.receipt("avvenuta-consegna", destinatari=RECIPIENTS, consegna=RECIPIENTS[0], **common),
        pec.receipt("avvenuta-consegna", destinatari=RECIPIENTS, consegna=RECIPIENTS[1], **common),
        pec.receipt("errore-consegna", destinatari=RECIPIENTS, consegna=RECIPIENTS[2], errore="no-dest",
                    errore_esteso=FAILURE, **common),
    ]


def deliver(mail_user, *raws):
    for raw in raws:
        mail_user.dovecot.append(mail_user.login, "INBOX", raw)


def test_receipts_become_the_delivery_status_of_the_sent_message_per_recipient(owner, owner_client, mail_user,
                                                                             trust_file):
    account = account_on(owner, mail_user)
    account_sync(account.pk)  # the first sync: what comes after it is new mail
    item = send_to_three(owner, account)
    deliver(mail_user, *receipts_for(item, mail_user.email))
    account_sync(account.pk)

    receipts = PecMessage.objects.filter(outgoing=item)
    assert sorted(receipts.values_list("kind", flat=True)) == [
        "accettazione", "avvenuta-consegna", "avvenuta-consegna", "errore-consegna"]
    assert set(receipts.values_list("signature", flat=True)) == {"trusted"}
    status = {r.address: (r.status, r.source, r.smtp_text) for r in item.recipients.all()}
    assert status == {
        RECIPIENTS[0]: (DeliveryStatus.DELIVERED, DeliverySource.PEC, ""),
        RECIPIENTS[1]: (DeliveryStatus.DELIVERED, DeliverySource.PEC, ""),
        RECIPIENTS[2]: (DeliveryStatus.NOT_DELIVERED, DeliverySource.PEC, FAILURE),
    }
    # mail_outbox show: the same, with source pec
    out = StringIO()
    call_command("mail_outbox", "show", str(item.pk), "--json", stdout=out)
    shown = json.loads(out.getvalue())
    assert {(d["address"], d["status"], d["source"]) for d in shown["delivery"]} == {
        (RECIPIENTS[0], "delivered", "pec"), (RECIPIENTS[1], "delivered", "pec"),
        (RECIPIENTS[2], "not_delivered", "pec")}

    # Not in the Inbox list (nor its unread count), still on the server, untouched.
    page = messages_page(owner, scope_from_key(owner, "unified:inbox"))
    assert [m.subject for m in page.rows] == []
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["ALL"])) == 4
        assert len(client.search(["DELETED"])) == 0
    finally:
        client.logout()
    # Each receipt is reachable from the sent message, and leads back to it.
    sent = Message.objects.get(account=account, folder__name="Sent")
    html = owner_client.get(reverse("messages_app:message", args=[sent.pk]), HTTP_HX_REQUEST="true").content.decode()
    for receipt in receipts:
        assert reverse("messages_app:message", args=[receipt.message_id]) in html
        page = owner_client.get(reverse("messages_app:message", args=[receipt.message_id]), HTTP_HX_REQUEST="true")
        assert reverse("messages_app:message", args=[sent.pk]) in page.content.decode()
        assert "pec-not-applied" not in page.content.decode()


def test_a_late_acceptance_does_not_undo_a_delivery_and_a_rerun_changes_nothing(owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    item = send_to_three(owner, account)
    acceptance, *deliveries = receipts_for(item, mail_user.email)
    deliver(mail_user, *deliveries)
    account_sync(account.pk)
    deliver(mail_user, acceptance)
    account_sync(account.pk)
    from messages_app.services.pec import pec_receipts_step

    pec_receipts_step(list(Message.objects.filter(account=account).values_list("pk", flat=True)))
    assert sorted(item.recipients.values_list("status", flat=True)) == ["delivered", "delivered", "not_delivered"]
    assert PecMessage.objects.filter(outgoing=item).count() == 4
    assert set(PecMessage.objects.values_list("signature", flat=True)) == {"intact"}  # no trust file


def test_an_envelope_reads_as_the_message_it_carries(owner, owner_client, mail_user, trust_file):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    original = original_message(sender="avv.bianchi@pec.studio.test", to=[mail_user.email],
                                subject="Contestazione fattura 2026/118",
                                text="Egregi Signori,\ncontestiamo la fattura in oggetto.\n",
                                attachment=("contestazione.pdf", b"%PDF-1.4 contestazione"))
    deliver(mail_user, provider().envelope(original))
    account_sync(account.pk)

    message = Message.objects.get(account=account, folder__name="INBOX")
    assert (message.subject, message.from_name, message.from_addr) == (
        "Contestazione fattura 2026/118", "Studio Legale Bianchi", "avv.bianchi@pec.studio.test")
    pec = PecMessage.objects.get(message=message)
    assert (pec.kind, pec.certified_sender, pec.provider, pec.signature) == (
        "posta-certificata", "avv.bianchi@pec.studio.test", "Gestore di prova PEC S.p.A.", "trusted")
    assert pec.identifier.startswith("opec21.")
    response = owner_client.get(reverse("messages_app:message", args=[message.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "contestiamo la fattura in oggetto" in html
    assert "Per conto di" not in html
    assert 'class="pec-badge' in html and "Gestore di prova PEC S.p.A." in html
    assert "contestazione.pdf" in html and "daticert.xml" not in html.split('class="attachments"')[-1]
    attachment = message.attachments.get(filename="contestazione.pdf")
    download = owner_client.get(reverse("messages_app:attachment", args=[message.pk, attachment.pk]))
    assert b"".join(download.streaming_content if download.streaming else [download.content]) == (
        b"%PDF-1.4 contestazione")
    envelope = owner_client.get(reverse("messages_app:pec_envelope", args=[message.pk]))
    assert envelope.status_code == 200 and b"X-Trasporto: posta-certificata" in envelope.content


def test_a_tampered_postacert_is_detected_and_said_in_words(owner, owner_client, mail_user, trust_file):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    original = original_message(sender="fornitore@pec.fornitore.test", to=[mail_user.email],
                                subject="Offerta economica", text="Importo complessivo: 10.000 euro.\n")
    deliver(mail_user, tamper(provider().envelope(original), b"10.000 euro", b"1.000 euro"))
    account_sync(account.pk)
    message = Message.objects.get(account=account, folder__name="INBOX")
    assert not message.has_attachments  # the inner message has none: no paperclip for daticert.xml
    assert PecMessage.objects.get(message=message).signature == "tampered"
    speaks(owner, "en")
    with translation.override("en"):
        html = owner_client.get(reverse("messages_app:message", args=[message.pk]),
                                HTTP_HX_REQUEST="true").content.decode()
    assert "The message was altered after the provider signed it" in html


def test_every_receipt_type_is_attached_to_its_sent_message_and_recipient(owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    first = send_to_three(owner, account)
    second = outbox_queue(user=owner, account=account, to=["albo@pec.ordine.test"], subject="Iscrizione all'albo",
                          text="Domanda di iscrizione.", undo_seconds=0)
    outbox_send_due()
    second.refresh_from_db()
    pec = provider()
    one = {"msgid": first.message_id, "mittente": mail_user.email, "oggetto": first.subject, "destinatari": RECIPIENTS}
    two = {"msgid": second.message_id, "mittente": mail_user.email, "oggetto": second.subject,
           "destinatari": ["albo@pec.ordine.test"]}
    by_msgid_only = pec.receipt("avvenuta-consegna", consegna=RECIPIENTS[0], **one).replace(
        f"X-Riferimento-Message-ID: {first.message_id}\r\n".encode(), b"")
    deliver(mail_user,
            pec.receipt("presa-in-carico", **one),
            by_msgid_only,  # matched by daticert.xml's msgid alone
            pec.receipt("preavviso-errore-consegna", consegna=RECIPIENTS[1], errore="altro",
                        errore_esteso="Consegna non avvenuta entro 12 ore", **one),
            pec.receipt("rilevazione-virus", consegna=RECIPIENTS[2], errore="virus",
                        errore_esteso="Rilevato virus nel messaggio", **one),
            pec.receipt("non-accettazione", errore="altro",
                        errore_esteso="Allegato oltre la dimensione massima", **two),
            pec.envelope(original_message(sender="x@pec.altro.test", to=[mail_user.email], subject="Anomala",
                                          text="fuori PEC"), anomaly=True))
    account_sync(account.pk)

    attached = {(p.kind, p.outgoing_id, p.recipient) for p in PecMessage.objects.all()}
    assert attached == {
        ("presa-in-carico", first.pk, ""),
        ("avvenuta-consegna", first.pk, RECIPIENTS[0]),
        ("preavviso-errore-consegna", first.pk, RECIPIENTS[1]),
        ("rilevazione-virus", first.pk, RECIPIENTS[2]),
        ("non-accettazione", second.pk, ""),
        ("errore", None, ""),
    }
    assert {r.address: r.status for r in first.recipients.all()} == {
        RECIPIENTS[0]: "delivered", RECIPIENTS[1]: "accepted", RECIPIENTS[2]: "not_delivered"}
    assert [(r.status, r.source, r.smtp_text) for r in second.recipients.all()] == [
        ("failed", "pec", "Allegato oltre la dimensione massima")]
    # The anomaly envelope is mail to read (its inner message); the receipts are not.
    page = messages_page(owner, scope_from_key(owner, "unified:inbox"))
    assert [m.subject for m in page.rows] == ["Anomala"]


def test_a_pec_account_asks_for_its_receipt_type_on_every_submission(owner, mail_user, smtp_server):
    account = account_on(owner, mail_user, pec_receipt_type="breve")
    send_to_three(owner, account)
    received = smtp_server.wait_for(1, login=mail_user.login)[-1]
    assert b"\r\nX-TipoRicevuta: breve\r\n" in received.data
    plain = account_on(owner, mail_user, email="altro@example.test")
    item = outbox_queue(user=owner, account=plain, to=["x@example.test"], subject="Ordinaria", text="t",
                        undo_seconds=0)
    assert b"X-TipoRicevuta" not in bytes(item.raw)


def test_no_delivery_receipt_after_24_hours_reads_consegna_non_confermata(owner, owner_client, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    item = send_to_three(owner, account)
    acceptance, delivered, *_rest = receipts_for(item, mail_user.email)
    deliver(mail_user, acceptance, delivered)
    account_sync(account.pk)
    item.recipients.update(at=timezone.now() - timedelta(hours=25))
    speaks(owner, "en")
    url = reverse("messages_app:message", args=[Message.objects.get(account=account, folder__name="Sent").pk])
    with translation.override("en"):
        html = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert html.count("delivery not confirmed") == 2  # the two without a delivery receipt
    assert html.count(">delivered<") == 1
    speaks(owner, "it")
    with translation.override("it"):
        html = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert html.count("consegna non confermata") == 2


def test_a_forged_or_untrusted_receipt_changes_no_delivery_status(owner, owner_client, mail_user, trust_file):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    item = send_to_three(owner, account)
    genuine = provider().receipt("errore-consegna", msgid=item.message_id, mittente=mail_user.email,
                                 destinatari=RECIPIENTS, oggetto=item.subject, consegna=RECIPIENTS[0])
    unsigned = (f"From: posta-certificata@pec.example.test\r\nTo: {mail_user.email}\r\n"
                f"Subject: CONSEGNA: {item.subject}\r\nX-Ricevuta: avvenuta-consegna\r\n"
                f"X-Riferimento-Message-ID: {item.message_id}\r\nMessage-ID: <falsa@altrove.test>\r\n"
                "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nConsegnata, credimi.\r\n").encode()
    forged = other_provider().receipt("avvenuta-consegna", msgid=item.message_id, mittente=mail_user.email,
                                      destinatari=RECIPIENTS, oggetto=item.subject, consegna=RECIPIENTS[1])
    deliver(mail_user, unsigned, forged, tamper(genuine, b'charset="utf-8"', b'charset="utf-7"'))
    account_sync(account.pk)
    assert sorted(PecMessage.objects.values_list("signature", flat=True)) == ["tampered", "unsigned", "untrusted"]
    assert {(r.status, r.source) for r in item.recipients.all()} == {(DeliveryStatus.ACCEPTED, DeliverySource.SMTP)}
    speaks(owner, "en")
    for receipt in PecMessage.objects.all():
        html = owner_client.get(reverse("messages_app:message", args=[receipt.message_id]),
                                HTTP_HX_REQUEST="true").content.decode()
        assert "This receipt changed no delivery status" in html


def test_an_envelope_is_listed_searched_and_threaded_as_its_inner_message_from_the_first_sync(owner, mail_user):
    original = original_message(sender="avv.bianchi@pec.studio.test", to=[mail_user.email],
                                subject="Contestazione fattura 2026/118", text="Contestiamo.\n",
                                message_id="<contestazione-118@pec.studio.test>")
    deliver(mail_user, provider().envelope(original))  # history: before the first sync, no arrival step
    reply = (f"From: {mail_user.email}\r\nTo: avv.bianchi@pec.studio.test\r\nSubject: Re: Contestazione fattura "
             "2026/118\r\nMessage-ID: <risposta-1@example.test>\r\nIn-Reply-To: <contestazione-118@pec.studio.test>"
             "\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\n\r\nRicevuta, verifichiamo.\r\n").encode()
    mail_user.dovecot.append(mail_user.login, "Sent", reply)
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    envelope = Message.objects.get(account=account, folder__name="INBOX")
    assert (envelope.subject, envelope.from_addr, envelope.message_id) == (
        "Contestazione fattura 2026/118", "avv.bianchi@pec.studio.test", "<contestazione-118@pec.studio.test>")
    assert "Per conto di" not in envelope.from_name
    assert envelope.thread_id == Message.objects.get(account=account, folder__name="Sent").thread_id
    page = messages_page(owner, scope_from_key(owner, "unified:inbox"), query="Contestazione")
    assert [m.pk for m in page.rows] == [envelope.pk]


def test_a_hostile_daticert_in_a_signed_envelope_is_refused_and_the_message_still_reads(owner, owner_client, mail_user):
    from email.utils import format_datetime

    from tests.messages_app.pec.samples import WHEN, _mixed

    laughs = (b'<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
              b'<postacert tipo="posta-certificata"><intestazione><mittente>&d;</mittente></intestazione></postacert>')
    from email.message import EmailMessage
    from email.mime.message import MIMEMessage

    inner = EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "x@pec.altro.test", mail_user.email, "Risata"
    inner["Message-ID"] = "<risata@pec.altro.test>"
    inner.set_content("Testo vero.\n")
    postacert = MIMEMessage(inner)
    postacert.add_header("Content-Disposition", "attachment", filename="postacert.eml")
    raw = provider().sign([("From", '"Per conto di: x@pec.altro.test" <posta-certificata@pec.example.test>'),
                           ("To", mail_user.email), ("Subject", "POSTA CERTIFICATA: Risata"),
                           ("Date", format_datetime(WHEN)), ("Message-ID", "<busta-risata@pec.example.test>"),
                           ("X-Trasporto", "posta-certificata")], _mixed("Messaggio", laughs, postacert))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    deliver(mail_user, raw)
    account_sync(account.pk)
    message = Message.objects.get(account=account, folder__name="INBOX")
    pec = PecMessage.objects.get(message=message)
    assert pec.certified_sender == "" and any("entities" in note for note in pec.notes)
    assert pec.signature == "intact"
    html = owner_client.get(reverse("messages_app:message", args=[message.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "Testo vero." in html and "hahaha" not in html


def test_receipts_stay_out_of_merged_lists_threads_and_unread_counts(owner, mail_user, dovecot, smtp_server):
    from messages_app.mailbox.threads import threads_page
    from messages_app.mailbox.tree import folder_tree
    from tests.servers.fixtures import new_mail_user

    other_user = new_mail_user(dovecot, smtp_server)
    accounts = [account_on(owner, mail_user), account_on(owner, other_user)]
    for account in accounts:
        account_sync(account.pk)
    for user in (mail_user, other_user):
        receipt = provider().receipt("accettazione", msgid="<qualunque@example.test>", mittente=user.email,
                                     destinatari=["a@pec.test"], oggetto="Qualunque")
        ordinary = original_message(sender="cliente@example.test", to=[user.email], subject=f"Ordine per {user.login}",
                                    text="Un ordine.\n")
        deliver(user, receipt, ordinary)
    for account in accounts:
        account_sync(account.pk)
    assert Message.objects.filter(x_ricevuta="accettazione").count() == 2
    scope = scope_from_key(owner, "unified:inbox")
    assert len(scope.folder_ids) == 2  # the merged path
    listed = sorted(m.subject for m in messages_page(owner, scope).rows)
    assert listed == sorted(f"Ordine per {user.login}" for user in (mail_user, other_user))
    assert sorted(row.latest.subject for row in threads_page(owner, scope).rows) == listed
    assert folder_tree(owner, merged=True).counts()["unified:inbox"] == 2


def test_a_reply_by_pec_joins_the_conversation_of_the_message_it_answers(owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    item = send_to_three(owner, account)
    account_sync(account.pk)  # the copy in Sent
    sent = Message.objects.get(account=account, folder__name="Sent")
    answer = original_message(sender=RECIPIENTS[0], to=[mail_user.email], subject="Riscontro alla vostra diffida",
                              text="Abbiamo ricevuto la diffida.\n", name="Comune di Esempio")
    answer = answer.replace(b"\r\nSubject:", f"\r\nIn-Reply-To: {item.message_id}\r\nSubject:".encode(), 1)
    envelope = provider().envelope(answer)
    assert b"In-Reply-To" not in envelope.split(b"\r\n\r\n", 1)[0]  # the envelope's own headers do not say
    deliver(mail_user, envelope)
    account_sync(account.pk)
    reply = Message.objects.get(account=account, folder__name="INBOX")
    assert reply.from_name == "Comune di Esempio" and reply.in_reply_to == item.message_id
    assert reply.thread_id == sent.thread_id
    assert Message.objects.filter(thread_id=sent.thread_id).count() == 2
    sent.thread.refresh_from_db()
    assert sent.thread.message_count == 2


def test_the_ricevute_pec_page_lists_every_receipt_also_from_before_the_first_sync(owner, owner_client, mail_user):
    old = provider().receipt("avvenuta-consegna", msgid="<vecchio@example.test>", mittente=mail_user.email,
                             destinatari=["a@pec.test"], oggetto="Vecchio invio", consegna="a@pec.test")
    deliver(mail_user, old)  # history: no arrival step, no recorded row
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    item = send_to_three(owner, account)
    deliver(mail_user, *receipts_for(item, mail_user.email))
    account_sync(account.pk)
    speaks(owner, "en")
    html = owner_client.get(reverse("messages_app:pec_receipts")).content.decode()
    assert html.count("<tr><td>") == 5
    assert "avvenuta-consegna" in html and "CONSEGNA: Vecchio invio" in html  # the unrecorded one, as it came
    assert html.count("Diffida ad adempiere") == 4 and FAILURE in html


def test_a_linked_records_timeline_shows_each_recipients_pec_delivery_in_words(owner, owner_client, mail_user,
                                                                            colleague, trust_file):
    from crm.services import contact_create

    comune = contact_create(owner=owner, first_name="Ufficio", last_name="Protocollo", emails=[RECIPIENTS[0]])
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    item = send_to_three(owner, account)
    acceptance, first_delivered, second_delivered, failure = receipts_for(item, mail_user.email)
    deliver(mail_user, acceptance, first_delivered)
    account_sync(account.pk)  # the Sent copy is linked to the contact by its To; two receipts recorded
    item.recipients.update(at=timezone.now() - timedelta(hours=25))
    speaks(owner, "en")
    url = reverse("messages_app:record_timeline", args=["contact", comune.pk])

    def delivery_shown():
        with translation.override("en"):
            html = owner_client.get(url).content.decode()
        assert "Diffida ad adempiere" in html
        return {address: html.split(f'data-address="{address}">', 1)[1].split("</li>", 1)[0]
                for address in RECIPIENTS if f'data-address="{address}"' in html}

    shown = delivery_shown()
    assert ">delivered<" in shown[RECIPIENTS[0]]
    assert ">delivery not confirmed<" in shown[RECIPIENTS[1]] and ">delivery not confirmed<" in shown[RECIPIENTS[2]]
    deliver(mail_user, second_delivered, failure)
    account_sync(account.pk)
    shown = delivery_shown()
    assert all("PEC" in words for words in shown.values())
    assert ">delivered<" in shown[RECIPIENTS[0]] and ">delivered<" in shown[RECIPIENTS[1]]
    assert ">not delivered<" in shown[RECIPIENTS[2]] and f"({FAILURE})" in shown[RECIPIENTS[2]]
    speaks(owner, "it")
    with translation.override("it"):
        html = owner_client.get(url).content.decode()
    assert html.count(">consegnata<") == 2 and html.count(">mancata consegna<") == 1
    # Another user's record page does not exist for them, nor does the delivery.
    other = type(owner_client)()
    other.force_login(colleague)
    assert other.get(url).status_code == 404
