"""Body backfill for search, beside mbsync downloading the same mailbox in the same run.

`product_backfill` drives the product's own `services.message_body.message_bodies_prefetch`
(what the Celery task runs after a sync) in chunks until the mailbox is done or the time budget
is spent; the rate is what is reported. When the product has no such function (older trees),
`reference_backfill` measures what the product's parts achieve driven in batches: the gateway's
connection, one `UID FETCH <1000 UIDs> (BODY.PEEK[])` per batch, `mime.parse.parse_message`,
`html_to_text` for HTML-only mail, and `MessageBody` rows inserted in bulk. It also runs beside
the product's, as the "what batching would give" line.

`per_message_open` times `message_body_get` (the first open of a message) on a sample: one new
connection, login, SELECT and FETCH per message.
"""

import shutil
import subprocess
import time
from pathlib import Path

from bench.floors import FloorResult

BATCH = 1000


PRODUCT_CHUNK = 500


def product_backfill(account, budget_s: float | None = None) -> FloorResult | None:
    try:
        from messages_app.services.message_body import message_bodies_prefetch
    except ImportError:
        return None
    stored = 0
    started = time.perf_counter()
    while True:
        done = message_bodies_prefetch(account=account, limit=PRODUCT_CHUNK)
        stored += done
        if done < PRODUCT_CHUNK or (budget_s is not None and time.perf_counter() - started > budget_s):
            break
    return FloorResult(stored, time.perf_counter() - started)


def reference_backfill(account, folder_name: str = "INBOX", limit: int | None = None,
                       budget_s: float | None = None) -> FloorResult:
    """Batches of BATCH messages, newest first; stops after the batch that crosses `budget_s`
    (the rate is what is reported)."""
    from messages_app.mime.html_text import html_to_text
    from messages_app.mime.parse import parse_message
    from messages_app.models import Folder, Message, MessageBody
    from messages_app.services.sync import open_connection
    from messages_app.sync.engine import uid_set_string

    folder = Folder.objects.get(account=account, name=folder_name)
    ids_by_uid = dict(Message.objects.filter(folder=folder, body__isnull=True).values_list("uid", "id"))
    uids = sorted(ids_by_uid)
    if limit:
        uids = uids[-limit:]
    stored = size = 0
    stages = {"fetch_s": 0.0, "parse_s": 0.0, "insert_s": 0.0}
    started = time.perf_counter()
    conn = open_connection(account)
    try:
        conn.select(folder.name, readonly=True)
        client = conn._client  # the gateway has no batched body fetch yet
        for start in range(len(uids), 0, -BATCH):  # newest first, as search wants recent mail first
            chunk = uids[max(0, start - BATCH):start]
            mark = time.perf_counter()
            response = client.fetch(uid_set_string(chunk), ["BODY.PEEK[]"])
            stages["fetch_s"] += time.perf_counter() - mark
            mark = time.perf_counter()
            bodies = []
            for uid, data in response.items():
                raw = data.get(b"BODY[]") or b""
                size += len(raw)
                parsed = parse_message(raw)
                bodies.append(MessageBody(message_id=ids_by_uid[uid], text=parsed.text or html_to_text(parsed.html),
                                          html=parsed.html, notes=parsed.notes))
            stages["parse_s"] += time.perf_counter() - mark
            mark = time.perf_counter()
            MessageBody.objects.bulk_create(bodies, batch_size=500)
            stages["insert_s"] += time.perf_counter() - mark
            stored += len(bodies)
            if budget_s is not None and time.perf_counter() - started > budget_s:
                break
    finally:
        conn.close()
    result = FloorResult(stored, time.perf_counter() - started, size)
    result.stages = {k: round(v, 2) for k, v in stages.items()}
    return result


def per_message_open(account, sample: int, folder_name: str = "INBOX") -> FloorResult:
    from messages_app.models import Message
    from messages_app.services.message_body import message_body_get

    messages = list(Message.objects.filter(account=account, folder__name=folder_name, body__isnull=True)
                    .select_related("folder", "account").order_by("uid")[:sample])
    started = time.perf_counter()
    for message in messages:
        message_body_get(message=message)
    return FloorResult(len(messages), time.perf_counter() - started)


MBSYNC_CONFIG = """\
# A global option, so before any section. No fsync per message: both sides then measure download
# and storage, not the disk's flush latency (which made mbsync vary 2.5x between runs here).
FSync no

IMAPAccount bench
Host {host}
Port {port}
User {login}
Pass {password}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {root}/
Inbox {root}/INBOX
SubFolders Verbatim

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
"""


def mbsync_download(host: str, port: int, login: str, password: str, workdir: Path,
                    timeout: float = 300) -> FloorResult:
    """mbsync (Debian isync) pulling the whole INBOX into an empty Maildir: the full-body anchor."""
    binary = shutil.which("mbsync")
    if binary is None:
        raise RuntimeError("mbsync is missing: apt-get install isync (make bench checks it)")
    root = workdir / "mbsync"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    config = workdir / "mbsyncrc"
    config.write_text(MBSYNC_CONFIG.format(host=host, port=port, login=login, password=password, root=root))
    config.chmod(0o600)
    started = time.perf_counter()
    # mbsync stays in the foreground; subprocess.run kills it by pid on timeout.
    result = subprocess.run([binary, "-q", "-c", str(config), "bench"], capture_output=True, text=True,
                            timeout=timeout, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"mbsync failed ({result.returncode}): {result.stderr[-500:]}")
    files = [p for sub in ("cur", "new") for p in (root / "INBOX" / sub).iterdir()]
    size = sum(p.stat().st_size for p in files)
    shutil.rmtree(root, ignore_errors=True)
    return FloorResult(len(files), seconds, size)
