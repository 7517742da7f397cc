"""Loopback port helpers for the test servers."""

from __future__ import annotations

import socket
import time

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """Return a TCP port on `host` that was free a moment ago.

    The kernel picks it (bind to port 0). There is a small race between closing
    this socket and the server binding the port; on a test machine that only
    runs our own servers this has been good enough, and a lost race shows up as
    a clear "address in use" start failure rather than a flaky test.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 5.0) -> None:
    """Block until something accepts TCP connections on host:port.

    Raises TimeoutError after `timeout` seconds. Polls quickly because servers
    here come up in tens of milliseconds and test start-up time matters.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"nothing accepted connections on {host}:{port} within {timeout}s"
                ) from exc
            time.sleep(0.02)


def free_ports(count: int, host: str = HOST) -> list[int]:
    """`count` distinct free ports: all sockets stay bound until every port is picked, so the
    kernel cannot hand the same port out twice (as back-to-back free_port() calls can)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
