"""The node's HTTP/1.1 protocol: uvicorn's httptools protocol with three extensions that uvicorn
has no public hook for (docs/node.md, "Why uvicorn"):

1. connection admission and eviction by a :class:`~.guard.ConnectionGuard` (issue 11), which
   must know when a connection starts receiving a request, has one running, and is idle;
2. a deadline for each request head from accept (408) and a request-head size limit (431);
   uvicorn only has a keep-alive timeout and httptools' fixed limits;
3. single-write replies: an ``http.response.start`` with ``"hb.raw"`` writes status line,
   headers and body with one ``transport.write`` (uvicorn writes the head and each body
   message separately, and validates every header with two regexes on every reply).

``uvicorn.Config(http=<class>)`` is the public way to give uvicorn a protocol class; everything
else this module relies on is uvicorn's private implementation (``HttpToolsProtocol`` and
``RequestResponseCycle`` of ``uvicorn.protocols.http.httptools_impl``), each name listed with
its reason in :data:`PRIVATE`. tests/test_node_uvicorn.py fails, naming the attribute, when an
uvicorn upgrade drops one; :func:`protocol_class` refuses to start on a uvicorn without the
module-level names and methods. Kept to this file on purpose: nothing else in the node imports
uvicorn's internals.
"""

from __future__ import annotations

import asyncio
from typing import Any

#: Every private uvicorn name this module relies on, and why (module: names; class: attributes).
PRIVATE: dict[str, dict[str, str]] = {
    "uvicorn.protocols.http.httptools_impl": {
        "HttpToolsProtocol": "the protocol class we extend",
        "RequestResponseCycle": "its per-request cycle, swapped for ours on each request",
        "STATUS_LINE": "the status lines uvicorn writes (single-write replies)",
        "HEADER_RE": "uvicorn's header-name check (head_block validates like uvicorn)",
        "HEADER_VALUE_RE": "uvicorn's header-value check (same)",
    },
    "HttpToolsProtocol": {
        "on_message_begin": "parser callback: a request starts (head deadline, guard.receiving)",
        "on_headers_complete": "parser callback: head done (deadline off, 431, cycle swap)",
        "on_message_complete": "parser callback: request received (guard.busy)",
        "on_response_complete": "uvicorn's end-of-response callback (guard.done)",
        "cycle": "the current request's cycle (pipelined or not; response_complete)",
        "url": "the request target, to size the head (431)",
        "headers": "the request's header list, to size the head (431)",
    },
    "RequestResponseCycle": {
        "send": "the ASGI send we extend with hb.raw",
        "scope": "the request's scope (method; hb.raw marks our cycle)",
        "transport": "where the single write goes",
        "flow": "flow control: .write_paused sends the reply the general way",
        "access_log": "uvicorn's access log on: the general way (it logs in send)",
        "response_started": "ASGI send state, set as uvicorn's send does",
        "response_complete": "ASGI send state, set as uvicorn's send does",
        "disconnected": "the client went away: the general way",
        "waiting_for_100_continue": "cleared once a reply starts (no late 100 Continue)",
        "default_headers": "the server's own headers (date)",
        "keep_alive": "connection: close and closing after the reply",
        "chunked_encoding": "body framing state, set as uvicorn's send does",
        "expected_content_length": "body framing state, set as uvicorn's send does",
        "message_event": "wakes the app's receive() once the reply is complete; set once a "
        "body part arrived (hb_body)",
        "body": "the request body received so far (hb_body takes it as receive() does)",
        "more_body": "False once the whole body is received (hb_body)",
        "on_response": "the protocol's end-of-response callback",
    },
}

#: The methods among them (the rest are instance attributes).
_METHODS = {
    "HttpToolsProtocol": (
        "on_message_begin",
        "on_headers_complete",
        "on_message_complete",
        "on_response_complete",
    ),
    "RequestResponseCycle": ("send",),
}

_FRAMING = frozenset({b"connection", b"transfer-encoding", b"content-length", b"keep-alive"})

_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


def head_block(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """``headers`` as the ``name: value`` + CRLF lines uvicorn would write (validated with its
    own patterns), or None when a header needs uvicorn's handling (connection, framing)."""
    from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE

    parts: list[bytes] = []
    names: list[bytes] = []
    values: list[bytes] = []
    for name, value in headers:
        name = name.lower()
        if name in _FRAMING:
            return None
        names.append(name)
        values.append(value)
        parts += (name, b": ", value, b"\r\n")
    # both patterns are character classes: one search over the joined names (values) finds a
    # match exactly when a search of each one would
    if HEADER_RE.search(b"".join(names)) or HEADER_VALUE_RE.search(b"".join(values)):
        return None
    return b"".join(parts)


def write_close(transport: Any, status: int, msg: bytes) -> None:
    """A complete plain-text response, then close (for answers outside any request cycle)."""
    transport.write(
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\nconnection: close\r\n"
        b"content-length: %d\r\n\r\n%s" % (status, _REASONS[status], len(msg), msg)
    )
    transport.close()


def missing_internals() -> list[str]:
    """The module-level names and class methods of :data:`PRIVATE` this uvicorn lacks (instance
    attributes are checked by tests/test_node_uvicorn.py on live objects)."""
    import importlib

    modname = "uvicorn.protocols.http.httptools_impl"
    mod = importlib.import_module(modname)
    missing = [f"{modname}.{n}" for n in PRIVATE[modname] if not hasattr(mod, n)]
    for cls, names in _METHODS.items():
        klass = getattr(mod, cls, None)
        missing += [f"{cls}.{n}" for n in names if klass is not None and not hasattr(klass, n)]
    return missing


def cycle_class() -> type:
    """uvicorn's request/response cycle plus one extension: an ``http.response.start`` message
    with ``"hb.raw": (header block, body)`` writes the whole response at once (one syscall
    instead of two; a cached response's headers validated once, see :func:`head_block`), then
    completes the cycle exactly as uvicorn's ``send`` does for a body message."""
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

    class Cycle(RequestResponseCycle):
        def hb_body(self) -> bytes | None:
            """The whole request body when all of it has arrived (taken as ``receive()``
            takes it: reading resumes, the buffer empties), else None (the app then reads it
            with ``receive()``). Saves the app a deadline and a wait when it is already here."""
            if (
                self.more_body
                or not self.message_event.is_set()
                or self.waiting_for_100_continue
                or self.disconnected
                or self.response_complete
            ):
                return None
            self.flow.resume_reading()
            self.message_event.clear()
            body = bytes(self.body)
            self.body = bytearray()
            return body

        async def send(self, message: Any) -> None:
            raw = message.get("hb.raw")
            if (
                raw is None
                or self.response_started
                or self.disconnected
                or self.flow.write_paused
                or self.access_log
            ):
                if raw is not None:  # the general path: headers + a body message
                    head, body = raw
                    hdrs = [tuple(h.split(b": ", 1)) for h in head.split(b"\r\n") if h]
                    await super().send({**message, "headers": hdrs})  # type: ignore[arg-type]
                    if not self.disconnected:
                        await super().send({"type": "http.response.body", "body": body})
                    return
                await super().send(message)
                return
            head, body = raw
            self.response_started = True
            self.waiting_for_100_continue = False
            out = [STATUS_LINE[message["status"]]]
            for name, value in self.default_headers:  # the server's own (date)
                out += (name, b": ", value, b"\r\n")
            out.append(head)
            if not self.keep_alive:
                out.append(b"connection: close\r\n")
            out.append(b"\r\n")
            if self.scope["method"] != "HEAD":
                out.append(body)
            self.chunked_encoding = False
            self.expected_content_length = 0
            self.transport.write(b"".join(out))
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()

    return Cycle


def protocol_class(max_header: int, header_timeout: float, guard: Any) -> type:
    """uvicorn's httptools protocol with: admission by ``guard`` (a
    :class:`~.guard.ConnectionGuard`); a deadline for each request head, from accept (and from
    the first byte of each later request on a kept-alive connection), after which the
    connection is closed (408); a request-head size limit (431); single-write responses
    (:func:`cycle_class`)."""
    missing = missing_internals()
    if missing:
        import uvicorn

        raise RuntimeError(
            f"uvicorn {uvicorn.__version__} lacks {', '.join(missing)}, which "
            "hyperbeam_fast/node/uvicorn_protocol.py relies on: pin uvicorn to a release it "
            "supports (pyproject.toml) or update that module"
        )
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

    cycle_cls = cycle_class()

    class Protocol(HttpToolsProtocol):
        # our own state, named so as not to meet uvicorn's
        hb_transport: Any = None
        hb_loop: Any = None
        hb_head_bytes = 0
        hb_head_done = True
        hb_head_timer: Any = None
        hb_deadline = 0.0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.hb_transport = transport
            self.hb_loop = asyncio.get_running_loop()
            peer = transport.get_extra_info("peername")  # what uvicorn's scope "client" holds
            ip = str(peer[0]) if isinstance(peer, (list, tuple)) and peer else ""
            if not guard.admit(self, ip):
                write_close(transport, 503, b"too many connections")
                return
            self.hb_arm()

        def evict(self) -> None:
            """Closed by the guard to make room (it was idle or incomplete)."""
            self.hb_disarm()
            if not self.hb_transport.is_closing():
                self.hb_transport.abort()

        def hb_arm(self) -> None:
            """A head is due by now + ``header_timeout``. One timer per connection, not per
            request: a timer that finds the head done stops, one that finds a later deadline
            waits for it (no timer made and cancelled for every kept-alive request)."""
            self.hb_head_done = False
            self.hb_head_bytes = 0
            loop = self.hb_loop
            self.hb_deadline = loop.time() + header_timeout
            if self.hb_head_timer is None:
                self.hb_head_timer = loop.call_at(self.hb_deadline, self.hb_head_timeout)

        def hb_disarm(self) -> None:
            if self.hb_head_timer is not None:
                self.hb_head_timer.cancel()
                self.hb_head_timer = None

        def hb_head_timeout(self) -> None:
            self.hb_head_timer = None
            if self.hb_head_done or self.hb_transport.is_closing():
                return  # the next request's hb_arm starts a timer again
            if self.hb_deadline - self.hb_loop.time() > 0.001:  # a later request's head
                self.hb_head_timer = self.hb_loop.call_at(self.hb_deadline, self.hb_head_timeout)
                return
            guard.lost(self)
            write_close(self.hb_transport, 408, b"request head not received in time")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self.hb_head_done:  # a later request on a kept-alive connection
                self.hb_arm()
                if self.cycle is None or self.cycle.response_complete:  # not pipelined
                    guard.receiving(self)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self.hb_head_done:
                self.hb_head_bytes += len(data)
                if self.hb_head_bytes > max_header and not self.hb_transport.is_closing():
                    self.hb_disarm()
                    self.hb_too_large()

        def on_headers_complete(self) -> None:
            self.hb_head_done = True  # its timer stops when it fires (hb_head_timeout)
            size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
            if size > max_header:
                self.hb_too_large()
                return
            super().on_headers_complete()
            cycle = self.cycle
            if type(cycle) is RequestResponseCycle:
                cycle.__class__ = cycle_cls
                scope = cycle.scope
                scope["hb.raw"] = True  # type: ignore[typeddict-unknown-key]
                scope["hb.body"] = cycle.hb_body  # type: ignore[typeddict-unknown-key,attr-defined]

        def on_message_complete(self) -> None:
            super().on_message_complete()
            if self.cycle is not None and not self.cycle.response_complete:
                guard.busy(self)

        def on_response_complete(self) -> None:
            guard.done(self)
            super().on_response_complete()

        def hb_too_large(self) -> None:
            if not self.hb_transport.is_closing():
                write_close(self.hb_transport, 431, b"request head is too large")

        def connection_lost(self, exc: Exception | None) -> None:
            self.hb_disarm()
            guard.lost(self)
            super().connection_lost(exc)

    return Protocol
