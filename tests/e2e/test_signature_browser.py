"""Impostazioni > Account > Firma in Chromium at 1440×900 and 390×844: a personalised signature
previewed before saving, then the company one filled with the user's own values; no CSP violation."""

import base64
import struct
import zlib

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from messages_app.services.signatures import company_signature_save
from tests.e2e.conftest import log_in
from tests.e2e.test_mailbox_ux_browser import SIZES, open_tab, shot
from tests.messages_app.signatures.conftest import plain_account

pytestmark = pytest.mark.django_db(transaction=True)

COMPANY = ('<table><tr><td style="padding-right: 12px; border-right: 2px solid #1f6feb">'
           "<b>$Users||first_name$ $Users||last_name$</b><br>$Users||title$ · $Users||roleid$</td>"
           '<td style="padding-left: 12px">Tel. $Users||phone_work$ · Cell. $Users||phone_mobile$<br>'
           '<a href="mailto:$Users||email1$">$Users||email1$</a><br>$Users||address_street$</td></tr></table>')


def logo_png() -> str:
    """A 96×24 blue bar as a data: URL, the kind of logo a signature embeds."""
    width, height = 96, 24
    rows = b"".join(b"\x00" + b"\x1f\x6f\xeb" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def csp_violations(tab) -> list[str]:
    """Collects every Content-Security-Policy violation of the tab, frames included."""
    violations: list[str] = []
    tab.on("console", lambda message: violations.append(message.text)
           if "Content Security Policy" in message.text else None)
    tab.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                        "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))")
    return violations


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


def test_the_signature_page_previews_a_personal_draft_then_saves_the_company_one(browser, size, live_server, owner):
    get_user_model().objects.filter(pk=owner.pk).update(
        title="Responsabile commerciale", phone="+39 02 4000 1234", mobile="+39 333 123 4567",
        address="Via Torino 12, 20123 Milano")
    company_signature_save(html=COMPANY)
    account = plain_account(owner, "olga@acme.example", description="ACME commerciale", is_primary=True)

    context, tab = open_tab(browser, size)
    violations = csp_violations(tab)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/settings/accounts/")
        tab.locator(f"tr[data-account='{account.pk}'] a", has_text="Firma").click()
        expect(tab.locator("h1")).to_have_text("Firma: olga@acme.example")

        tab.check("input[name=choice][value=personal]")
        tab.fill("textarea[name=personal_html]",
                 f'<p><img src="{logo_png()}" alt="ACME"><br><b>Olga Owner</b> · ACME S.p.A.<br>'
                 '<a href="https://acme.example">acme.example</a></p><script>alert(1)</script>')
        tab.click("button[value=preview]")
        frame = tab.frame_locator("iframe.signature-frame")
        expect(frame.locator("b")).to_have_text("Olga Owner")
        expect(frame.locator("img[alt=ACME]")).to_be_visible()
        assert frame.locator("script").count() == 0
        expect(tab.locator(".signature-preview h2 .badge")).to_have_text("non ancora salvata")
        expect(tab.locator(".signature-preview")).to_be_in_viewport()  # a phone scrolls down to it
        shot(tab, "signature-personal-preview", size)

        tab.check("input[name=choice][value=company]")
        tab.click("button[value=save]")
        expect(tab.locator(".flash li")).to_have_text("Firma salvata.")
        expect(frame.locator("td").first).to_contain_text("Olga Owner")
        expect(frame.locator("td").first).to_contain_text("Responsabile commerciale · Vendite")
        expect(frame.locator("a")).to_have_text("olga@crm.test")
        expect(tab.locator("input[name=choice][value=company]")).to_be_checked()
        tab.locator(".signature-preview").scroll_into_view_if_needed()
        shot(tab, "signature-company", size)
    finally:
        context.close()
    assert violations == []


def test_the_admin_edits_the_company_signature_sees_the_warning_and_a_preview_for_a_chosen_user(
        browser, live_server, owner, colleague):
    get_user_model().objects.create_superuser("root", "root@crm.test", "root-pass-1")
    get_user_model().objects.filter(pk=colleague.pk).update(first_name="Carlo", last_name="Bianchi",
                                                            role="support", phone="+39 02 222")
    context, tab = open_tab(browser, "desktop")
    violations = csp_violations(tab)
    try:
        tab.goto(f"{live_server.url}/admin/login/")
        tab.fill("input[name=username]", "root")
        tab.fill("input[name=password]", "root-pass-1")
        tab.click("input[type=submit]")
        tab.goto(f"{live_server.url}/admin/messages_app/companysignature/")  # no row yet: the add form
        tab.fill("textarea[name=html]", COMPANY + "<p>$Users||shoe_size$</p>")
        tab.select_option("select[name=preview_user]", str(colleague.pk))
        tab.click("input[name=_continue]")
        expect(tab.locator(".messagelist .warning")).to_contain_text("$Users||shoe_size$")
        frame = tab.frame_locator("iframe[title='Anteprima della firma']")
        expect(frame.locator("td").first).to_contain_text("Carlo Bianchi")
        expect(frame.locator("td").first).to_contain_text("Assistenza")
        expect(tab.locator("select[name=preview_user]")).to_have_value(str(colleague.pk))
        tab.locator("iframe[title='Anteprima della firma']").scroll_into_view_if_needed()
        shot(tab, "signature-admin", "desktop")
    finally:
        context.close()
    assert violations == []
