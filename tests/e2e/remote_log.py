"""A plain HTTP server on loopback that records every request: "the remote sender's server".

Hostile and newsletter messages point their images, styles and scripts at it; the request log
proves what the browser fetched (nothing, before "show images").
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIF_1PX = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


class RemoteLog:
    def __init__(self):
        log = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                log.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", str(len(GIF_1PX)))
                self.end_headers()
                self.wfile.write(GIF_1PX)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "RemoteLog":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
