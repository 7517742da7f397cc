"""The steps that talk to IMAP: floors, first syncs, resyncs, IDLE, the server without CONDSTORE.

A mixin of bench.suite.Bench (self.plan, self.report, self.dovecot, self.accounts, ...).
"""

from __future__ import annotations

import statistics
import time


class ImapSteps:
    # ----------------------------------------------------------------- floors
    def floors(self) -> None:
        from bench.backfill import mbsync_download
        from bench.floors import capture_fetch_items, imapclient_fetch, insert_floors, raw_fetch
        from bench.mailgen import MailboxGenerator
        from messages_app.services.sync import open_connection
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
            # #14's anchor for a first sync: mbsync pulling the same INBOX whole, in the same run.
            floors[f"mbsync_{label}"] = mbsync_download(self.dovecot.host, self.dovecot.imap_port, login, password,
                                                        self.work, timeout=900).as_dict()
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
                for floor, name in (("raw", "ratio_raw_floor"), ("imapclient", "ratio_imapclient_floor"),
                                    ("mbsync", "ratio_mbsync")):
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
        from messages_app.services.sync import account_sync, open_connection

        key = self.main_key
        account = self.accounts[key]
        conn = open_connection(account)
        try:
            account_sync(account.pk, connection=conn)  # first pass on this connection: not timed
            times, results = resync_samples(account, self.plan.resync_samples, conn=conn)
            last = results[-1]
            figure = summary_ms(times)
            figure.update(ms=figure["p50_ms"], folders=len(last.folders),
                          folders_skipped=sum(1 for r in last.folders.values() if r.skipped),
                          connection="kept (account_sync(..., connection=open_connection(account)))")
            # The server's part: the pass's one round trip, LIST-STATUS, on the same connection.
            # On Dovecot with Maildir++ the unselected INBOX's STATUS costs a scan of the folder
            # each time (about 85 ms at 100k here; a 10k folder's is 0.2 ms).
            floor = []
            for _ in range(self.plan.resync_samples):
                started = time.perf_counter()
                conn.list_folders(with_status=True)
                floor.append(time.perf_counter() - started)
            figure["list_status_floor"] = summary_ms(floor)
            self.report["resync_unchanged"] = figure
            rounds = []
            for index in range(self.plan.change_rounds):
                changes = apply_changes(self.server(self.logins[key]), 0.01, seed=index + 1)
                seconds, (result,) = resync_samples(account, 1, conn=conn)
                rounds.append({"ms": round(seconds[0] * 1000, 1), "changes": changes, "new": result.new,
                               "changed": sum(r.changed for r in result.folders.values()),
                               "removed": sum(r.removed for r in result.folders.values()),
                               "arrivals": result.arrivals.completed,
                               "arrival_ms": round(result.arrival_s * 1000, 1)})
            if self.profile:
                self._profile_resyncs(account, conn, key)
        finally:
            conn.close()
        check = self.check("after_resync_1pct", key)
        arrived = sum(r["arrivals"] for r in rounds)
        self.report["resync_1pct"] = {"ms": round(statistics.median(r["ms"] for r in rounds), 1), "rounds": rounds,
                                      "db_equals_server": check["equal"]}
        # The arrival pipeline after those passes (body prefetch of each new message, over its own
        # connection): per message, beside the pass that stored them.
        self.report["arrival_pipeline"] = {
            "messages": arrived,
            "ms_per_message": round(sum(r["arrival_ms"] for r in rounds) / arrived, 2) if arrived else None,
            "drain_ms_median": round(statistics.median(r["arrival_ms"] for r in rounds), 1),
            "steps": "prefetch_body",
        }

    def _profile_resyncs(self, account, conn, key: str) -> None:
        """pyinstrument over 10 unchanged passes and one more 1% round (not in the figures)."""
        from pyinstrument import Profiler

        from bench.env import REPO
        from bench.runs import apply_changes
        from messages_app.services.sync import account_sync

        out = REPO / "bench" / "results"
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(10):
            account_sync(account.pk, connection=conn)
        profiler.stop()
        (out / "profile_resync_unchanged.txt").write_text(profiler.output_text(unicode=True, color=False))
        apply_changes(self.server(self.logins[key]), 0.01, seed=99)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        account_sync(account.pk, connection=conn)
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
        figure["p95_over_floor_ms"] = round(figure["p95_ms"] - floor["p95_ms"], 1)
        self.report["idle_latency"] = figure

    def no_condstore(self) -> None:
        from bench.runs import apply_changes, point_account_at, resync_samples
        from messages_app.models import MailAccount
        from messages_app.services.sync import account_sync, open_connection

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
            account_sync(account.pk, connection=conn)  # the switch-over pass: not timed
            for index in range(self.plan.no_condstore_rounds):
                changes = apply_changes(self.server(login, plain.imap_port), 0.01, seed=100 + index)
                seconds, (result,) = resync_samples(account, 1, conn=conn)
                rounds.append({"ms": round(seconds[0] * 1000, 1), "changes": changes, "new": result.new,
                               "changed": sum(r.changed for r in result.folders.values()),
                               "removed": sum(r.removed for r in result.folders.values()),
                               "arrivals": result.arrivals.completed,
                               "arrival_ms": round(result.arrival_s * 1000, 1)})
        finally:
            conn.close()
        check = self.check("after_resync_1pct_no_condstore", key, plain.imap_port)
        point_account_at(account, self.dovecot.imap_port)
        self.report["resync_1pct_no_condstore"] = {
            "ms": round(statistics.median(r["ms"] for r in rounds), 1), "rounds": rounds,
            "db_equals_server": check["equal"]}
