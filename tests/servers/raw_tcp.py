"""The smallest hostile server: a loopback TCP port where each connection gets `handle(sock)` in a
thread of its own (a banner and a hang-up, a byte a second ...). Stops with the `with` block."""

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def raw_tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """Yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve_one(sock: socket.socket) -> None:
        with contextlib.suppress(OSError), sock:  # the client may hang up first
            handle(sock)

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve_one, args=(sock,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
