"""Reading: headers and body, HTML isolated in a sandboxed frame with its own CSP, images only on
request, inline parts, attachments, read state."""

import io
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from messages_app.models import Attachment, MessageBody
from messages_app.services.preferences import preferences_update
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox, server_flags

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reading"}


def read(client, message, **params):
    query = "".join(f"&{k}={v}" for k, v in params.items()).replace("&", "?", 1)
    return client.get(reverse("messages_app:message", args=[message.pk]) + query, **HTMX)


def test_a_plain_text_message_is_escaped_and_its_links_are_clickable(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain(
        "Testo <b>grassetto</b>", "Vedi https://cliente.test/doc?a=1&b=2 e <script>alert(1)</script>"), ())])
    page = read(owner_client, box.message("Testo <b>grassetto</b>")).content.decode()
    assert "Testo &lt;b&gt;grassetto&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert ('<a href="https://cliente.test/doc?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">'
            in page)


def test_the_reading_pane_shows_from_to_cc_date_and_account(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain(
        "Riunione", sender="Mario Rossi <mario@cliente.test>", to="Olga <olga@crm.test>",
        cc="Luigi <luigi@cliente.test>"), ())])
    page = read(owner_client, box.message("Riunione")).content.decode()
    assert "Mario Rossi &lt;mario@cliente.test&gt;" in page
    assert "Olga &lt;olga@crm.test&gt;" in page and "Luigi &lt;luigi@cliente.test&gt;" in page
    assert box.account.email in page and "2026" in page


def test_opening_fetches_the_body_once_and_marks_the_message_read_on_the_server(owner_client, mailbox):
    message = mailbox.message("Offerta rinnovo")
    assert not message.is_seen
    read(owner_client, message)
    assert MessageBody.objects.get(message=message).text.startswith("Il contratto scade")
    assert "\\Seen" in server_flags(mailbox.mail_user, "INBOX")[message.uid]
    message.refresh_from_db()
    assert message.is_seen


def test_with_mark_read_on_open_off_the_message_stays_unread(owner_client, owner, mailbox):
    preferences_update(user=owner, mark_read_on_open=False)
    message = mailbox.message("Offerta rinnovo")
    read(owner_client, message)
    assert "\\Seen" not in server_flags(mailbox.mail_user, "INBOX")[message.uid]
    message.refresh_from_db()
    assert not message.is_seen


def test_html_is_shown_in_a_sandboxed_frame_without_scripts_or_same_origin(owner_client, mailbox):
    page = read(owner_client, mailbox.message("Newsletter di novembre")).content.decode()
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    sandbox = re.search(r'sandbox="([^"]*)"', frame).group(1).split()
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert "allow-popups" in sandbox


def test_the_body_document_has_its_own_strict_csp_and_no_remote_image_until_asked(owner_client, mailbox):
    message = mailbox.message("Newsletter di novembre")
    url = reverse("messages_app:message_body", args=[message.pk])
    response = owner_client.get(url)
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "sandbox" in csp
    assert csp.split("img-src")[1].split(";")[0].split() == [f"http://testserver/messages/m/{message.pk}/cid/", "data:"]
    assert "127.0.0.1:9/track.png" not in response.content.decode()
    allowed = owner_client.get(url + "?images=1")
    assert "http://127.0.0.1:9/track.png" in allowed.content.decode()
    assert " http:" in allowed["Content-Security-Policy"]


def test_the_reading_pane_offers_to_show_blocked_images_once_or_always(owner_client, owner, mailbox):
    message = mailbox.message("Newsletter di novembre")
    page = read(owner_client, message).content.decode()
    assert "show-images" in page and "trust-sender" in page
    assert "?images=1" not in re.search(r"<iframe[^>]*>", page).group(0)
    assert f'src="/messages/m/{message.pk}/body/?images=1"' in read(owner_client, message, images=1).content.decode()
    response = owner_client.post(reverse("messages_app:trust_sender", args=[message.pk]), follow=True, **HTMX)
    assert "?images=1" in re.search(r"<iframe[^>]*>", response.content.decode()).group(0)
    # Trusted from now on, for every message of that sender.
    assert "?images=1" in re.search(r"<iframe[^>]*>", read(owner_client, message).content.decode()).group(0)


def test_inline_cid_images_are_served_from_the_message_with_a_signed_link(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.html(
        "Con logo", '<p><img src="cid:logo@shop.test" alt="logo"></p>', inline_png_cid="logo@shop.test"), ())])
    message = box.message("Con logo")
    read(owner_client, message)
    body = owner_client.get(reverse("messages_app:message_body", args=[message.pk])).content.decode()
    src = re.search(r'<img src="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "/cid/" in src and "?t=" in src
    anonymous = Client()  # the sandboxed frame may not send the session cookie: the token suffices
    image = anonymous.get(src)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content == mails.PNG_1PX
    assert anonymous.get(src.split("?t=")[0] + "?t=forged").status_code == 404


def test_attachments_are_listed_and_download_as_attachments_with_nosniff(owner_client, mailbox):
    message = mailbox.message("Fattura novembre")
    page = read(owner_client, message).content.decode()
    assert "fattura.pdf" in page and "application/pdf" in page and "dettaglio.csv" in page
    part = Attachment.objects.get(message=message, filename="fattura.pdf")
    response = owner_client.get(reverse("messages_app:attachment", args=[message.pk, part.pk]))
    assert response.content == b"%PDF-1.4 fattura"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and "fattura.pdf" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"


def test_download_all_gives_a_zip_of_every_attachment(owner_client, mailbox):
    message = mailbox.message("Fattura novembre")
    read(owner_client, message)
    response = owner_client.post(reverse("messages_app:attachments_zip", args=[message.pk]))
    assert response["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["dettaglio.csv", "fattura.pdf"]
    assert archive.read("fattura.pdf") == b"%PDF-1.4 fattura"


def test_opening_the_message_url_directly_gives_the_whole_mailbox_page(owner_client, mailbox):
    message = mailbox.message("Offerta rinnovo")
    page = owner_client.get(reverse("messages_app:message", args=[message.pk])).content.decode()
    assert 'id="folder-tree"' in page and 'id="rows"' in page and f'data-message-id="{message.pk}"' in page


def test_a_server_that_is_down_gives_a_message_in_words_not_an_error_page(owner_client, owner, make_dovecot,
                                                                          smtp_server):
    from tests.conftest import account_on
    from tests.servers.fixtures import new_mail_user

    server = make_dovecot()
    user = new_mail_user(server, smtp_server)
    server.append(user.login, "INBOX", mails.plain("Irraggiungibile"))
    account = account_on(owner, user)
    from messages_app.services.sync import account_sync

    account_sync(account.pk)
    server.stop()
    message = account.messages.get(subject="Irraggiungibile")
    response = read(owner_client, message)
    assert response.status_code == 200 and 'class="error body-error"' in response.content.decode()


# --- another user -----------------------------------------------------------------------------

@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


def test_another_user_gets_404_for_every_reading_url(owner_client, colleague_client, mailbox):
    message = mailbox.message("Fattura novembre")
    read(owner_client, message)
    part = Attachment.objects.filter(message=message).first()
    for url in (reverse("messages_app:message", args=[message.pk]),
                reverse("messages_app:message_body", args=[message.pk]),
                reverse("messages_app:attachment", args=[message.pk, part.pk])):
        assert colleague_client.get(url).status_code == 404, url
    assert colleague_client.post(reverse("messages_app:attachments_zip", args=[message.pk])).status_code == 404
    assert colleague_client.post(reverse("messages_app:trust_sender", args=[message.pk])).status_code == 404


def test_another_user_gets_404_for_an_inline_image_even_with_a_valid_link(owner_client, colleague_client, owner,
                                                                           mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.html(
        "Logo", '<img src="cid:l@x.test">', inline_png_cid="l@x.test"), ())])
    message = box.message("Logo")
    read(owner_client, message)
    body = owner_client.get(reverse("messages_app:message_body", args=[message.pk])).content.decode()
    src = re.search(r'<img src="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert colleague_client.get(src).status_code == 404
    assert colleague_client.get(reverse("messages_app:message_cid_base", args=[message.pk])).status_code == 404


def _cache_directives(response) -> set[str]:
    return {item.strip() for item in response["Cache-Control"].split(",")}


def test_message_body_and_attachment_responses_are_private_and_never_stored(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Fattura", "In allegato.",
                              attachments=[("fattura.pdf", "application/pdf", b"%PDF-1.4 fattura")]), ()),
        ("INBOX", mails.html("Con logo", '<p><img src="cid:logo@shop.test"></p>', inline_png_cid="logo@shop.test"),
         ()),
    ])
    message, inline = box.message("Fattura"), box.message("Con logo")
    read(owner_client, message)
    read(owner_client, inline)
    part = Attachment.objects.get(message=message, filename="fattura.pdf")
    body = owner_client.get(reverse("messages_app:message_body", args=[inline.pk])).content.decode()
    cid_src = re.search(r'<img src="([^"]+)"', body).group(1).replace("&amp;", "&")
    responses = {
        "pane": read(owner_client, message),
        "page": owner_client.get(reverse("messages_app:message", args=[message.pk])),
        "body": owner_client.get(reverse("messages_app:message_body", args=[message.pk])),
        "attachment": owner_client.get(reverse("messages_app:attachment", args=[message.pk, part.pk])),
        "zip": owner_client.post(reverse("messages_app:attachments_zip", args=[message.pk])),
        "inline part": Client().get(cid_src),
    }
    for name, response in responses.items():
        assert response.status_code == 200, name
        assert {"private", "no-store"} <= _cache_directives(response), name


def test_download_all_names_entries_that_windows_can_extract(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain("Nomi strani", "In allegato.", attachments=[
        ('preventivo "v2": bozza?.pdf', "application/pdf", b"%PDF-1.4 a"),
        ("aux.txt", "text/plain", b"b"), ("note...", "text/plain", b"c")]), ())])
    message = box.message("Nomi strani")
    read(owner_client, message)

    archive = zipfile.ZipFile(io.BytesIO(owner_client.post(
        reverse("messages_app:attachments_zip", args=[message.pk])).content))

    assert sorted(archive.namelist()) == ["_aux.txt", "note", "preventivo _v2__ bozza_.pdf"]


def _logo_and_attachment(owner, mail_user):
    from email import message_from_bytes, policy

    mail = message_from_bytes(mails.html("Logo e allegato", '<p><img src="cid:logo@shop.test"></p>',
                                         inline_png_cid="logo@shop.test"), policy=policy.default)
    mail.add_attachment(b"%PDF-1.4 riservato", maintype="application", subtype="pdf", filename="riservato.pdf")
    box = make_mailbox(owner, mail_user, [("INBOX", bytes(mail), ())])
    return box.message("Logo e allegato")


def _inline_src(client, message) -> str:
    read(client, message)
    body = client.get(reverse("messages_app:message_body", args=[message.pk])).content.decode()
    return re.search(r'<img src="([^"]+)"', body).group(1).replace("&amp;", "&")


def test_an_inline_image_token_opens_that_part_only_not_an_attachment(owner_client, owner, mail_user):
    message = _logo_and_attachment(owner, mail_user)
    src = _inline_src(owner_client, message)
    token = src.split("?t=")[1]
    attachment = Attachment.objects.get(message=message, filename="riservato.pdf")
    anonymous = Client()

    assert anonymous.get(src).status_code == 200
    other_part = reverse("messages_app:message_cid", args=[message.pk, attachment.pk])
    assert anonymous.get(f"{other_part}?t={token}").status_code == 404


def test_an_inline_image_token_is_short_lived(owner_client, owner, mail_user, monkeypatch):
    import time

    from django.core import signing

    message = _logo_and_attachment(owner, mail_user)
    src = _inline_src(owner_client, message)
    later = time.time() + 16 * 60
    monkeypatch.setattr(signing.time, "time", lambda: later)

    assert Client().get(src).status_code == 404
