"""The node's transport-free request pipeline (spec runtime §7.1, §7.5): :class:`Node`, the
live node message, wallet, store, metrics and resolver pool of ``hb_http_server`` +
``dev_meta:handle``.

Every request that is not answered by the ASGI layer (:mod:`.app`): singleton -> hooks ->
``resolve_many`` -> status -> signature (node wallet) -> ``accept-codec`` encoding. Body-less
cheap requests may be answered on the event loop (:mod:`.inline`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from .. import _native, ao, cache
from ..commitments import commit, made_here, signers
from ..devices import cache as cache_dev
from ..devices import manifest
from ..devices.hook import on as run_hook
from ..devices.hook import runner as hook_runner
from ..exceptions import (
    DeviceNotFound,
    HyperbeamError,
    InvalidStorePath,
    NotFound,
    PathError,
    ResolveError,
    StoreCorrupt,
    StoreError,
)
from ..message import convert
from ..path import parse_path
from ..wallet import Wallet
from . import authority, logs
from .config import DEFAULTS, ConfigError, store_sync
from .http import (
    BadRequest,
    accept_to_codec,
    encode_response,
    lift_to_body,
    request_to_singleton,
    status_code,
)
from .inline import (
    CACHEABLE_PATHS,
    POOL_HEADERS,
    RESPONSE_CACHE_MAX,
    TRANSPORT_HEADERS_B,
    CachedResponse,
    Deferred,
    cheap_steps,
    local_part,
)
from .metrics import Metrics
from .uvicorn_protocol import head_block
from .workers import Forward, owner_of

#: The headers of a plain-text reply.
TEXT_PLAIN = [(b"content-type", b"text/plain; charset=utf-8")]
#: The status :meth:`Node._resolve` gives a request its ``request`` hook refused.
REFUSED = "refused"
#: A path's first element (``/<ID>~device/...``, ``/~cron@1.0/...``): what --workers routes by.
_FIRST_ELEMENT = re.compile(r"/(~?[A-Za-z0-9_@.-]+)(?:[/~?&]|$)")
#: Store group of the signatures of applied node-message updates (replay protection).
_APPLIED = "node-updates"


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def register_node_devices() -> None:
    """Register meta@1.0, relay@1.0, router@1.0, hyperbuddy@1.0 (the web console) and the
    process devices in the registry."""
    from ..devices import (
        cron,
        faff,
        hyperbuddy,
        local_name,
        manifest,
        meta,
        name,
        node_process,
        p4,
        relay,
        router,
        simple_pay,
    )

    for mod in (
        meta,
        relay,
        router,
        p4,
        simple_pay,
        faff,
        cron,
        local_name,
        name,
        node_process,
        hyperbuddy,
        manifest,
    ):
        ao.register_device(mod.DEVICE.name, mod.DEVICE)
    ao.register_device(cache_dev.DEVICE.name, cache_dev.DEVICE)
    ao.register_device(cache_dev.LOOKUP.name, cache_dev.LOOKUP)
    from ..devices.process import register_process_devices

    register_process_devices()  # wasm-64, wasi, json-iface, scheduler, process, push (issue 7)


def load_wallet(path: str | os.PathLike[str], create: bool = True) -> Wallet:
    """The operator wallet at ``path``; a new one is generated and saved (mode 0600) if the
    file does not exist and ``create`` is true (see :func:`wallet_at`)."""
    return wallet_at(path, create)[0]


def wallet_at(path: str | os.PathLike[str], create: bool) -> tuple[Wallet, bool]:
    """``(wallet, generated)``: the wallet in the key file at ``path``, or (``create``) a new
    one saved there (mode 0600). A missing file without ``create``, or a missing directory,
    is a :class:`ConfigError` (nothing is created outside an existing directory)."""
    p = Path(path)
    if p.exists():
        return Wallet.from_file(p), False
    if not create:
        raise ConfigError(
            f"key file {str(p)!r} does not exist (use --generate-key to create a new wallet there)"
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"cannot create key file {str(p)!r}: {str(parent)!r} is not a directory")
    w = Wallet.generate()
    try:
        w.save(p)
    except OSError as e:
        raise ConfigError(f"cannot write key file {str(p)!r}: {e.strerror}") from None
    return w, True


#: Store spec prefixes (``PREFIX:...``) :func:`open_store` knows; any other ``x:`` is an error.
STORE_SCHEMES = ("fs", "rocksdb", "lmdb", "http", "https", "gateway")
#: The store of a node started without one (``hb_opts``: the local store, then the gateway).
DEFAULT_STORE = "cache-mainnet+gateway"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9.-]*):")


def store_parts(text: str) -> list[str]:
    """The stores a spec names (split at ``+``); an unknown ``name:`` prefix or a prefix
    without a directory is a :class:`ConfigError`."""
    parts = [p for p in text.split("+") if p]
    for part in parts:
        m = _SCHEME.match(part)
        if m and m.group(1).lower() not in STORE_SCHEMES:
            raise ConfigError(
                f"unknown store {part!r}: a store is memory, DIR, rocksdb:DIR, lmdb:DIR, fs:DIR, "
                "http(s)://peer or gateway[:URL] (joined with +)"
            )
        if part in ("fs:", "rocksdb:", "lmdb:"):
            raise ConfigError(f"store {part!r} names no directory")
        if part == "gateway:":
            raise ConfigError("store 'gateway:' names no URL (gateway alone uses the option)")
    if not parts:
        raise ConfigError(f"bad store spec {text!r}")
    return parts


def gateway_store(url: Any, opts: dict[str, Any] | None = None) -> Any:
    """The :class:`~hyperbeam_fast.store.GatewayStore` of ``url`` with the node options
    ``gateway_subindex``, ``gateway_timeout`` (seconds), ``gateway_max_size`` (bytes),
    ``gateway_miss_ttl`` (seconds a definite miss is remembered; 0: never) and
    ``gateway_miss_max`` (how many misses at most)."""
    from ..store import GatewayStore
    from ..store.gateway import DEFAULT_MISS_MAX, DEFAULT_MISS_TTL

    o = opts or {}
    try:
        return GatewayStore(
            _text(url),
            subindex=o.get("gateway_subindex"),
            timeout=float(o.get("gateway_timeout", 10.0)),
            max_size=int(o.get("gateway_max_size", 64 * 1024 * 1024)),
            miss_ttl=float(o.get("gateway_miss_ttl", DEFAULT_MISS_TTL)),
            miss_max=int(o.get("gateway_miss_max", DEFAULT_MISS_MAX)),
        )
    except (HyperbeamError, TypeError, ValueError) as e:
        raise ConfigError(f"bad gateway store {_text(url)!r}: {e}") from None


def open_store(
    spec: Any, sync: bool = False, opts: dict[str, Any] | None = None, wallet: Wallet | None = None
) -> Any:
    """A store from a spec: a Store object; ``"memory"``; ``"fs:DIR"``; ``"lmdb:DIR"`` (several
    processes may open it: ``serve --workers``); ``"rocksdb:DIR"`` or a bare directory
    (RocksDB, the default); ``+http://peer`` suffixes chain remote stores and
    ``+gateway`` (the node option ``gateway``) or ``+gateway:URL`` an Arweave gateway store
    (:func:`gateway_store`; a chain with one writes its reads through to the local store);
    remote stores write to the peer's cache@1.0, signed with ``wallet``, when one is given.
    ``sync``: fsync every write of the local stores (``store_sync: always``). Any other
    ``name:`` prefix is a :class:`ConfigError` (not a directory of that name)."""
    from ..store import (
        FSStore,
        GatewayStore,
        LMDBStore,
        MemoryStore,
        RemoteStore,
        RocksDBStore,
        Store,
        StoreChain,
    )

    if isinstance(spec, Store):
        return spec
    text = _text(spec)
    parts = store_parts(text)
    stores: list[Store] = []
    for part in parts:
        if part == "memory":
            stores.append(MemoryStore())
        elif part.startswith("fs:"):
            stores.append(FSStore(part[3:], sync=sync))
        elif part.startswith("lmdb:"):
            stores.append(LMDBStore(part[5:], sync=sync))
        elif part.startswith(("http://", "https://")):
            stores.append(RemoteStore(part, wallet=wallet))
        elif part == "gateway" or part.startswith("gateway:"):
            url = part[8:] or (opts or {}).get("gateway") or DEFAULTS["gateway"]
            stores.append(gateway_store(url, opts))
        else:
            path = part[8:] if part.startswith("rocksdb:") else part
            stores.append(RocksDBStore(path, sync=sync))
    if len(stores) == 1:
        return stores[0]
    gateway = any(isinstance(s, GatewayStore) for s in stores)
    return StoreChain(stores, write_through=gateway)


#: The ao compute unit's results route, answered by process@1.0's ``cu-results``
#: (devices/process_results.py).
_CU_RESULTS = re.compile(r"^/results/([A-Za-z0-9_-]{43})(\?.*)?$")


class Node:
    """One node: its live node message, wallet, store, metrics and thread pool."""

    def __init__(
        self,
        opts: dict[str, Any] | None = None,
        wallet: Wallet | None = None,
        store: Any = None,
        owner: Any = None,
    ):
        register_node_devices()
        #: ``serve --workers``: this worker's :class:`~.workers.Ownership` (None: one process)
        self.owner = owner
        opts = dict(DEFAULTS if opts is None else opts)
        self.wallet = wallet if wallet is not None else Wallet.generate()
        self.address = self.wallet.address
        self.store = open_store(
            store if store is not None else opts.get("store", "memory"),
            store_sync(opts),
            opts,
            self.wallet,
        )
        self.metrics = Metrics()
        from ..devices import process_compute

        self.metrics.watch(
            lambda: process_compute.live_processes(self.store),
            lambda: process_compute.slots_computed(self.store),
            self.store.size,
        )
        self._lock = threading.Lock()
        self._version = 0
        #: the event loop reads only local stores (a chain's local part; a miss goes to the pool)
        self._inline_store = local_part(self.store)
        self._local_store = self._inline_store is not None
        #: where node-level records (applied updates) go: the chain's first store
        self._local = getattr(self.store, "primary", self.store)
        opts.pop("store", None)
        opts.setdefault("operator", self.address)
        if opts.get("operator") in (None, ""):
            opts["operator"] = self.address
        opts["address"] = self.address
        opts["http_server"] = self.address
        opts.setdefault("cache_writers", [opts["operator"]])  # cache@1.0 write/link
        self.workers = int(opts.get("workers") or 0) or ao.default_resolver_threads()
        self.pool = concurrent.futures.ThreadPoolExecutor(
            self.workers, thread_name_prefix="hb-resolve"
        )
        self.node_msg: dict[str, Any] = opts
        self.closed = False  #: set by :meth:`close`
        # the start hook (runtime §6): its result body is the node message
        st, res = run_hook("start", {"body": self.node_msg}, self._opts())
        if st == "ok" and isinstance(res, dict) and isinstance(res.get("body"), dict):
            self.node_msg = {**res["body"], "address": self.address}

    def start(self) -> None:
        """Start the node's background work once it serves: the cron@1.0 tasks in its store."""
        from ..devices.cron import resume

        if self.owner is None or self.owner.index == 0:  # --workers: cron runs in worker 0
            resume(self)

    # --- node message ---------------------------------------------------------------------------

    @property
    def node_msg(self) -> dict[str, Any]:
        """The live node message. Assigning it (never mutate it in place) bumps its version,
        which recomputes the resolution options and drops the cached responses."""
        return self._node_msg

    @node_msg.setter
    def node_msg(self, value: dict[str, Any]) -> None:
        self._node_msg = value
        base = self._build_opts(value)
        # answered on the event loop only with HMAC responses (RSA signing is parallel in the
        # pool), no hooks (they may run any device) and the stock device registry
        self._fast = (
            not value.get("force_signed", True)
            and not base.get("on")
            and not base.get("preloaded_devices")
        )
        self._base_opts = base
        #: hook name -> (registry version, its runner): devices/hook.py ``runner``
        self._hook_runners: dict[str, tuple[int, Any]] = {}
        self._response_cache: dict[tuple[Any, ...], CachedResponse] = {}
        self._version += 1

    def _opts(self) -> dict[str, Any]:
        """The options a resolution runs with: the live node message + private handles (a copy
        of the ones built when the node message last changed)."""
        return dict(self._base_opts)

    def _build_opts(self, nm: dict[str, Any]) -> dict[str, Any]:
        extra = nm.get("http_extra_opts") or {}
        out = {
            **nm,
            **(extra if isinstance(extra, dict) else {}),
            "error_strategy": "return",
            "loader": self._load,
            "priv_node": self,
            "priv_resolver_threads": self.workers,
            "priv_wallet": self.wallet,
            "priv_store": self.store,
            "priv_process_owner": self.owner,
        }
        # No "store" here: ao.resolve's result cache (cache_control [always]) would serve a
        # stale ~meta@1.0/info after an update (its hashpath does not change). force_message is
        # applied to the final result by _embed_status (ao's per-step force_message trips over
        # the shadowed ``set`` builtin in ao/resolve.py). Without a store, cache_control is
        # read by nothing (ao strips it from the options devices see), but its presence makes
        # ao copy the whole option dict on every step (ao.user_opts): leave it out too, and
        # put it back together with "store".
        out.pop("force_message", None)
        out.pop("cache_control", None)
        return out

    def scheduling_opts(self) -> dict[str, Any]:
        """The options a scheduler@1.0 assignment of this node runs with (wallet, store)."""
        return self._opts()

    def _owner_elsewhere(self, raw_path: str) -> Forward | None:
        """``serve --workers``: where a request goes when another worker answers it, decided
        on its path alone (before its body is parsed or its signature checked: the owner does
        that): the owner of the process it is addressed to (``/<ProcID>...``, a process with a
        schedule in the store), worker 0 for cron@1.0 (its tasks run there); else None."""
        owner = self.owner
        if owner is None:
            return None
        first = _FIRST_ELEMENT.match(raw_path)
        if first is None:
            return None
        name = first.group(1)
        if name.lower() == "~cron@1.0":
            return Forward(0, "cron@1.0") if owner.index != 0 else None
        if len(name) != 43 or owner.owns(name):
            return None
        try:  # the local store only (a miss never asks a remote one)
            if self._local.type(f"assignments/{name}") is None:
                return None
        except (HyperbeamError, ValueError):
            return None
        return Forward(owner_of(name, owner.count), f"process {name}")

    def _one_node_message(self, what: str) -> tuple[str, Any] | None:
        """``serve --workers N`` (N > 1): a change of the node message is refused (each worker
        holds its own copy; docs/node.md)."""
        if self.owner is None or self.owner.count < 2:
            return None
        return "error", {
            "status": 400,
            "body": f"{what} is not available with --workers {self.owner.count}: each worker "
            "holds its own node message. Set it in config.flat, or run with --workers 1.",
        }

    def public_info(self) -> dict[str, Any]:
        """The node message as ``~meta@1.0/info`` shows it (private keys left out)."""
        from ..devices.meta import public

        return {**public(self.node_msg), "address": self.address}

    def update_info(self, req: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
        """``POST /~meta@1.0/info`` (runtime §7.5): only the operator's signature changes the
        node message (over the request's ``path`` too with ``operator_signs_path``), only with
        the keys it covers, and only once: each applied update's signature is remembered in
        the store (a replayed or rolled back update is refused, across restarts too)."""
        from ..devices.meta import update_keys

        refused = self._one_node_message("Changing the node message")
        if refused is not None:
            return refused
        with self._lock:
            nm = self.node_msg
            strict = _text(nm.get("operator_signs_path", False)).lower() == "true"
            who = authority.operator_of({**opts, "operator": nm.get("operator")}, strict)
            caller = authority.caller(opts)
            if who is None and caller.kinds.get(_text(nm.get("operator"))) == "ans104@1.0":
                return "error", {  # authority.operator_of: a data item is not an order
                    "status": 400,
                    "body": "The node message changes only by an httpsig@1.0 request signed by "
                    "the operator: an ANS-104 data item is not an update.",
                }
            if who is None:
                return authority.refused("Changing the node message", 400)
            if _text(nm.get("initialized")) == "permanent":
                return "error", {
                    "status": 400,
                    "body": "The node message of this machine is already permanent. "
                    "It cannot be changed.",
                }
            tag = caller.tags.get(who)
            if tag is not None and self._applied(tag):
                return "error", {
                    "status": 409,
                    "body": "This signed update was already applied: an update is applied "
                    "once (sign a new one).",
                }
            new = {**nm, **update_keys(req, caller.covers.get(who))}
            for k in ("address", "http_server"):
                new[k] = nm[k]
            history = [dict(req)] + list(nm.get("node_history") or [])
            new["node_history"] = history
            if tag is not None:
                self._local.write(f"{_APPLIED}/{tag}", b"applied")
            self.node_msg = new
            n = len(history)
        logs.log(logging.INFO, "node message updated", history=n)
        return "ok", {"body": f"Node message updated. History: {n}updates.", "history-length": n}

    def _applied(self, tag: str) -> bool:
        return self._local.read(f"{_APPLIED}/{tag}") is not None  # a store error fails it

    def add_route(self, route: dict[str, Any]) -> tuple[str, Any]:
        """``POST /~router@1.0/routes``: insert a route, sorted by ``priority``."""
        from ..devices.router import routes as _routes

        def prio(r: dict[str, Any]) -> int:
            try:
                return int(_text(r.get("priority", 0)))
            except ValueError:
                return 0

        refused = self._one_node_message("Adding a route")
        if refused is not None:
            return refused
        with self._lock:
            routes = sorted([*_routes(self.node_msg), route], key=prio)
            self.node_msg = {**self.node_msg, "routes": routes}
        return "ok", "Route added."

    # --- store ----------------------------------------------------------------------------------

    def _load(self, ident: Any) -> Any:
        """The message ``ident`` names (None: a miss). A store's answer refused as not that
        ID's (a gateway's or peer's, :class:`StoreCorrupt`) is a ResolveError naming why, so
        the reply says it; a manifest is read as manifest@1.0 (devices/manifest.py)."""
        try:
            msg = cache.read(_text(ident), self.store)
        except (NotFound, InvalidStorePath) as e:
            self.metrics.cache_miss.inc()
            if isinstance(e.__cause__, StoreCorrupt):
                raise ResolveError(
                    f"necessary_message_not_found: {_text(ident)}: {e.__cause__}"
                ) from None
            return None
        except StoreError:
            self.metrics.cache_error.inc()
            return None
        self.metrics.cache_hit.inc()
        return manifest.as_manifest(msg)

    def cache_read(self, query: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """``GET /~cache@1.0/read?target=KEY``: the stored message or binary, unsigned and
        unchanged (what RemoteStore decodes: a signed reply would add the node's commitment and
        ``status``), found as cache@1.0 ``read`` finds it; with ``accept: application/aos-2``
        the request goes to the device (:mod:`hyperbeam_fast.devices.cache`)."""
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        target = (q.get("target") or [""])[0]
        if not target:
            return 400, list(TEXT_PLAIN), b"~cache@1.0/read needs ?target=<ID or path>"
        try:
            got = cache_dev.read_target(target, self.store)
        except NotFound:
            self.metrics.cache_miss.inc()
            return 404, list(TEXT_PLAIN), b"not found"
        except (InvalidStorePath, ValueError) as e:
            return 400, list(TEXT_PLAIN), f"bad target: {e}".encode()
        except StoreError:
            return 500, list(TEXT_PLAIN), b"store error"
        self.metrics.cache_hit.inc()
        if isinstance(got, bytes):
            return 200, [(b"content-type", b"application/octet-stream")], got
        enc = lift_to_body(convert(got, "httpsig@1.0"))
        body = enc.pop("body", b"")
        return 200, [(k.encode(), v) for k, v in enc.items()], body

    def close(self) -> None:
        """Stop the cron@1.0 tasks, drain the resolver pool and the process state writes, then
        close the store."""
        from ..devices.cron import halt
        from ..devices.process_writes import WRITER

        self.closed = True
        halt(self)
        self.pool.shutdown(wait=True)
        WRITER.flush()  # computed states still queued (process_async_cache)
        try:
            self.store.close()
        except Exception:  # noqa: BLE001 - closing must not raise at shutdown
            logs.LOGGER.exception("closing the store failed")

    # --- the request pipeline (dev_meta:handle) ---------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """One HTTP request -> ``(status, headers, body)``; never raises."""
        return self._handle(method, raw_path, headers, body, False)  # type: ignore[return-value]

    def handle_inline(
        self, method: str, raw_path: str, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | Deferred | None:
        """A body-less request, on the event loop: its response when it is cheap (a cached
        ``~meta@1.0/info``, or a resolution over message@1.0/meta@1.0 and the local store), a
        :class:`Deferred` for :meth:`finish` in the pool, or None (:meth:`handle` in the pool).
        Only with HMAC-committed responses and no hooks; never raises."""
        if not self._fast or not self._local_store or method != "GET":
            return None
        key = []
        for k, v in headers:
            k = k.lower()
            if k in POOL_HEADERS:
                return None
            if k not in TRANSPORT_HEADERS_B:
                key.append((k, v))
        if raw_path in CACHEABLE_PATHS:
            version = self._version
            ckey = (version, raw_path, tuple(key))
            hit: CachedResponse | None = self._response_cache.get(ckey)
            if hit is not None:
                return hit
            out = self._handle(method, raw_path, headers, b"", True)
            if isinstance(out, tuple) and out[0] == 200 and version == self._version:
                out = CachedResponse(out)
                out.head = head_block(out[1])
                cache_ = self._response_cache
                if len(cache_) >= RESPONSE_CACHE_MAX:
                    cache_.clear()
                cache_[ckey] = out
            return out
        return self._handle(method, raw_path, headers, b"", True)

    def finish(self, d: Deferred) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Finish a request :meth:`handle_inline` deferred (in the resolver pool)."""
        return self._respond(d.singleton, d.codec, d.msgs, d.req_headers)

    def _handle(
        self,
        method: str,
        raw_path: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        inline: bool,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | Deferred:
        if self.owner is not None:
            fwd = self._owner_elsewhere(raw_path)
            if fwd is not None:  # another worker answers it: the app relays it (node/workers.py)
                return fwd  # type: ignore[return-value]
        req_headers = {k.decode("latin-1").lower(): v for k, v in headers}
        codec = "httpsig@1.0"
        cu = _CU_RESULTS.match(raw_path) if method == "GET" else None
        if cu:  # the ao CU's `GET /results/<ProcID>` (aoconnect legacy mode, CU_URL = this node)
            raw_path = f"/{cu.group(1)}/cu-results{cu.group(2) or ''}"
            # its reply is the CU's JSON document itself, whatever codec `accept` would pick
            headers = [(k, v) for k, v in headers if k.lower() != b"accept"]
        try:
            try:
                singleton, signed = request_to_singleton(method, raw_path, headers, body)
            except BadRequest as e:
                if "signature" in str(e):
                    self.metrics.verifications.labels("invalid").inc()
                return e.status, list(TEXT_PLAIN), str(e).encode()
            if signed:
                self.metrics.verifications.labels("valid").inc()
                # a dry run (`.../as=execution/compute`) leaves no trace, its request included;
                # a cache@1.0 write stores its content (if allowed), never the request
                rpath = _text(singleton.get("path", ""))
                if (
                    self.node_msg.get("store_all_signed", True)
                    and "/as=execution/" not in rpath
                    and not ("/" + rpath.lstrip("/")).lower().startswith(cache_dev.WRITE_PATHS)
                ):
                    try:
                        cache.write(authority.signed_part(singleton), self.store)
                    except HyperbeamError:
                        logs.log(logging.WARNING, "could not store a signed request")
            codec = accept_to_codec(
                singleton, _text(self.node_msg.get("default_codec", "httpsig@1.0"))
            )
            try:
                msgs: Any = parse_path(singleton)
            except PathError as e:
                msgs = e
            if inline and not isinstance(msgs, PathError):
                cheap = cheap_steps(msgs, self._inline_store, self.metrics)
                if cheap is None or manifest.names_manifest(cheap):
                    return Deferred(singleton, codec, msgs, req_headers)
                msgs = cheap
        except Exception as e:  # noqa: BLE001 - a request never crashes the node
            return self._failed(e, raw_path, codec, req_headers)
        return self._respond(singleton, codec, msgs, req_headers)

    def _respond(
        self, singleton: dict[str, Any], codec: str, msgs: Any, req_headers: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            result = self.run(singleton, msgs)
            result = self._sign(result, codec)
            return encode_response(result, codec, req_headers)
        except Exception as e:  # noqa: BLE001 - a request never crashes the node
            return self._failed(e, _text(singleton.get("path", "")), codec, req_headers)

    def _failed(
        self, e: Exception, raw_path: str, codec: str, req_headers: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        logs.LOGGER.error("request failed", exc_info=e, extra={"fields": {"path": raw_path}})
        text = f"{type(e).__name__}: {e}"
        try:
            res = self._sign({"status": 500, "body": text}, codec)
            return encode_response(res, codec, req_headers)
        except Exception:  # noqa: BLE001
            return 500, list(TEXT_PLAIN), text.encode("utf-8", "replace")

    def run(self, singleton: dict[str, Any], msgs: Any = None, caller: Any = None) -> Any:
        """Resolve a request singleton (hooks included) to its unsigned reply, status embedded.
        ``caller``: who sent it (:class:`~.authority.Caller`), else its own signers; cron@1.0
        runs its tasks here as the operator who created them. A request the ``request`` hook
        refused gets no ``response`` hook (``dev_meta:handle_resolve``)."""
        opts = self._opts()
        if caller is None:
            signed = bool(singleton.get("commitments"))
            caller = authority.Caller.of(singleton) if signed else authority.ANONYMOUS
        opts[authority.CALLER] = caller
        status, result = self._resolve(singleton, msgs, opts)
        if status == REFUSED:
            return self._embed_status(*result)
        result = self._embed_status(status, result)
        return self._response_hook(singleton, result, opts)

    def _resolve(
        self, singleton: dict[str, Any], msgs: Any, opts: dict[str, Any]
    ) -> tuple[str, Any]:
        if msgs is None:
            try:
                msgs = parse_path(singleton)
            except PathError as e:
                msgs = e
        if isinstance(msgs, PathError):
            return "error", {"status": 400, "body": f"bad path: {msgs}"}
        nm = self.node_msg
        if nm.get("initialized") is False:
            first = msgs[0] if msgs else None
            is_meta = isinstance(first, ao.As) and _text(first.device).lower() == "meta@1.0"
            step = msgs[1] if len(msgs) > 1 else {}
            if not (is_meta and isinstance(step, dict) and _text(step.get("path")) == "info"):
                return "error", "Node must be initialized before use."
        if opts.get("on"):
            st, res = self._hook("request", {"request": singleton, "body": msgs}, opts)
            if st != "ok":
                return REFUSED, (st, res)
            if isinstance(res, dict) and "body" in res:
                msgs = res["body"]
        steps_before = 0
        try:
            loaded = manifest.with_index(msgs, self._load)
            if loaded is None:  # the ID alone, a miss: as resolve_many([ID]) answers it
                return "not_found", {"status": 404, "body": "not_found"}
            st, res = ao.resolve_many(loaded, opts)
        except HyperbeamError as e:
            text = str(e)
            if isinstance(e, DeviceNotFound):  # an unknown device: a 404 naming it
                return "error", {"status": 404, "body": text}
            if "necessary_message_not_found" in text:
                return "error", {
                    "status": 404,
                    "body": f"Message necessary to resolve request not found: {text}",
                }
            return "failure", {"status": 500, "body": f"{type(e).__name__}: {text}"}
        finally:
            self.metrics.steps.inc(max(0, ao.steps_taken() - steps_before))
        if st == "error" and res is ao.NOT_FOUND:
            return "not_found", {"status": 404, "body": "not_found"}
        return st, res

    @staticmethod
    def _embed_status(st: str, res: Any) -> Any:
        if isinstance(res, dict):
            if "status" in res:
                s = res["status"]
                code = status_code(s) if isinstance(s, (int, bytes, str)) else status_code(st)
                return {**res, "status": code}
            if st == "ok" and res.get("commitments") and _already_signed(res):
                # a signed result (e.g. a scheduler assignment): an added ``status`` key would
                # change its ``ao-types`` and break the signature; 200 is the default anyway
                return res
            if isinstance(res.get("body"), (str, bytes)) and _text(res["body"]) in (
                "not_found",
                "unavailable",
            ):
                return {**res, "status": status_code(_text(res["body"]))}
            return {**res, "status": status_code(st)}
        if res is ao.NOT_FOUND:
            return {"status": 404, "body": "not_found"}
        if isinstance(res, list):
            return {**{str(i): v for i, v in enumerate(res, 1)}, "status": status_code(st)}
        if isinstance(res, (ao.As, ao.Resolve)) or callable(res):
            return {"status": 500, "body": "Unencodable result."}
        return {"ao-result": "body", "body": res, "status": status_code(st)}

    def _hook(self, name: str, request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
        """Hook ``name`` (runtime §6) with options built from the live node message: its
        runner is prepared once per node message and device registry."""
        version = ao.registry_version()
        got = self._hook_runners.get(name)
        if got is None or got[0] != version:
            got = self._hook_runners[name] = (version, hook_runner(name, opts))
        return got[1](request, opts)  # type: ignore[no-any-return]

    def _response_hook(self, singleton: dict[str, Any], result: Any, opts: dict[str, Any]) -> Any:
        if not (opts.get("on") or {}).get("response"):
            return result
        st, res = self._hook("response", {"request": singleton, "body": result}, opts)
        if st == "ok" and isinstance(res, dict) and "body" in res:
            if res["body"] is result:  # the reply passed unchanged (p4@1.0): its status is in
                return result
            return self._embed_status("ok", res["body"])
        return self._embed_status(st, res)

    def _sign(self, result: dict[str, Any], codec: str) -> dict[str, Any]:
        """``maybe_sign``: commit with the node wallet when ``force_signed`` and unsigned; else
        an HMAC commitment (the message's ID) is attached. What the node signs here always
        covers ``status``: a reply, never a request (see :mod:`.authority`)."""
        if not isinstance(result, dict):
            return result
        body = {
            k: v for k, v in result.items() if not (isinstance(k, str) and k.startswith("priv"))
        }
        if self.node_msg.get("force_signed", True):
            if body.get("commitments") and _already_signed(body):
                return result
            if "status" not in result:
                result = {**result, "status": 200}
                body["status"] = 200
            if codec == "ans104@1.0":
                self.metrics.sig_ans104.inc()
                return commit(body, self.wallet, "ans104@1.0")
            self.metrics.sig_rsa.inc()
            return commit(result, self.wallet, "httpsig@1.0")
        if codec in ("ans104@1.0",) or body.get("commitments"):
            return body
        self.metrics.sig_hmac.inc()
        return _native.httpsig_reset_hmac(body)


def _already_signed(msg: dict[str, Any]) -> bool:
    """Whether ``msg`` (a result with commitments) is signed, so that the reply goes out as it
    is (``maybe_sign``: no second signature, no ``status`` added that would break it): a
    commitment the node's own ``commit`` made for exactly this content (the scheduler's
    assignment, ``commitments.made_here``: no RSA check of what was just signed), else any
    verified signer."""
    comms = msg.get("commitments")
    if isinstance(comms, dict) and any(made_here(msg, cid) for cid in comms):
        return True
    return bool(signers(msg))


__all__ = [
    "STORE_SCHEMES",
    "TEXT_PLAIN",
    "Node",
    "load_wallet",
    "open_store",
    "register_node_devices",
    "store_parts",
    "wallet_at",
]
