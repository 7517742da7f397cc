"""Headers a public deployment needs on every app page: a Content-Security-Policy that allows scripts
only from our own static files, and pages that need nothing more (no inline script, no on* handler)."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from messages_app.models import Message
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox


class _InlineScriptFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src") and names.get("type") != "application/json":
            self.found.append(f"inline <script> {attrs}")
        self.found += [f"<{tag} {name}=...>" for name in names if name.startswith("on")]
        self.found += [f"<{tag} {name}=javascript:>" for name, value in attrs
                       if value and value.strip().lower().startswith("javascript:")]


def _inline_scripts(html: str) -> list[str]:
    finder = _InlineScriptFinder()
    finder.feed(html)
    return finder.found


def _directives(header: str) -> dict[str, list[str]]:
    parts = (item.strip().split() for item in header.split(";") if item.strip())
    return {part[0]: part[1:] for part in parts}


@pytest.fixture
def app_pages(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain("Offerta", "Testo"), ())])
    message = Message.objects.get(account=box.account, subject="Offerta")
    return [
        reverse("messages_app:index"),
        reverse("messages_app:folder", args=[message.folder_id]),
        reverse("messages_app:message", args=[message.pk]),
        reverse("messages_app:account_list"),
        reverse("messages_app:account_create"),
        reverse("messages_app:account_edit", args=[box.account.pk]),
        reverse("messages_app:sync_health", args=[box.account.pk]),
        reverse("messages_app:settings_layout"),
        reverse("messages_app:settings_folders"),
        reverse("preferences"),
    ]


def test_it_sends_a_csp_allowing_only_own_scripts_on_every_app_page(client, owner_client, app_pages):
    for url in [*app_pages, reverse("login")]:
        response = (client if url == reverse("login") else owner_client).get(url)
        assert response.status_code == 200, url
        directives = _directives(response["Content-Security-Policy"])
        assert directives["script-src"] == ["'self'"], url
        assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'self'"], url


def test_app_pages_have_no_inline_script_or_event_handler(client, owner_client, app_pages):
    assert _inline_scripts(client.get(reverse("login")).content.decode()) == []
    for url in app_pages:
        assert _inline_scripts(owner_client.get(url).content.decode()) == [], url


def test_the_message_body_frame_keeps_its_own_stricter_policy(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.html("Novità", "<p>Saldi</p>"), ())])
    message = box.message("Novità")
    response = owner_client.get(reverse("messages_app:message_body", args=[message.pk]))
    directives = _directives(response["Content-Security-Policy"])
    assert directives["default-src"] == ["'none'"] and "sandbox" in directives
    assert "script-src" not in directives


def test_only_the_message_body_may_be_framed_and_only_by_our_own_pages(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [("INBOX", mails.html("Novità", "<p>Saldi</p>"), ())])
    message = box.message("Novità")
    assert owner_client.get(reverse("messages_app:message_body", args=[message.pk]))["X-Frame-Options"] == "SAMEORIGIN"
    assert owner_client.get(reverse("messages_app:message", args=[message.pk]))["X-Frame-Options"] == "DENY"
    assert owner_client.get(reverse("messages_app:index"))["X-Frame-Options"] == "DENY"


def test_the_admin_has_the_same_policy_and_no_inline_script(client, staff):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    for url in ("/admin/", "/admin/messages_app/mailaccount/", "/admin/messages_app/companyserver/add/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _directives(response["Content-Security-Policy"])["script-src"] == ["'self'"], url
        assert _inline_scripts(response.content.decode()) == [], url
