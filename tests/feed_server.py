"""A real local HTTP feed server for tests (127.0.0.1, port 0).

Tests change `content` between requests; the server answers with an ETag and a
Last-Modified derived from the content and honours If-None-Match /
If-Modified-Since with 304. `fail_with` makes it answer an error status,
`drop` closes the connection without a response, `stop()` takes it away.
Every request's path and headers are recorded.
"""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FeedServer:
    def __init__(self, content: bytes = b"", content_type: str = "text/plain") -> None:
        self.content_type = content_type
        self.fail_with: int | None = None
        self.drop = False
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._version = 0
        self.set_content(content)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                owner._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/feed.txt") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set_content(self, content: bytes) -> None:
        with self._lock:
            self._version += 1
            self.content = content
            self.etag = '"' + hashlib.sha256(content).hexdigest()[:16] + '"'
            # A distinct, increasing date per version so If-Modified-Since is meaningful.
            self.last_modified = formatdate(1_700_000_000 + self._version * 60, usegmt=True)

    @property
    def count(self) -> int:
        return len(self.requests)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append((h.path, dict(h.headers.items())))
            content, etag, modified = self.content, self.etag, self.last_modified
            fail, drop = self.fail_with, self.drop
        if drop:
            h.close_connection = True
            h.connection.close()
            return
        if fail is not None:
            h.send_response(fail)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if h.headers.get("If-None-Match") == etag or (
                h.headers.get("If-None-Match") is None and h.headers.get("If-Modified-Since") == modified):
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", self.content_type)
        h.send_header("Content-Length", str(len(content)))
        h.send_header("ETag", etag)
        h.send_header("Last-Modified", modified)
        h.end_headers()
        h.wfile.write(content)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
