"""Quadratic "download all" (issue 16, item 3): a message with 5,000 parts (the parser keeps
499 attachments) is parsed once for the whole zip, not once per attachment; the work is bounded;
the zip is a POST with the CSRF token, so another site cannot trigger it with a link."""

import io
import time
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from messages_app.mime import parse as mime_parse
from messages_app.models import Attachment
from tests.messages_app.views.conftest import make_mailbox

PARTS = 5000


def many_parts_message() -> bytes:
    boundary = "b0undary"
    head = (f"From: Mario <mario@cliente.test>\r\nTo: olga@crm.test\r\nSubject: Tante parti\r\n"
            f"Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <tante@cliente.test>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n')
    parts = [f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nCiao.\r\n"]
    parts += [f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
              f'Content-Disposition: attachment; filename="a.bin"\r\n\r\nx{n}\r\n' for n in range(PARTS - 1)]
    return (head + "".join(parts) + f"--{boundary}--\r\n").encode()


@pytest.fixture
def crowded(owner, mail_user):
    return make_mailbox(owner, mail_user, [("INBOX", many_parts_message(), ())])


def test_the_zip_parses_the_message_once(monkeypatch, owner_client, crowded):
    message = crowded.message("Tante parti")
    owner_client.get(reverse("messages_app:message", args=[message.pk]))  # the body and its attachment list
    kept = Attachment.objects.filter(message=message, is_inline=False).count()
    assert kept > 400

    parses = []
    real_parse = mime_parse.bounded_parse
    monkeypatch.setattr(mime_parse, "bounded_parse", lambda *a, **kw: parses.append(1) or real_parse(*a, **kw))
    started = time.monotonic()
    response = owner_client.post(reverse("messages_app:attachments_zip", args=[message.pk]))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert len(names) == kept and len(set(n.lower() for n in names)) == kept  # a.bin, a (2).bin, ...
    assert len(parses) == 1
    assert elapsed < 30  # was about 87 s


def test_the_zip_is_post_only_and_needs_the_csrf_token(owner, crowded):
    message = crowded.message("Tante parti")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    url = reverse("messages_app:attachments_zip", args=[message.pk])
    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 403
