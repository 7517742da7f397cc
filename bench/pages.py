"""HTTP timings of the mailbox pages from a real gunicorn, and the SQL queries each page runs.

Latency: one gunicorn sync worker on a free loopback port (production's server; one worker so
every request sees the same warm process), requests sent one after another from this process,
p50/p95 over `samples` requests after `warmup` requests, timed from connect to the last byte.
Queries: the same URL once through Django's test client under CaptureQueriesContext.

Pages are found by URL name (messages_app:folder, :unified, :message, ...); a name that does
not resolve yet is reported under `missing` instead of failing the run.
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass, field

from bench.env import REPO, Processes, wait_until
from bench.runs import summary_ms

_CURSOR_RE = re.compile(rb"before=(-?\d+_\d+)")


def free_port() -> int:
    from tests.servers.ports import free_port as _free_port

    return _free_port()


def start_gunicorn(processes: Processes, log_path) -> int:
    import sys

    port = free_port()
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process, at the end of the run
    processes.popen([sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind", f"127.0.0.1:{port}",
                     "--workers", "1", "--worker-class", "sync", "--timeout", "120", "--log-level", "warning",
                     "--error-logfile", "-"], cwd=REPO, stdout=log, stderr=log)

    def answers() -> bool:
        try:
            http_get(port, "/accounts/login/", "")
            return True
        except OSError:
            return False

    wait_until(answers, timeout=30, interval=0.05)
    return port


def session_cookie(user) -> str:
    """A logged-in session for `user`, made the way django.contrib.auth.login makes one."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def http_get(port: int, path: str, cookie: str, headers: dict | None = None) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1", **(headers or {})})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return response.status, body, time.perf_counter() - started


@dataclass
class PageSpec:
    key: str
    path: str
    headers: dict = field(default_factory=dict)
    note: str = ""


HTMX = {"HX-Request": "true"}


def reverse_or_none(name: str, args: list | None = None) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args or [])
    except NoReverseMatch:
        return None


def deep_path(port: int, cookie: str, path: str, pages: int) -> tuple[str | None, int]:
    """Follow the list's "older messages" link `pages` times; the URL of the page reached."""
    status, body, _ = http_get(port, path, cookie)
    followed = 0
    cursor = None
    while followed < pages:
        match = _CURSOR_RE.search(body)
        if status != 200 or not match:
            break
        cursor = match.group(1).decode()
        followed += 1
        if followed == pages:
            break
        status, body, _ = http_get(port, f"{path}?before={cursor}", cookie, HTMX)
    return (f"{path}?before={cursor}" if cursor and followed == pages else None), followed


MIN_SAMPLES = 15
WARMUP_BUDGET_S = 5.0


def measure(port: int, cookie: str, spec: PageSpec, *, warmup: int, samples: int, budget_s: float) -> dict:
    """`samples` timed requests after `warmup`, unless the page is so slow that they would take
    longer than `budget_s`: then as many as fit (at least MIN_SAMPLES), marked `truncated`. Such a
    page misses its target many times over; more samples would not change that, and the whole run
    must end within its 15 minutes. The warm-up stops early too after WARMUP_BUDGET_S (3 at least)."""
    statuses: dict[int, int] = {}
    times = []
    size = 0
    started = time.perf_counter()
    for index in range(warmup):
        status, _body, _seconds = http_get(port, spec.path, cookie, spec.headers)
        statuses[status] = statuses.get(status, 0) + 1
        if index >= 2 and time.perf_counter() - started > WARMUP_BUDGET_S:
            break
    started = time.perf_counter()
    for _index in range(samples):
        status, body, seconds = http_get(port, spec.path, cookie, spec.headers)
        statuses[status] = statuses.get(status, 0) + 1
        times.append(seconds)
        size = len(body)
        if len(times) >= MIN_SAMPLES and time.perf_counter() - started > budget_s:
            break
    out = summary_ms(times)
    out.update(path=spec.path, bytes=size, statuses={str(k): v for k, v in statuses.items()})
    if len(times) < samples:
        out["truncated"] = f"{len(times)} of {samples} samples: the page used up its {budget_s:.0f} s budget"
    if spec.headers:
        out["headers"] = spec.headers
    if spec.note:
        out["note"] = spec.note
    if set(statuses) != {200}:
        out["error"] = f"HTTP statuses {statuses}"
    return out


def query_count(user, spec: PageSpec) -> int | None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in spec.headers.items()}
    client.get(spec.path, **extra)  # warm caches that a running server would have warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get(spec.path, **extra)
    return len(queries) if response.status_code == 200 else None


def set_threaded(user, on: bool) -> None:
    from messages_app.models import MailPreferences

    MailPreferences.objects.update_or_create(user=user, defaults={"threaded": on})


def open_uncached(port: int, cookie: str, message_ids: list[int], warmup: int, budget_s: float = 60) -> dict:
    """Open messages never opened before: the reading pane (fetch over IMAP, parse, store, mark
    read, render) then the sandboxed body document (sanitize, render). One message per sample."""
    reading_name = "messages_app:message"
    if reverse_or_none(reading_name, [message_ids[0]]) is None:
        return {"missing": f"no URL named {reading_name}"}
    body_url_ok = reverse_or_none("messages_app:message_body", [message_ids[0]]) is not None
    totals, readings, frames, statuses = [], [], [], {}
    started = time.perf_counter()
    for index, pk in enumerate(message_ids):
        if len(totals) >= 20 and time.perf_counter() - started > budget_s:
            break
        status, _body, reading = http_get(port, reverse_or_none(reading_name, [pk]), cookie, HTMX)
        statuses[status] = statuses.get(status, 0) + 1
        frame = 0.0
        if body_url_ok:
            status, _body, frame = http_get(port, reverse_or_none("messages_app:message_body", [pk]), cookie)
            statuses[status] = statuses.get(status, 0) + 1
        if index >= warmup:
            totals.append(reading + frame)
            readings.append(reading)
            frames.append(frame)
    out = summary_ms(totals)
    if len(totals) < len(message_ids) - warmup:
        out["truncated"] = f"{len(totals)} of {len(message_ids) - warmup} samples within the {budget_s:.0f} s budget"
    out.update(reading_pane=summary_ms(readings), body_frame=summary_ms(frames),
               statuses={str(k): v for k, v in statuses.items()})
    if set(statuses) != {200}:
        out["error"] = f"HTTP statuses {statuses}"
    return out


def run_pages(port: int, specs: list[PageSpec], users: dict[str, object], *, warmup: int, samples: int,
              threaded_keys: set[str], budget_s: float) -> dict:
    """Measure every spec; `users` maps a spec key to the user it runs as (default: "default")."""
    results: dict[str, dict] = {}
    cookies: dict[int, str] = {}
    for spec in specs:
        user = users.get(spec.key, users["default"])
        cookie = cookies.setdefault(user.pk, session_cookie(user))
        set_threaded(user, spec.key in threaded_keys)
        try:
            result = measure(port, cookie, spec, warmup=warmup, samples=samples, budget_s=budget_s)
            result["queries"] = query_count(user, spec)
        finally:
            set_threaded(user, False)
        results[spec.key] = result
    return results


def profile_page(user, spec: PageSpec, path_out, requests: int = 10) -> None:
    """pyinstrument over `requests` in-process requests of a page (Django's test client)."""
    from django.test import Client
    from pyinstrument import Profiler

    client = Client()
    client.force_login(user)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in spec.headers.items()}
    client.get(spec.path, **extra)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(requests):
        client.get(spec.path, **extra)
    profiler.stop()
    path_out.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
