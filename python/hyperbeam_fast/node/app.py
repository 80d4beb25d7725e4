"""The node's ASGI application (spec runtime §7.1): request reading and its limits (body size and
deadline, field and part count), the routes answered without a resolution (OPTIONS, ``/``,
``/metrics``, ``/~cache@1.0/read``), the hop to the resolver pool, reply writing, lifespan.

Every request: OPTIONS -> 204 with CORS; ``GET /`` from a browser (``accept: text/html``) -> the
web console (``/~hyperbuddy@1.0/index``), any other ``/`` -> 302 to ``default_req``; ``/metrics`` ->
Prometheus; ``/~cache@1.0/read?target=ID`` -> the stored message (what
:class:`~hyperbeam_fast.store.RemoteStore` reads); anything else -> :class:`~.pipeline.Node`.

Every reply carries the request's ID (``x-request-id``, the ``request_id`` of its log line);
every error reply (4xx, 5xx) is logged at warning/error with its reason (:mod:`.logs`).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

from .. import _native
from . import logs
from .config import DEFAULTS
from .handoff import Handoff
from .http import OPTIONS_HEADERS, header_safe
from .pipeline import TEXT_PLAIN, Node
from .uvicorn_protocol import head_block
from .workers import Forward


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


class App:
    """The ASGI application around a :class:`Node` (lifespan closes the node)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        nm = node.node_msg
        self.max_body = int(nm.get("max_body_size", DEFAULTS["max_body_size"]))
        self.body_timeout = float(nm.get("body_timeout", DEFAULTS["body_timeout"]))
        self.resolve_timeout = float(nm.get("resolve_timeout", DEFAULTS["resolve_timeout"]))
        self.max_keys = int(nm.get("max_message_keys", DEFAULTS["max_message_keys"]))
        self.trim = _HeapTrim()
        self.log_requests = bool(nm.get("log_requests", True))
        self.hop: Handoff | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        rid = logs.new_request_id()
        logs.request_id.set(rid)
        t0 = logs.now()
        m = self.node.metrics
        m.in_flight_now += 1
        method = scope["method"]
        status = 500
        try:
            status = await self._http(scope, receive, send)
        except Exception as e:
            logs.reason.set(f"{type(e).__name__}: {e}"[: logs.REASON_MAX])
            raise
        finally:
            self.trim.after(scope)
            dt = logs.now() - t0
            m.in_flight_now -= 1
            m.request_done(method, status, dt)
            if self.log_requests or status >= 400:
                why = logs.reason.get() if status >= 400 else ""
                if status == 499:
                    why = "client disconnected before sending its whole body"
                logs.request_line(rid, method, scope.get("path", ""), status, dt, why)

    async def _reply(
        self,
        send: Any,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        raw: bool = False,
        head: bytes | None = None,
    ) -> int:
        clen = (b"content-length", b"%d" % len(body))
        rid = logs.request_id.get().encode()
        if status >= 400:
            logs.reason.set(body[: logs.REASON_MAX].decode("utf-8", "replace"))
        if raw:  # our protocol: head + body in one write (one syscall), see uvicorn_protocol
            if head is None:
                head = head_block(headers)
            if head is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [],
                        "hb.raw": (
                            head
                            + b"x-request-id: "
                            + rid
                            + b"\r\ncontent-length: "
                            + clen[1]
                            + b"\r\n",
                            body,
                        ),
                    }
                )
                return status
        if not all(header_safe(v, k) for k, v in headers):  # never a reply without a status line
            status, headers = 500, TEXT_PLAIN
            body = b"the reply has a header field that HTTP/1.1 cannot carry"
            clen = (b"content-length", b"%d" % len(body))
            logs.reason.set(body.decode())
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"x-request-id", rid), clen],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return status

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> int:
        method = scope["method"]
        path = scope.get("path", "/")
        qs = scope.get("query_string", b"")
        query = qs.decode("latin-1") if qs else ""
        if method == "OPTIONS":
            return await self._reply(send, 204, OPTIONS_HEADERS, b"")
        if path == "/" and not query:
            if method != "GET" or not _wants_html(scope.get("headers", [])):
                loc = _text(self.node.node_msg.get("default_req", "/~meta@1.0/info")).encode()
                return await self._reply(send, 302, [(b"location", loc)], b"")
            scope = {**scope, "path": CONSOLE_PATH, "raw_path": CONSOLE_PATH.encode()}
            path = CONSOLE_PATH
        if path == "/metrics" and method == "GET":
            data, ctype = self.node.metrics.render()
            return await self._reply(send, 200, [(b"content-type", ctype.encode())], data)
        headers = scope.get("headers", [])
        clen = None
        chunked = False
        multipart = False
        for k, v in headers:
            if k == b"content-type":
                multipart = v[:10].lower() == b"multipart/"
            elif k == b"content-length":
                try:
                    clen = int(v)
                except ValueError:
                    return await self._reply(send, 400, TEXT_PLAIN, b"bad content-length")
            elif k == b"transfer-encoding":
                chunked = True
        if clen is not None and clen > self.max_body:
            return await self._reply(
                send, 413, TEXT_PLAIN, f"request body over {self.max_body} bytes".encode()
            )
        if not clen and not chunked:
            body = b""  # HTTP/1.1: no content-length and no transfer-encoding = no body
        else:
            try:
                ready = scope.get("hb.body")  # our protocol: the body, when all of it is here
                got_body = ready() if ready is not None else None
                if got_body is not None:
                    body = got_body
                    if len(body) > self.max_body:
                        raise _TooLarge
                else:
                    async with asyncio.timeout(self.body_timeout):
                        body = await self._body(receive)
            except TimeoutError:
                return await self._reply(
                    send, 408, TEXT_PLAIN, b"request body not received in time"
                )
            except _TooLarge:
                return await self._reply(
                    send, 413, TEXT_PLAIN, f"request body over {self.max_body} bytes".encode()
                )
            except _Disconnected:
                return 499
        scope["hb.body_size"] = len(body)
        keys = len(headers) + (_part_count(body) if multipart else 0)
        if keys > self.max_keys:
            return await self._reply(
                send,
                413,
                TEXT_PLAIN,
                b"request has %d fields and parts, over max_message_keys (%d)"
                % (keys, self.max_keys),
            )
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1")
        if query:
            raw_path += "?" + query
        raw = "hb.raw" in scope
        node = self.node
        hop = self._handoff()
        timeout = self.resolve_timeout
        try:
            if path == "/~cache@1.0/read" and method == "GET" and not _aos2(headers, query):
                got = await hop.call(timeout, node.cache_read, query)
            else:
                out = node.handle_inline(method, raw_path, headers) if not body else None
                if isinstance(out, Forward):
                    return await self._relay(send, out, method, raw_path, headers, body)
                if isinstance(out, tuple):  # answered on the event loop: no thread hop
                    st, hdrs, res = out
                    return await self._reply(send, st, hdrs, res, raw, getattr(out, "head", None))
                if out is not None:
                    got = await hop.call(timeout, node.finish, out)
                elif len(body) >= _HeapTrim.BIG:  # the pool thread's allocator heap, _HeapTrim
                    got = await hop.call(
                        timeout, _then_release, node.handle, method, raw_path, headers, body
                    )
                else:
                    got = await hop.call(timeout, node.handle, method, raw_path, headers, body)
        except TimeoutError:
            return await self._reply(send, 504, TEXT_PLAIN, b"resolution timed out")
        if isinstance(got, Forward):
            return await self._relay(send, got, method, raw_path, headers, body)
        st, hdrs, res = got
        return await self._reply(send, st, hdrs, res, raw)

    def _handoff(self) -> Handoff:
        """The running loop's :class:`~.handoff.Handoff` to the resolver pool (made on first
        use; a new loop, e.g. a test's next ``asyncio.run``, gets a new one)."""
        loop = asyncio.get_running_loop()
        hop = self.hop
        if hop is None or hop.loop is not loop:
            hop = self.hop = Handoff(self.node.pool, loop)
        return hop

    async def _relay(
        self, send: Any, fwd: Forward, method: str, raw_path: str, headers: list[Any], body: bytes
    ) -> int:
        """``serve --workers``: the reply of the worker owning the request's process."""
        st, hdrs, res = await self.node.owner.forward(fwd, method, raw_path, headers, body)
        return await self._reply(send, st, hdrs, res)

    async def _body(self, receive: Any) -> bytes:
        chunks = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise _Disconnected
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not msg.get("more_body"):
                return b"".join(chunks)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                self.node.start()  # cron@1.0 tasks resume
                logs.log(logging.INFO, "node started", address=self.node.address)
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.node.close)
                self.hop = None
                logs.log(logging.INFO, "node stopped; store closed")
                await send({"type": "lifespan.shutdown.complete"})
                return


def _aos2(headers: list[tuple[bytes, bytes]], query: str) -> bool:
    """Whether a cache read asks for ``application/aos-2`` (answered by cache@1.0 itself)."""
    if "accept=" in query and any(
        "aos-2" in v.lower() for v in urllib.parse.parse_qs(query).get("accept", [])
    ):
        return True
    return any(k.lower() == b"accept" and b"aos-2" in v.lower() for k, v in headers)


class _HeapTrim:
    """Gives freed heap back to the system after large requests: the allocators keep what a
    request freed (mimalloc for the Rust side, per thread, see :func:`_then_release`; glibc for
    Python's larger objects), so one 5 MB ``ao-types`` request left the node at 2.5x its RSS
    for good (issue 11). At most once a second, off the event loop."""

    BIG = 1 << 20  # bytes of request body that make a request large

    def __init__(self) -> None:
        self.last = 0.0
        self.pending = False
        self.fn: Any = None
        try:
            import ctypes

            self.fn = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            pass

    def after(self, scope: dict[str, Any]) -> None:
        if self.fn is None or scope.get("hb.body_size", 0) < self.BIG or self.pending:
            return
        self.pending = True
        wait = self.last + 1.0 - logs.now()
        asyncio.get_running_loop().call_later(max(0.0, wait), self._run)

    def _run(self) -> None:
        self.pending = False
        self.last = logs.now()
        asyncio.get_running_loop().run_in_executor(None, _release, self.fn)


def _release(malloc_trim: Any) -> None:
    malloc_trim(0)
    _native.release_memory()


def _then_release(fn: Any, *args: Any) -> Any:
    """``fn(*args)``, then this thread's allocator heap back to the system (what a large
    request's decoding freed stays in the heap of the thread that decoded it)."""
    try:
        return fn(*args)
    finally:
        _native.release_memory()


#: What ``GET /`` from a browser resolves: the web console (devices/hyperbuddy.py).
CONSOLE_PATH = "/~hyperbuddy@1.0/index"


def _wants_html(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the request's ``accept`` names ``text/html`` (a browser's navigation)."""
    return any(k == b"accept" and b"text/html" in v.lower() for k, v in headers)


def _part_count(body: bytes) -> int:
    """An upper bound on the parts of a multipart body, nested ones included: each part names
    itself in a ``content-disposition`` field (RFC 7578 §4.2; HyperBEAM requires it)."""
    return body.lower().count(b"content-disposition:")


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


__all__ = ["App"]
