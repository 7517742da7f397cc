"""One of the scale section's sync workers: sync a list of accounts, one after another.

    python -m bench.scale_worker '{"account_ids": [3, 5, 7]}'

Sets Django up, connects to the database, prints `READY`, then waits for one line on stdin
(the parent starts every worker's clock at once, so start-up is not in the figure), runs
`account_sync` for each account and prints one line `BENCH-RESULT {json}`: wall seconds from
the go line, messages stored, errors, peak RSS. The environment comes from the parent
(bench/env.py).
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    options = json.loads(argv[1])
    from bench.env import django_setup

    django_setup(migrate=False)
    from django.db import connection

    from bench.worker import peak_rss_mb
    from messages_app.models import Message
    from messages_app.services.sync import account_sync

    ids = options["account_ids"]
    connection.ensure_connection()
    before = Message.objects.filter(account_id__in=ids).count()
    print("READY", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    errors = []
    arrivals = 0
    per_account = []
    for account_id in ids:
        one = time.perf_counter()
        result = account_sync(account_id)
        per_account.append(time.perf_counter() - one)
        arrivals += result.arrivals.completed
        if result.error:
            errors.append(f"{account_id}: {result.error}")
    wall = time.perf_counter() - started
    stored = Message.objects.filter(account_id__in=ids).count() - before
    report = {"wall_s": round(wall, 3), "stored": stored, "accounts": len(ids), "errors": errors[:5],
              "arrivals": arrivals, "account_s_max": round(max(per_account, default=0), 3),
              "account_s_median": round(sorted(per_account)[len(per_account) // 2], 3) if per_account else 0,
              "peak_rss_mb": round(peak_rss_mb(), 1)}
    print("BENCH-RESULT " + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
