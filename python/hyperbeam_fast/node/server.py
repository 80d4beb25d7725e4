"""The HyperBEAM-compatible HTTP node's start-up (spec runtime §7.1): :func:`serve` builds a
:class:`~.pipeline.Node`, raises the open-file limit, and runs the ASGI :class:`~.app.App` on
uvicorn with the node's protocol (:mod:`.uvicorn_protocol`) until SIGINT/SIGTERM.

The node is split by what each part holds: :mod:`.pipeline` (the transport-free request pipeline
and node state), :mod:`.inline` (the event-loop fast path), :mod:`.app` (the ASGI app: request
reading, limits, replies), :mod:`.guard` (which connections stay open), :mod:`.uvicorn_protocol`
(everything that touches uvicorn's internals). The names of ``__all__`` stay importable here.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from ..map_order import set_map_order
from ..version import __version__
from ..wallet import Wallet
from . import logs
from .app import App
from .config import DEFAULTS, ConfigError, map_order
from .guard import ConnectionGuard
from .pipeline import (
    DEFAULT_STORE,
    Node,
    load_wallet,
    open_store,
    register_node_devices,
    store_parts,
    wallet_at,
)
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


def key_may_be_generated(opts: dict[str, Any]) -> bool:
    """Whether a missing key file is created: with ``generate_key`` (``--generate-key``) or
    when the key is the documented default ``hyperbeam-key.json`` (as HyperBEAM does)."""
    loc = _text(opts.get("priv_key_location", DEFAULTS["priv_key_location"]))
    return bool(opts.get("generate_key")) or loc == DEFAULTS["priv_key_location"]


def build_node(opts: dict[str, Any], wallet: Wallet | None = None, owner: Any = None) -> Node:
    """A Node from a loaded node message (wallet from ``priv_key_location`` when not given;
    a missing key file is an error unless :func:`key_may_be_generated`). ``owner``: the
    worker's :class:`~.workers.Ownership` under ``serve --workers``."""
    if wallet is None:
        wallet, _ = wallet_at(_text(opts["priv_key_location"]), key_may_be_generated(opts))
    store = opts.get("store") or DEFAULT_STORE
    return Node(opts, wallet, store, owner)


def worker_count(opts: dict[str, Any]) -> int:
    """The worker processes of ``serve`` (``worker_processes``, ``--workers``; 0: the core
    count). Workers share one store, so they need one that several processes open: an
    ``lmdb:DIR`` store (optionally chained with remote stores). With another store (RocksDB,
    the default, locks its database to one process; a memory store is per process), or with
    hooks (``on``: p4@1.0's ledger is guarded within one process), a count left to default is
    1, and an explicit count above 1 is a :class:`ConfigError`."""
    try:
        asked = int(_text(opts.get("worker_processes", 0) or 0))
    except ValueError:
        raise ConfigError("worker_processes (--workers) must be an integer") from None
    if asked < 0:
        raise ConfigError(f"worker_processes (--workers) must be 0 or more, got {asked}")
    n = asked or (os.cpu_count() or 1)
    if n == 1:
        return 1
    spec = opts.get("store") or DEFAULT_STORE
    first = store_parts(_text(spec))[0] if isinstance(spec, (str, bytes)) else ""
    hooks = opts.get("on")
    if hooks:  # e.g. p4@1.0: its ledger's read-modify-write is guarded in one process only
        if asked:
            raise ConfigError(
                f"--workers {asked} cannot run request/response hooks (`on`, e.g. p4@1.0 "
                "payments): their state is kept per process; use --workers 1"
            )
        return 1
    if first.startswith("lmdb:"):
        return n
    if asked:
        raise ConfigError(
            f"--workers {asked} needs a store that several processes open at once: "
            f"lmdb:DIR (the store {_text(spec)!r} is opened by one process only); "
            "use --store lmdb:DIR or --workers 1"
        )
    return 1


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (bound here, before anything says "listening"): a port in use or
    an address that is not ours is a :class:`ConfigError` naming them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    opts: dict[str, Any],
    host: str = "127.0.0.1",
    wallet: Wallet | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Run a node until SIGINT/SIGTERM (in-flight requests finish, then the store closes).

    Binds the port first (port 0: a free one), then logs the ``listening`` banner with the
    settings in force: the real port, store, operator address, wallet (loaded or generated),
    workers. ``warnings`` (e.g. from :func:`.config.load`) are logged first."""

    logs.setup(_text(opts.get("log_level", "info")), fmt=_text(opts.get("log_format", "json")))
    for w in warnings or ():
        logs.log(logging.WARNING, "config", problem=w)
    key = _text(opts.get("priv_key_location", DEFAULTS["priv_key_location"]))
    spec = opts.get("store") or DEFAULT_STORE
    if isinstance(spec, (str, bytes)):
        store_parts(_text(spec))  # a bad store fails before a wallet is made or a port bound
    count = worker_count(opts)  # a store that cannot be shared fails before the port is bound
    if count > 1 and threading.current_thread() is not threading.main_thread():
        raise ConfigError("serve --workers runs on the main thread only (it handles signals)")
    sock = bind(host, int(opts["port"]))
    node: Node | None = None
    try:
        source = "given by the caller"
        if wallet is None:
            wallet, generated = wallet_at(key, key_may_be_generated(opts))
            source = ("generated at " if generated else "loaded from ") + key
            if generated:
                logs.log(logging.WARNING, "generated a new operator wallet", key=key)
        # process-wide, like the VM the node stands for (docs/map-order.md)
        set_map_order(map_order(opts))
        if threading.current_thread() is threading.main_thread():
            tune_gc()  # the process is the node's (not a library caller's thread)
        if count > 1:
            _serve_workers(count, opts, host, sock, wallet, source)
            return
        node = build_node(opts, wallet)
        server = _server(node, opts, host, sock)
        banner = _banner(node, opts, sock, 1, source)
        server.on_ready = lambda: logs.banner("listening", **banner)
        _run_to_exit(server, [sock])
    finally:
        sock.close()
        if node is not None and not node.closed:  # lifespan did not run (startup failure)
            node.close()


#: The collector's first-generation threshold in a node process (CPython's default: 700).
GC_THRESHOLD0 = 10_000


def tune_gc() -> None:
    """Ready the garbage collector of a node process: what start-up made (modules, devices,
    the wallet) is frozen out of every later collection (and, under ``--workers``, left
    unwritten in the forked workers' shared pages), and the young generation is collected
    every :data:`GC_THRESHOLD0` allocations instead of 700. A request allocates thousands of
    short-lived objects that reference counting frees at once; cycles are rare, so the
    collector's passes over them were ~1.5% of a message's CPU, with a full pass of ~12 ms
    (every thread waiting) every few hundred messages."""
    gc.collect()
    gc.freeze()
    _, t1, t2 = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD0, t1, t2)


def _server(node: Node, opts: dict[str, Any], host: str, sock: socket.socket) -> Any:
    """The uvicorn server of ``node`` on the bound ``sock``; its ``on_ready`` runs once its
    sockets serve (the ``listening`` banner)."""
    import uvicorn

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
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        loop="uvloop" if _has("uvloop") else "asyncio",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        # no ProxyHeadersMiddleware (a coroutine around every request): the node reads neither
        # the scope's client nor its scheme, which is all it would rewrite
        proxy_headers=False,
        limit_concurrency=None,  # the ConnectionGuard decides (no lockout at a cap)
        timeout_keep_alive=max(1, int(opts.get("http_keepalive", 120000)) // 1000),
        # uvicorn waits this long (its annotation says int; a float works)
        timeout_graceful_shutdown=float(opts.get("graceful_timeout", 10.0)),  # type: ignore[arg-type]
        backlog=2048,
    )
    return _ready_server(config)


def _banner(
    node: Any, opts: dict[str, Any], sock: socket.socket, workers: int, source: str
) -> dict[str, Any]:
    """The ``listening`` banner: the settings in force (``node``: a Node, or under
    ``--workers`` the first worker's)."""
    bound_host, port = sock.getsockname()[:2]
    cfg = _text(opts.get("hb_config_location", ""))
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return {
        "url": f"http://{url_host}:{port}",
        "host": bound_host,
        "port": port,
        "address": node.address,
        "operator": _text(node.node_msg.get("operator", node.address)),
        "wallet": source,
        "store": repr(node.store),
        "store_sync": _text(opts.get("store_sync", "none")),
        "workers": workers,
        "resolver_threads": node.workers,
        "config": cfg if cfg and Path(cfg).is_file() else None,
        "log_level": _text(opts.get("log_level", "info")),
        "version": __version__,
    }


def _ready_server(config: Any) -> Any:
    """A ``uvicorn.Server`` that calls its ``on_ready`` once its sockets serve."""
    import uvicorn

    class Server(uvicorn.Server):
        on_ready: Any = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit and self.on_ready is not None:
                self.on_ready()

    return Server(config)


def _serve_workers(
    count: int, opts: dict[str, Any], host: str, sock: socket.socket, wallet: Wallet, source: str
) -> None:
    """``serve --workers N`` (node/workers.py): the supervisor; each worker a whole node on
    the shared ``sock`` plus its own unix socket (requests the others forward to it)."""
    from . import workers

    open_store(
        opts.get("store") or DEFAULT_STORE, False, opts
    ).close()  # a bad store fails here, once
    banner: dict[str, Any] = {}
    banner_r, banner_w = os.pipe()
    os.set_blocking(banner_r, False)
    os.set_blocking(banner_w, False)  # a restarted first worker never blocks on it

    def worker(i: int, sock_dir: str, ready_fd: int) -> int:
        os.close(banner_r)
        owner = workers.Ownership(i, count, sock_dir, float(opts.get("resolve_timeout", 60.0)))
        node = build_node(opts, wallet, owner)
        workers.start_rpc(node, sock_dir, i)
        usock = workers.bind_unix(workers.http_socket(sock_dir, i))
        server = _server(node, opts, host, sock)

        def ready() -> None:
            if i == 0:  # the banner's settings, once, for the supervisor to log
                with contextlib.suppress(OSError):
                    os.write(
                        banner_w, json.dumps(_banner(node, opts, sock, count, source)).encode()
                    )
            os.write(ready_fd, b"r")

        server.on_ready = ready
        _run_to_exit(server, [sock, usock])
        return 0

    def announce() -> None:
        if not banner:
            with contextlib.suppress(OSError, ValueError):
                banner.update(json.loads(os.read(banner_r, 1 << 16)))
        logs.banner("listening", **banner)

    try:
        workers.run_workers(count, float(opts.get("graceful_timeout", 10.0)), worker, announce)
    finally:
        os.close(banner_r)
        os.close(banner_w)


def _run_to_exit(server: Any, socks: list[socket.socket]) -> None:
    """``server.run()`` with SIGINT/SIGTERM as a graceful stop and a normal exit (status 0).

    While it runs, uvicorn's own handlers stop it (a second SIGINT forces the exit); once
    stopped it restores the handlers it found and raises the captured signal again, which would
    end the process by that signal. The handlers it finds are ours: they only ask the server to
    stop (also covering a signal during start-up), so the re-raised signal ends nothing; the
    caller's handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        server.run(sockets=socks)  # uvicorn captures no signals off the main thread
        return

    def stop(sig: int, frame: Any) -> None:
        server.should_exit = True

    found = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=socks)
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
    "bind",
    "build_node",
    "key_may_be_generated",
    "load_wallet",
    "open_store",
    "register_node_devices",
    "serve",
]
