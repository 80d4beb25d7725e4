"""The node's HTTP client (``hyperbeam_fast.node.client``) against a local listener."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest
from hyperbeam_fast.node import client


class _Slow(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/slow":
            time.sleep(1.0)
        body = b"done"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def slow_server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_kept_alive_connection_takes_each_requests_timeout(slow_server: str) -> None:
    """A connection opened with a short timeout, reused for a slow request with a longer one,
    waits for the longer one (it used to keep the first request's deadline)."""
    assert client.raw("GET", slow_server, "/fast", timeout=0.3)[0] == 200
    assert client.raw("GET", slow_server, "/slow", timeout=5.0)[2] == b"done"
    with pytest.raises(client.ClientError):
        client.raw("GET", slow_server, "/slow", timeout=0.3)
