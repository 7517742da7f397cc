"""The mailbox as people expect it, at a desktop (1440×900) and a phone (390×844) size: the endless
list, new mail that shows by itself, one pane at a time on a phone, toasts with undo, and folder
names in the UI's language. Each test also saves screenshots of the screens it visits."""

import re

import pytest
from playwright.sync_api import expect

from messages_app.models import Folder
from messages_app.services.preferences import preferences_update
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS, log_in
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import deliver, make_mailbox, server_subjects

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
LIVE_WAIT_MS = 4_000  # the list polls every 2 s: a new row must show well within this


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


def open_tab(browser, size: str, locale: str = "it-IT"):
    context = browser.new_context(viewport=SIZES[size], locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def shot(tab, name: str, size: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.wait_for_timeout(250)  # let the slide-in and the toast settle
    tab.screenshot(path=str(ARTIFACTS / f"ux-{name}-{size}.png"))


@pytest.fixture
def tab(browser, size):
    context, page = open_tab(browser, size)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def inbox(owner, mail_user):
    return make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Offerta rinnovo", "Buongiorno,\nconfermo l'offerta.\n\n> Il contratto scade a "
                              "dicembre.\n> Attendo conferma.", minutes=0), ()),
        ("INBOX", mails.plain("Fattura novembre", "Fattura in allegato.", minutes=10,
                              sender="Amministrazione <conti@fornitore.test>",
                              attachments=[("fattura.pdf", "application/pdf", b"%PDF-1.4 fattura")]), ()),
        ("INBOX", mails.plain("Verbale riunione", "Presenti: Olga, Mario.", minutes=20), ("\\Seen",)),
    ])


def show_folders_if_needed(tab, size: str) -> None:
    if size == "phone":
        tab.locator("#list .show-folders").click()
        expect(tab.locator("#folder-tree")).to_be_visible()


def test_scroll_to_message_150_of_200(tab, size, live_server, owner, mail_user):
    box = make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain(f"Messaggio {n:03d}", f"Testo {n}.", minutes=n), ()) for n in range(1, 201)
    ])
    assert box.account.messages.count() == 200
    log_in(tab, live_server, "owner", "owner-pass-1")
    rows = tab.locator("#rows > li.row")
    expect(rows).to_have_count(50)
    expect(tab.locator("#rows > li.more a")).to_have_text("Messaggi meno recenti")  # the no-JavaScript way
    if size == "desktop":
        toolbar = tab.locator("#selection").bounding_box()
        assert toolbar["height"] < 40, f"the toolbar wraps: {toolbar}"
    shot(tab, "list", size)
    pane = tab.locator("#list")
    for _ in range(10):
        if rows.count() >= 150:
            break
        pane.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        tab.wait_for_timeout(300)
    target = tab.locator("#rows > li.row", has_text="Messaggio 051")  # newest first: the 150th row
    target.scroll_into_view_if_needed()
    expect(target).to_be_visible()
    assert rows.nth(149).inner_text().count("Messaggio 051") == 1
    head = tab.locator("#list .list-head").bounding_box()
    assert abs(head["y"] - pane.bounding_box()["y"]) < 2, "the list header scrolled away"
    expect(tab.locator("#selection")).to_be_in_viewport()
    shot(tab, "list-scrolled", size)

    # The keyboard walks into rows not loaded yet: they load as the current row nears the bottom.
    if size == "desktop":
        tab.locator("#rows > li.row").last.click(position={"x": 5, "y": 5})
        for _ in range(60):
            tab.keyboard.press("j")
        expect(rows).to_have_count(200)
        ids = tab.eval_on_selector_all("#rows > li.row", "rows => rows.map(r => r.id)")
        assert len(set(ids)) == 200

    # Another folder opens at its top.
    show_folders_if_needed(tab, size)
    tab.locator('#folder-tree a[data-scope="special:flagged"]').click()
    expect(tab.locator("#list h1")).to_have_text("Contrassegnata")
    assert pane.evaluate("el => el.scrollTop") == 0


def test_a_message_appended_on_the_server_appears_without_a_reload(tab, size, live_server, owner, mail_user,
                                                                    inbox):
    log_in(tab, live_server, "owner", "owner-pass-1")
    expect(tab.locator("#rows > li.row")).to_have_count(3)
    tab.evaluate("window.sameDocument = true")
    deliver(mail_user, "INBOX", mails.plain("Ordine urgente", "Serve entro domani.", minutes=60))
    inbox.sync()
    arrived = tab.locator("#rows > li.row").first
    expect(arrived).to_contain_text("Ordine urgente", timeout=LIVE_WAIT_MS)
    expect(arrived).to_have_class(re.compile(r"\bunread\b"))
    expect(tab.locator("#count-unified-inbox")).to_have_text("3", timeout=LIVE_WAIT_MS)
    shot(tab, "live-new-mail", size)

    # Another client reads and flags a message: the row follows.
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder("INBOX")
        uid = inbox.message("Fattura novembre").uid
        client.add_flags([uid], [b"\\Seen", b"\\Flagged"])
    finally:
        client.logout()
    inbox.sync()
    row = tab.locator("#rows > li.row", has_text="Fattura novembre")
    expect(row).to_have_class(re.compile(r"\bflagged\b"), timeout=LIVE_WAIT_MS)
    expect(row).not_to_have_class(re.compile(r"\bunread\b"))
    expect(tab.locator("#rows > li.row")).to_have_count(4)
    assert tab.evaluate("window.sameDocument") is True


def test_read_a_message_and_go_back(tab, size, live_server, owner, inbox):
    log_in(tab, live_server, "owner", "owner-pass-1")
    list_pane, reading = tab.locator("#list"), tab.locator("#reading")
    expect(list_pane).to_be_visible()
    if size == "phone":
        expect(reading).to_be_hidden()
        expect(tab.locator("#folder-tree")).to_be_hidden()
        show_folders_if_needed(tab, size)
        shot(tab, "folders", size)
        tab.locator("#folder-tree .close-folders").click()
        expect(list_pane).to_be_visible()
    tab.locator("#rows a.open", has_text="Offerta rinnovo").click()
    expect(reading.locator("h2.subject")).to_have_text("Offerta rinnovo")
    expect(reading.locator(".plain-body .quote").first).to_contain_text("Il contratto scade a dicembre.")
    date = reading.locator("dl.headers time").inner_text()
    assert re.fullmatch(r"[a-zì]+ \d{1,2} [a-z]+ \d{4}, \d\d:\d\d", date), date  # "lunedì 2 novembre 2026, 10:00"
    shot(tab, "reading", size)
    back = reading.locator(".pane-switch.back")
    if size == "phone":
        expect(list_pane).to_be_hidden()
        back.click()
        expect(list_pane).to_be_visible()
        expect(reading).to_be_hidden()
        expect(tab.locator("#rows > li.row.current")).to_contain_text("Offerta rinnovo")
    else:
        expect(list_pane).to_be_visible()
        expect(back).to_be_hidden()


def test_a_move_says_what_it_did_and_can_be_undone(tab, size, live_server, owner, mail_user, inbox):
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    inbox.sync()
    destination = Folder.objects.get(account=inbox.account, name="Clienti")
    log_in(tab, live_server, "owner", "owner-pass-1")
    toast = tab.locator("#toast .toast")

    tab.locator('#selection button[value="move"]').click()
    expect(toast).to_contain_text("Nessun messaggio selezionato")
    row = tab.locator("#rows > li.row", has_text="Verbale riunione")
    row.locator("input[name=ids]").check()
    tab.locator('#selection button[value="move"]').click()
    expect(toast).to_contain_text("Scegli prima la cartella di destinazione")

    tab.select_option("#selection select[name=destination]", str(destination.pk))
    tab.locator('#selection button[value="move"]').click()
    expect(toast).to_contain_text("1 messaggio spostato in Clienti")
    expect(row).to_have_count(0)
    assert server_subjects(mail_user, "Clienti") == ["Verbale riunione"]
    shot(tab, "toast-move", size)

    toast.locator("button.undo").click()
    expect(toast).to_contain_text("1 messaggio rimesso al suo posto")
    expect(tab.locator("#rows > li.row", has_text="Verbale riunione")).to_have_count(1)
    assert "Verbale riunione" in server_subjects(mail_user, "INBOX")
    assert server_subjects(mail_user, "Clienti") == []

    # Select all, act: the select-all box is cleared with the rows, so the next action is not a no-op.
    tab.locator("#select-all").check()
    tab.locator('#selection button[value="read"]').click()
    expect(toast).to_contain_text("3 messaggi segnati come letti")
    expect(tab.locator("#select-all")).not_to_be_checked()
    expect(tab.locator("#rows input[name=ids]:checked")).to_have_count(0)
    expect(tab.locator("#rows > li.row.unread")).to_have_count(0)
    toast.locator("button.undo").click()
    expect(tab.locator("#rows > li.row.unread")).to_have_count(3)


@pytest.mark.parametrize("locale", ["en-US", "it-IT"])
def test_folder_names_follow_the_language(browser, size, locale, live_server, owner, mail_user, inbox):
    delimiter = Folder.objects.get(account=inbox.account, name="INBOX").delimiter or "/"
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    mail_user.dovecot.create_folder(mail_user.login, f"Clienti{delimiter}Edilnord")
    inbox.sync()
    owner.language = locale[:2]  # the signed-in user's own choice decides the UI's language
    owner.save(update_fields=["language"])
    context, tab = open_tab(browser, size, locale)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        english = locale.startswith("en")
        italian_names, english_names = ["Entrata", "Inviata", "Cestino"], ["Inbox", "Sent", "Trash"]
        wanted, unwanted = (english_names, italian_names) if english else (italian_names, english_names)
        tree = tab.locator("#folder-tree").text_content()
        options = tab.locator("#selection select[name=destination] option").all_text_contents()
        for name in wanted:
            assert name in tree
        for name in unwanted:
            assert name not in tree and name not in options, (name, options)
        assert "Clienti › Edilnord" in options
        assert "INBOX" not in " ".join(options)
        assert tab.title().endswith("· Postino")

        tab.goto(f"{live_server.url}/messages/settings/layout/")
        layout = tab.locator("main").inner_text()
        for name in unwanted:
            assert name not in layout
        shot(tab, f"layout-{locale}", size)

        tab.goto(f"{live_server.url}/messages/m/999999/")
        expect(tab.locator("main h1")).to_have_text("Page not found" if english else "Pagina non trovata")
        shot(tab, f"404-{locale}", size)

        tab.goto(f"{live_server.url}/messages/settings/accounts/{inbox.account.pk}/health/")
        health = tab.locator("table.health").inner_text()
        assert ("Inbox" if english else "Entrata") in health
        assert "inbox" not in health.replace("INBOX", "")
        shot(tab, f"sync-health-{locale}", size)
    finally:
        context.close()


def test_login_and_settings_forms_fit_the_screen(browser, size, live_server, owner, inbox):
    width = SIZES[size]["width"]
    context, tab = open_tab(browser, size)
    try:
        tab.goto(f"{live_server.url}/accounts/login/")
        shot(tab, "login", size)
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        log_in(tab, live_server, "owner", "owner-pass-1")
        for name, path in [("accounts", "/messages/settings/accounts/"),
                           ("account-new", "/messages/settings/accounts/new/"),
                           ("layout", "/messages/settings/layout/"), ("preferences", "/accounts/preferences/")]:
            tab.goto(f"{live_server.url}{path}")
            assert tab.evaluate("document.documentElement.scrollWidth") <= width, path
            shot(tab, f"settings-{name}", size)
    finally:
        context.close()


def test_threads_keep_star_and_account_and_the_dark_theme_follows_the_system(browser, size, live_server, owner,
                                                                             mail_user, inbox):
    deliver(mail_user, "INBOX", mails.plain("Re: Offerta rinnovo", "> Confermo.\nBene.", minutes=30,
                                            in_reply_to=inbox.message("Offerta rinnovo").message_id))
    inbox.sync()
    preferences_update(user=owner, threaded=True)
    context = browser.new_context(viewport=SIZES[size], locale="it-IT", color_scheme="dark")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        threads = tab.locator("#rows > li.thread")
        expect(threads).to_have_count(3)
        conversation = threads.filter(has_text="Re: Offerta rinnovo")
        expect(conversation.locator(".thread-count")).to_have_text("2")
        single = threads.filter(has_text="Verbale riunione")
        expect(single.locator(".thread-count")).to_have_count(0)  # no useless "1"
        expect(single.locator("button.star")).to_be_visible()
        expect(single.locator(".where")).to_contain_text(inbox.account.email)
        single.locator("button.star").click()
        expect(tab.locator("#rows > li.thread", has_text="Verbale riunione")).to_have_class(re.compile(r"\bflagged\b"))
        background = tab.evaluate("getComputedStyle(document.querySelector('.list-pane')).backgroundColor")
        assert background == "rgb(24, 28, 33)", background
        shot(tab, "threads-dark", size)
    finally:
        context.close()
