"""The hostile corpus through the real path (Dovecot, sync, parser, sanitiser, views): nothing
executable reaches the page or the frame, nothing remote is referenced before "show images",
header fields and attachment names stay text."""

import re

import pytest
from django.urls import reverse

from messages_app.models import Attachment, Message
from tests.messages_app.views import hostile
from tests.messages_app.views.conftest import make_mailbox

REMOTE = "remote.invalid:8"


def test_the_corpus_has_at_least_25_messages():
    assert len(hostile.NAMES) >= 25


@pytest.mark.parametrize("name", hostile.NAMES)
def test_a_hostile_message_renders_without_executable_or_remote_content(owner_client, owner, mail_user, name):
    box = make_mailbox(owner, mail_user, [("INBOX", hostile.load(name, REMOTE), ())])
    message = Message.objects.get(account=box.account)

    listing = owner_client.get(reverse("messages_app:index"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list")
    listing = listing.content.decode()
    assert hostile.problems(listing, remote_host=REMOTE, allow=hostile.ours) == []

    pane = owner_client.get(reverse("messages_app:message", args=[message.pk]), HTTP_HX_REQUEST="true")
    page = pane.content.decode()
    assert hostile.problems(page, remote_host=REMOTE, allow=hostile.ours) == []
    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) <= 1
    for frame in frames:
        assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame

    document = owner_client.get(reverse("messages_app:message_body", args=[message.pk]))
    csp = document["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "sandbox" in csp
    assert not re.search(r"\shttps?:[\s;]", csp + ";")  # no remote scheme allowed for anything
    if message.body.html:
        body = hostile.body_part(document.content.decode())
        assert hostile.problems(body, remote_host=REMOTE) == []

    for part in Attachment.objects.filter(message=message):
        url = reverse("messages_app:attachment", args=[message.pk, part.pk])
        download = owner_client.get(url)
        assert download["Content-Type"] == "application/octet-stream"
        assert download["Content-Disposition"].startswith("attachment;")
        assert download["X-Content-Type-Options"] == "nosniff"
        assert "/" not in part.filename and "\\" not in part.filename and "\u202e" not in part.filename


def test_markup_in_encoded_headers_is_shown_as_text(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", hostile.load("23-encoded-word-headers", REMOTE), ())])
    message = Message.objects.get(account=box.account)
    page = owner_client.get(reverse("messages_app:message", args=[message.pk]), HTTP_HX_REQUEST="true")
    text = page.content.decode()
    assert "&lt;script&gt;fetch(&quot;http://REMOTE_HOST/subject&quot;)&lt;/script&gt;" in text  # base64: not replaced
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_an_inline_svg_is_served_as_an_inert_download(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", hostile.load("27-cid-svg", REMOTE), ())])
    message = Message.objects.get(account=box.account)
    owner_client.get(reverse("messages_app:message", args=[message.pk]), HTTP_HX_REQUEST="true")
    body = owner_client.get(reverse("messages_app:message_body", args=[message.pk])).content.decode()
    src = re.search(r'<img src="([^"]+)"', body).group(1).replace("&amp;", "&")
    served = owner_client.get(src)
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
