"""The product's runs: initial sync (in a child process), resyncs on a kept connection, the
IDLE listener's new-mail latency, and the check that the database equals the server.

Everything here calls the product's public entry points (`sync_account`, `open_connection`,
`listen`); nothing reaches into the engine's internals.
"""

from __future__ import annotations

import json
import logging
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from imapclient import IMAPClient

from bench.env import REPO, Processes


@dataclass(frozen=True)
class ServerUser:
    host: str
    port: int
    login: str
    password: str


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 200 samples is the 190th smallest)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "max_ms": round(max(ms), 2) if ms else 0.0, "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0}


# ----------------------------------------------------------------------------- accounts

def create_user(username: str, password: str = "bench-pass-1"):  # noqa: S107 - a throwaway bench user
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username, password=password, email=f"{username}@postino.test")


def create_account(user, server: ServerUser, *, description: str = ""):
    from messages_app.models import MailAccount
    from messages_app.services.accounts import mail_account_save

    account = MailAccount(owner=user, preset="custom", username=server.login, email=server.login,
                          description=description or server.login, imap_host=server.host, imap_port=server.port,
                          imap_security="none", smtp_host=server.host, smtp_port=25, smtp_security="none")
    return mail_account_save(account=account, actor=user, password=server.password)


def point_account_at(account, port: int) -> None:
    from messages_app.models import MailAccount

    MailAccount.objects.filter(pk=account.pk).update(imap_port=port)


# ----------------------------------------------------------------------------- initial sync

def run_worker(processes: Processes, options: dict, timeout: float) -> dict:
    """One sync in a child process (`python -m bench.worker`); returns its BENCH-RESULT."""
    proc = processes.popen([sys.executable, "-m", "bench.worker", json.dumps(options)], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        Processes.stop_popen(proc)
        stdout, stderr = proc.communicate()
        return {"error": f"timed out after {timeout:.0f} s", "timed_out": True, "stderr": stderr[-2000:]}
    finally:
        Processes.stop_popen(proc)
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    return {"error": f"worker exited {proc.returncode}", "stderr": stderr[-4000:]}


# ----------------------------------------------------------------------------- database == server

def _server_flags(flags) -> tuple:
    names = {f.decode() if isinstance(f, bytes) else str(f) for f in flags}
    lowered = {n.lower() for n in names}
    return ("\\seen" in lowered, "\\flagged" in lowered, "\\answered" in lowered, "\\draft" in lowered,
            tuple(sorted(n for n in names if not n.startswith("\\"))))


def server_state(server: ServerUser) -> dict[str, dict[int, tuple]]:
    """{folder: {uid: (seen, flagged, answered, draft, keywords)}} for every selectable folder."""
    client = IMAPClient(server.host, server.port, ssl=False, timeout=60)
    state: dict[str, dict[int, tuple]] = {}
    try:
        client.login(server.login, server.password)
        for flags, _delimiter, name in client.list_folders():
            if any(f.lower() in (b"\\noselect", b"\\nonexistent") for f in flags):
                continue
            info = client.select_folder(name, readonly=True)
            if not info.get(b"EXISTS"):
                state[name] = {}
                continue
            data = client.fetch("1:*", ["FLAGS"])
            state[name] = {uid: _server_flags(item[b"FLAGS"]) for uid, item in data.items()}
    finally:
        client.logout()
    return state


def local_state(account) -> dict[str, dict[int, tuple]]:
    from messages_app.models import Folder, Message

    state: dict[str, dict[int, tuple]] = {f.name: {} for f in Folder.objects.filter(account=account,
                                                                                     is_selectable=True)}
    rows = Message.objects.filter(account=account).values_list(
        "folder__name", "uid", "is_seen", "is_flagged", "is_answered", "is_draft", "keywords")
    for folder, uid, seen, flagged, answered, draft, keywords in rows.iterator(chunk_size=20000):
        state.setdefault(folder, {})[uid] = (seen, flagged, answered, draft, tuple(sorted(keywords or [])))
    return state


def compare(account, server: ServerUser) -> dict:
    """Whether the database holds exactly the server's messages and flags, folder by folder."""
    started = time.perf_counter()
    remote, local = server_state(server), local_state(account)
    problems = []
    for folder in sorted(set(remote) | set(local)):
        r, l_ = remote.get(folder), local.get(folder)
        if r is None or l_ is None:
            problems.append(f"{folder}: only on the {'server' if l_ is None else 'database'}")
            continue
        missing, extra = set(r) - set(l_), set(l_) - set(r)
        wrong = [uid for uid in set(r) & set(l_) if r[uid] != l_[uid]]
        if missing or extra or wrong:
            problems.append(f"{folder}: {len(missing)} missing, {len(extra)} extra, {len(wrong)} with other flags"
                            + (f" (e.g. UID {sorted(wrong)[0]}: server {r[sorted(wrong)[0]]}, "
                               f"db {l_[sorted(wrong)[0]]})" if wrong else ""))
    return {"equal": not problems, "folders": len(remote), "messages": sum(len(v) for v in remote.values()),
            "problems": problems[:10], "check_s": round(time.perf_counter() - started, 2)}


# ----------------------------------------------------------------------------- resyncs

def resync_samples(account, samples: int, *, conn=None) -> tuple[list[float], list]:
    """Time `samples` passes of account_sync on one kept connection (after one warm pass).

    The pass is timed alone (as before the arrival pipeline existed); what follows its new mail
    (arrival/: the body prefetch today) is drained right after and timed apart, into each result's
    `arrival_s`."""
    from messages_app.arrival import pipeline
    from messages_app.services.sync import account_sync, open_connection

    own = conn is None
    conn = conn or open_connection(account)
    try:
        times, results = [], []
        for _ in range(samples):
            started = time.perf_counter()
            result = account_sync(account.pk, connection=conn, drain_arrivals=False)
            times.append(time.perf_counter() - started)
            drained = time.perf_counter()
            result.arrivals = pipeline.drain(account_id=account.pk)
            result.arrival_s = time.perf_counter() - drained
            results.append(result)
        return times, results
    finally:
        if own:
            conn.close()


@dataclass
class ChangePlan:
    flag_changes: int
    expunges: int
    appends: int


def apply_changes(server: ServerUser, fraction: float, seed: int, *, appends: int = 10,
                  expunges: int = 10) -> dict:
    """Change `fraction` of the account's messages from another connection: mostly flags
    (\\Seen toggled, \\Flagged set, a keyword), plus a few expunges and appends."""
    from bench.mailgen import MailboxGenerator

    rng = random.Random(seed)
    client = IMAPClient(server.host, server.port, ssl=False, timeout=60)
    counts = {"flags": 0, "expunged": 0, "appended": 0, "folders": 0}
    try:
        client.login(server.login, server.password)
        folders = []
        for flags, _delimiter, name in client.list_folders():
            if not any(f.lower() == b"\\noselect" for f in flags):
                status = client.folder_status(name, [b"MESSAGES"])
                folders.append((name, int(status[b"MESSAGES"])))
        total = sum(n for _name, n in folders)
        budget = max(1, round(total * fraction)) - appends - expunges
        for name, size in folders:
            share = round(budget * size / total) if total else 0
            if share <= 0 and size == 0:
                continue
            client.select_folder(name)
            uids = client.search(["ALL"]) if size else []
            picked = rng.sample(uids, min(len(uids), share)) if share > 0 else []
            if picked:
                counts["folders"] += 1
                thirds = len(picked) // 3 or 1
                toggle_seen, flag, label = picked[:thirds], picked[thirds:2 * thirds], picked[2 * thirds:]
                data = client.fetch(toggle_seen, ["FLAGS"])
                seen = [u for u, d in data.items() if b"\\Seen" in d[b"FLAGS"]]
                unseen = [u for u in toggle_seen if u not in set(seen)]
                if seen:
                    client.remove_flags(seen, [b"\\Seen"], silent=True)
                if unseen:
                    client.add_flags(unseen, [b"\\Seen"], silent=True)
                if flag:
                    client.add_flags(flag, [b"\\Flagged"], silent=True)
                if label:
                    client.add_flags(label, [b"$BenchLabel"], silent=True)
                counts["flags"] += len(picked)
            if name == "INBOX":
                doomed = [u for u in rng.sample(uids, min(len(uids), expunges)) if u not in set(picked)]
                if doomed:
                    client.add_flags(doomed, [b"\\Deleted"], silent=True)
                    client.uid_expunge(doomed)
                    counts["expunged"] += len(doomed)
        generator = MailboxGenerator(f"appended-{seed}", appends)
        for item in generator:
            client.append("INBOX", item.raw, flags=(b"\\Seen",) if "S" in item.flags else ())
            counts["appended"] += 1
    finally:
        client.logout()
    return counts


# ----------------------------------------------------------------------------- IDLE latency

class ListenerLog(logging.Handler):
    """The listener's own INFO lines while a step runs (the bench logs at WARNING): where its
    share of the latency goes, cheap passes against full Inbox passes and the arrival steps."""

    PATTERNS = {
        "idle_to_stored": re.compile(r"new stored (\d+) ms after they were seen"),
        "inbox_pass": re.compile(r"Inbox pass in (\d+) ms"),
        "arrival_steps": re.compile(r"arrival steps of \d+ in (\d+) ms"),
    }

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: dict[str, list[float]] = {name: [] for name in self.PATTERNS}
        self._logger = logging.getLogger("messages_app.services.idle_listener")

    STEP = re.compile(r"(\w+) (\d+) ms")

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        for name, pattern in self.PATTERNS.items():
            if match := pattern.search(text):
                self.seen[name].append(int(match.group(1)) / 1000)
                if name == "arrival_steps" and "(" in text:  # the slowest steps of the drain, by name
                    for step, ms in self.STEP.findall(text.rsplit("(", 1)[1]):
                        self.seen.setdefault(f"step_{step}", []).append(int(ms) / 1000)

    def start(self) -> None:
        self._saved = (self._logger.level, self._logger.propagate)
        self._logger.setLevel(logging.INFO)
        self._logger.propagate = False
        self._logger.addHandler(self)

    def stop(self) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._saved[0])
        self._logger.propagate = self._saved[1]

    def summary(self) -> dict:
        return {name: summary_ms(values) for name, values in self.seen.items()}


def idle_latency(account, server: ServerUser, samples: int, *, gap: float = 0.15,
                 timeout: float = 5.0, budget_s: float = 60.0) -> dict:
    """Start the product's IDLE listener; APPEND from another connection; time until the row is
    visible in the database (polled every millisecond through a separate DB connection)."""
    from django.db import connection

    from bench.mailgen import MailboxGenerator
    from messages_app.models import Message
    from messages_app.services.idle_listener import DatabaseSlots, listen

    stop = threading.Event()
    said = ListenerLog()
    slots = DatabaseSlots()  # as `mail_idle` runs it (listeners_serve): stores first, steps after
    listener = threading.Thread(target=listen, args=(account.pk, stop, slots), name="bench-idle", daemon=True)
    said.start()
    listener.start()
    client = IMAPClient(server.host, server.port, ssl=False, timeout=60)
    client.login(server.login, server.password)
    latencies, missed = [], 0
    try:
        items = list(MailboxGenerator(f"idle-{account.pk}", samples + 1))
        # The first one waits for the listener's catch-up pass and its first IDLE (not timed).
        budget_started = None
        for index, item in enumerate(items):
            if budget_started and len(latencies) >= 5 and time.perf_counter() - budget_started > budget_s:
                break
            message_id = item.meta.message_id
            started = time.perf_counter()
            client.append("INBOX", item.raw)
            deadline = started + (60 if index == 0 else timeout)
            while not Message.objects.filter(account_id=account.pk, message_id=message_id).exists():
                if time.perf_counter() > deadline:
                    missed += 1
                    break
                time.sleep(0.001)
            else:
                if index:
                    latencies.append(time.perf_counter() - started)
            budget_started = budget_started or time.perf_counter()
            time.sleep(gap)
    finally:
        stop.set()
        client.logout()
        listener.join(15)
        slots.shutdown()
        said.stop()
        connection.close()
    out = summary_ms(latencies)
    out.update(missed=missed, listener_stopped=not listener.is_alive(), listener_side=said.summary())
    if len(latencies) + missed < samples:
        out["truncated"] = f"{len(latencies)} of {samples} samples within the {budget_s:.0f} s budget"
    return out
