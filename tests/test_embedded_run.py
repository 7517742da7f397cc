"""`make run`'s server with no configuration at all: an empty var/, SQLite, filesystem broker.

Starts scripts/run-embedded (what `make run` calls) on a free port, reads the generated admin
password it prints once, and signs in over HTTP; and, with a real Dovecot account, checks that new
mail reaches the database by push (the IDLE listener `make run` starts), with no sync asked for.
"""

import contextlib
import http.cookiejar
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from tests.servers.ports import free_port, wait_for_port
from tests.servers.processes import stop_process_group

ROOT = Path(__file__).resolve().parent.parent


def _reader(stream, lines: list[str]) -> None:
    for line in iter(stream.readline, ""):
        lines.append(line)


def _wait_for(lines: list[str], pattern: str, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(lines):
            match = re.search(pattern, line)
            if match:
                return match
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} not seen in output:\n{''.join(lines)[-4000:]}")


@contextlib.contextmanager
def _embedded(tmp_path, **settings: str):
    """scripts/run-embedded on a free port with an empty var/; yields (port, output lines)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MAIL_ENCRYPTION_KEYS", "DJANGO_SECRET_KEY",
                        "DJANGO_SETTINGS_MODULE"}}
    env.update(PORT=str(port), POSTINO_VAR_DIR=str(tmp_path / "var"), PYTHON=sys.executable, **settings)
    process = subprocess.Popen([str(ROOT / "scripts" / "run-embedded")], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    try:
        yield port, lines, env
    finally:
        stop_process_group(process)


def test_the_embedded_default_serves_and_signs_in(tmp_path):
    with _embedded(tmp_path) as (port, lines, _env):
        password = _wait_for(lines, r"with password: (\S+)", 120).group(1)
        wait_for_port("127.0.0.1", port, timeout=60)
        _wait_for(lines, r"celery@\S+ ready", 60)

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        login_page = opener.open(f"{base}/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        form = urllib.parse.urlencode({"username": "admin", "password": password,
                                       "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(f"{base}/accounts/login/", data=form, headers={"Referer": base + "/"})
        page = opener.open(request)
        assert page.geturl().endswith("/messages/")
        body = page.read().decode()
        assert "Entrata" in body and "Contrassegnata" in body

        var = tmp_path / "var"
        assert (var / "postino.sqlite3").exists()
        for secret in ("secret_key", "mail_encryption_key"):
            assert (var / secret).stat().st_mode & 0o777 == 0o600


def _subjects(database: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(str(database), timeout=30)) as connection:
        return {row[0] for row in connection.execute("SELECT subject FROM messages_app_message")}


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_the_embedded_default_pushes_new_mail(tmp_path, mail_user):
    """New mail is stored by the IDLE listener `make run` starts: beat's periodic sync is an hour
    away, so only push can bring it in."""
    settings = {"MAIL_ALLOW_PRIVATE_HOSTS": "1", "MAIL_IDLE_RENEW_SECONDS": "1", "MAIL_IDLE_LEASE_SECONDS": "3",
                "MAIL_SYNC_INTERVAL_SECONDS": "3600", "MAIL_SYNC_PUSH_INTERVAL_SECONDS": "3600"}
    dovecot = mail_user.dovecot
    first = EmailMessage()
    first["From"], first["To"], first["Subject"] = "a@example.org", mail_user.email, "before the account"
    first.set_content("history")
    dovecot.append(mail_user.login, "INBOX", first.as_bytes())
    with _embedded(tmp_path, **settings) as (port, lines, env):
        wait_for_port("127.0.0.1", port, timeout=120)
        _wait_for(lines, r"celery@\S+ ready", 60)
        created = subprocess.run(
            [sys.executable, "manage.py", "mail_account", "create", "--user", "admin", "--preset", "custom",
             "--username", mail_user.login, "--password-env", "PUSH_TEST_PASSWORD",
             "--imap-host", mail_user.host, "--imap-port", str(mail_user.imap_port), "--imap-security", "none",
             "--smtp-host", mail_user.smtp_host, "--smtp-port", str(mail_user.smtp_port),
             "--smtp-security", "none", "--smtp-no-auth"],
            cwd=ROOT, env={**env, "PUSH_TEST_PASSWORD": mail_user.password}, capture_output=True, text=True,
            timeout=60)
        assert created.returncode == 0, created.stdout + created.stderr
        database = tmp_path / "var" / "postino.sqlite3"
        # The save queues the first sync on the worker; the listener takes the account at its next renewal.
        _wait_until(lambda: "before the account" in _subjects(database), 60, "the first sync")
        _wait_for(lines, r"listening on 1 accounts", 60)

        pushed = EmailMessage()
        pushed["From"], pushed["To"], pushed["Subject"] = "b@example.org", mail_user.email, "pushed by IDLE"
        pushed.set_content("new")
        dovecot.append(mail_user.login, "INBOX", pushed.as_bytes())
        _wait_until(lambda: "pushed by IDLE" in _subjects(database), 15, "the pushed message in the database")
