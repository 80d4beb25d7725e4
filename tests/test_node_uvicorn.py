"""The uvicorn internals the node's protocol relies on (node/uvicorn_protocol.py; docs/node.md,
"Why uvicorn"): this fails, naming the attribute, when an uvicorn upgrade drops one."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from hyperbeam_fast.node.guard import ConnectionGuard
from hyperbeam_fast.node.uvicorn_protocol import PRIVATE, missing_internals, protocol_class
from uvicorn.config import Config
from uvicorn.server import ServerState


class _Transport(asyncio.Transport):
    """Records writes (none once closed, as asyncio's transports drop them); a TCP peer at
    10.0.0.1:5000."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("10.0.0.1", 5000), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def write(self, data: bytes) -> None:  # type: ignore[override]
        if not self.closed:
            self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _run(app: Any, request: bytes) -> tuple[Any, _Transport, dict]:
    """Our protocol on a fake transport: one request fed, the app run; the live protocol, the
    transport and the attributes seen while the request was being answered."""
    seen: dict = {}

    async def main() -> None:
        config = Config(app, log_config=None, access_log=False)
        config.load()
        guard = ConnectionGuard(10, 10)
        cls = protocol_class(65536, 10.0, guard)
        proto = cls(config=config, server_state=ServerState(), app_state={})
        transport = _Transport()
        proto.connection_made(transport)
        assert guard.ip == {proto: "10.0.0.1"}
        proto.data_received(request)
        seen["protocol"] = {n: hasattr(proto, n) for n in PRIVATE["HttpToolsProtocol"]}
        cycle = proto.cycle
        seen["cycle"] = {n: hasattr(cycle, n) for n in PRIVATE["RequestResponseCycle"]}
        seen["flow.write_paused"] = hasattr(cycle.flow, "write_paused")
        seen["cycle_class"] = type(cycle).__name__
        for _ in range(20):
            await asyncio.sleep(0)
        seen["idle"] = proto in guard.idle
        seen["closed"] = transport.closed  # before connection_lost closes it
        seen["proto"] = proto
        seen["transport"] = transport
        proto.connection_lost(None)
        seen["gone"] = proto not in guard.ip

    asyncio.run(main())
    return seen["proto"], seen["transport"], seen


async def _raw_app(scope: dict, receive: Any, send: Any) -> None:
    assert scope.get("hb.raw") is True
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [],
            "hb.raw": (b"content-type: text/plain\r\ncontent-length: 2\r\n", b"ok"),
        }
    )


def test_uvicorn_has_every_private_name_the_node_uses() -> None:
    assert missing_internals() == [], f"uvicorn {uvicorn.__version__}"
    _, transport, seen = _run(_raw_app, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    gone = [f"HttpToolsProtocol.{n}" for n, ok in seen["protocol"].items() if not ok]
    gone += [f"RequestResponseCycle.{n}" for n, ok in seen["cycle"].items() if not ok]
    if not seen["flow.write_paused"]:
        gone.append("RequestResponseCycle.flow.write_paused")
    assert not gone, f"uvicorn {uvicorn.__version__} lacks {gone}: see node/uvicorn_protocol.py"
    assert seen["cycle_class"] == "Cycle"  # our cycle replaced uvicorn's


def test_single_write_reply_and_guard_states() -> None:
    _, transport, seen = _run(_raw_app, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(transport.writes) == 1  # status line, headers and body at once
    out = transport.writes[0]
    assert out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(b"\r\n\r\nok")
    assert b"content-length: 2\r\n" in out and not seen["closed"]  # kept alive
    assert seen["idle"] and seen["gone"]  # answered: idle in the guard; lost: forgotten


def test_single_write_reply_closes_when_the_client_asks() -> None:
    _, transport, seen = _run(_raw_app, b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert len(transport.writes) == 1 and b"connection: close\r\n" in transport.writes[0]
    assert seen["closed"]


def test_head_too_large_is_431() -> None:
    big = b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 2_000 + b"\r\n\r\n"

    async def never(scope: dict, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("the app must not see an oversized head")

    async def main() -> _Transport:
        config = Config(never, log_config=None)
        config.load()
        cls = protocol_class(1_000, 10.0, ConnectionGuard(10, 10))
        proto = cls(config=config, server_state=ServerState(), app_state={})
        transport = _Transport()
        proto.connection_made(transport)
        proto.data_received(big)
        await asyncio.sleep(0)
        return transport

    transport = asyncio.run(main())
    assert transport.writes[-1].startswith(b"HTTP/1.1 431 ") and transport.closed
