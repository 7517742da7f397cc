"""End-to-end: Debian's Chromium driven by Playwright against the live Django server, the real
Dovecot behind it. Screenshots of every test land in test-artifacts/ (gitignored)."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.remote_log import RemoteLog

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are plain synchronous code all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000

# Assertions wait as long as actions do (Playwright's own default for expect() is 5 s): under the
# whole suite, 4 workers on 2 cores, a page load or a list refresh after an undo took over 5 s.
# A passing assertion returns as soon as it holds, so this costs nothing when the machine is quick.
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see shared/TESTING.md)", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def remote_log():
    server = RemoteLog().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser, request, settings):
    settings.MAIL_UNREAD_POLL_SECONDS = 1  # the tree polls its counts; fast here, 30 s by default
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="it-IT")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield tab
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)[:120]
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
        context.close()


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/messages/")
