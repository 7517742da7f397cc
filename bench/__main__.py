"""python -m bench [--quick] [--profile] [--keep-db] [--only STEP,STEP]

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
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench import env
from bench.plan import Plan
from bench.suite import Bench


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
    parser.add_argument("--only", default="",
                        help="comma-separated steps to run after set-up, with the ones they need "
                             "(e.g. initial_syncs,resyncs); writes bench/results/only[-quick].json")
    args = parser.parse_args(argv)

    # SIGTERM (and SIGINT, which a background shell ignores) unwind through the finally below,
    # so every process started here is stopped by its pid even when the run is cancelled. A
    # forked pool worker (bench/seed.py, bench/bulkload.py) inherits this handler and gets
    # SIGTERM from its pool's terminate, maybe while still in fork's own bookkeeping, where a
    # SystemExit is ignored: it then waited for a task for ever, and the run with it (7 minutes
    # in the seed step, until killed). A child just exits.
    run_pid = os.getpid()

    def interrupted(signum, _frame):
        if os.getpid() != run_pid:
            os._exit(128 + signum)
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
    if args.only:
        bench.only = {name.strip() for name in args.only.split(",") if name.strip()}
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
    from bench.report import RESULTS, draw_chart, judge, write_json

    report["meta"]["duration_s"] = round(time.perf_counter() - started_wall, 1)
    report["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = judge(report)
    report["ok"] = not bench.failures
    report["failures"] = bench.failures
    # A quick run (CI's smoke test) must not overwrite the full run's figures that scripts track.
    # A partial run (--only) must not overwrite either.
    stem = ("only-" if args.only else "") + ("quick" if args.quick else "latest")
    json_path = write_json(report, RESULTS / f"{stem}.json")
    chart = draw_chart(report, RESULTS / f"{stem}.png")
    report["meta"]["written"] = [str(json_path.relative_to(env.REPO))] + (
        [str(chart.relative_to(env.REPO))] if chart else [])
    write_json(report, json_path)
    print(json.dumps(report, indent=2, default=str))
    if isinstance(interrupted, SystemExit):
        return int(interrupted.code or 1)
    return 0 if not bench.failures else 1


if __name__ == "__main__":
    sys.exit(main())
