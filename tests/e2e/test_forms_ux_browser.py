"""The settings forms as people expect them, at 1440×900 and 390×844: a company server shows its
servers read-only, a preset asks only for what the user must type (servers under Avanzate), a
folder role taken from another folder is said before saving, and a server with Courier's "INBOX."
namespace shows plain folder names. Screenshots of each screen land in test-artifacts/."""

import threading

import pytest
from playwright.sync_api import expect

from messages_app.models import CompanyServer
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS, log_in
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_namespace_prefix import COURIER_NAMESPACE
from tests.servers.fixtures import new_mail_user
from tests.servers.ports import free_port

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


@pytest.fixture
def tab(browser, size):
    context = browser.new_context(viewport=SIZES[size], locale="it-IT")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def shot(tab, name: str, size: str, *, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.wait_for_timeout(200)
    tab.screenshot(path=str(ARTIFACTS / f"forms-{name}-{size}.png"), full_page=full_page)


def test_company_server_and_preset_show_only_what_the_user_types(live_server, tab, size, owner):
    CompanyServer.objects.create(name="Posta aziendale", imap_host="imap.azienda.test", imap_port=993,
                                 imap_security="ssl", smtp_host="smtp.azienda.test", smtp_port=587,
                                 smtp_security="starttls")
    log_in(tab, live_server, "owner", "owner-pass-1")
    tab.goto(f"{live_server.url}/messages/settings/accounts/new/")
    advanced = tab.locator("#advanced-servers")
    expect(advanced).to_have_attribute("open", "")  # Custom: the servers are what the user types
    expect(tab.locator("input[name=imap_host]")).to_be_editable()
    shot(tab, "account-custom", size, full_page=True)

    tab.select_option("select[name=kind]", label="Posta aziendale")
    expect(advanced).not_to_have_attribute("open", "")  # the servers come with the choice
    expect(tab.locator("#server-summary")).to_be_visible()
    tab.locator("#advanced-servers > summary").click()
    expect(tab.locator("input[name=imap_host]")).to_have_value("imap.azienda.test")
    expect(tab.locator("input[name=smtp_host]")).to_have_value("smtp.azienda.test")
    expect(tab.locator("input[name=imap_host]")).not_to_be_editable()
    expect(tab.locator("select[name=imap_security]")).to_have_class("locked")
    expect(tab.locator("#server-summary")).to_contain_text("imap.azienda.test:993")
    shot(tab, "account-company", size, full_page=True)

    tab.reload()
    tab.select_option("select[name=kind]", "gmail")
    expect(tab.locator("#preset-notice")).to_be_visible()
    expect(tab.locator("#server-summary")).to_contain_text("imap.gmail.com:993")
    expect(tab.locator("input[name=imap_host]")).to_be_hidden()  # under a closed Avanzate
    expect(tab.locator("input[name=username]")).to_be_visible()
    expect(tab.locator("input[name=password]")).to_be_visible()
    shot(tab, "account-preset", size, full_page=True)
    tab.locator("#advanced-servers > summary").click()
    expect(tab.locator("input[name=imap_host]")).to_have_value("imap.gmail.com")
    expect(tab.locator("input[name=imap_host]")).not_to_be_editable()
    tab.check("input[name=smtp_custom]")
    expect(tab.locator("input[name=smtp_host]")).to_be_editable()
    shot(tab, "account-preset-advanced", size, full_page=True)


def test_taking_a_role_from_another_folder_is_said_before_saving(live_server, tab, size, owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    log_in(tab, live_server, "owner", "owner-pass-1")
    tab.goto(f"{live_server.url}/messages/settings/folders/")
    trash = account.folders.get(role="trash")
    tab.select_option("select[name=spam]", str(trash.pk))
    warning = tab.locator(f"#role-{account.pk}-trash ~ .role-conflict")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Trash non fa più da Cestino")
    expect(tab.locator("select[name=trash]")).to_have_value("")
    shot(tab, "folder-roles-conflict", size, full_page=True)
    tab.locator("form.roles button[type=submit]").click()
    expect(tab.locator("select[name=spam]")).to_have_value(str(trash.pk))
    expect(tab.locator("select[name=trash]")).to_have_value("")


def test_a_prefixed_namespace_shows_plain_names_in_the_tree_and_move_list(live_server, tab, size, owner,
                                                                           make_dovecot, smtp_server):
    dovecot = make_dovecot(extra_conf=COURIER_NAMESPACE)
    user = new_mail_user(dovecot, smtp_server)
    client = dovecot.imap_client(user.login)
    try:
        client.create_folder("INBOX.Progetti.2026")
    finally:
        client.logout()
    dovecot.append(user.login, "INBOX", make_message("Offerta cantiere"))
    dovecot.append(user.login, "INBOX.Progetti.2026", make_message("Cantiere 2026"))
    account = account_on(owner, user)
    account_sync(account.pk)
    log_in(tab, live_server, "owner", "owner-pass-1")
    tab.goto(f"{live_server.url}/messages/folder/{account.folders.get(name='INBOX').pk}/")
    options = tab.locator("#list select[name=destination] option").all_text_contents()
    assert options[1:] == ["Entrata", "Bozze", "Inviata", "Spam", "Cestino", "Progetti › 2026"]
    if size == "phone":
        tab.locator("#list .show-folders").click()
    tree = tab.locator("#folder-tree")
    expect(tree).not_to_contain_text("INBOX.")
    expect(tree.locator(".entry.unselectable", has_text="Progetti")).to_have_count(1)
    expect(tree.locator("a.entry", has_text="2026")).to_have_count(1)
    shot(tab, "namespace-tree", size)


def test_the_admin_account_form_in_italian_with_a_write_only_password(live_server, tab, size, staff, owner,
                                                                      mail_user):
    staff.is_superuser = True
    staff.save()
    account = account_on(owner, mail_user)
    log_in_admin(tab, live_server)
    tab.goto(f"{live_server.url}/admin/messages_app/mailaccount/")
    expect(tab.locator("#content h1")).to_contain_text("account di posta")
    expect(tab.locator("#site-name")).to_contain_text("Amministrazione di Postino")
    expect(tab.locator("#result_list thead")).to_contain_text("Proprietario")
    expect(tab.locator("#result_list thead")).to_contain_text("Ultimo test riuscito")
    shot(tab, "admin-accounts", size)
    tab.goto(f"{live_server.url}/admin/messages_app/mailaccount/{account.pk}/change/")
    expect(tab.locator("input[name=password][type=password]")).to_have_value("")
    expect(tab.locator("#content")).to_contain_text("Lascia vuoto per mantenere la password attuale.")
    shot(tab, "admin-account-change", size, full_page=True)


def log_in_admin(tab, live_server) -> None:
    tab.goto(f"{live_server.url}/admin/login/?next=/admin/")
    tab.fill("input[name=username]", "boss")
    tab.fill("input[name=password]", "boss-pass-1")
    tab.click("input[type=submit], button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/admin/")


def test_a_saved_connection_test_reads_in_the_users_language(live_server, tab, size, owner, mail_user):
    from django.utils import translation

    from messages_app.services.connection_test import connection_report_store, connection_test_run

    account = account_on(owner, mail_user)
    account.smtp_port = free_port()
    def run_in_italian():  # in a thread: aiosmtplib's event loop may not nest in Playwright's
        with translation.override("it"):
            connection_report_store(account=account, report=connection_test_run(account=account,
                                                                                rate_limited=False))

    worker = threading.Thread(target=run_in_italian)
    worker.start()
    worker.join()
    owner.language = "en"
    owner.save()
    log_in(tab, live_server, "owner", "owner-pass-1")
    tab.goto(f"{live_server.url}/messages/settings/accounts/")
    result = tab.locator(".test-result").first
    expect(result).to_contain_text("IMAP: login succeeded")
    expect(result).to_contain_text(f"refused the connection on port {account.smtp_port}")
    expect(result).not_to_contain_text("accesso")
    shot(tab, "account-list-english", size, full_page=True)
