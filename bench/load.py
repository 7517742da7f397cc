"""Under load: concurrent signed-in clients against the embedded default (SQLite, gunicorn as
`make run` starts it), with and without a big first sync running beside them.

Each client has its own session and loops for the phase's duration over the things people do:
open a folder, open a message, search, flag or unflag. A request fails when it raises, times out
or answers 5xx. Two phases in the same run: the load alone, then the same load while `mail_sync`
downloads a second account (40k messages; 10k in quick mode) into the same SQLite database.
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from bench import env

PASSWORD = "bench-load-pass-1"  # noqa: S105 - a throwaway user of a throwaway database
IMAP_PASSWORD = "bench-load-imap"  # noqa: S105
REQUEST_TIMEOUT_S = 30


def embedded_env(var_dir) -> dict[str, str]:
    """The environment of `make run`: nothing set but a var dir (and the test servers allowed)."""
    drop = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "MAIL_ENCRYPTION_KEYS", "DJANGO_DEBUG",
            "CELERY_TASK_ALWAYS_EAGER"}
    values = {k: v for k, v in os.environ.items() if k not in drop}
    values.update(POSTINO_VAR_DIR=str(var_dir), MAIL_ALLOW_PRIVATE_HOSTS="1", MAIL_SYNC_ON_SAVE="0",
                  LOG_LEVEL="WARNING", DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost")
    return values


def manage(environment: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=env.REPO, env=environment, text=True,
                          capture_output=True, timeout=900, input=stdin)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr.strip()[-500:]}")
    return done.stdout


class Client:
    """One signed-in browser: a cookie jar, the CSRF token, and the ids it may act on."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.opener.open(f"{base}/accounts/login/", timeout=REQUEST_TIMEOUT_S).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token}).encode()
        signed_in = urllib.request.Request(f"{base}/accounts/login/", data=form,  # noqa: S310 - loopback
                                           headers={"Referer": base + "/"})
        self.opener.open(signed_in, timeout=REQUEST_TIMEOUT_S)

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def get(self, path: str, htmx: bool = False) -> int:
        headers = {"HX-Request": "true"} if htmx else {}
        request = urllib.request.Request(self.base + path, headers=headers)  # noqa: S310 - loopback
        with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
            response.read()
            return response.status

    def post(self, path: str, fields: dict) -> int:
        request = urllib.request.Request(self.base + path,  # noqa: S310 - loopback
                                         data=urllib.parse.urlencode(fields).encode(),
                                         headers={"X-CSRFToken": self.csrf(), "Referer": self.base + "/",
                                                  "HX-Request": "true"})
        with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
            response.read()
            return response.status


def run_clients(base: str, username: str, *, clients: int, seconds: float, folder_id: int,
                message_ids: list[int]) -> dict:
    """`clients` threads for `seconds`; latencies per kind and the failures."""
    samples: dict[str, list[float]] = {"list": [], "open": [], "search": [], "action": []}
    failures: list[str] = []
    lock = threading.Lock()
    sessions = [Client(base, username) for _ in range(clients)]
    deadline = time.monotonic() + seconds

    def work(client: Client, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - choosing what a simulated user clicks
        while time.monotonic() < deadline:
            kind = rng.choice(("list", "list", "open", "open", "search", "action"))
            message = rng.choice(message_ids)
            started = time.perf_counter()
            try:
                if kind == "list":
                    status = client.get(f"/messages/folder/{folder_id}/")
                elif kind == "open":
                    status = client.get(f"/messages/m/{message}/", htmx=True)
                elif kind == "search":
                    status = client.get(f"/messages/folder/{folder_id}/?q=offerta")
                else:
                    status = client.post("/messages/actions/", {
                        "action": rng.choice(("flag", "unflag")), "ids": str(message),
                        "scope": f"folder:{folder_id}"})
                failed = status >= 500
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                failed, status = True, f"{type(exc).__name__}: {exc}"[:120]
            elapsed = time.perf_counter() - started
            with lock:
                samples[kind].append(elapsed)
                if failed:
                    failures.append(f"{kind} {status}")

    threads = [threading.Thread(target=work, args=(client, index)) for index, client in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    from bench.runs import summary_ms

    every = [s for values in samples.values() for s in values]
    figure = summary_ms(every) if every else {"n": 0}
    figure.update(clients=clients, seconds=seconds, errors=len(failures), error_examples=sorted(set(failures))[:5],
                  by_kind={kind: summary_ms(values) for kind, values in samples.items() if values})
    return figure


def load_figure(processes: env.Processes, dovecot, *, quick: bool, seed_plans) -> dict:
    """The whole figure: an embedded install, a browsed account, the two phases."""
    from bench.seed import seed_mailboxes
    from tests.servers.ports import free_port

    browsed, synced = "load-browse@postino.test", "load-sync@postino.test"
    big = 10_000 if quick else 40_000
    for login in (browsed, synced):
        dovecot.add_user(login, IMAP_PASSWORD)
    seed_mailboxes(dovecot, seed_plans(browsed, 2_000) + seed_plans(synced, big))

    var_dir = env.temp_dir("postino-bench-load-")
    environment = embedded_env(var_dir)
    manage(environment, "migrate", "--noinput")
    manage(environment, "shell", "-c", "from django.contrib.auth import get_user_model; "
           f"get_user_model().objects.create_user('load', password={PASSWORD!r})")
    account_ids = []
    for login in (browsed, synced):
        out = manage({**environment, "LOAD_IMAP_PASSWORD": IMAP_PASSWORD}, "mail_account", "create",
                     "--user", "load", "--preset", "custom", "--username", login,
                     "--password-env", "LOAD_IMAP_PASSWORD", "--imap-host", dovecot.host,
                     "--imap-port", str(dovecot.imap_port), "--imap-security", "none", "--smtp-host", dovecot.host,
                     "--smtp-port", "25", "--smtp-security", "none", "--smtp-no-auth")
        account_ids.append(int(out.strip().splitlines()[-1]))
    manage(environment, "mail_sync", "--account", str(account_ids[0]))

    database = sqlite3.connect(str(var_dir / "postino.sqlite3"))
    folder_id = database.execute("SELECT id FROM messages_app_folder WHERE account_id = ? AND name = 'INBOX'",
                                 (account_ids[0],)).fetchone()[0]
    message_ids = [row[0] for row in database.execute(
        "SELECT id FROM messages_app_message WHERE folder_id = ? ORDER BY date DESC LIMIT 300", (folder_id,))]
    database.close()

    port = free_port()
    web = processes.popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "crm.wsgi:application",
                           "--bind", f"127.0.0.1:{port}", "--workers", "2"], cwd=env.REPO, env=environment,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    env.wait_until(lambda: _answers(base), timeout=60, interval=0.2)
    seconds = 8.0 if quick else 30.0
    try:
        alone = run_clients(base, "load", clients=20, seconds=seconds, folder_id=folder_id, message_ids=message_ids)
        sync = processes.popen([sys.executable, "manage.py", "mail_sync", "--account", str(account_ids[1])],
                               cwd=env.REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # the sync's first batches are under way
        during = run_clients(base, "load", clients=20, seconds=seconds, folder_id=folder_id,
                             message_ids=message_ids)
        sync_running_at_end = sync.poll() is None
        processes.stop_popen(sync)
    finally:
        processes.stop_popen(web)
    return {"embedded": "SQLite, gunicorn --workers 2 (as make run)", "synced_messages": big,
            "alone": alone, "during_sync": during, "sync_ran_throughout": sync_running_at_end,
            "target": {"errors": 0, "p95_ms_max": 300}}


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/accounts/login/", timeout=2) as response:  # noqa: S310 - loopback
            return response.status == 200
    except OSError:
        return False
