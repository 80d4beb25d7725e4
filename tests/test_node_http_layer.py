"""The HTTP layer around ``Node.handle`` (node/app.py, node/handoff.py, node/uvicorn_protocol.py):
request bodies (whole, chunked, arriving late, too large), the hop to the resolver pool and its
504, the head deadline of a later request on a kept-alive connection."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import time
from typing import Any

import pytest
from hyperbeam_fast.node.app import App
from hyperbeam_fast.node.handoff import Handoff
from hyperbeam_fast.node.pipeline import Node
from node_util import NodeProc

CONFIG = "log_requests: false\nforce_signed: false\nmax_body_size: 1000\nheader_timeout: 1\n"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    n = NodeProc(tmp_path_factory.mktemp("http-layer"), config=CONFIG)
    yield n
    n.stop()


def _conn(node: NodeProc) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _response(s: socket.socket) -> tuple[int, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, buf
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    length = next(int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length"))
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk
        rest += chunk
    return int(lines[0].split()[1]), rest[:length]


POST = b"POST /body HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\n"


def test_bodies_whole_late_and_chunked_on_one_connection(node: NodeProc) -> None:
    with _conn(node) as s:
        s.sendall(POST + b"content-length: 5\r\n\r\nhello")  # all there with the head
        assert _response(s) == (200, b"hello")
        s.sendall(POST + b"content-length: 5\r\n\r\nhe")  # the rest comes later
        time.sleep(0.2)
        s.sendall(b"llo")
        assert _response(s) == (200, b"hello")
        s.sendall(POST + b"transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        assert _response(s) == (200, b"abcde")
        s.sendall(POST + b"transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        time.sleep(0.2)
        s.sendall(b"2\r\nde\r\n0\r\n\r\n")
        assert _response(s) == (200, b"abcde")


def test_chunked_body_over_the_limit_is_413(node: NodeProc) -> None:
    big = b"%x\r\n%s\r\n0\r\n\r\n" % (1200, b"x" * 1200)
    with _conn(node) as s:  # all of it at once (taken whole) ...
        s.sendall(POST + b"transfer-encoding: chunked\r\n\r\n" + big)
        st, body = _response(s)
        assert st == 413 and b"over 1000 bytes" in body
    with _conn(node) as s:  # ... and in parts
        s.sendall(POST + b"transfer-encoding: chunked\r\n\r\n" + big[:600])
        time.sleep(0.2)
        s.sendall(big[600:])
        st, body = _response(s)
        assert st == 413 and b"over 1000 bytes" in body


def test_a_later_heads_deadline_runs_from_its_first_byte(node: NodeProc) -> None:
    with _conn(node) as s:
        s.sendall(b"GET /~meta@1.0/info HTTP/1.1\r\nhost: x\r\n\r\n")
        assert _response(s)[0] == 200
        time.sleep(0.6)  # the connection's first deadline (1 s from accept) passes meanwhile
        t0 = time.monotonic()
        s.sendall(b"GET /~meta@1.0/info HTTP/1.1\r\n")  # and this head never completes
        got = b""
        while chunk := s.recv(65536):
            got += chunk
        waited = time.monotonic() - t0
        assert got.startswith(b"HTTP/1.1 408"), got
        assert 0.9 <= waited < 10, waited  # header_timeout from this head's first byte


def test_many_calls_through_the_handoff_all_complete() -> None:
    pool = concurrent.futures.ThreadPoolExecutor(4)

    def work(i: int) -> int:
        if i % 7 == 0:
            time.sleep(0.001)
        if i % 11 == 0:
            raise ValueError(i)
        return i * 2

    async def main() -> list[Any]:
        hop = Handoff(pool, asyncio.get_running_loop())

        async def one(i: int) -> Any:
            try:
                return await hop.call(20, work, i)
            except ValueError as e:
                return ("error", e.args[0])

        out = []
        for _ in range(5):  # bursts, and single calls in between
            out += await asyncio.gather(*(one(i) for i in range(400)))
            out.append(await one(3))
        return out

    try:
        got = asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        pool.shutdown()
    want = [("error", i) if i % 11 == 0 else i * 2 for i in range(400)] + [6]
    assert got == want * 5


def test_a_slow_resolution_is_504_and_the_node_goes_on() -> None:
    node = Node({"force_signed": False, "resolve_timeout": 0.2, "log_requests": False}, None)
    app = App(node)
    release = threading.Event()
    real = node.handle

    def slow(*args: Any) -> Any:
        if args[3] == b"slow":
            release.wait(10)
        return real(*args)

    node.handle = slow  # type: ignore[method-assign]

    async def call(body: bytes) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/body",
            "query_string": b"",
            "headers": [(b"content-length", b"%d" % len(body))],
        }
        await app(scope, receive, send)
        return sent[0]["status"], sent[1]["body"]

    async def main() -> list[tuple[int, bytes]]:
        first = await call(b"slow")
        release.set()  # the slow call finishes after its 504: its result is dropped
        await asyncio.sleep(0.1)
        return [first, await call(b"fast")]

    try:
        assert asyncio.run(main()) == [(504, b"resolution timed out"), (200, b"fast")]
    finally:
        release.set()
        node.close()
