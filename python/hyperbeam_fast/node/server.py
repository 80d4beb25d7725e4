"""The HyperBEAM-compatible HTTP node's start-up (spec runtime §7.1): :func:`serve` builds a
:class:`~.pipeline.Node`, raises the open-file limit, and runs the ASGI :class:`~.app.App` on
uvicorn with the node's protocol (:mod:`.uvicorn_protocol`) until SIGINT/SIGTERM.

The node is split by what each part holds: :mod:`.pipeline` (the transport-free request pipeline
and node state), :mod:`.inline` (the event-loop fast path), :mod:`.app` (the ASGI app: request
reading, limits, replies), :mod:`.guard` (which connections stay open), :mod:`.uvicorn_protocol`
(everything that touches uvicorn's internals). The names of ``__all__`` stay importable here.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from ..map_order import set_map_order
from ..wallet import Wallet
from . import logs
from .app import App
from .config import DEFAULTS, map_order
from .guard import ConnectionGuard
from .pipeline import Node, load_wallet, open_store, register_node_devices
from .uvicorn_protocol import protocol_class


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _raise_fd_limit(want: int) -> int:
    """Raise the soft open-file limit towards ``want`` (each connection holds a descriptor);
    returns the connections that fit in it, leaving room for the store and logs."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = want + 256 if hard == resource.RLIM_INFINITY else min(hard, want + 256)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    except (ImportError, ValueError, OSError):
        return want
    return want if soft == resource.RLIM_INFINITY else max(64, min(want, soft - 256))


def build_node(opts: dict, wallet: Wallet | None = None) -> Node:
    """A Node from a loaded node message (wallet from ``priv_key_location`` when not given)."""
    if wallet is None:
        wallet = load_wallet(opts["priv_key_location"])
    store = opts.get("store") or "cache-mainnet"
    return Node(opts, wallet, store)


def serve(opts: dict, host: str = "127.0.0.1", wallet: Wallet | None = None) -> None:
    """Run a node until SIGINT/SIGTERM (in-flight requests finish, then the store closes)."""
    import uvicorn

    logs.setup(_text(opts.get("log_level", "info")))
    # process-wide, like the VM the node stands for (docs/map-order.md)
    set_map_order(map_order(opts))
    node = build_node(opts, wallet)
    app = App(node)
    max_conns = _raise_fd_limit(int(opts.get("max_connections", DEFAULTS["max_connections"])))
    guard = ConnectionGuard(
        max_conns,
        int(opts.get("max_connections_per_ip", DEFAULTS["max_connections_per_ip"])),
    )
    protocol = protocol_class(
        int(opts.get("max_header_size", DEFAULTS["max_header_size"])),
        float(opts.get("header_timeout", DEFAULTS["header_timeout"])),
        guard,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=int(opts["port"]),
        http=protocol,
        loop="uvloop" if _has("uvloop") else "asyncio",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        limit_concurrency=None,  # the ConnectionGuard decides (no lockout at a cap)
        timeout_keep_alive=max(1, int(opts.get("http_keepalive", 120000)) // 1000),
        timeout_graceful_shutdown=float(opts.get("graceful_timeout", 10.0)),
        backlog=2048,
    )
    server = uvicorn.Server(config)
    logs.log(
        logging.INFO,
        "listening",
        url=f"http://{host}:{int(opts['port'])}",
        address=node.address,
        store=repr(node.store),
    )
    try:
        _run_to_exit(server)
    finally:
        if not node.closed:  # lifespan did not run (startup failure)
            node.close()


def _run_to_exit(server: Any) -> None:
    """``server.run()`` with SIGINT/SIGTERM as a graceful stop and a normal exit (status 0).

    While it runs, uvicorn's own handlers stop it (a second SIGINT forces the exit); once
    stopped it restores the handlers it found and raises the captured signal again, which would
    end the process by that signal. The handlers it finds are ours: they only ask the server to
    stop (also covering a signal during start-up), so the re-raised signal ends nothing; the
    caller's handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        server.run()  # uvicorn captures no signals off the main thread
        return

    def stop(sig: int, frame: Any) -> None:
        server.should_exit = True

    found = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in found.items():
            signal.signal(sig, handler)


def _has(mod: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(mod) is not None


__all__ = [
    "App",
    "ConnectionGuard",
    "Node",
    "build_node",
    "load_wallet",
    "open_store",
    "register_node_devices",
    "serve",
]
