"""Seed Dovecot mailboxes by writing Maildir files directly, two mailboxes at a time.

Follows tests/servers/dovecot.py's `write_maildir` naming (UIDs follow the order of the
`M<count>` part), with two changes that matter at 250k messages: files go straight into
cur/ through raw file descriptors (no session is open on the mailbox while seeding, so no
reader can see a half-written file), and the name carries `W=<size>` beside `S=<size>`
(files are written with CRLF, so the virtual size equals the file size) so that Dovecot
answers RFC822.SIZE from the name instead of reading every file once.
"""

from __future__ import annotations

import multiprocessing
import os
import pwd
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bench.mailgen import MailboxGenerator


@dataclass(frozen=True)
class MailboxPlan:
    login: str
    folder: str
    generator_name: str  # seeds the generator: same name, same messages
    count: int
    sent: bool = False


def ensure_mailbox(dovecot, login: str, folder: str) -> Path:
    """Let Dovecot create the mailbox (so LIST and its mailbox list index know it)."""
    path = dovecot.maildir_path(login, folder)
    if not (path / "cur").is_dir():
        with dovecot._imap(login) as client:
            if folder.upper() != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            client.select_folder(folder, readonly=True)  # makes Dovecot create cur/ new/ tmp/
    if not (path / "cur").is_dir():
        raise RuntimeError(f"Dovecot did not create {path}/cur")
    return path


def _write(args: tuple) -> int:
    folder_dir, name, count, sent, uid, gid, unique, first, stop, stamp, pid = args
    cur = os.path.join(folder_dir, "cur")
    written = 0
    generator = MailboxGenerator(name, count, sent=sent)
    for index, item in enumerate(generator.messages(render_from=first, render_to=stop)):
        if index < first:
            continue
        raw = item.raw
        # UIDs follow M<n> (same stamp, pid and Q for every chunk of one mailbox).
        base = f"{stamp}.M{index + 1}P{pid}Q{unique}.postino,S={len(raw)},W={len(raw)}"
        path = os.path.join(cur, f"{base}:2,{item.flags}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, raw)
            os.fchown(fd, uid, gid)
            when = item.internal_date.timestamp()
            os.utime(fd, (when, when))
        finally:
            os.close(fd)
        written += 1
    return written


SPLIT_ABOVE = 20_000  # a mailbox this big is written by both processes, half each


def seed_mailboxes(dovecot, plans: list[MailboxPlan], processes: int = 2) -> dict[str, int]:
    """Write every planned mailbox; returns {login/folder: count}. Big mailboxes are split in two
    halves (the second half's process runs the generator without rendering up to its start, so
    both produce the same messages a single process would)."""
    entry = pwd.getpwnam("dovecot")
    stamp = int(time.time()) - 10  # in the past: Dovecot treats files from "now" as maybe still changing
    jobs = []
    for plan in plans:
        folder_dir = ensure_mailbox(dovecot, plan.login, plan.folder)
        unique = secrets.token_hex(4)
        cuts = [0, plan.count // 2, plan.count] if plan.count > SPLIT_ABOVE else [0, plan.count]
        for first, stop in zip(cuts, cuts[1:], strict=False):
            jobs.append((plan, (str(folder_dir), plan.generator_name, plan.count, plan.sent,
                                entry.pw_uid, entry.pw_gid, unique, first, stop, stamp, os.getpid())))
    # Longest jobs first so both processes finish together; fork: children need only the arguments.
    jobs.sort(key=lambda job: -(job[1][8] - job[1][7]))
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        counts = pool.map(_write, [args for _plan, args in jobs], chunksize=1)
    totals: dict[str, int] = {}
    for (plan, _args), count in zip(jobs, counts, strict=True):
        key = f"{plan.login}/{plan.folder}"
        totals[key] = totals.get(key, 0) + count
    return totals
