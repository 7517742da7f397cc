"""Stopping the processes a test started in their own session (start_new_session=True)."""

import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process's group, then SIGKILL it if it is still there after `timeout`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
