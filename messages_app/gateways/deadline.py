"""An overall deadline for one connection. Socket timeouts apply per recv, so a server sending
one byte every few seconds never trips them and can hold a worker as long as it likes; this
shuts the socket down when the whole budget is spent, and the gateway then reports a timeout."""

import contextlib
import socket
import threading
import time


class SocketDeadline:
    """Starts counting when made; `attach` the connection's socket once it exists."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def attach(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: TLS wrapping detaches the original socket object, and
        # shutting down any descriptor of the connection stops it for all of them.
        with self._lock:
            self._sock = sock.dup()
            if self.expired:
                self._shutdown()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to stop
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def remaining(expires_at: float | None) -> float | None:
    """Seconds left until a monotonic `expires_at` (None: no deadline); never below zero."""
    return None if expires_at is None else max(expires_at - time.monotonic(), 0.0)
