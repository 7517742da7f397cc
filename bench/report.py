"""The run's JSON (bench/results/latest.json), the targets it is judged against, and the chart
(bench/results/latest.png): each figure against its target, throughput against the floors,
where a first sync spends its time, and the latencies."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# (dotted key, comparison, threshold, label). The benchmark reports them; it fails nothing.
TARGETS = [
    ("initial_sync_100k.ratio_mbsync", ">=", 0.5, "first sync 100k / mbsync, same mailbox"),
    ("initial_sync_100k.ratio_imapclient_floor", ">=", 1.3, "first sync 100k / imapclient parse floor"),
    ("initial_sync_100k.t_100k_over_t_10k", "<=", 10.5, "t(100k) / t(10k)"),
    ("initial_sync_100k.peak_rss_mb", "<=", 150, "worker peak RSS (MB)"),
    ("resync_unchanged.ms", "<=", 20, "unchanged resync (ms)"),
    ("resync_1pct.ms", "<=", 100, "1% changed resync (ms)"),
    ("resync_1pct.db_equals_server", "==", True, "database equals server after 1%"),
    ("resync_1pct_no_condstore.ms", "<=", 2500, "1% resync without CONDSTORE (ms)"),
    ("resync_1pct_no_condstore.db_equals_server", "==", True, "database equals server (no CONDSTORE)"),
    ("idle_latency.p95_over_floor_ms", "<=", 150, "new mail visible, p95 over the server floor (ms)"),
    ("open_uncached.p95_ms", "<=", 60, "uncached open, p95 (ms)"),
    ("open_uncached.ratio_floor", "<=", 2, "uncached open p95 / kept-connection FETCH p95"),
    ("backfill.ratio_mbsync", ">=", 0.5, "body backfill / mbsync"),
    ("pages.folder_top.p95_ms", "<=", 30, "folder page, p95 (ms)"),
    ("pages.folder_deep.p95_ms", "<=", 30, "folder page 50 deep, p95 (ms)"),
    ("pages.unified.p95_ms", "<=", 30, "unified inbox, p95 (ms)"),
    ("pages.threaded.p95_ms", "<=", 30, "threaded list, p95 (ms)"),
    ("pages.scaling_1m_vs_100k", "<=", 1.2, "page p95, 1M / 100k rows"),
    ("pages.search.p95_ms", "<=", 60, "search, p95 (ms)"),
    ("pages.compose.p95_ms", "<=", 50, "compose page, p95 (ms)"),
    ("send.ratio_bare_aiosmtplib", ">=", 0.5, "outbox send / bare aiosmtplib"),
    ("crm.backfill.messages_per_s", ">=", 5000, "CRM linking backfill (messages/s)"),
    ("crm.timeline.p95_ms", "<=", 30, "contact timeline at 1M, p95 (ms)"),
    ("scale_push.rss_per_idle_account_mb", "<=", 0.5, "listener RSS per idle account (MB)"),
    ("scale_push.peak_pg_connections", "<=", 20, "peak PostgreSQL connections, 2 listeners"),
    ("scale_push.new_mail.p95_over_floor_ms", "<=", 500, "new mail at 100 accounts, p95 over floor (ms)"),
    ("scale_push.takeover.s", "<=", 60, "takeover after SIGKILL of a listener (s)"),
    ("scale_sync.ratio_2_workers", ">=", 1.5, "sync throughput, 2 workers / 1"),
]


def lookup(report: dict, dotted: str):
    node = report
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def judge(report: dict) -> dict:
    verdicts = {}
    for key, op, threshold, label in TARGETS:
        value = lookup(report, key)
        if value is None:
            met = None
        elif op == ">=":
            met = value >= threshold
        elif op == "<=":
            met = value <= threshold
        else:
            met = value == threshold
        verdicts[key] = {"label": label, "value": value, "target": f"{op} {threshold}", "met": met}
    return verdicts


def write_json(report: dict, path: Path | None = None) -> Path:
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False, default=str) + "\n")
    return path


def _headroom(value, op: str, threshold) -> float | None:
    """How many times better than the target (>1: met), for a log-scale bar."""
    if value is None or op == "==" or not value or not threshold:
        return None
    return float(value) / threshold if op == ">=" else threshold / float(value)


def draw_chart(report: dict, path: Path | None = None) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    path = path or RESULTS / "latest.png"
    fig, axes = plt.subplots(2, 2, figsize=(15, 10))
    mode = report.get("meta", {}).get("mode", "?")
    fig.suptitle(f"Postino bench ({mode}) {report.get('meta', {}).get('started', '')}", fontsize=12)

    # 1. every figure against its target
    ax = axes[0][0]
    rows = []
    for key, op, threshold, label in TARGETS:
        value = lookup(report, key)
        ratio = _headroom(value, op, threshold)
        if ratio is not None:
            shown = f"{value:.3g}" if isinstance(value, float) else str(value)
            rows.append((f"{label} = {shown}", ratio))
    if rows:
        labels, ratios = zip(*rows, strict=True)
        colors = ["#2e7d32" if r >= 1 else "#c62828" for r in ratios]
        ax.barh(range(len(ratios)), ratios, color=colors)
        ax.set_yticks(range(len(ratios)), labels, fontsize=7)
        ax.set_xscale("log")
        ax.axvline(1, color="black", linewidth=1)
        ax.invert_yaxis()
    ax.set_title("Against target (times better than target; <1 missed)", fontsize=10)

    # 2. throughput against the floors
    ax = axes[0][1]
    floors = report.get("floors", {})
    bars = [
        ("raw FETCH 10k", lookup(floors, "raw_10k.msgs_per_s")),
        ("raw FETCH 100k", lookup(floors, "raw_100k.msgs_per_s")),
        ("imapclient 10k", lookup(floors, "imapclient_10k.msgs_per_s")),
        ("imapclient 100k", lookup(floors, "imapclient_100k.msgs_per_s")),
        ("COPY insert", lookup(floors, "insert_copy.msgs_per_s")),
        ("bulk_create insert", lookup(floors, "insert_orm.msgs_per_s")),
        ("sync 10k", lookup(report, "initial_sync_10k.msgs_per_s")),
        ("sync 100k", lookup(report, "initial_sync_100k.msgs_per_s")),
        ("mbsync bodies", lookup(report, "backfill.mbsync.msgs_per_s")),
        ("body backfill", lookup(report, "backfill.msgs_per_s")),
        ("body backfill, batched", lookup(report, "backfill.batched_reference.msgs_per_s")),
        ("bare aiosmtplib send", lookup(report, "send.bare_aiosmtplib.msgs_per_s")),
        ("outbox send", lookup(report, "send.outbox.msgs_per_s")),
    ]
    bars = [(n, v) for n, v in bars if v]
    if bars:
        names, values = zip(*bars, strict=True)
        colors = ["#1565c0" if n.startswith(("raw", "imapclient", "COPY", "bulk", "mbsync", "bare")) else "#ef6c00"
                  for n in names]
        ax.barh(range(len(values)), values, color=colors)
        ax.set_yticks(range(len(values)), names, fontsize=8)
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.0f}", va="center", fontsize=7)
        ax.set_xscale("log")
        ax.invert_yaxis()
    ax.set_title("Messages per second: floors (blue) and product (orange)", fontsize=10)

    # 3. where a first sync spends its time
    ax = axes[1][0]
    stage_names = ["imap_fetch_meta_s", "imap_other_s", "parse_headers_s", "build_rows_s", "threading_s",
                   "insert_s", "store_other_s", "rest_s"]
    runs = [(name, lookup(report, f"{name}.stages")) for name in
            ("initial_sync_10k", "initial_sync_100k", "initial_sync_rest")]
    runs = [(n, s) for n, s in runs if s]
    if runs:
        left = [0.0] * len(runs)
        cmap = plt.get_cmap("tab10")
        for index, stage in enumerate(stage_names):
            widths = []
            for _name, stages in runs:
                total = sum(max(stages.get(s, 0) or 0, 0) for s in stage_names) or 1
                widths.append(max(stages.get(stage, 0) or 0, 0) / total * 100)
            ax.barh(range(len(runs)), widths, left=left, color=cmap(index), label=stage[:-2])
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(range(len(runs)), [n for n, _ in runs], fontsize=8)
        ax.set_xlabel("% of wall time")
        ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.12))
        ax.invert_yaxis()
    ax.set_title("Where the first sync's time goes", fontsize=10)

    # 4. latencies
    ax = axes[1][1]
    pages = report.get("pages", {})
    items = [("resync unchanged", lookup(report, "resync_unchanged.p50_ms"), lookup(report, "resync_unchanged.p95_ms")),
             ("resync 1%", lookup(report, "resync_1pct.ms"), None),
             ("resync 1% no CONDSTORE", lookup(report, "resync_1pct_no_condstore.ms"), None),
             ("IDLE new mail", lookup(report, "idle_latency.p50_ms"), lookup(report, "idle_latency.p95_ms")),
             ("open uncached", lookup(report, "open_uncached.p50_ms"), lookup(report, "open_uncached.p95_ms"))]
    for key, value in pages.items():
        if isinstance(value, dict) and "p95_ms" in value and "p50_ms" in value:
            items.append((f"page {key}", value["p50_ms"], value["p95_ms"]))
    items = [i for i in items if i[1] is not None]
    if items:
        names = [i[0] for i in items]
        ax.barh(range(len(items)), [i[1] for i in items], color="#90caf9", label="p50 (or median)")
        ax.scatter([i[2] for i in items if i[2] is not None],
                   [n for n, i in enumerate(items) if i[2] is not None], color="#0d47a1", marker="|", s=200,
                   label="p95")
        ax.set_yticks(range(len(items)), names, fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("ms (log)")
        ax.legend(fontsize=7)
        ax.invert_yaxis()
    ax.set_title("Latencies (ms)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
