"""A sync worker in its own process, so its peak RSS is the worker's and nothing else's.

    python -m bench.worker '{"account_id": 3, "folder": "INBOX", "profile": "path.txt"}'

Prints one line `BENCH-RESULT {json}`: wall time of `sync_account`, messages stored, peak RSS
(VmHWM) and the RSS after start-up (Django and the product imported, before the sync), and
a stage breakdown from light wrappers around the product's functions (they add a few
microseconds per batch, not per message, except the header-parse wrapper: about 0.3 us a call).
The environment (DATABASE_URL and the rest) comes from the parent, see bench/env.py.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from contextlib import contextmanager


class Stages:
    """Accumulated seconds per stage; nested stages are subtracted when reporting."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)
        seconds, calls = self.seconds, self.calls

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[stage] += time.perf_counter() - started
                calls[stage] += 1

        timed.__wrapped__ = original
        setattr(owner, name, timed)

    @contextmanager
    def sql(self):
        from django.db import connection

        seconds, calls = self.seconds, self.calls

        def wrapper(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                seconds["sql_all"] += time.perf_counter() - started
                calls["sql_all"] += 1

        with connection.execute_wrapper(wrapper):
            yield


def install_stage_timers(stages: Stages) -> None:
    from messages_app.gateways import imap
    from messages_app.sync import store

    # Each wrapper only where the product still has that function (it changes under us).
    targets = [
        (imap.ImapConnection, "fetch_meta", "imap_fetch_meta"),
        *((imap.ImapConnection, name, "imap_other")
          for name in ("fetch_flags", "search_uids", "select", "list_folders", "fetch_uids")),
        (store, "store_new_messages", "store_total"),
        (store, "build_message", "build_rows"),
        (store, "parse_header_block", "parse_headers"),
        (store, "assign_threads", "threading"),
        (store, "insert_messages", "insert"),
    ]
    for owner, name, stage in targets:
        if callable(getattr(owner, name, None)):
            stages.wrap(owner, name, stage)


def stage_report(stages: Stages, wall: float) -> dict:
    s = stages.seconds
    build_other = s["build_rows"] - s["parse_headers"]
    store_other = s["store_total"] - s["build_rows"] - s["threading"] - s["insert"]
    accounted = s["imap_fetch_meta"] + s["imap_other"] + s["store_total"]
    return {
        "imap_fetch_meta_s": round(s["imap_fetch_meta"], 3),
        "imap_other_s": round(s["imap_other"], 3),
        "parse_headers_s": round(s["parse_headers"], 3),
        "build_rows_s": round(build_other, 3),
        "insert_s": round(s["insert"], 3),
        "threading_s": round(s["threading"], 3),
        "store_other_s": round(store_other, 3),  # the "already stored?" query; insert too if not wrapped
        "rest_s": round(wall - accounted, 3),  # cursors, locks, progress, folder reconcile, verify
        "sql_all_s": round(s["sql_all"], 3),
        "sql_queries": stages.calls["sql_all"],
        "fetch_meta_calls": stages.calls["imap_fetch_meta"],
    }


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """The high-water RSS of this process image. Not ru_maxrss: Linux carries that across
    execve, so a worker forked from a big parent would report the parent's size."""
    return _status_mb("VmHWM")


def main(argv: list[str]) -> int:
    options = json.loads(argv[1])
    from bench.env import django_setup

    django_setup(migrate=False)
    from django.db import connection

    from messages_app.models import Message
    from messages_app.services.sync import account_sync

    stages = Stages()
    if options.get("stages", True):
        install_stage_timers(stages)
    connection.ensure_connection()
    baseline = rss_mb()
    before = Message.objects.filter(account_id=options["account_id"]).count()
    profiler = None
    if options.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    started = time.perf_counter()
    with stages.sql():
        result = account_sync(options["account_id"], folder_name=options.get("folder"))
    wall = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        with open(options["profile"], "w") as out:
            out.write(profiler.output_text(unicode=True, color=False, show_all=False))
        if options.get("profile_html"):
            with open(options["profile_html"], "w") as out:
                out.write(profiler.output_html())
    after = Message.objects.filter(account_id=options["account_id"]).count()
    peak = peak_rss_mb()
    report = {
        "wall_s": round(wall, 3),
        "stored": after - before,
        "new_reported": result.new,
        "error": result.error,
        "peak_rss_mb": round(peak, 1),
        "baseline_rss_mb": round(baseline, 1),
        "stages": stage_report(stages, wall) if options.get("stages", True) else {},
    }
    print("BENCH-RESULT " + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
