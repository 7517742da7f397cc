"""python -m bench [--quick] [--profile] [--keep-db]

Runs the whole benchmark on this machine (private Dovecot, a fresh PostgreSQL database, loopback
only), prints one JSON document and writes it to bench/results/latest.json with the chart
bench/results/latest.png. See bench/README.md for what each figure means.

Exit status: 0 when every run completed and the database equalled the server wherever that is
checked; 1 otherwise. Timings never fail the run (the targets are reported, not enforced).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench import env


@dataclass
class Plan:
    quick: bool
    tenk: int = 10_000
    main_inbox: int = 100_000
    main_sent: int = 10_000
    # 17 folders of the user's own + Drafts, Junk and Trash (which Dovecot creates): with INBOX and
    # Sent, the 22 folders of the resync figure. "Clienti" first: a parent made implicitly would be
    # \Noselect.
    small_folders: list[tuple[str, int]] = field(default_factory=lambda: [
        ("Drafts", 15), ("Junk", 40), ("Trash", 60), ("Clienti", 30), ("Clienti.Rossi", 120),
        ("Clienti.Bianchi", 80), ("Clienti.Città di Milano", 45), ("Fornitori", 70), ("Fornitori.Acme", 55),
        ("Preventivi 2025", 90), ("Fatture", 150), ("Fatture.2024", 110), ("Fatture.2025", 130),
        ("Progetti", 25), ("Progetti.Ristrutturazione", 65), ("Newsletter", 140), ("Archivio", 35),
        ("Archivio.2023", 100), ("Personale", 20), ("Da leggere", 10)])
    unified_accounts: int = 4
    unified_size: int = 30_000
    bulk_size: int = 1_000_000
    insert_floor_rows: int = 50_000
    orm_floor_rows: int = 10_000
    resync_samples: int = 30
    change_rounds: int = 3
    idle_samples: int = 40
    open_warmup: int = 20
    open_samples: int = 200
    page_warmup: int = 20
    page_samples: int = 200
    deep_pages: int = 50
    backfill_open_sample: int = 50
    backfill_limit: int | None = None
    idle_floor_samples: int = 10
    open_floor_samples: int = 15
    sync_timeout_s: float = 540
    # Time budgets that keep `make bench` under 15 minutes however slow a run is (a run that
    # hits one is marked "truncated"; its figure then misses its target by far anyway).
    no_condstore_rounds: int = 2
    page_budget_s: float = 15
    open_budget_s: float = 40
    idle_budget_s: float = 30
    backfill_budget_s: float = 20

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        if not quick:
            return cls(quick=False)
        return cls(quick=True, main_inbox=0, main_sent=0, small_folders=[], unified_accounts=0, bulk_size=0,
                   insert_floor_rows=10_000, orm_floor_rows=5_000, resync_samples=20, change_rounds=2,
                   idle_samples=10, open_warmup=3, open_samples=15, page_warmup=5, page_samples=30,
                   backfill_open_sample=10, backfill_limit=2_000, idle_floor_samples=5, open_floor_samples=10,
                   sync_timeout_s=240, page_budget_s=5, open_budget_s=10, idle_budget_s=10, backfill_budget_s=10)


class Bench:
    def __init__(self, plan: Plan, report: dict, processes: env.Processes, work) -> None:
        self.plan = plan
        self.report = report
        self.processes = processes
        self.work = work
        self.failures: list[str] = []
        self.floor_items = ""
        self.profile = False

    # ----------------------------------------------------------------- plumbing
    @contextlib.contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            yield
        except Exception as exc:
            self.report["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
            self.failures.append(name)
            traceback.print_exc(file=sys.stderr)
        finally:
            seconds = round(time.perf_counter() - started, 1)
            self.report["meta"]["steps_s"][name] = seconds
            self.report["meta"]["loadavg_after"][name] = [round(x, 2) for x in os.getloadavg()]
            print(f"[bench] {name}: {seconds} s", file=sys.stderr, flush=True)
            from bench.report import RESULTS, write_json

            write_json(self.report, RESULTS / "partial.json")  # what a cancelled run had measured

    def server(self, login: str, port: int | None = None):
        from bench.runs import ServerUser

        return ServerUser(self.dovecot.host, port or self.dovecot.imap_port, login, self.dovecot.password(login))

    # ----------------------------------------------------------------- set-up
    def setup(self) -> None:
        from bench.seed import MailboxPlan, seed_mailboxes

        env.recreate_database()
        env.django_setup(migrate=True)
        self.report["meta"]["postgres"] = env.postgres_settings()
        self.dovecot = self.processes.dovecot()
        self.logins = {"tenk": "tenk@postino.test"}
        plans = []
        self.dovecot.add_user(self.logins["tenk"], "bench-tenk-pass")
        plans.append(MailboxPlan(self.logins["tenk"], "INBOX", "INBOX-10k", self.plan.tenk))
        if not self.plan.quick:
            self.logins["main"] = "olga@postino.test"
            self.dovecot.add_user(self.logins["main"], "bench-olga-pass")
            plans.append(MailboxPlan(self.logins["main"], "INBOX", "OLGA-INBOX", self.plan.main_inbox))
            plans.append(MailboxPlan(self.logins["main"], "Sent", "OLGA-Sent", self.plan.main_sent, sent=True))
            plans += [MailboxPlan(self.logins["main"], name, f"OLGA-{name}", count)
                      for name, count in self.plan.small_folders]
        if self.profile:
            self.logins["profile"] = "profile@postino.test"
            self.dovecot.add_user(self.logins["profile"], "bench-profile-pass")
            plans.append(MailboxPlan(self.logins["profile"], "INBOX", "INBOX-10k", self.plan.tenk))
        started = time.perf_counter()
        seeded = seed_mailboxes(self.dovecot, plans)
        self.report["meta"]["seeded"] = {"messages": sum(seeded.values()), "mailboxes": len(seeded),
                                         "s": round(time.perf_counter() - started, 1)}

        from bench.runs import create_account, create_user

        self.users = {"tenk": create_user("tenk")}
        self.accounts = {"tenk": create_account(self.users["tenk"], self.server(self.logins["tenk"]))}
        if not self.plan.quick:
            self.users["main"] = create_user("olga")
            self.accounts["main"] = create_account(self.users["main"], self.server(self.logins["main"]),
                                                   description="Olga (100k)")
        if self.profile:
            self.users["profile"] = create_user("profile")
            self.accounts["profile"] = create_account(self.users["profile"], self.server(self.logins["profile"]))

    @property
    def main_key(self) -> str:
        """The account the resync, IDLE, open and page figures use: the 22-folder one, or 10k."""
        return "tenk" if self.plan.quick else "main"

    # ----------------------------------------------------------------- floors
    def floors(self) -> None:
        from bench.floors import capture_fetch_items, imapclient_fetch, insert_floors, raw_fetch
        from bench.mailgen import MailboxGenerator
        from messages_app.sync.account import open_connection
        from messages_app.sync.engine import BATCH_SIZE

        conn = open_connection(self.accounts["tenk"])
        try:
            conn.select("INBOX", readonly=True)
            self.floor_items = capture_fetch_items(conn)
        finally:
            conn.close()
        floors = self.report["floors"]
        floors["fetch_items"] = self.floor_items
        floors["batch_size"] = BATCH_SIZE
        # The first FETCH of a freshly written Maildir makes Dovecot build its index and cache
        # (and PREVIEW reads every body): done once for every folder here, so the floors and the
        # product all meet a warm server. The time is reported, not used.
        cold = {}
        for key, login in self.logins.items():
            with self.dovecot._imap(login) as client:
                names = [name for flags, _d, name in client.list_folders() if b"\\Noselect" not in flags]
            for name in names:
                result = raw_fetch(self.dovecot.host, self.dovecot.imap_port, login,
                                   self.dovecot.password(login), name, self.floor_items)
                if result.messages >= 10_000:
                    cold[f"{key}/{name}"] = result.as_dict()
        floors["dovecot_first_fetch"] = cold
        sizes = [("10k", "tenk")] + ([] if self.plan.quick else [("100k", "main")])
        for label, key in sizes:
            login = self.logins[key]
            password = self.dovecot.password(login)
            raws = [raw_fetch(self.dovecot.host, self.dovecot.imap_port, login, password, "INBOX", self.floor_items)
                    for _ in range(2)]
            floors[f"raw_{label}"] = min(raws, key=lambda r: r.seconds).as_dict()
            floors[f"imapclient_{label}"] = imapclient_fetch(self.dovecot.host, self.dovecot.imap_port, login,
                                                             password, "INBOX", self.floor_items,
                                                             BATCH_SIZE).as_dict()
        source = "INBOX-10k" if self.plan.quick else "OLGA-INBOX"
        generator = MailboxGenerator(source, self.plan.main_inbox or self.plan.tenk)
        metas = []
        for item in generator.messages(render=False):
            metas.append(item.meta)
            if len(metas) >= self.plan.insert_floor_rows:
                break
        inserted = insert_floors(metas, self.plan.orm_floor_rows)
        floors["insert_copy"] = inserted["copy"].as_dict()
        floors["insert_orm"] = inserted["orm"].as_dict()

    # ----------------------------------------------------------------- initial syncs
    def _sync_figure(self, result: dict, messages: int, size_label: str | None) -> dict:
        out = dict(result)
        stored = result.get("stored") or 0
        wall = result.get("wall_s") or 0
        out["messages"] = messages
        if wall and stored:
            out["msgs_per_s"] = round(stored / wall)
            floors = self.report["floors"]
            if size_label:
                for floor, name in (("raw", "ratio_raw_floor"), ("imapclient", "ratio_imapclient_floor")):
                    per_s = (floors.get(f"{floor}_{size_label}") or {}).get("msgs_per_s")
                    if per_s:
                        out[name] = round(out["msgs_per_s"] / per_s, 3)
            copy = (floors.get("insert_copy") or {}).get("msgs_per_s")
            if copy:
                out["ratio_insert_floor"] = round(out["msgs_per_s"] / copy, 3)
        if stored != messages:
            self.failures.append(f"initial sync stored {stored} of {messages}")
        return out

    def initial_syncs(self) -> None:
        from bench.runs import run_worker

        result = run_worker(self.processes, {"account_id": self.accounts["tenk"].pk}, self.plan.sync_timeout_s)
        self.report["initial_sync_10k"] = self._sync_figure(result, self.plan.tenk, "10k")
        if self.plan.quick:
            return
        result = run_worker(self.processes, {"account_id": self.accounts["main"].pk, "folder": "INBOX"},
                            self.plan.sync_timeout_s)
        figure = self._sync_figure(result, self.plan.main_inbox, "100k")
        ten = self.report["initial_sync_10k"].get("wall_s")
        if ten and figure.get("wall_s"):
            figure["t_100k_over_t_10k"] = round(figure["wall_s"] / ten, 2)
        self.report["initial_sync_100k"] = figure
        rest = self.plan.main_sent + sum(n for _name, n in self.plan.small_folders)
        result = run_worker(self.processes, {"account_id": self.accounts["main"].pk}, self.plan.sync_timeout_s)
        self.report["initial_sync_rest"] = self._sync_figure(result, rest, None)
        self.report["initial_sync_rest"]["note"] = "Sent 10k + 20 small folders of the 100k account"

    def profile_sync(self) -> None:
        from bench.env import REPO
        from bench.runs import run_worker

        text = REPO / "bench" / "results" / "profile_sync_10k.txt"
        html = REPO / "bench" / "results" / "profile_sync_10k.html"
        result = run_worker(self.processes, {"account_id": self.accounts["profile"].pk, "profile": str(text),
                                             "profile_html": str(html), "stages": False}, 900)
        self.report["profile_sync_10k"] = {"wall_s_under_profiler": result.get("wall_s"),
                                           "text": str(text.relative_to(REPO)), "html": str(html.relative_to(REPO)),
                                           "error": result.get("error", "")}

    def check(self, name: str, key: str, port: int | None = None) -> dict:
        from bench.runs import compare

        result = compare(self.accounts[key], self.server(self.logins[key], port))
        if not result["equal"]:
            self.failures.append(f"{name}: database differs from server: {result['problems'][:3]}")
        self.report["consistency"][name] = result
        return result

    # ----------------------------------------------------------------- resyncs and IDLE
    def resyncs(self) -> None:
        from bench.runs import apply_changes, resync_samples, summary_ms
        from messages_app.sync.account import open_connection, sync_account

        key = self.main_key
        account = self.accounts[key]
        conn = open_connection(account)
        try:
            sync_account(account.pk, connection=conn)  # first pass on this connection: not timed
            times, results = resync_samples(account, self.plan.resync_samples, conn=conn)
            last = results[-1]
            figure = summary_ms(times)
            figure.update(ms=figure["p50_ms"], folders=len(last.folders),
                          folders_skipped=sum(1 for r in last.folders.values() if r.skipped),
                          connection="kept (sync_account(..., connection=open_connection(account)))")
            self.report["resync_unchanged"] = figure
            rounds = []
            for index in range(self.plan.change_rounds):
                changes = apply_changes(self.server(self.logins[key]), 0.01, seed=index + 1)
                seconds, (result,) = resync_samples(account, 1, conn=conn)
                rounds.append({"ms": round(seconds[0] * 1000, 1), "changes": changes, "new": result.new,
                               "changed": sum(r.changed for r in result.folders.values()),
                               "removed": sum(r.removed for r in result.folders.values())})
            if self.profile:
                self._profile_resyncs(account, conn, key)
        finally:
            conn.close()
        check = self.check("after_resync_1pct", key)
        self.report["resync_1pct"] = {"ms": round(statistics.median(r["ms"] for r in rounds), 1), "rounds": rounds,
                                      "db_equals_server": check["equal"]}

    def _profile_resyncs(self, account, conn, key: str) -> None:
        """pyinstrument over 10 unchanged passes and one more 1% round (not in the figures)."""
        from pyinstrument import Profiler

        from bench.env import REPO
        from bench.runs import apply_changes
        from messages_app.sync.account import sync_account

        out = REPO / "bench" / "results"
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(10):
            sync_account(account.pk, connection=conn)
        profiler.stop()
        (out / "profile_resync_unchanged.txt").write_text(profiler.output_text(unicode=True, color=False))
        apply_changes(self.server(self.logins[key]), 0.01, seed=99)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        sync_account(account.pk, connection=conn)
        profiler.stop()
        (out / "profile_resync_1pct.txt").write_text(profiler.output_text(unicode=True, color=False))

    def idle(self) -> None:
        from bench.floors import idle_floor
        from bench.runs import idle_latency, summary_ms

        key = self.main_key
        server = self.server(self.logins[key])
        figure = idle_latency(self.accounts[key], server, self.plan.idle_samples, budget_s=self.plan.idle_budget_s)
        floor = summary_ms(idle_floor(server.host, server.port, server.login, server.password,
                                      self.plan.idle_floor_samples))
        figure["server_floor"] = floor
        figure["product_over_floor_p50_ms"] = round(figure["p50_ms"] - floor["p50_ms"], 1)
        self.report["idle_latency"] = figure

    def no_condstore(self) -> None:
        from bench.runs import apply_changes, point_account_at, resync_samples
        from messages_app.models import MailAccount
        from messages_app.sync.account import open_connection, sync_account

        key = self.main_key
        login = self.logins[key]
        # A second Dovecot over the same Maildirs (same UIDs, same UIDVALIDITY) that advertises
        # neither CONDSTORE nor QRESYNC: the account just moves to its port.
        plain = self.processes.dovecot(hide_condstore=True,
                                       extra_conf=f"mail_location = maildir:{self.dovecot.root}/mail/%u")
        plain.add_user(login, self.dovecot.password(login))
        account = self.accounts[key]
        point_account_at(account, plain.imap_port)
        account = MailAccount.objects.get(pk=account.pk)
        conn = open_connection(account)
        rounds = []
        try:
            if conn.has("CONDSTORE") or conn.has("QRESYNC"):
                raise RuntimeError("the second Dovecot still advertises CONDSTORE/QRESYNC")
            sync_account(account.pk, connection=conn)  # the switch-over pass: not timed
            for index in range(self.plan.no_condstore_rounds):
                changes = apply_changes(self.server(login, plain.imap_port), 0.01, seed=100 + index)
                seconds, (result,) = resync_samples(account, 1, conn=conn)
                rounds.append({"ms": round(seconds[0] * 1000, 1), "changes": changes, "new": result.new,
                               "changed": sum(r.changed for r in result.folders.values()),
                               "removed": sum(r.removed for r in result.folders.values())})
        finally:
            conn.close()
        check = self.check("after_resync_1pct_no_condstore", key, plain.imap_port)
        point_account_at(account, self.dovecot.imap_port)
        self.report["resync_1pct_no_condstore"] = {
            "ms": round(statistics.median(r["ms"] for r in rounds), 1), "rounds": rounds,
            "db_equals_server": check["equal"]}

    # ----------------------------------------------------------------- database-only sets
    def database_only(self) -> None:
        from django.utils import timezone

        from bench.bulkload import LoadJob, load_with_index_rebuild, vacuum_analyze
        from bench.runs import ServerUser, create_account, create_user
        from messages_app.models import Folder

        if self.plan.quick:
            vacuum_analyze()
            return

        def folder_for(account, count: int):
            return Folder.objects.create(account=account, name="INBOX", delimiter=".", role="inbox",
                                         role_source=Folder.RoleSource.NAME, uidvalidity=1, last_seen_uid=count,
                                         uidnext=count + 1, server_messages=count, backfill_below_uid=0,
                                         last_synced=timezone.now())

        jobs = []
        olga = self.users["main"]
        for index in range(self.plan.unified_accounts):
            letter = "BCDEFGH"[index]
            account = create_account(olga, ServerUser("127.0.0.1", 9, f"olga.{letter.lower()}@postino.test",
                                                      "unused"), description=f"Olga {letter} (database only)")
            folder = folder_for(account, self.plan.unified_size)
            jobs.append(LoadJob(f"OLGA-{letter}-INBOX", self.plan.unified_size, account.pk, folder.pk, olga.pk))
        self.users["bulk"] = create_user("bulk")
        bulk_account = create_account(self.users["bulk"], ServerUser("127.0.0.1", 9, "bulk@postino.test", "unused"),
                                      description="1M (database only)")
        self.accounts["bulk"] = bulk_account
        half = self.plan.bulk_size // 2
        bulk_folder = folder_for(bulk_account, self.plan.bulk_size)
        jobs.append(LoadJob("BULK-1M-a", half, bulk_account.pk, bulk_folder.pk, self.users["bulk"].pk, uid_start=1))
        jobs.append(LoadJob("BULK-1M-b", self.plan.bulk_size - half, bulk_account.pk, bulk_folder.pk,
                            self.users["bulk"].pk, uid_start=half + 1))
        jobs.sort(key=lambda job: -job.count)
        self.report["meta"]["database_only_load"] = load_with_index_rebuild(jobs)

    # ----------------------------------------------------------------- web: open and pages
    def web(self) -> None:
        from bench.mailgen import COMMON_TERM, RARE_TERM, TWO_WORD_TERMS
        from bench.pages import (
            HTMX,
            PageSpec,
            deep_path,
            open_uncached,
            reverse_or_none,
            run_pages,
            session_cookie,
            start_gunicorn,
        )
        from messages_app.models import Folder, Message

        port = start_gunicorn(self.processes, self.work / "gunicorn.log")
        key = self.main_key
        user = self.users[key]
        cookie = session_cookie(user)
        inbox = Folder.objects.get(account=self.accounts[key], name="INBOX")
        ids = list(Message.objects.filter(folder=inbox, body__isnull=True).order_by("uid").values_list("id", flat=True))
        wanted = self.plan.open_warmup + self.plan.open_samples
        step = max(1, len(ids) // wanted)
        sample = ids[::step][:wanted]
        figure = open_uncached(port, cookie, sample, self.plan.open_warmup, budget_s=self.plan.open_budget_s)
        from bench.floors import open_floor
        from bench.runs import summary_ms

        server = self.server(self.logins[key])
        uids = list(Message.objects.filter(folder=inbox).order_by("-uid")
                    .values_list("uid", flat=True)[:self.plan.open_floor_samples])
        figure["floor"] = summary_ms(open_floor(server.host, server.port, server.login, server.password, uids))
        figure["floor"]["what"] = "new connection, LOGIN, EXAMINE, UID FETCH BODY.PEEK[], LOGOUT (imapclient)"
        self.report["open_uncached"] = figure

        pages: dict = {"missing": []}
        specs, users, threaded = [], {"default": user}, set()
        folder_path = reverse_or_none("messages_app:folder", [inbox.pk])
        unified_path = reverse_or_none("messages_app:unified", ["inbox"])
        if folder_path is None:
            pages["missing"].append("messages_app:folder")
        else:
            specs.append(PageSpec("folder_top", folder_path, note="full page"))
            deep, followed = deep_path(port, cookie, folder_path, self.plan.deep_pages)
            if deep:
                specs.append(PageSpec("folder_deep", deep, HTMX,
                                      note=f"htmx rows fragment after {self.plan.deep_pages} pages (infinite scroll)"))
            else:
                pages["missing"].append(f"folder_deep: only {followed} 'older messages' links to follow")
            specs.append(PageSpec("threaded", folder_path, note="full page, threaded layout on"))
            threaded.add("threaded")
        if unified_path is None:
            pages["missing"].append("messages_app:unified")
        else:
            specs.append(PageSpec("unified", unified_path, note="full page, every account's INBOX"))
            for name, term in (("search_rare", RARE_TERM), ("search_common", COMMON_TERM),
                               ("search_two_words", " ".join(TWO_WORD_TERMS))):
                specs.append(PageSpec(name, f"{unified_path}?q={term.replace(' ', '+')}&all=1",
                                      note="full page, search every folder"))
        if "bulk" in self.users and folder_path:
            bulk_inbox = Folder.objects.get(account=self.accounts["bulk"], name="INBOX")
            bulk_path = reverse_or_none("messages_app:folder", [bulk_inbox.pk])
            bulk_cookie = session_cookie(self.users["bulk"])
            specs.append(PageSpec("folder_top_1m", bulk_path, note="full page"))
            deep, _followed = deep_path(port, bulk_cookie, bulk_path, self.plan.deep_pages)
            if deep:
                specs.append(PageSpec("folder_deep_1m", deep, HTMX, note="htmx rows fragment"))
            for name in ("folder_top_1m", "folder_deep_1m"):
                users[name] = self.users["bulk"]
        pages.update(run_pages(port, specs, users, warmup=self.plan.page_warmup, samples=self.plan.page_samples,
                               threaded_keys=threaded, budget_s=self.plan.page_budget_s))
        if self.profile:
            from bench.env import REPO
            from bench.pages import profile_page, set_threaded

            for spec in specs:
                target = REPO / "bench" / "results" / f"profile_page_{spec.key}.txt"
                page_user = users.get(spec.key, user)
                set_threaded(page_user, spec.key in threaded)
                try:
                    profile_page(page_user, spec, target)
                finally:
                    set_threaded(page_user, False)
                pages.setdefault("profiles", {})[spec.key] = str(target.relative_to(REPO))
        searches = {k: v for k, v in pages.items() if k in ("search_rare", "search_common", "search_two_words")}
        if searches:
            pages["search"] = {"p95_ms": max(v["p95_ms"] for v in searches.values()),
                               "p50_ms": max(v["p50_ms"] for v in searches.values()),
                               "of": "the slowest of search_rare, search_common, search_two_words"}
        ratios = [pages[f"{n}_1m"]["p95_ms"] / pages[n]["p95_ms"] for n in ("folder_top", "folder_deep")
                  if f"{n}_1m" in pages and n in pages and pages[n]["p95_ms"]]
        if ratios:
            pages["scaling_1m_vs_100k"] = round(max(ratios), 3)
            pages["scaling_note"] = "max over folder_top and folder_deep of p95(1M folder) / p95(100k folder)"
        counts = {k: v.get("queries") for k, v in pages.items() if isinstance(v, dict) and "queries" in v}
        pages["queries"] = counts
        for name, value in list(pages.items()):
            if isinstance(value, dict) and value.get("error"):
                self.failures.append(f"page {name}: {value['error']}")
        if self.report["open_uncached"].get("error"):
            self.failures.append(f"open_uncached: {self.report['open_uncached']['error']}")
        self.report["pages"] = pages

    # ----------------------------------------------------------------- body backfill vs mbsync
    def backfill(self) -> None:
        from bench.backfill import (
            PRODUCT_CHUNK,
            mbsync_download,
            per_message_open,
            product_backfill,
            reference_backfill,
        )

        account = self.accounts["tenk"]
        login = self.logins["tenk"]
        one_by_one = per_message_open(account, self.plan.backfill_open_sample)
        mbsync = mbsync_download(self.dovecot.host, self.dovecot.imap_port, login, self.dovecot.password(login),
                                 self.work)
        product = product_backfill(account, budget_s=self.plan.backfill_budget_s)
        # The batched reference on what the product left (all of it when the product has none).
        reference = reference_backfill(account, limit=self.plan.backfill_limit, budget_s=self.plan.backfill_budget_s)
        if product is not None:
            figure = product.as_dict()
            figure["implementation"] = ("product: services.message_body.message_bodies_prefetch "
                                        f"(chunks of {PRODUCT_CHUNK})")
        else:
            figure = reference.as_dict()
            figure["implementation"] = "bench reference (the product has no body backfill)"
        figure.update(mbsync=mbsync.as_dict(), per_message_open=one_by_one.as_dict(),
                      batched_reference=reference.as_dict())
        per_s = product.per_s if product is not None else reference.per_s
        figure["ratio_mbsync"] = round(per_s / mbsync.per_s, 3) if mbsync.per_s else None
        if figure.get("messages", 0) < 100:
            self.failures.append(f"backfill stored only {figure.get('messages')} bodies")
        self.report["backfill"] = figure

    # ----------------------------------------------------------------- the whole run
    def run(self) -> None:
        with self.step("setup"):
            self.setup()
        if "setup" in self.failures:
            return
        with self.step("floors"):
            self.floors()
        with self.step("initial_syncs"):
            self.initial_syncs()
        if self.profile:
            with self.step("profile_sync"):
                self.profile_sync()
        with self.step("consistency_after_initial"):
            for key in ("tenk",) + (() if self.plan.quick else ("main",)):
                self.check(f"after_initial_{key}", key)
        with self.step("resyncs"):
            self.resyncs()
        with self.step("idle_latency"):
            self.idle()
        with self.step("no_condstore"):
            self.no_condstore()
        with self.step("database_only_sets"):
            self.database_only()
        with self.step("web"):
            self.web()
        with self.step("backfill"):
            self.backfill()


def _version(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return ""


def machine_facts() -> dict:
    import django
    import imapclient

    git = _version(["git", "-C", str(env.REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(env.REPO), "status", "--porcelain"], capture_output=True, text=True,
                           check=False).stdout.count("\n")
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "django": django.get_version(),
            "imapclient": imapclient.__version__, "dovecot": _version(["/usr/sbin/dovecot", "--version"]),
            "mbsync": _version(["mbsync", "--version"]), "git_commit": git, "git_uncommitted_files": dirty}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only: the CI smoke test (under 2 minutes)")
    parser.add_argument("--profile", action="store_true",
                        help="also sync a copy of the 10k mailbox under pyinstrument (bench/results/profile_*)")
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    args = parser.parse_args(argv)

    # SIGTERM (and SIGINT, which a background shell ignores) unwind through the finally below,
    # so every process started here is stopped by its pid even when the run is cancelled.
    def interrupted(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    started_wall = time.perf_counter()
    var = env.temp_dir("postino-bench-var-")
    work = env.temp_dir("postino-bench-work-")
    env.configure(var)
    plan = Plan.for_mode(args.quick)
    report: dict = {
        "meta": {"mode": "quick" if args.quick else "full", "started": datetime.now(UTC).isoformat(timespec="seconds"),
                 "machine": machine_facts(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                 "steps_s": {}, "loadavg_after": {}},
        "floors": {}, "consistency": {}, "errors": [],
    }
    processes = env.Processes()
    bench = Bench(plan, report, processes, work)
    bench.profile = args.profile
    interrupted: BaseException | None = None
    try:
        bench.run()
    except BaseException as exc:  # SIGTERM/SIGINT (SystemExit): still clean up and write the report
        interrupted = exc
        report["errors"].append(f"interrupted: {type(exc).__name__} {exc}")
        bench.failures.append("interrupted")
    finally:
        processes.stop_all()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep_db:
            with contextlib.suppress(Exception):
                env.drop_database()
        shutil.rmtree(var, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    from bench.report import draw_chart, judge, write_json

    report["meta"]["duration_s"] = round(time.perf_counter() - started_wall, 1)
    report["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = judge(report)
    report["ok"] = not bench.failures
    report["failures"] = bench.failures
    json_path = write_json(report)
    chart = draw_chart(report)
    report["meta"]["written"] = [str(json_path.relative_to(env.REPO))] + (
        [str(chart.relative_to(env.REPO))] if chart else [])
    write_json(report)
    print(json.dumps(report, indent=2, default=str))
    if isinstance(interrupted, SystemExit):
        return int(interrupted.code or 1)
    return 0 if not bench.failures else 1


if __name__ == "__main__":
    sys.exit(main())
