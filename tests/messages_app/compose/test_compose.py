"""The compose page against the real Dovecot and aiosmtpd: sending through the outbox, who may
send from which account, reply all, threading, flags on the original, drafts replaced on the
server, and Programmati's actions."""

from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from messages_app.enums import OutboxState
from messages_app.models import ComposeUpload, MailAccount, Message, OutgoingMessage
from messages_app.services.compose import DRAFT_HEADER, ComposeData, draft_save, new_draft_id
from messages_app.services.outbox import outbox_send_due
from tests.conftest import account_on
from tests.messages_app.outbox.helpers import sent_copies
from tests.messages_app.views.conftest import server_flags
from tests.servers.fixtures import new_mail_user

COMPOSE = reverse("messages_app:compose")
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def send_form(client, account, **fields):
    data = {"account": account.pk, "to": "Niccolò Rossi <niccolo@example.test>", "subject": "Preventivo",
            "body_html": "<p>Buongiorno</p>", "draft_id": new_draft_id()}
    data.update(fields)
    return client.post(COMPOSE, data, **FETCH)


def drafts_on_server(mail_user, draft_id: str) -> list[bytes]:
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder("Drafts", readonly=True)
        uids = client.search(["HEADER", DRAFT_HEADER, draft_id])
        return [d[b"BODY[]"] for d in client.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []
    finally:
        client.logout()


@pytest.fixture
def settings_fast(settings):
    settings.MAIL_UNDO_SEND_SECONDS = 0
    return settings


def test_the_page_opens_with_the_primary_account_and_every_shared_sender(owner_client, owner, colleague, mail_user):
    mine = account_on(owner, mail_user, email="olga@acme.example", description="Olga")
    account_on(owner, mail_user, email="olga.second@acme.example", description="Seconda", is_primary=False)
    shared = account_on(colleague, mail_user, email="info@acme.example", description="Info ACME")
    MailAccount.objects.filter(pk=shared.pk).update(is_shared_sender=True)  # an admin's choice
    account_on(colleague, mail_user, email="private@acme.example", description="Privato")
    response = owner_client.get(COMPOSE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{mine.pk}" data-signature-url' in html
    assert "selected" in html.split(f'value="{mine.pk}"')[1][:120]
    assert "info@acme.example" in html and f'value="{shared.pk}"' in html
    assert "private@acme.example" not in html
    assert "vendor/quill/quill.js" in html


def test_sending_from_another_users_account_is_refused(owner_client, owner, colleague, mail_user, settings_fast):
    account_on(owner, mail_user)
    theirs = account_on(colleague, mail_user, email="colleague@acme.example")
    response = send_form(owner_client, theirs)
    assert response.status_code == 403
    assert "account" in response.json()["errors"]
    assert not OutgoingMessage.objects.exists()


def test_a_shared_sender_may_be_used(owner_client, owner, colleague, mail_user, settings_fast):
    account_on(owner, mail_user)
    shared = account_on(colleague, mail_user, email="info@acme.example")
    MailAccount.objects.filter(pk=shared.pk).update(is_shared_sender=True)  # an admin's choice
    shared.refresh_from_db()
    response = send_form(owner_client, shared)
    assert response.status_code == 200, response.content
    item = OutgoingMessage.objects.get()
    assert item.account == shared and item.owner == owner


def test_bad_addresses_and_no_recipient_are_field_errors(owner_client, mail_account, settings_fast):
    errors = send_form(owner_client, mail_account, to="a@b.test", cc="nonsense").json()["errors"]
    assert set(errors) == {"cc"}
    errors = send_form(owner_client, mail_account, to="").json()["errors"]
    assert set(errors) == {"to"}
    assert not OutgoingMessage.objects.exists()


def test_a_composed_message_with_an_attachment_arrives_with_its_signature_and_a_copy_in_sent(
        owner_client, owner, mail_account, mail_user, smtp_server, settings_fast):
    from messages_app.services.signatures import account_signature_update

    account_signature_update(account=mail_account, choice="personal", personal_html="<p><b>Olga</b> · ACME</p>")
    upload = owner_client.post(reverse("messages_app:compose_upload"),
                               {"file": _file("offerta è.pdf", b"%PDF-1.4 dati")}).json()
    response = send_form(owner_client, mail_account, uploads=[upload["id"]], bcc="nascosto@example.test",
                         body_html='<p onclick="x()">Buongiorno <script>alert(1)</script></p>')
    assert response.status_code == 200, response.content
    assert response.json()["redirect"] == reverse("messages_app:index")
    assert outbox_send_due().sent == 1
    received = smtp_server.wait_for(1, login=mail_user.login)[-1]
    assert "nascosto@example.test" in received.rcpt_tos
    message = parse(received.data)
    html = message.get_body(("html",)).get_content()
    assert "<script" not in html and "onclick" not in html
    assert html.count("postino-signature") == 1 and "<b>Olga</b>" in html
    assert [p.get_filename() for p in message.iter_attachments()] == ["offerta è.pdf"]
    assert sent_copies(mail_user, message["Message-ID"])
    assert not ComposeUpload.objects.exists()  # queued: the upload is part of the message now


def test_an_upload_over_the_limit_is_refused_in_words(owner_client, mail_account, settings):
    settings.MAIL_MAX_ATTACHMENT_MB = 1
    response = owner_client.post(reverse("messages_app:compose_upload"),
                                 {"file": _file("grande.bin", b"x" * (1024 * 1024 + 1))})
    assert response.status_code == 413
    assert "grande.bin" in response.json()["error"] and "1 MB" in response.json()["error"]
    assert not ComposeUpload.objects.exists()


def test_address_suggestions_come_from_past_correspondents_only_the_users(owner_client, colleague, mailbox):
    results = owner_client.get(reverse("messages_app:compose_addresses"), {"q": "luigi"}).json()["results"]
    assert results == [{"name": "Luigi Verdi", "address": "luigi@cliente.test"}]
    other = Client()
    other.force_login(colleague)
    assert other.get(reverse("messages_app:compose_addresses"), {"q": "luigi"}).json()["results"] == []


def test_address_suggestions_add_the_users_crm_contacts_ranked_with_correspondents(
        owner, owner_client, colleague, mailbox):
    from crm.services import contact_create

    contact_create(owner=owner, first_name="Dott. Mario", last_name="Rossi", emails=["mario@cliente.test"])
    contact_create(owner=owner, first_name="Luisa", last_name="Bianchi", emails=["Luisa@Studio.test"])
    contact_create(owner=owner, first_name="Gino", last_name="Luigini", emails=["gino@altro.test"])
    contact_create(owner=colleague, first_name="Luca", last_name="Segreto", emails=["luca@cliente.test"])

    def suggest(client, q):
        return client.get(reverse("messages_app:compose_addresses"), {"q": q}).json()["results"]

    # A contact the user also writes with comes first, named as the CRM has it; then the rest.
    assert suggest(owner_client, "cliente") == [{"name": "Dott. Mario Rossi", "address": "mario@cliente.test"},
                                                {"name": "Luigi Verdi", "address": "luigi@cliente.test"}]
    # A contact never written to is suggested too, by name or address; each address once.
    assert suggest(owner_client, "lui") == [{"name": "Luisa Bianchi", "address": "luisa@studio.test"},
                                            {"name": "Luigi Verdi", "address": "luigi@cliente.test"},
                                            {"name": "Gino Luigini", "address": "gino@altro.test"}]
    assert suggest(owner_client, "gino luig") == [{"name": "Gino Luigini", "address": "gino@altro.test"}]
    # A colleague's contacts are theirs only.
    assert suggest(owner_client, "segreto") == []
    other = Client()
    other.force_login(colleague)
    assert suggest(other, "segreto") == [{"name": "Luca Segreto", "address": "luca@cliente.test"}]


def test_reply_all_excludes_the_users_addresses_threads_and_sets_answered(
        owner, mail_user, smtp_server, settings_fast):
    from tests.messages_app.views import mails
    from tests.messages_app.views.conftest import make_mailbox

    second = new_mail_user(mail_user.dovecot, mail_user.smtp)
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain(
        "Riunione", "Ci vediamo?", sender="Mario Rossi <mario@cliente.test>",
        to=f"Olga <{mail_user.login}>, Luigi <luigi@cliente.test>", cc=f"{second.login}, anna@cliente.test",
        message_id="<riunione@cliente.test>"), ())])
    account_on(owner, second, is_primary=False)  # the user's second account: also left out
    original = box.message("Riunione")
    client = Client()
    client.force_login(owner)
    page = client.get(COMPOSE, {"reply_all": original.pk}).content.decode()
    assert 'value="Mario Rossi &lt;mario@cliente.test&gt;, Luigi &lt;luigi@cliente.test&gt;"' in page
    assert 'value="anna@cliente.test"' in page
    assert mail_user.login not in page.split('name="to"')[1].split(">")[0]
    assert 'value="Re: Riunione"' in page
    quote = page.split('name="quote_html" hidden>')[1].split("</textarea>")[0]
    response = send_form(client, box.account, to="Mario Rossi <mario@cliente.test>, luigi@cliente.test",
                         cc="anna@cliente.test", subject="Re: Riunione", original=original.pk, kind="reply",
                         body_html="<p>Sì, alle 10.</p>", quote_html=_unescape(quote))
    assert response.status_code == 200, response.content
    assert outbox_send_due().sent == 1
    message = parse(smtp_server.wait_for(1, login=mail_user.login)[-1].data)
    assert message["In-Reply-To"] == "<riunione@cliente.test>"
    assert "<riunione@cliente.test>" in message["References"]
    assert "Ci vediamo?" in message.get_body(("html",)).get_content()
    assert sorted(a.addr_spec for a in message["To"].addresses + message["Cc"].addresses) == [
        "anna@cliente.test", "luigi@cliente.test", "mario@cliente.test"]
    assert "\\Answered" in server_flags(mail_user, "INBOX")[box.uids["Riunione"]]
    box.sync()
    reply = Message.objects.get(account=box.account, folder__name="Sent", subject="Re: Riunione")
    assert reply.thread_id == Message.objects.get(pk=original.pk).thread_id  # threads with the original


def test_forward_as_eml_attaches_the_original_and_sets_forwarded(owner, mailbox, smtp_server, settings_fast):
    client = Client()
    client.force_login(owner)
    original = mailbox.message("Fattura novembre")
    page = client.get(COMPOSE, {"forward": original.pk, "as": "eml"}).content.decode()
    upload = ComposeUpload.objects.get(owner=owner)
    assert upload.content_type == "message/rfc822" and upload.filename == "Fattura novembre.eml"
    assert 'value="Fwd: Fattura novembre"' in page
    response = send_form(client, mailbox.account, to="contabile@example.test", subject="Fwd: Fattura novembre",
                         original=original.pk, kind="forward", uploads=[upload.pk])
    assert response.status_code == 200, response.content
    assert outbox_send_due().sent == 1
    message = parse(smtp_server.wait_for(1, login=mailbox.mail_user.login)[-1].data)
    attached = next(message.iter_attachments())
    assert attached.get_content_type() == "message/rfc822"
    assert attached.get_content()["Subject"] == "Fattura novembre"
    assert "$Forwarded" in server_flags(mailbox.mail_user, "INBOX")[mailbox.uids["Fattura novembre"]]


def test_updating_a_draft_replaces_it_on_the_server_and_sending_removes_it(
        owner, mail_account, mail_user, smtp_server, settings_fast):
    upload = ComposeUpload.objects.create(owner=owner, filename="nota.txt", content_type="text/plain",
                                          data=b"nota", size=4)
    draft_id = new_draft_id()
    data = ComposeData(account=mail_account, to=[("", "luigi@cliente.test")], bcc=[("", "capo@acme.example")],
                       subject="Bozza uno", body_html="<p>Prima versione</p>", upload_ids=[upload.pk],
                       draft_id=draft_id)
    draft_save(user=owner, data=data)
    data.subject, data.body_html = "Bozza due", "<p>Seconda versione</p>"
    draft_save(user=owner, data=data)
    copies = drafts_on_server(mail_user, draft_id)
    assert len(copies) == 1  # replaced, not added
    saved = parse(copies[0])
    assert saved["Subject"] == "Bozza due" and "Seconda versione" in saved.get_body(("html",)).get_content()
    assert [p.get_filename() for p in saved.iter_attachments()] == ["nota.txt"]

    # Reopened from Bozze: the same draft continues, attachments and Bcc included.
    from messages_app.services.sync import account_sync

    account_sync(mail_account.pk)
    row = Message.objects.get(account=mail_account, folder__role="drafts")
    client = Client()
    client.force_login(owner)
    page = client.get(COMPOSE, {"draft": row.pk}).content.decode()
    assert f'name="draft_id" value="{draft_id}"' in page
    assert 'value="Bozza due"' in page and "nota.txt" in page and "capo@acme.example" in page
    assert "Seconda versione" in page
    reopened = ComposeUpload.objects.filter(owner=owner, filename="nota.txt").latest("id")

    response = send_form(client, mail_account, to="luigi@cliente.test", subject="Bozza due", draft_id=draft_id,
                         draft_account=mail_account.pk, uploads=[reopened.pk])
    assert response.status_code == 200, response.content
    assert outbox_send_due().sent == 1
    assert drafts_on_server(mail_user, draft_id) == []  # sending removed it


def test_undo_takes_the_message_back_and_reopens_it(owner_client, owner, mail_account, settings):
    settings.MAIL_UNDO_SEND_SECONDS = 30
    send_form(owner_client, mail_account, cc="anna@cliente.test", bcc="capo@acme.example")
    item = OutgoingMessage.objects.get()
    page = owner_client.get(reverse("messages_app:index")).content.decode()
    assert reverse("messages_app:outbox_undo", args=[item.pk]) in page
    response = owner_client.post(reverse("messages_app:outbox_undo", args=[item.pk]))
    assert response.url == f"{COMPOSE}?outbox={item.pk}"
    item.refresh_from_db()
    assert item.state == OutboxState.CANCELLED
    assert outbox_send_due().sent == 0
    page = owner_client.get(response.url).content.decode()
    assert "capo@acme.example" in page and "anna@cliente.test" in page and "Buongiorno" in page


def test_programmati_lists_reschedules_sends_now_and_deletes(owner_client, owner, mail_account, smtp_server,
                                                              mail_user):
    send_at = (timezone.localtime(timezone.now() + timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M")
    response = send_form(owner_client, mail_account, subject="Più tardi", send_at=send_at)
    assert response.json()["redirect"] == reverse("messages_app:special", args=["scheduled"])
    send_form(owner_client, mail_account, subject="Da cancellare", send_at=send_at)
    later, doomed = OutgoingMessage.objects.order_by("id")
    listing = owner_client.get(reverse("messages_app:special", args=["scheduled"])).content.decode()
    assert "Più tardi" in listing and "Da cancellare" in listing
    assert outbox_send_due().sent == 0

    action = reverse("messages_app:scheduled_action", args=[later.pk])
    new_time = (timezone.localtime(timezone.now() + timedelta(days=1))).strftime("%Y-%m-%dT%H:%M")
    owner_client.post(action, {"action": "reschedule", "send_at": new_time})
    later.refresh_from_db()
    assert timezone.localtime(later.send_at).strftime("%Y-%m-%dT%H:%M") == new_time
    owner_client.post(action, {"action": "send_now"})
    owner_client.post(reverse("messages_app:scheduled_action", args=[doomed.pk]), {"action": "delete"})
    assert outbox_send_due().ids == [later.pk]
    assert parse(smtp_server.wait_for(1, login=mail_user.login)[-1].data)["Subject"] == "Più tardi"
    doomed.refresh_from_db()
    assert doomed.state == OutboxState.CANCELLED


def test_editing_a_scheduled_message_replaces_it(owner_client, mail_account):
    send_at = (timezone.localtime(timezone.now() + timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M")
    send_form(owner_client, mail_account, subject="Prima", send_at=send_at)
    first = OutgoingMessage.objects.get()
    page = owner_client.get(COMPOSE, {"outbox": first.pk}).content.decode()
    assert f'name="replaces" value="{first.pk}"' in page and f'value="{send_at}"' in page
    send_form(owner_client, mail_account, subject="Dopo", send_at=send_at, replaces=first.pk)
    first.refresh_from_db()
    assert first.state == OutboxState.CANCELLED
    assert OutgoingMessage.objects.get(state=OutboxState.SCHEDULED).subject == "Dopo"


def test_another_users_outbox_item_cannot_be_opened_or_acted_on(owner_client, colleague, mail_user):
    theirs = account_on(colleague, mail_user)
    other = Client()
    other.force_login(colleague)
    send_form(other, theirs, send_at=(timezone.localtime(timezone.now() + timedelta(hours=1))).strftime(
        "%Y-%m-%dT%H:%M"))
    item = OutgoingMessage.objects.get()
    assert owner_client.get(COMPOSE, {"outbox": item.pk}).status_code == 404
    assert owner_client.post(reverse("messages_app:scheduled_action", args=[item.pk]),
                             {"action": "send_now"}).status_code == 404
    owner_client.post(reverse("messages_app:outbox_undo", args=[item.pk]))
    item.refresh_from_db()
    assert item.state == OutboxState.SCHEDULED


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)




def test_the_signature_follows_the_from_account_and_is_added_once(owner_client, owner, mail_user, settings_fast,
                                                                  smtp_server):
    from messages_app.services.signatures import account_signature_update

    first = account_on(owner, mail_user, email="olga@acme.example")
    second = account_on(owner, mail_user, email="olga@beta.example", is_primary=False)
    account_signature_update(account=first, choice="personal", personal_html="<p>Firma ACME</p>")
    account_signature_update(account=second, choice="personal", personal_html="<p>Firma Beta</p>")
    page = owner_client.get(COMPOSE).content.decode()
    assert page.count('data-has-signature="1"') == 2
    frame = owner_client.get(reverse("messages_app:compose_signature", args=[second.pk]))
    assert "Firma Beta" in frame.content.decode() and "sandbox" in frame["Content-Security-Policy"]
    # A body saved with the first account's signature, sent from the second: only the second's.
    saved = '<p>Testo</p><div class="postino-signature"><p>Firma ACME</p></div>'
    send_form(owner_client, second, body_html=saved)
    assert outbox_send_due().sent == 1
    html = parse(smtp_server.wait_for(1, login=mail_user.login)[-1].data).get_body(("html",)).get_content()
    assert "Firma Beta" in html and "Firma ACME" not in html and html.count("postino-signature") == 1


def test_another_users_account_signature_and_messages_are_not_reachable(owner_client, colleague, mail_user):
    theirs = account_on(colleague, mail_user)
    assert owner_client.get(reverse("messages_app:compose_signature", args=[theirs.pk])).status_code == 404
    message = Message.objects.create(account=theirs, folder=theirs.folders.create(name="INBOX"), uid=1,
                                     dedup_key="x", subject="Privato", date=timezone.now())
    for key in ("reply", "reply_all", "forward", "draft"):
        assert owner_client.get(COMPOSE, {key: message.pk}).status_code == 404


def test_undo_too_late_stays_on_our_site(owner_client, mail_account, settings_fast):
    send_form(owner_client, mail_account)
    item = OutgoingMessage.objects.get()
    assert outbox_send_due().sent == 1
    response = owner_client.post(reverse("messages_app:outbox_undo", args=[item.pk]),
                                 {"next": "https://evil.example/phish"})
    assert response.url == reverse("messages_app:index")
    response = owner_client.post(reverse("messages_app:outbox_undo", args=[item.pk]),
                                 {"next": "/messages/unified/sent/"})
    assert response.url == "/messages/unified/sent/"
    item.refresh_from_db()
    assert item.state == OutboxState.SENT


def test_forward_inline_quotes_the_original_with_its_attachments(owner, mailbox):
    client = Client()
    client.force_login(owner)
    original = mailbox.message("Fattura novembre")
    page = client.get(COMPOSE, {"forward": original.pk}).content.decode()
    assert "Messaggio inoltrato" in page or "Forwarded message" in page
    assert "conti@fornitore.test" in page
    names = sorted(ComposeUpload.objects.filter(owner=owner).values_list("filename", flat=True))
    assert names == ["dettaglio.csv", "fattura.pdf"]
    assert 'name="kind" value="forward"' in page and f'name="original" value="{original.pk}"' in page


def test_a_draft_of_another_program_is_continued_and_replaced_by_ours(owner, mail_account, mail_user):
    from messages_app.services.sync import account_sync
    from tests.messages_app.views import mails
    from tests.messages_app.views.conftest import deliver, server_subjects

    deliver(mail_user, "Drafts", mails.plain("Bozza Thunderbird", "Testo iniziale", sender=mail_user.login,
                                             to="luigi@cliente.test"), ("\\Draft",))
    account_sync(mail_account.pk)
    row = Message.objects.get(account=mail_account, subject="Bozza Thunderbird")
    client = Client()
    client.force_login(owner)
    page = client.get(COMPOSE, {"draft": row.pk}).content.decode()
    assert f'name="draft_message" value="{row.pk}"' in page and "Testo iniziale" in page
    draft_id = page.split('name="draft_id" value="')[1].split('"')[0]
    answer = client.post(reverse("messages_app:compose_draft"), {
        "account": mail_account.pk, "to": "luigi@cliente.test", "subject": "Bozza Thunderbird",
        "body_html": "<p>Testo ripreso</p>", "draft_id": draft_id, "draft_message": row.pk}, **FETCH).json()
    assert answer["draft_message_cleared"] is True
    assert server_subjects(mail_user, "Drafts") == ["Bozza Thunderbird"]  # ours only, not two
    assert len(drafts_on_server(mail_user, draft_id)) == 1
    assert not Message.objects.filter(pk=row.pk).exists()


def test_a_message_written_on_the_page_arrives_byte_correct_encoded_alternatives_and_cid_images(
        owner_client, owner, mail_account, mail_user, smtp_server, settings_fast):
    import base64
    import re

    from tests.messages_app.views.mails import PNG_1PX

    owner.last_name = "Scarpà"
    owner.save(update_fields=["last_name"])
    upload = owner_client.post(reverse("messages_app:compose_upload"),
                               {"file": _file("offerta ç è.pdf", b"%PDF-1.4 dati")}).json()
    pasted = base64.b64encode(PNG_1PX).decode()
    response = send_form(owner_client, mail_account, to="Niccolò Rossi <niccolo@example.test>",
                         subject="Preventivo però è pronto", uploads=[upload["id"]],
                         body_html=f'<p>Caffè ☕ <img src="data:image/png;base64,{pasted}" alt="logo"></p>')
    assert response.status_code == 200, response.content
    assert outbox_send_due().sent == 1
    received = smtp_server.wait_for(1, login=mail_user.login)[-1]
    raw = received.data
    assert raw == bytes(OutgoingMessage.objects.get().raw)  # what left is what the outbox built
    assert raw.isascii()  # no raw 8-bit anywhere: encoded words, RFC 2231, QP/base64 bodies
    head = re.sub(r"\r\n[ \t]+", " ", raw.split(b"\r\n\r\n", 1)[0].decode()).split("\r\n")  # unfolded
    assert f"From: =?utf-8?q?Olga_Scarp=C3=A0?= <{mail_account.email}>" in head  # RFC 2047
    assert "To: =?utf-8?q?Niccol=C3=B2_Rossi?= <niccolo@example.test>" in head
    assert any(line.startswith("Subject: =?utf-8?") for line in head)
    assert b"filename*=utf-8''offerta%20%C3%A7%20%C3%A8.pdf" in raw
    message = parse(raw)
    assert message["Subject"] == "Preventivo però è pronto"
    assert message["From"].addresses[0].display_name == "Olga Scarpà"
    assert message["To"].addresses[0].display_name == "Niccolò Rossi"
    shape = [part.get_content_type() for part in message.walk()]
    assert shape == ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html",
                     "image/png", "application/octet-stream"]
    assert "Caffè ☕" in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "data:image" not in html
    cid = re.search(r'src="cid:([^"]+)"', html).group(1)
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == f"<{cid}>" and image.get_content() == PNG_1PX
    attached = next(message.iter_attachments())
    assert attached.get_filename() == "offerta ç è.pdf" and attached.get_content() == b"%PDF-1.4 dati"


def test_the_company_signature_arrives_rendered_for_each_of_two_senders(owner, colleague, mail_user, smtp_server,
                                                                        settings_fast):
    from django.contrib.auth import get_user_model

    from messages_app.services.compose import compose_send
    from messages_app.services.signatures import account_signature_update, company_signature_save

    User = get_user_model()
    User.objects.filter(pk=owner.pk).update(role=User.Role.SALES, phone="+39 02 111")
    User.objects.filter(pk=colleague.pk).update(first_name="Carlo", last_name="Bianchi", role=User.Role.SUPPORT,
                                                phone="+39 02 222", email="carlo@crm.test")
    company_signature_save(html="<p><b>$Users||first_name$ $Users||last_name$</b> · $Users||roleid$<br>"
                                "Tel. $Users||phone_work$ · $Users||email1$</p><p>ACME S.p.A.</p>")
    second = new_mail_user(mail_user.dovecot, mail_user.smtp)
    for user, server_user in ((owner, mail_user), (colleague, second)):
        user.refresh_from_db()
        account = account_on(user, server_user)
        account_signature_update(account=account, choice="company", personal_html="")
        compose_send(user=user, data=ComposeData(account=account, to=[("", "cliente@example.test")],
                                                 subject="Offerta", body_html="<p>Buongiorno</p>"))
    assert outbox_send_due().sent == 2
    olga = parse(smtp_server.wait_for(1, login=mail_user.login)[-1].data)
    carlo = parse(smtp_server.wait_for(1, login=second.login)[-1].data)
    for message, words in ((olga, "<b>Olga Owner</b> · Vendite<br>Tel. +39 02 111 · olga@crm.test"),
                           (carlo, "<b>Carlo Bianchi</b> · Assistenza<br>Tel. +39 02 222 · carlo@crm.test")):
        html = message.get_body(("html",)).get_content()
        assert words in html and "$Users||" not in html and html.count("postino-signature") == 1
        text = message.get_body(("plain",)).get_content()
        assert words.replace("<b>", "").replace("</b>", "").replace("<br>", "\n") in text.replace("\r\n", "\n")


SCHEDULED_PAGE = reverse("messages_app:special", args=["scheduled"])


def test_a_message_refused_for_good_shows_in_programmati_with_the_servers_reason_and_can_be_sent_edited(
        owner_client, owner, mail_account, mail_user, smtp_server, settings_fast):
    smtp_server.refuse_data_from(mail_account.email, "554 5.6.0 Message rejected as spam")
    try:
        send_form(owner_client, mail_account, subject="Offerta respinta", cc="anna@cliente.test")
        assert outbox_send_due().failed == 1
    finally:
        del smtp_server.data_replies[mail_account.email.lower()]
    item = OutgoingMessage.objects.get()
    page = owner_client.get(SCHEDULED_PAGE).content.decode()
    unsent = page.split('id="unsent"')[1].split("</ul>")[0]
    assert f'data-outbox="{item.pk}" data-state="failed"' in unsent and "Offerta respinta" in unsent
    assert "554 Message rejected as spam" in unsent  # the server's own words
    assert 'value="resend"' not in unsent  # it never left: edit it, not blindly again
    assert f"{COMPOSE}?outbox={item.pk}" in unsent
    reopened = owner_client.get(COMPOSE, {"outbox": item.pk}).content.decode()
    assert 'value="Offerta respinta"' in reopened and "anna@cliente.test" in reopened
    assert f'name="replaces" value="{item.pk}"' not in reopened  # a new message: the failed one stays as it was
    send_form(owner_client, mail_account, subject="Offerta respinta", cc="anna@cliente.test")
    assert outbox_send_due().sent == 1
    assert parse(smtp_server.wait_for(1, login=mail_user.login)[-1].data)["Subject"] == "Offerta respinta"


def test_an_interrupted_message_shows_as_uncertain_and_is_sent_again_only_when_its_user_asks(
        owner_client, owner, colleague, mail_account, mail_user, smtp_server, settings_fast):
    send_form(owner_client, mail_account, subject="Forse partito")
    item = OutgoingMessage.objects.get()
    # What a worker killed mid-send leaves (the kill itself: tests/messages_app/outbox/test_outbox_workers.py).
    OutgoingMessage.objects.filter(pk=item.pk).update(state=OutboxState.SENDING, claim_token="dead",
                                                      claimed_until=timezone.now() - timedelta(seconds=1))
    assert outbox_send_due().uncertain == 1
    page = owner_client.get(SCHEDULED_PAGE).content.decode()
    unsent = page.split('id="unsent"')[1].split("</ul>")[0]
    assert f'data-outbox="{item.pk}" data-state="uncertain"' in unsent and 'value="resend"' in unsent
    action = reverse("messages_app:scheduled_action", args=[item.pk])
    other = Client()
    other.force_login(colleague)
    assert other.post(action, {"action": "resend"}).status_code == 404
    assert "Forse partito" not in other.get(SCHEDULED_PAGE).content.decode()
    assert outbox_send_due().sent == 0 and smtp_server._matching(mail_user.login) == []
    assert owner_client.post(action, {"action": "resend"}).status_code == 302
    assert outbox_send_due().sent == 1
    assert len(smtp_server.wait_for(1, login=mail_user.login)) == 1
    assert 'id="unsent"' not in owner_client.get(SCHEDULED_PAGE).content.decode()  # sent: nothing left to decide


def test_every_mailbox_page_has_the_compose_button(owner_client, mailbox):
    inbox = mailbox.message("Offerta rinnovo")
    pages = [reverse("messages_app:index"), reverse("messages_app:folder", args=[inbox.folder_id]),
             reverse("messages_app:unified", args=["sent"]), reverse("messages_app:special", args=["scheduled"]),
             reverse("messages_app:special", args=["flagged"]), reverse("messages_app:message", args=[inbox.pk]),
             f"{reverse('messages_app:index')}?q=offerta"]
    for url in pages:
        page = owner_client.get(url).content.decode()
        assert f'href="{COMPOSE}" id="compose-button"' in page, url
        assert f'data-compose-url="{COMPOSE}"' in page, url  # the `c` key's target


def test_send_later_and_reschedule_read_the_time_in_the_users_time_zone(owner_client, owner, mail_account):
    from datetime import UTC, datetime

    owner.time_zone = "America/New_York"
    owner.save(update_fields=["time_zone"])
    send_form(owner_client, mail_account, subject="Per New York", send_at="2030-01-15T09:00")
    item = OutgoingMessage.objects.get()
    assert item.state == OutboxState.SCHEDULED
    assert item.send_at == datetime(2030, 1, 15, 14, 0, tzinfo=UTC)  # 09:00 EST
    owner_client.post(reverse("messages_app:scheduled_action", args=[item.pk]),
                      {"action": "reschedule", "send_at": "2030-07-15T09:00"})
    item.refresh_from_db()
    assert item.send_at == datetime(2030, 7, 15, 13, 0, tzinfo=UTC)  # 09:00 EDT
