"""`make demo`: a full mailbox in one command.

Starts a private Dovecot (the one the tests use) seeded with a few hundred messages in two
accounts, creates the user `demo` with a printed password, syncs both accounts, and serves the
app on http://127.0.0.1:$DEMO_PORT/ until Ctrl-C. Everything lives in var/demo/ (recreated on
each run) and in a temporary folder for Dovecot, removed on exit.

    --screenshot PATH   instead of serving until Ctrl-C, take a browser screenshot and exit
    --phone-screenshot PATH   with --screenshot: also the message list at a phone's size (390×844)
"""

import argparse
import os
import random
import secrets
import shutil
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "demo"
SYNC_EVERY_SECONDS = 30


def _environment() -> None:
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    os.environ["POSTINO_VAR_DIR"] = str(VAR)
    os.environ.pop("DATABASE_URL", None)  # the demo always runs embedded, beside whatever you use
    os.environ["MAIL_ALLOW_PRIVATE_HOSTS"] = "1"  # its Dovecot listens on loopback
    os.environ["MAIL_SYNC_ON_SAVE"] = "0"  # no worker here: this script syncs
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]


def _seed(dovecot, login: str, folders: dict) -> int:
    for folder in folders:
        if folder.upper() != "INBOX" and folder not in ("Sent", "Drafts", "Junk", "Trash"):
            dovecot.create_folder(login, folder)
    return sum(dovecot.write_maildir(login, folder, items) for folder, items in folders.items())


def _setup(dovecot, password: str):
    import demo_mail
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from messages_app.models import MailAccount
    from messages_app.services.accounts import mail_account_save
    from messages_app.services.message_body import message_bodies_prefetch
    from messages_app.services.sync import account_sync

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    user = get_user_model().objects.create_user("demo", password=password, first_name="Olga", last_name="Ferri",
                                                email=demo_mail.WORK[1])
    now = datetime.now(UTC)
    accounts = []
    for (_name, address), folders, description, primary in (
        (demo_mail.WORK, demo_mail.work_mailbox(now, random.Random(4)), "Lavoro", True),
        (demo_mail.HOME, demo_mail.home_mailbox(now, random.Random(5)), "Personale", False),
    ):
        login, secret = dovecot.add_user(address)
        count = _seed(dovecot, login, folders)
        account = MailAccount(owner=user, preset="custom", username=login, email=address, description=description,
                              imap_host=dovecot.host, imap_port=dovecot.imap_port, imap_security="none",
                              smtp_host=dovecot.host, smtp_port=25, smtp_security="none", is_primary=primary)
        account = mail_account_save(account=account, actor=user, password=secret)
        account_sync(account.pk)
        message_bodies_prefetch(account=account, limit=1000)  # search finds any word at once
        print(f"  {address}: {count} messages", flush=True)
        accounts.append(account.pk)
    return accounts


def _keep_syncing(account_ids: list[int], stop: threading.Event) -> None:
    from django.db import close_old_connections

    from messages_app.exceptions import MailError
    from messages_app.services.sync import account_sync

    while not stop.wait(SYNC_EVERY_SECONDS):
        for account_id in account_ids:
            try:
                account_sync(account_id)
            except MailError as exc:
                print(f"sync of account {account_id}: {exc}", file=sys.stderr)
        close_old_connections()


def _log_in(page, url: str, password: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/messages/")


def _screenshot(url: str, password: str, path: Path, phone_path: Path | None = None) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1440, "height": 860}, locale="it-IT")
        _log_in(page, url, password)
        page.locator("#rows a.open", has_text="Ufficio Moderno").first.click()
        page.frame_locator("iframe.body-frame").locator("h2").wait_for()
        page.wait_for_timeout(300)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        if phone_path is not None:
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="it-IT", device_scale_factor=2)
            _log_in(phone, url, password)
            phone.wait_for_timeout(300)
            phone.screenshot(path=str(phone_path))
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--phone-screenshot", type=Path)
    args = parser.parse_args()
    _environment()
    import django

    django.setup()
    from tests.servers.dovecot import Dovecot

    password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
    dovecot = Dovecot()
    stop = threading.Event()
    try:
        dovecot.start()
        print("Seeding a private Dovecot and syncing:", flush=True)
        started = time.monotonic()
        account_ids = _setup(dovecot, password)
        print(f"Ready in {time.monotonic() - started:.1f} s.", flush=True)
        url = f"http://127.0.0.1:{args.port}"
        server = _serve(args.port)
        if args.screenshot:
            _screenshot(url, password, args.screenshot, args.phone_screenshot)
            print(f"Screenshot saved to {args.screenshot}")
            server.shutdown()
            return 0
        threading.Thread(target=_keep_syncing, args=(account_ids, stop), daemon=True).start()
        print(f"\n  Postino demo: {url}/\n  user: demo\n  password: {password}\n\nCtrl-C stops it.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nStopping.")
        server.shutdown()
        return 0
    finally:
        stop.set()
        dovecot.cleanup()


def _serve(port: int):
    """Django's threaded development server in a thread (whitenoise serves the static files)."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler, get_internal_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, ipv6=False)
    server.daemon_threads = True
    server.set_app(get_internal_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    sys.exit(main())
