"""Stopping the processes a test started in their own session (start_new_session=True)."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def live_members(group: int) -> list[int]:
    """The pids of `group` that still run (zombies do not: they hold no locks or connections)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # gone while we read it
        if int(pgrp) == group and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def stop_process_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process's group, wait until every member is gone, and SIGKILL what is still
    there after `timeout`.

    Waiting for the leader is not enough: a `sh -c` leader, a Celery pool child or a gunicorn
    worker can outlive it by a moment, still holding a database transaction, and the test's
    teardown then deadlocks flushing the tables under it."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    if not _wait_gone(process, group, timeout):
        _signal_group(group, signal.SIGKILL)
        _wait_gone(process, group, 10)
    process.wait()


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _wait_gone(process: subprocess.Popen, group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        process.poll()  # reap the leader, which is our child
        if not live_members(group):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
