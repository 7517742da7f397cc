"""The scale section (issue 17): many accounts on push with two `mail_idle` listeners, and sync
throughput with 1, 2 and 4 worker processes, both on PostgreSQL against a private Dovecot.

A mixin of bench.suite.Bench (self.plan, self.report, self.processes, ...). Every process it
starts (a Dovecot with raised limits, the listeners, the workers) is registered in
self.processes and stopped by its pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.env import DB_NAME, PG_ADMIN_URL, REPO, Processes, database_url

# Dovecot's defaults stop near 100 connections per service (default_process_limit 100). An imap
# process serves one user, so 1,000 accounts idling need 1,000 imap processes (about 3 MB each);
# imap-login runs in its high-performance mode (a few processes, many clients each).
SCALE_DOVECOT_CONF = """
default_process_limit = 3000
default_client_limit = 5000
service imap-login {
  service_count = 0
  client_limit = 2500
  process_min_avail = 2
  process_limit = 4
}
service imap {
  process_limit = 2500
}
service auth {
  client_limit = 5000
}
service anvil {
  client_limit = 5000
}
mail_max_userip_connections = 50
"""


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class ConnectionSampler:
    """Counts the bench database's client connections in pg_stat_activity every 20 ms (from the
    admin database, so the sampler is not counted), leaving out the bench process's own."""

    def __init__(self, own_pids: set[int]):
        self.own = set(own_pids)
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-pg-sampler", daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                                   "backend_type = 'client backend' AND NOT (pid = ANY(%s))",
                                   [DB_NAME, list(self.own)]).fetchone()
                self.peak = max(self.peak, row[0])
                self.samples += 1
                self._stop.wait(0.02)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


class ScaleSteps:
    # ----------------------------------------------------------------- push at scale
    def _accounts_for(self, dovecot, logins: list[str], user_key: str) -> list[int]:
        """One MailAccount per Dovecot login, all of one user: the first through
        mail_account_save, the rest copied from it with their own login and password."""
        from bench.runs import ServerUser, create_account, create_user
        from messages_app.models import MailAccount

        user = create_user(user_key)
        self.users[user_key] = user
        server = ServerUser(dovecot.host, dovecot.imap_port, logins[0], dovecot.password(logins[0]))
        first = create_account(user, server)
        rows = []
        for login in logins[1:]:
            row = MailAccount.objects.get(pk=first.pk)
            row.pk = None
            row.secret_binding = uuid.uuid4()  # the password's ciphertext is bound to this row
            row.is_primary = False
            row.username = row.email = row.description = login
            row.set_password(dovecot.password(login))
            rows.append(row)
        return [first.pk] + [row.pk for row in MailAccount.objects.bulk_create(rows)]

    def _listener(self, ids: list[int], env: dict, log) -> subprocess.Popen:
        args = [sys.executable, "manage.py", "mail_idle"]
        for pk in ids:
            args += ["--account", str(pk)]
        return self.processes.popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def scale_push(self) -> None:
        from django.db import connection

        from bench.runs import summary_ms
        from messages_app.models import Folder

        plan = self.plan
        figure: dict = {"accounts": plan.scale_push_accounts, "listeners": 2}
        self.report["scale_push"] = figure
        dovecot = self.processes.dovecot(extra_conf=SCALE_DOVECOT_CONF)
        self.scale_dovecot = dovecot
        started = time.perf_counter()
        logins = [f"push{i:04d}@postino.test" for i in range(plan.scale_push_accounts)]
        for login in logins:
            dovecot.add_user(login, f"bench-{login}")
        ids = self._accounts_for(dovecot, logins, "scalepush")
        figure["setup_accounts_s"] = round(time.perf_counter() - started, 1)
        lease_s, renew_s = plan.scale_lease_s, plan.scale_renew_s
        # INFO: the listeners' one line per cheap pass says how much of the latency is theirs.
        env = dict(os.environ, MAIL_IDLE_LEASE_SECONDS=str(lease_s), MAIL_IDLE_RENEW_SECONDS=str(renew_s),
                   LOG_LEVEL="INFO")
        figure["lease"] = {"MAIL_IDLE_LEASE_SECONDS": lease_s, "MAIL_IDLE_RENEW_SECONDS": renew_s,
                           "MAIL_IDLE_DB_CONNECTIONS": int(os.environ.get("MAIL_IDLE_DB_CONNECTIONS", "10"))}
        baseline = self._listener_baseline_rss()
        figure["listener_baseline_rss_mb"] = baseline
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own = {cursor.fetchone()[0]}
        logs = [open(self.work / f"mail_idle_{i}.log", "w") for i in range(2)]  # noqa: SIM115 - closed below
        listeners: list[subprocess.Popen] = []
        try:
            with ConnectionSampler(own) as sampler:
                started = time.perf_counter()
                listeners.append(self._listener(ids, env, logs[0]))
                time.sleep(0.5)
                listeners.append(self._listener(ids, env, logs[1]))
                # Every account held, split between the two, and its Inbox caught up (the
                # listener's first pass made the Folder row): then every thread is in IDLE.
                # BENCH_SCALE_PUSH_BUDGET_S: a longer wait on a machine loaded by other work.
                budget = float(os.environ.get("BENCH_SCALE_PUSH_BUDGET_S") or plan.scale_push_budget_s)
                deadline = time.monotonic() + budget
                split = {}
                while time.monotonic() < deadline:
                    split = self._lease_split(ids)
                    inboxes = Folder.objects.filter(account_id__in=ids, role="inbox").count()
                    if sum(split.values()) == len(ids) and len(split) == 2 and inboxes == len(ids):
                        break
                    if any(p.poll() is not None for p in listeners):
                        raise RuntimeError("a mail_idle listener exited: " + self._log_tail(logs))
                    time.sleep(0.2)
                else:
                    raise RuntimeError(f"not every account on push within {budget:.0f} s "
                                       f"(held {split}, inboxes {inboxes}): " + self._log_tail(logs))
                figure["all_listening_s"] = round(time.perf_counter() - started, 1)
                figure["split"] = sorted(split.values())
                # The last catch-up passes end and their threads enter IDLE: no sync lock held
                # for a second, then 1.5 s more (an Inbox row is made early in its first pass).
                figure["quiet_after_s"] = self._wait_until_quiet(ids, deadline)
                time.sleep(1.5)
                rss = [round(_rss_mb(p.pid), 1) for p in listeners]
                figure["listener_rss_mb"] = rss
                figure["rss_per_account_mb_over_baseline"] = round((sum(rss) - 2 * baseline) / len(ids), 3)
                figure["rss_per_idle_account_mb_including_baseline"] = round(sum(rss) / len(ids), 3)
                figure["peak_pg_connections_startup"] = sampler.peak

                # The earlier steps' bulk writes leave PostgreSQL's autovacuum at work for a while
                # (the 1M set, the CRM backfill): wait for it, and for the CPU to idle, so the
                # burst measures the listeners and not the bench's own aftermath.
                figure["settled"] = self._wait_until_settled(deadline=time.monotonic() + 120)
                # New mail at `scale_burst_accounts` accounts within one second.
                burst = ids[:: max(len(ids) // plan.scale_burst_accounts, 1)][: plan.scale_burst_accounts]
                offsets = [os.path.getsize(log.name) for log in logs]
                figure["new_mail"] = self._burst(dovecot, burst, sampler=sampler)
                figure["new_mail"]["listener_side"] = self._listener_side(logs, offsets, burst)
                # The floor is this Dovecot's own: a bare client waiting for `* n EXISTS` while
                # every account idles on it (about 1.0 s at 1,000 connections, against 0.5 s with
                # one in the idle_latency step, which is reported beside).
                from bench.floors import idle_floor

                login = self._login_of(ids[0])
                floor = summary_ms(idle_floor(dovecot.host, dovecot.imap_port, login, dovecot.password(login),
                                              plan.idle_floor_samples))
                floor["source"] = "this Dovecot, every account idling"
                step_floor = (self.report.get("idle_latency") or {}).get("server_floor")
                if step_floor:
                    figure["new_mail_floor_one_connection"] = step_floor
                figure["new_mail"]["server_floor"] = floor
                figure["new_mail"]["p95_over_floor_ms"] = round(figure["new_mail"]["p95_ms"] - floor["p95_ms"], 1)

                # Takeover: SIGKILL the listener holding the most, time until the other holds all.
                split = self._lease_split(ids)
                # The first listener started with every account and gave half back; the second
                # only ever held its share, so its growth over the taken-over accounts is the
                # marginal cost of an idle account.
                victim_index = 0
                victim = listeners[victim_index]
                survivor = listeners[1 - victim_index]
                survivor_rss_before = _rss_mb(survivor.pid)
                killed_at = time.perf_counter()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(victim.pid, signal.SIGKILL)
                victim.wait(10)
                deadline = time.monotonic() + max(4 * lease_s, 30)
                held = {}
                while time.monotonic() < deadline:
                    held = self._lease_split(ids, live=True)
                    if len(held) == 1 and sum(held.values()) == len(ids):
                        break
                    time.sleep(0.05)
                else:
                    raise RuntimeError(f"no takeover within {max(4 * lease_s, 30)} s: held {held}")
                takeover = time.perf_counter() - killed_at
                figure["takeover"] = {"s": round(takeover, 2), "killed_held": split.get(self._token_of(victim), 0),
                                      "note": f"SIGKILL; leases lapse after {lease_s} s, renewed every "
                                              f"{renew_s} s"}
                # Then push works on a taken-over account (its thread connected and in IDLE).
                moved = self._taken_over(ids, killed_at)
                # Push works on a taken-over account (its thread reconnected and is in IDLE): one
                # new message, then the survivor's RSS once its catch-up passes have ended.
                if moved:
                    probe = self._burst(dovecot, moved[-1:], spread_s=0, timeout=60, sampler=sampler)
                    figure["takeover"]["first_new_mail_after_s"] = round(time.perf_counter() - killed_at, 2)
                    figure["takeover"]["new_mail_ms"] = probe.get("p50_ms")
                    figure["takeover"]["moved"] = len(moved)
                    if probe.get("missed"):
                        self.failures.append("scale_push: no push on a taken-over account")
                    time.sleep(1.0)
                    # The marginal cost: the survivor's growth over the accounts it took over.
                    after = _rss_mb(survivor.pid)
                    figure["rss_per_idle_account_mb"] = round((after - survivor_rss_before) / len(moved), 3)
                    figure["rss_survivor_mb"] = [round(survivor_rss_before, 1), round(after, 1)]
                figure["peak_pg_connections"] = sampler.peak
                figure["pg_samples"] = sampler.samples
        finally:
            for proc in listeners:
                Processes.stop_popen(proc)
            for log in logs:
                log.close()
            connection.close()
        missed = figure.get("new_mail", {}).get("missed")
        if missed:
            self.failures.append(f"scale_push: {missed} new messages not seen in time")

    @staticmethod
    def _wait_until_quiet(ids: list[int], deadline: float) -> float:
        """Seconds until no sync lock of these accounts has been held for one second (or the
        deadline passed): the listeners' catch-up passes are over."""
        from django.utils import timezone

        from messages_app.models import SyncLock

        started = time.perf_counter()
        quiet_since = None
        while time.monotonic() < deadline:
            busy = SyncLock.objects.filter(account_id__in=ids, expires_at__gt=timezone.now()).exists()
            now = time.perf_counter()
            quiet_since = None if busy else (quiet_since or now)
            if quiet_since is not None and now - quiet_since >= 1.0:
                break
            time.sleep(0.05)
        return round(time.perf_counter() - started, 1)

    @staticmethod
    def _wait_until_settled(deadline: float) -> dict:
        """Wait until no autovacuum worker runs and the CPU was at least 80% idle over the last
        second (or the deadline passed); what was seen, for the report."""
        from django.db import connection

        def cpu_times() -> tuple[int, int]:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
            return fields[3] + fields[4], sum(fields)  # idle + iowait, all

        started = time.perf_counter()
        idle_share, vacuums = 0.0, 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
                vacuums = cursor.fetchone()[0]
            idle_before, total_before = cpu_times()
            time.sleep(1.0)
            idle_after, total_after = cpu_times()
            idle_share = (idle_after - idle_before) / max(total_after - total_before, 1)
            if (vacuums == 0 and idle_share >= 0.8) or time.monotonic() >= deadline:
                break
        return {"s": round(time.perf_counter() - started, 1), "cpu_idle": round(idle_share, 2),
                "autovacuum_workers": vacuums}

    @staticmethod
    def _listener_side(logs, offsets: list[int], account_ids: list[int]) -> dict:
        """What the listeners logged of the burst: for each account that took the cheap pass, the
        time from IDLE's report to the stored row (and of it the FETCH), which is the product's
        share of the latency; the rest is the server's notification. Accounts without such a line
        took a full Inbox pass instead."""
        from bench.runs import summary_ms

        pattern = re.compile(r"account (\d+): \d+ new stored (\d+) ms after they were seen \(fetch (\d+) ms\)")
        wanted = set(account_ids)
        stored, fetch = {}, {}
        for log, offset in zip(logs, offsets, strict=True):
            log.flush()
            with open(log.name) as f:
                f.seek(offset)
                for match in pattern.finditer(f.read()):
                    pk = int(match.group(1))
                    if pk in wanted and pk not in stored:
                        stored[pk], fetch[pk] = int(match.group(2)) / 1000, int(match.group(3)) / 1000
        return {"idle_to_stored": summary_ms(list(stored.values())), "fetch": summary_ms(list(fetch.values())),
                "full_passes": len(wanted) - len(stored)}

    def _lease_split(self, ids: list[int], *, live: bool = False) -> dict[str, int]:
        from django.db.models import Count
        from django.utils import timezone

        from messages_app.models import ListenerLease

        rows = ListenerLease.objects.filter(account_id__in=ids).exclude(holder="")
        rows = rows.filter(expires_at__gte=timezone.now()) if live else rows.filter(expires_at__isnull=False)
        return dict(rows.values("holder").annotate(n=Count("pk")).values_list("holder", "n"))

    @staticmethod
    def _since(perf: float):
        """The wall-clock time of an earlier perf_counter() reading."""
        from datetime import timedelta

        from django.utils import timezone

        return timezone.now() - timedelta(seconds=time.perf_counter() - perf)

    def _taken_over(self, ids: list[int], killed_at_perf: float) -> list[int]:
        """Accounts claimed since the kill (their lease's claimed_at is after it)."""
        from messages_app.models import ListenerLease

        since = self._since(killed_at_perf)
        return list(ListenerLease.objects.filter(account_id__in=ids, claimed_at__gte=since)
                    .order_by("account_id").values_list("account_id", flat=True))

    @staticmethod
    def _token_of(proc) -> str:
        from messages_app.models import IdleListener

        rows = IdleListener.objects.filter(name__endswith=f" pid {proc.pid}")
        return rows.values_list("token", flat=True).first() or ""

    def _login_of(self, account_id: int) -> str:
        from messages_app.models import MailAccount

        return MailAccount.objects.values_list("username", flat=True).get(pk=account_id)

    def _burst(self, dovecot, account_ids: list[int], *, spread_s: float = 1.0, timeout: float = 30,
               sampler: ConnectionSampler | None = None) -> dict:
        """APPEND one message to each account's INBOX, spread evenly over `spread_s`, each over its
        own logged-in connection; time until each row is visible in the database."""
        from imapclient import IMAPClient

        from bench.mailgen import MailboxGenerator
        from bench.runs import summary_ms
        from messages_app.models import Message

        logins = {pk: self._login_of(pk) for pk in account_ids}
        clients = {}
        try:
            for pk, login in logins.items():
                client = IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=60)
                client.login(login, dovecot.password(login))
                clients[pk] = client
            items = {pk: item for pk, item in zip(account_ids, MailboxGenerator(f"burst-{account_ids[0]}-{time.time()}",
                                                                              len(account_ids)), strict=True)}
            wanted = {item.meta.message_id: pk for pk, item in items.items()}
            sent_at: dict[int, float] = {}
            seen_at: dict[int, float] = {}
            stop = threading.Event()

            registered = threading.Event()

            def poll() -> None:
                from django.db import connection

                try:
                    with connection.cursor() as cursor:  # not counted as a listener's connection
                        cursor.execute("SELECT pg_backend_pid()")
                        if sampler is not None:
                            sampler.own.add(cursor.fetchone()[0])
                    registered.set()
                    while not stop.is_set() and len(seen_at) < len(wanted):
                        found = Message.objects.filter(account_id__in=account_ids,
                                                       message_id__in=[m for m, pk in wanted.items()
                                                                       if pk not in seen_at and pk in sent_at])
                        now = time.perf_counter()
                        for message_id in found.values_list("message_id", flat=True):
                            seen_at.setdefault(wanted[message_id], now)
                        time.sleep(0.002)
                finally:
                    connection.close()

            poller = threading.Thread(target=poll, name="bench-burst-poll", daemon=True)
            poller.start()
            registered.wait(30)
            began = time.perf_counter()

            def append(index: int, pk: int, item) -> None:
                due = began + spread_s * index / max(len(items), 1)
                time.sleep(max(0.0, due - time.perf_counter()))
                sent_at[pk] = time.perf_counter()
                clients[pk].append("INBOX", item.raw)

            # Several senders, so the appends keep to their schedule on a loaded machine.
            with ThreadPoolExecutor(max_workers=min(len(items), 10), thread_name_prefix="bench-append") as pool:
                for future in [pool.submit(append, index, pk, item)
                               for index, (pk, item) in enumerate(items.items())]:
                    future.result()
            appended_s = time.perf_counter() - began
            poller.join(timeout)
            stop.set()
            poller.join(5)
        finally:
            for client in clients.values():
                with contextlib.suppress(Exception):
                    client.logout()
        latencies = [seen_at[pk] - sent_at[pk] for pk in seen_at]
        out = summary_ms(latencies)
        out.update(accounts=len(account_ids), missed=len(account_ids) - len(latencies),
                   appends_spread_s=round(appended_s, 2))
        return out

    def _listener_baseline_rss(self) -> float:
        """RSS of a process that has imported what mail_idle imports and opened a database
        connection, listening on nothing: what a listener costs before its accounts."""
        code = ("import sys; from bench.env import django_setup; django_setup(migrate=False)\n"
                "import messages_app.services.idle_listener\n"
                "from messages_app.management.commands import mail_idle\n"
                "from django.db import connection; connection.ensure_connection()\n"
                "from bench.worker import rss_mb; print(round(rss_mb(), 1))")
        proc = self.processes.popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=60)
        if proc.returncode:
            raise RuntimeError(f"baseline process failed: {err[-500:]}")
        return float(out.strip().splitlines()[-1])

    @staticmethod
    def _log_tail(logs) -> str:
        tails = []
        for log in logs:
            log.flush()
            with open(log.name) as f:
                tails.append(f.read()[-400:])
        return " | ".join(tails)

    # ----------------------------------------------------------------- sync throughput
    def scale_sync(self) -> None:
        from bench.seed import MailboxPlan, seed_mailboxes

        plan = self.plan
        count, size = plan.scale_sync_accounts, plan.scale_sync_messages
        figure: dict = {"accounts": count, "messages_per_account": size, "cpus": os.cpu_count()}
        self.report["scale_sync"] = figure
        dovecot = getattr(self, "scale_dovecot", None) or self.processes.dovecot(extra_conf=SCALE_DOVECOT_CONF)
        self.scale_dovecot = dovecot
        logins = [f"sync{i:04d}@postino.test" for i in range(count)]
        for login in logins:
            dovecot.add_user(login, f"bench-{login}")
        started = time.perf_counter()
        seed_mailboxes(dovecot, [MailboxPlan(login, "INBOX", f"SCALE-{i % 10}", size)
                                 for i, login in enumerate(logins)])
        figure["seed_s"] = round(time.perf_counter() - started, 1)
        # Dovecot's first read of each fresh Maildir (index, cache) is not the product's work:
        # warm every mailbox once, as the floors step does for the others.
        started = time.perf_counter()
        from bench.floors import raw_fetch

        for login in logins:
            raw_fetch(dovecot.host, dovecot.imap_port, login, dovecot.password(login), "INBOX",
                      self.floor_items or "(UID FLAGS)")
        figure["dovecot_warm_s"] = round(time.perf_counter() - started, 1)
        runs = {}
        for workers in plan.scale_sync_workers:
            # A fresh set of accounts over the same mailboxes for each run: every run is a first sync.
            ids = self._accounts_for(dovecot, logins, f"scalesync{workers}")
            runs[str(workers)] = self._sync_run(ids, workers, count * size)
        one = runs.get("1", {}).get("msgs_per_s")
        for run in runs.values():
            if one and run.get("msgs_per_s"):
                run["ratio_to_1"] = round(run["msgs_per_s"] / one, 2)
        figure["workers"] = runs
        for key in ("2", "4"):
            if key in runs and "ratio_to_1" in runs[key]:
                figure[f"ratio_{key}_workers"] = runs[key]["ratio_to_1"]
        figure["note"] = (f"{os.cpu_count()} cores: each worker is one Python process (parse, build rows) and the "
                          "same machine runs Dovecot and PostgreSQL, so more workers than cores share them")

    def _sync_run(self, ids: list[int], workers: int, expected: int) -> dict:
        """`workers` processes (python -m bench.scale_worker), the accounts dealt round-robin,
        all started on one go line once each is set up; wall = go to the last one's end."""
        procs = []
        try:
            for index in range(workers):
                procs.append(self.processes.popen(
                    [sys.executable, "-m", "bench.scale_worker", json.dumps({"account_ids": ids[index::workers]})],
                    cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    env=dict(os.environ, DATABASE_URL=database_url())))
            for proc in procs:
                line = proc.stdout.readline()
                if line.strip() != "READY":
                    raise RuntimeError(f"scale worker did not start: {line!r} {proc.stderr.read()[-500:]}")
            started = time.perf_counter()
            for proc in procs:
                proc.stdin.write("go\n")
                proc.stdin.flush()
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=self.plan.sync_timeout_s)
                found = [json.loads(x[len("BENCH-RESULT "):]) for x in out.splitlines()
                         if x.startswith("BENCH-RESULT ")]
                results.append(found[0] if found else {"error": f"exited {proc.returncode}: {err[-500:]}"})
            wall = time.perf_counter() - started
        finally:
            for proc in procs:
                Processes.stop_popen(proc)
        stored = sum(r.get("stored", 0) for r in results)
        if stored != expected:
            self.failures.append(f"scale_sync {workers} workers stored {stored} of {expected}")
        return {"workers": workers, "wall_s": round(wall, 2), "stored": stored,
                "msgs_per_s": round(stored / wall) if wall else None,
                "worker_wall_s": [r.get("wall_s") for r in results],
                "worker_peak_rss_mb": [r.get("peak_rss_mb") for r in results],
                "account_s_median": [r.get("account_s_median") for r in results],
                "arrival_steps": sum(r.get("arrivals", 0) for r in results),
                "errors": [e for r in results for e in (r.get("errors") or ([r["error"]] if "error" in r else []))]}
