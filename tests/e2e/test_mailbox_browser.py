"""The mailbox in Chromium: log in, unified inbox, threads, an HTML message, the Layout options,
flag, move, search, and counts that refresh by themselves."""

import re

import pytest
from playwright.sync_api import expect

from messages_app.models import Folder
from messages_app.services.preferences import preferences_update
from tests.e2e.conftest import log_in
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import deliver, make_mailbox, server_flags, server_subjects
from tests.servers.fixtures import new_mail_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_accounts(owner, mail_user, dovecot, smtp_server, remote_log):
    news = (f'<h1>Offerte di novembre</h1><p>Sconti su tutto.</p><img alt="banner" src="http://{remote_log.host}/banner.png">'
            '<p><a href="https://shop.test/offerte">Vai alle offerte</a></p>')
    work = make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Offerta rinnovo", "Il contratto scade a dicembre.", minutes=0,
                              message_id="<offerta@cliente.test>"), ()),
        ("INBOX", mails.plain("Re: Offerta rinnovo", "Confermo, procediamo con il rinnovo.", minutes=10,
                              in_reply_to="<offerta@cliente.test>"), ()),
        ("INBOX", mails.html("Newsletter di novembre", news, minutes=20), ()),
        ("INBOX", mails.plain("Verbale riunione", "Presenti: Olga, Mario. Decisione: ornitorinco approvato.",
                              minutes=30), ("\\Seen",)),
    ])
    second_user = new_mail_user(dovecot, smtp_server)
    personal = make_mailbox(owner, second_user, [
        ("INBOX", mails.plain("Dal secondo account", "Ciao!", minutes=25, sender="Anna <anna@amici.test>"), ()),
    ])
    return work, personal


def test_log_in_and_read_the_unified_inbox_of_both_accounts(page, live_server, owner, two_accounts):
    log_in(page, live_server, "owner", "owner-pass-1")
    rows = page.locator("#rows > li.row")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("Verbale riunione")
    expect(page.locator("#rows")).to_contain_text("Dal secondo account")
    expect(page.locator("#folder-tree a.entry.active")).to_contain_text("Entrata")
    expect(page.locator("#count-unified-inbox")).to_have_text("4")


def test_expand_a_thread(page, live_server, owner, two_accounts):
    preferences_update(user=owner, threaded=True)
    log_in(page, live_server, "owner", "owner-pass-1")
    thread = page.locator("#rows > li.thread", has_text="Re: Offerta rinnovo")
    expect(thread.locator(".thread-count")).to_have_text("2")
    thread.locator(".thread-count").click()
    children = thread.locator(".thread-children li.row")
    expect(children).to_have_count(2)
    expect(children.first).to_contain_text("Offerta rinnovo")
    thread.locator(".thread-count").click()
    expect(thread.locator(".thread-children")).to_be_hidden()


def test_an_html_message_shows_in_the_sandbox_and_remote_images_wait_for_a_click(page, live_server, owner,
                                                                                   two_accounts, remote_log):
    log_in(page, live_server, "owner", "owner-pass-1")
    page.locator("#rows a.open", has_text="Newsletter di novembre").click()
    frame = page.frame_locator("iframe.body-frame")
    expect(frame.locator("h1")).to_have_text("Offerte di novembre")
    expect(frame.locator("a", has_text="Vai alle offerte")).to_have_attribute("target", "_blank")
    expect(page.locator(".images-bar")).to_be_visible()
    assert remote_log.requests == []
    page.locator(".images-bar .show-images").click()
    banner = page.frame_locator("iframe.body-frame").locator("img[alt=banner]")
    expect(banner).to_have_js_property("naturalWidth", 1)  # loaded, so the server has logged it
    assert remote_log.requests == ["/banner.png"]
    assert page.dialogs == []


def test_each_layout_option_applies_at_once(page, live_server, owner, two_accounts):
    work, _personal = two_accounts
    log_in(page, live_server, "owner", "owner-pass-1")
    expect(page.locator("#rows .preview").first).to_be_visible()

    def toggle(field: str) -> None:
        page.goto(f"{live_server.url}/messages/settings/layout/")
        page.locator(f"input[name={field}]").click()
        expect(page.locator(".saved")).to_be_visible()
        page.goto(f"{live_server.url}/messages/")

    toggle("show_preview")
    expect(page.locator("#rows .preview")).to_have_count(0)
    toggle("threaded")
    expect(page.locator("#rows > li.thread")).to_have_count(4)
    toggle("merge_accounts")
    expect(page.locator('#folder-tree [data-scope="unified:inbox"]')).to_have_count(0)
    expect(page.locator("#list h1")).to_have_text("Entrata")
    toggle("mark_read_on_open")
    unread = page.locator("#rows > li.unread", has_text="Offerta rinnovo").first
    unread.locator("a.open").click()
    expect(page.locator("#reading article.message")).to_be_visible()
    message = work.message("Offerta rinnovo")
    message.refresh_from_db()
    assert not message.is_seen
    assert "\\Seen" not in server_flags(work.mail_user, "INBOX")[message.uid]


def test_flag_a_message_and_find_it_in_flagged(page, live_server, owner, two_accounts):
    work, _personal = two_accounts
    log_in(page, live_server, "owner", "owner-pass-1")
    row = page.locator("#rows > li.row", has_text="Verbale riunione")
    row.locator("button.star").click()
    expect(row).to_have_class(re.compile(r"\bflagged\b"))
    page.locator('#folder-tree a[data-scope="special:flagged"]').click()
    expect(page.locator("#list h1")).to_have_text("Contrassegnata")
    expect(page.locator("#rows > li.row")).to_have_count(1)
    expect(page.locator("#rows")).to_contain_text("Verbale riunione")
    assert "\\Flagged" in server_flags(work.mail_user, "INBOX")[work.message("Verbale riunione").uid]


def test_move_a_message_to_another_folder_and_see_it_there_on_the_server(page, live_server, owner, two_accounts):
    work, _personal = two_accounts
    work.mail_user.dovecot.create_folder(work.mail_user.login, "Clienti")
    work.sync()
    destination = Folder.objects.get(account=work.account, name="Clienti")
    log_in(page, live_server, "owner", "owner-pass-1")
    row = page.locator("#rows > li.row", has_text="Verbale riunione")
    row.locator("input[name=ids]").check()
    page.select_option("#selection select[name=destination]", str(destination.pk))
    page.locator('#selection button[value="move"]').click()
    expect(row).to_have_count(0)
    assert server_subjects(work.mail_user, "Clienti") == ["Verbale riunione"]
    assert "Verbale riunione" not in server_subjects(work.mail_user, "INBOX")


def test_search_finds_a_word_of_the_body(page, live_server, owner, two_accounts):
    log_in(page, live_server, "owner", "owner-pass-1")
    page.fill("#search-box", "ornitorinco")
    page.press("#search-box", "Enter")
    expect(page.locator("#list h1")).to_contain_text("ornitorinco")
    expect(page.locator("#rows > li.row")).to_have_count(1)
    expect(page.locator("#rows")).to_contain_text("Verbale riunione")


def test_unread_counts_follow_new_mail_without_a_reload(page, live_server, owner, two_accounts):
    work, _personal = two_accounts
    log_in(page, live_server, "owner", "owner-pass-1")
    expect(page.locator("#count-unified-inbox")).to_have_text("4")
    page.evaluate("window.sameDocument = true")
    deliver(work.mail_user, "INBOX", mails.plain("Ordine urgente", minutes=60))
    work.sync()
    expect(page.locator("#count-unified-inbox")).to_have_text("5")
    assert page.evaluate("window.sameDocument") is True


def test_keyboard_shortcuts_move_open_flag_and_delete(page, live_server, owner, two_accounts):
    work, _personal = two_accounts
    log_in(page, live_server, "owner", "owner-pass-1")
    page.keyboard.press("j")
    expect(page.locator("#rows > li.row.current")).to_contain_text("Verbale riunione")
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page.locator("#reading h2.subject")).to_have_text("Dal secondo account")
    page.keyboard.press("k")
    page.keyboard.press("s")
    expect(page.locator("#rows > li.row.current")).to_have_class(re.compile(r"\bflagged\b"))
    page.keyboard.press("#")
    expect(page.locator("#rows > li.row", has_text="Verbale riunione")).to_have_count(0)
    assert server_subjects(work.mail_user, "Trash") == ["Verbale riunione"]
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
