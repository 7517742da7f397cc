"""`make run`'s server with no configuration at all: an empty var/, SQLite, filesystem broker.

Starts scripts/run-embedded (what `make run` calls) on a free port, reads the generated admin
password it prints once, and signs in over HTTP.
"""

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.servers.ports import free_port, wait_for_port

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


def test_the_embedded_default_serves_and_signs_in(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MAIL_ENCRYPTION_KEYS", "DJANGO_SECRET_KEY",
                        "DJANGO_SETTINGS_MODULE"}}
    env.update(PORT=str(port), POSTINO_VAR_DIR=str(tmp_path / "var"), PYTHON=sys.executable)
    process = subprocess.Popen([str(ROOT / "scripts" / "run-embedded")], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    try:
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
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
