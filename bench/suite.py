"""One benchmark run: the private servers and database, then every step, recorded in the report."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback

from bench import env
from bench.crm import CrmSteps
from bench.plan import Plan
from bench.scale import ScaleSteps
from bench.steps_imap import ImapSteps
from bench.steps_send import SendSteps
from bench.steps_web import WebSteps


class Bench(ImapSteps, WebSteps, SendSteps, CrmSteps, ScaleSteps):
    """One run: set-up, then each step in order; a failing step is recorded and the next runs."""

    def __init__(self, plan: Plan, report: dict, processes: env.Processes, work) -> None:
        self.plan = plan
        self.report = report
        self.processes = processes
        self.work = work
        self.failures: list[str] = []
        self.floor_items = ""
        self.profile = False
        self.web_port: int | None = None  # the web step's gunicorn, reused by the CRM timeline
        self.only: set[str] | None = None  # --only: the steps to run after set-up (None: all)

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

    # ----------------------------------------------------------------- the whole run
    def consistency_after_initial(self) -> None:
        for key in ("tenk",) + (() if self.plan.quick else ("main",)):
            self.check(f"after_initial_{key}", key)

    def run(self) -> None:
        with self.step("setup"):
            self.setup()
        if "setup" in self.failures:
            return
        steps = [("floors", self.floors), ("initial_syncs", self.initial_syncs)]
        if self.profile:
            steps.append(("profile_sync", self.profile_sync))
        steps += [("consistency_after_initial", self.consistency_after_initial), ("resyncs", self.resyncs),
                  ("idle_latency", self.idle), ("no_condstore", self.no_condstore),
                  ("database_only_sets", self.database_only), ("web", self.web), ("send", self.send),
                  ("load", self.load), ("backfill", self.backfill), ("crm", self.crm),
                  ("scale_push", self.scale_push), ("scale_sync", self.scale_sync)]
        for name, run_step in steps:
            if self.only is None or name in self.only:
                with self.step(name):
                    run_step()
