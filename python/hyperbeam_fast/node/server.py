"""The HyperBEAM-compatible HTTP node (spec runtime §7.1, §7.5): :class:`Node` (the
transport-free request pipeline of ``hb_http_server`` + ``dev_meta:handle``) and the ASGI app
served by uvicorn (:func:`serve`).

Every request: OPTIONS -> 204 with CORS; ``/`` -> 302 to ``default_req``; ``/metrics`` ->
Prometheus; ``/~cache@1.0/read?target=ID`` -> the stored message (what
:class:`~hyperbeam_fast.store.RemoteStore` reads); anything else -> singleton -> hooks ->
``resolve_many`` -> status -> signature (node wallet) -> ``accept-codec`` encoding.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from .. import _native, ao, cache
from ..ao import _is_id
from ..commitments import commit, signers
from ..exceptions import HyperbeamError, InvalidStorePath, NotFound, PathError, StoreError
from ..message import convert
from ..path import parse_path
from ..wallet import Wallet
from . import authority, logs
from .config import DEFAULTS, ConfigError, store_sync
from .http import (
    OPTIONS_HEADERS,
    TRANSPORT_REQUEST_HEADERS,
    BadRequest,
    accept_to_codec,
    encode_response,
    header_safe,
    lift_to_body,
    request_to_singleton,
    status_code,
)
from .metrics import Metrics

_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_STATUS_OF = {200: "ok", 201: "created", 400: "error", 404: "not_found", 500: "failure"}

# --- the inline fast path (see docs/node.md, "Where the time goes") ------------------------------
#: Devices whose keys (other than :data:`_HEAVY_KEYS`) are pure, in-memory and cheap: requests
#: that only touch these run on the event loop instead of hopping to the resolver pool.
_CHEAP_DEVICES = frozenset({"message@1.0", "meta@1.0"})
#: Keys that may cost an RSA operation (or more): never run inline.
_HEAVY_KEYS = frozenset({"commit", "verify"})
#: A message loaded by ID is resolved inline only if its values total at most this many bytes.
_INLINE_MAX_BYTES = 64 * 1024
#: Request paths whose (HMAC-committed) response is a pure function of the node message and the
#: request's non-transport headers: their encoded response is cached per node-message version.
_CACHEABLE_PATHS = frozenset({"/~meta@1.0/info"})
_RESPONSE_CACHE_MAX = 64
#: Request headers that always take the resolver pool (signature checks, other codecs).
_POOL_HEADERS = frozenset({b"signature", b"signature-input", b"codec-device"})
_TRANSPORT_B = frozenset(h.encode() for h in TRANSPORT_REQUEST_HEADERS)
#: Store group of the signatures of applied node-message updates (replay protection).
_APPLIED = "node-updates"


def _dev_name(v: Any) -> str | None:
    if isinstance(v, (str, bytes)):
        return _text(v).lower()
    return None


def _plain(value: Any, budget: int = _INLINE_MAX_BYTES) -> bool:
    """No sub-resolution markers or unknown objects, no ``device`` key (any case) naming other
    than a cheap device, and at most ``budget`` bytes of text/binary values, at any depth."""
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is dict:
            for k in v:
                if type(k) is str and len(k) == 6 and k.lower() == "device":
                    if _dev_name(v[k]) not in _CHEAP_DEVICES:
                        return False
            push(v.values())
        elif t is bytes or t is str:
            budget -= len(v)
            if budget < 0:
                return False
        elif t is list:
            push(v)
        elif t is int or t is float or t is bool or v is None:
            continue
        elif isinstance(v, (str, bytes)):  # Atom and other text subclasses
            budget -= len(v)
            if budget < 0:
                return False
        else:
            return False
    return True


def _is_local(store: Any) -> bool:
    stores = getattr(store, "stores", None)
    if stores is not None:
        return all(_is_local(s) for s in stores)
    return getattr(store, "scope", "remote") == "local"


class CachedResponse(tuple):
    """A cached ``(status, headers, body)``; ``head`` keeps its serialised header block."""

    head: bytes | None = None


def head_block(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """``headers`` as the ``name: value`` + CRLF lines uvicorn would write (validated with its
    own patterns), or None when a header needs uvicorn's handling (connection, framing)."""
    from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE

    parts: list[bytes] = []
    for name, value in headers:
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
            return None
        name = name.lower()
        if name in _FRAMING:
            return None
        parts += (name, b": ", value, b"\r\n")
    return b"".join(parts)


_FRAMING = frozenset({b"connection", b"transfer-encoding", b"content-length", b"keep-alive"})


class Deferred:
    """A request prepared on the event loop that is not cheap: the resolver pool finishes it
    (:meth:`Node.finish`)."""

    __slots__ = ("codec", "msgs", "req_headers", "singleton")

    def __init__(self, singleton: dict, codec: str, msgs: list, req_headers: dict) -> None:
        self.singleton = singleton
        self.codec = codec
        self.msgs = msgs
        self.req_headers = req_headers


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def register_node_devices() -> None:
    """Register meta@1.0, relay@1.0, router@1.0 and the process devices in the registry."""
    from ..devices import meta, relay, router

    for mod in (meta, relay, router):
        ao.register_device(mod.DEVICE.name, mod.DEVICE)
    from ..devices.process import register_process_devices

    register_process_devices()  # wasm-64, wasi, json-iface, scheduler, process, push (issue 7)


def load_wallet(path: str | os.PathLike[str], create: bool = True) -> Wallet:
    """The operator wallet at ``path``; a new one is generated and saved (mode 0600) if the
    file does not exist and ``create`` is true."""
    p = Path(path)
    if p.exists():
        return Wallet.from_file(p)
    if not create:
        raise ConfigError(f"key file {str(p)!r} does not exist")
    w = Wallet.generate()
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    w.save(p)
    return w


def open_store(spec: Any, sync: bool = False) -> Any:
    """A store from a spec: a Store object; ``"memory"``; ``"fs:DIR"``; ``"rocksdb:DIR"`` or a
    bare directory (RocksDB, the default); ``+http://peer`` suffixes chain remote stores.
    ``sync``: fsync every write of the local stores (``store_sync: always``)."""
    from ..store import FSStore, MemoryStore, RemoteStore, RocksDBStore, Store, StoreChain

    if isinstance(spec, Store):
        return spec
    text = _text(spec)
    parts = [p for p in text.split("+") if p]
    stores = []
    for part in parts:
        if part == "memory":
            stores.append(MemoryStore())
        elif part.startswith("fs:"):
            stores.append(FSStore(part[3:], sync=sync))
        elif part.startswith(("http://", "https://")):
            stores.append(RemoteStore(part))
        else:
            path = part[8:] if part.startswith("rocksdb:") else part
            stores.append(RocksDBStore(path, sync=sync))
    if not stores:
        raise ConfigError(f"bad store spec {text!r}")
    return stores[0] if len(stores) == 1 else StoreChain(stores)


class Node:
    """One node: its live node message, wallet, store, metrics and thread pool."""

    def __init__(self, opts: dict | None = None, wallet: Wallet | None = None, store: Any = None):
        register_node_devices()
        opts = dict(DEFAULTS if opts is None else opts)
        self.wallet = wallet if wallet is not None else Wallet.generate()
        self.address = self.wallet.address
        self.store = open_store(
            store if store is not None else opts.get("store", "memory"), store_sync(opts)
        )
        self.metrics = Metrics()
        self._lock = threading.Lock()
        self._version = 0
        self._local_store = _is_local(self.store)
        #: where node-level records (applied updates) go: the chain's first store
        self._local = getattr(self.store, "primary", self.store)
        opts.pop("store", None)
        opts.setdefault("operator", self.address)
        if opts.get("operator") in (None, ""):
            opts["operator"] = self.address
        opts["address"] = self.address
        opts["http_server"] = self.address
        opts.setdefault("cache_writers", [self.address])
        # twice the cores (at least 4): computes may hold at most half of them (wasm64.GATE),
        # so requests that do not compute always find a thread (docs/security.md §4)
        self.workers = int(opts.get("workers") or 0) or max(4, 2 * (os.cpu_count() or 2))
        self.pool = concurrent.futures.ThreadPoolExecutor(
            self.workers, thread_name_prefix="hb-resolve"
        )
        self.node_msg: dict = opts
        # the start hook (runtime §6): its result body is the node message
        from ..devices.hook import on

        st, res = on("start", {"body": self.node_msg}, self._opts())
        if st == "ok" and isinstance(res, dict) and isinstance(res.get("body"), dict):
            self.node_msg = {**res["body"], "address": self.address}

    # --- node message ---------------------------------------------------------------------------

    @property
    def node_msg(self) -> dict:
        """The live node message. Assigning it (never mutate it in place) bumps its version,
        which recomputes the resolution options and drops the cached responses."""
        return self._node_msg

    @node_msg.setter
    def node_msg(self, value: dict) -> None:
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
        self._response_cache: dict = {}
        self._version += 1

    def _opts(self) -> dict:
        """The options a resolution runs with: the live node message + private handles (a copy
        of the ones built when the node message last changed)."""
        return dict(self._base_opts)

    def _build_opts(self, nm: dict) -> dict:
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
        }
        # No "store" here: ao.resolve's result cache (cache_control [always]) would serve a
        # stale ~meta@1.0/info after an update (its hashpath does not change). force_message is
        # applied to the final result by _embed_status (ao's per-step force_message trips over
        # the shadowed ``set`` builtin in ao._force_message). Without a store, cache_control is
        # read by nothing (ao strips it from the options devices see), but its presence makes
        # ao copy the whole option dict on every step (ao._user_opts): leave it out too, and
        # put it back together with "store".
        out.pop("force_message", None)
        out.pop("cache_control", None)
        return out

    def public_info(self) -> dict:
        from ..devices.meta import public

        return {**public(self.node_msg), "address": self.address}

    def update_info(self, req: dict, opts: dict) -> tuple[str, Any]:
        """``POST /~meta@1.0/info`` (runtime §7.5): only the operator's signature changes the
        node message (over the request's ``path`` too with ``operator_signs_path``), only with
        the keys it covers, and only once: each applied update's signature is remembered in
        the store (a replayed or rolled back update is refused, across restarts too)."""
        from ..devices.meta import update_keys

        with self._lock:
            nm = self.node_msg
            strict = _text(nm.get("operator_signs_path", False)).lower() == "true"
            who = authority.operator_of({**opts, "operator": nm.get("operator")}, strict)
            if who is None:
                return authority.refused("Changing the node message", 400)
            if _text(nm.get("initialized")) == "permanent":
                return "error", {
                    "status": 400,
                    "body": "The node message of this machine is already permanent. "
                    "It cannot be changed.",
                }
            caller = authority.caller(opts)
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

    def add_route(self, route: dict) -> tuple[str, Any]:
        """``POST /~router@1.0/routes``: insert a route, sorted by ``priority``."""
        from ..devices.router import _routes

        def prio(r: dict) -> int:
            try:
                return int(_text(r.get("priority", 0)))
            except ValueError:
                return 0

        with self._lock:
            routes = sorted([*_routes(self.node_msg), route], key=prio)
            self.node_msg = {**self.node_msg, "routes": routes}
        return "ok", "Route added."

    # --- store ----------------------------------------------------------------------------------

    def _load(self, ident: Any) -> Any:
        try:
            msg = cache.read(_text(ident), self.store)
        except (NotFound, InvalidStorePath):
            self.metrics.cache_miss.inc()
            return None
        except StoreError:
            self.metrics.cache_error.inc()
            return None
        self.metrics.cache_hit.inc()
        return msg

    def cache_read(self, query: str) -> tuple[int, list, bytes]:
        """``GET /~cache@1.0/read?target=KEY``: the stored message or binary, unsigned and
        unchanged (what RemoteStore decodes)."""
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        target = (q.get("target") or [""])[0]
        if not target:
            return 400, list(_TEXT), b"~cache@1.0/read needs ?target=<ID or path>"
        try:
            got = cache.read(target, self.store)
        except NotFound:
            self.metrics.cache_miss.inc()
            return 404, list(_TEXT), b"not found"
        except (InvalidStorePath, ValueError) as e:
            return 400, list(_TEXT), f"bad target: {e}".encode()
        except StoreError:
            return 500, list(_TEXT), b"store error"
        self.metrics.cache_hit.inc()
        if isinstance(got, bytes):
            return 200, [(b"content-type", b"application/octet-stream")], got
        enc = lift_to_body(convert(got, "httpsig@1.0"))
        body = enc.pop("body", b"")
        return 200, [(k.encode(), v) for k, v in enc.items()], body

    def close(self) -> None:
        self.pool.shutdown(wait=True)
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
            if k in _POOL_HEADERS:
                return None
            if k not in _TRANSPORT_B:
                key.append((k, v))
        if raw_path in _CACHEABLE_PATHS:
            version = self._version
            ckey = (version, raw_path, tuple(key))
            hit = self._response_cache.get(ckey)
            if hit is not None:
                return hit
            out = self._handle(method, raw_path, headers, b"", True)
            if isinstance(out, tuple) and out[0] == 200 and version == self._version:
                out = CachedResponse(out)
                out.head = head_block(out[1])
                cache_ = self._response_cache
                if len(cache_) >= _RESPONSE_CACHE_MAX:
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
        req_headers = {k.decode("latin-1").lower(): v for k, v in headers}
        codec = "httpsig@1.0"
        try:
            try:
                singleton, signed = request_to_singleton(method, raw_path, headers, body)
            except BadRequest as e:
                if "signature" in str(e):
                    self.metrics.verifications.labels("invalid").inc()
                return e.status, list(_TEXT), str(e).encode()
            if signed:
                self.metrics.verifications.labels("valid").inc()
                if self.node_msg.get("store_all_signed", True):
                    try:
                        cache.write(singleton, self.store)
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
                cheap = self._cheap(msgs)
                if cheap is None:
                    return Deferred(singleton, codec, msgs, req_headers)
                msgs = cheap
        except Exception as e:  # noqa: BLE001 - a request never crashes the node
            return self._failed(e, raw_path, codec, req_headers)
        return self._respond(singleton, codec, msgs, req_headers)

    def _respond(
        self, singleton: dict, codec: str, msgs: Any, req_headers: dict
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            status, result = self._resolve(singleton, msgs)
            result = self._embed_status(status, result)
            result = self._response_hook(singleton, result)
            result = self._sign(result, codec)
            return encode_response(result, codec, req_headers)
        except Exception as e:  # noqa: BLE001 - a request never crashes the node
            return self._failed(e, _text(singleton.get("path", "")), codec, req_headers)

    def _failed(
        self, e: Exception, raw_path: str, codec: str, req_headers: dict
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        logs.LOGGER.error("request failed", exc_info=e, extra={"fields": {"path": raw_path}})
        text = f"{type(e).__name__}: {e}"
        try:
            res = self._sign({"status": 500, "body": text}, codec)
            return encode_response(res, codec, req_headers)
        except Exception:  # noqa: BLE001
            return 500, list(_TEXT), text.encode("utf-8", "replace")

    def _cheap(self, msgs: list) -> list | None:
        """``msgs`` (with a leading ID loaded from the local store) when resolving them is
        cheap enough for the event loop: only message@1.0/meta@1.0, no sub-resolutions, no
        RSA keys, small loaded messages. None otherwise."""
        if not msgs:
            return None
        first = msgs[0]
        if _is_id(first):
            try:
                loaded = cache.read(_text(first), self.store)
            except (NotFound, InvalidStorePath, StoreError):
                return None  # the pool's resolution loads it again and reports the miss
            if not isinstance(loaded, dict) or not _plain(loaded):
                return None
            self.metrics.cache_hit.inc()
            msgs = [loaded, *msgs[1:]]
        elif isinstance(first, ao.As):
            if _dev_name(first.device) not in _CHEAP_DEVICES or not isinstance(first.msg, dict):
                return None
            if not _plain(first.msg):
                return None
        elif not isinstance(first, dict) or not _plain(first):
            return None
        for step in msgs[1:]:
            if not isinstance(step, dict) or not _plain(step):
                return None
            p = step.get("path")
            if not isinstance(p, str) or "/" in p or p.lower() in _HEAVY_KEYS:
                return None
        return msgs

    def _resolve(self, singleton: dict, msgs: Any = None) -> tuple[str, Any]:
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
        opts = self._opts()
        # who sent it, computed once for the devices (never taken from the node message)
        signed = bool(singleton.get("commitments"))
        opts[authority.CALLER] = authority.Caller.of(singleton) if signed else authority.ANONYMOUS
        if opts.get("on"):
            from ..devices.hook import on

            st, res = on("request", {"request": singleton, "body": msgs}, opts)
            if st != "ok":
                return st, res
            if isinstance(res, dict) and "body" in res:
                msgs = res["body"]
        steps_before = 0
        try:
            st, res = ao.resolve_many(msgs, opts)
        except HyperbeamError as e:
            text = str(e)
            if "necessary_message_not_found" in text:
                return "error", {
                    "status": 404,
                    "body": f"Message necessary to resolve request not found: {text}",
                }
            return "failure", {"status": 500, "body": f"{type(e).__name__}: {text}"}
        finally:
            self.metrics.steps.inc(max(0, getattr(ao._ctx, "steps", 0) - steps_before))
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
            if st == "ok" and res.get("commitments") and signers(res):
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

    def _response_hook(self, singleton: dict, result: Any) -> Any:
        if not (self.node_msg.get("on") or {}).get("response"):
            return result
        from ..devices.hook import on

        st, res = on("response", {"request": singleton, "body": result}, self._opts())
        if st == "ok" and isinstance(res, dict) and "body" in res:
            return self._embed_status("ok", res["body"])
        return self._embed_status(st, res)

    def _sign(self, result: dict, codec: str) -> dict:
        """``maybe_sign``: commit with the node wallet when ``force_signed`` and unsigned; else
        an HMAC commitment (the message's ID) is attached. What the node signs here always
        covers ``status``: a reply, never a request (see :mod:`.authority`)."""
        if not isinstance(result, dict):
            return result
        body = {
            k: v for k, v in result.items() if not (isinstance(k, str) and k.startswith("priv"))
        }
        if self.node_msg.get("force_signed", True):
            if body.get("commitments") and signers(body):
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


# --- ASGI -----------------------------------------------------------------------------------------


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

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        rid = logs.new_request_id()
        logs.request_id.set(rid)
        t0 = logs.now()
        m = self.node.metrics
        m.in_flight.inc()
        method = scope["method"]
        status = 500
        try:
            status = await self._http(scope, receive, send)
        finally:
            self.trim.after(scope)
            dt = logs.now() - t0
            m.in_flight.dec()
            m.request_done(method, status, dt)
            if self.log_requests:
                logs.request_line(rid, method, scope.get("path", ""), status, dt)

    async def _reply(
        self,
        send: Any,
        status: int,
        headers: list,
        body: bytes,
        raw: bool = False,
        head: bytes | None = None,
    ) -> int:
        clen = (b"content-length", b"%d" % len(body))
        if raw:  # our protocol: head + body in one write (one syscall), see _protocol_class
            if head is None:
                head = head_block(headers)
            if head is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [],
                        "hb.raw": (head + b"content-length: " + clen[1] + b"\r\n", body),
                    }
                )
                return status
        if not all(header_safe(v, k) for k, v in headers):  # never a reply without a status line
            status, headers = 500, _TEXT
            body = b"the reply has a header field that HTTP/1.1 cannot carry"
            clen = (b"content-length", b"%d" % len(body))
        await send({"type": "http.response.start", "status": status, "headers": [*headers, clen]})
        await send({"type": "http.response.body", "body": body})
        return status

    async def _http(self, scope: dict, receive: Any, send: Any) -> int:
        method = scope["method"]
        path = scope.get("path", "/")
        qs = scope.get("query_string", b"")
        query = qs.decode("latin-1") if qs else ""
        if method == "OPTIONS":
            return await self._reply(send, 204, OPTIONS_HEADERS, b"")
        if path == "/" and not query:
            loc = _text(self.node.node_msg.get("default_req", "/~meta@1.0/info")).encode()
            return await self._reply(send, 302, [(b"location", loc)], b"")
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
                    return await self._reply(send, 400, _TEXT, b"bad content-length")
            elif k == b"transfer-encoding":
                chunked = True
        if clen is not None and clen > self.max_body:
            return await self._reply(
                send, 413, _TEXT, f"request body over {self.max_body} bytes".encode()
            )
        if not clen and not chunked:
            body = b""  # HTTP/1.1: no content-length and no transfer-encoding = no body
        else:
            try:
                body = await asyncio.wait_for(self._body(receive), self.body_timeout)
            except TimeoutError:
                return await self._reply(send, 408, _TEXT, b"request body not received in time")
            except _TooLarge:
                return await self._reply(
                    send, 413, _TEXT, f"request body over {self.max_body} bytes".encode()
                )
            except _Disconnected:
                return 499
        scope["hb.body_size"] = len(body)
        keys = len(headers) + (_part_count(body) if multipart else 0)
        if keys > self.max_keys:
            return await self._reply(
                send,
                413,
                _TEXT,
                b"request has %d fields and parts, over max_message_keys (%d)"
                % (keys, self.max_keys),
            )
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1")
        if query:
            raw_path += "?" + query
        raw = "hb.raw" in scope
        node = self.node
        loop = asyncio.get_running_loop()
        if path == "/~cache@1.0/read" and method == "GET":
            fut = loop.run_in_executor(node.pool, node.cache_read, query)
        else:
            out = node.handle_inline(method, raw_path, headers) if not body else None
            if isinstance(out, tuple):  # answered on the event loop: no thread hop
                st, hdrs, res = out
                return await self._reply(send, st, hdrs, res, raw, getattr(out, "head", None))
            if out is not None:
                fut = loop.run_in_executor(node.pool, node.finish, out)
            elif len(body) >= _HeapTrim.BIG:  # the pool thread's allocator heap, see _HeapTrim
                fut = loop.run_in_executor(
                    node.pool, _then_release, node.handle, method, raw_path, headers, body
                )
            else:
                fut = loop.run_in_executor(node.pool, node.handle, method, raw_path, headers, body)
        try:
            st, hdrs, res = await asyncio.wait_for(fut, self.resolve_timeout)
        except TimeoutError:
            return await self._reply(send, 504, _TEXT, b"resolution timed out")
        return await self._reply(send, st, hdrs, res, raw)

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
                logs.log(logging.INFO, "node started", address=self.node.address)
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.node.close)
                logs.log(logging.INFO, "node stopped; store closed")
                await send({"type": "lifespan.shutdown.complete"})
                return


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

    def after(self, scope: dict) -> None:
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


def _part_count(body: bytes) -> int:
    """An upper bound on the parts of a multipart body, nested ones included: each part names
    itself in a ``content-disposition`` field (RFC 7578 §4.2; HyperBEAM requires it)."""
    return body.lower().count(b"content-disposition:")


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def _cycle_class() -> type:
    """uvicorn's request/response cycle plus one extension: an ``http.response.start`` message
    with ``"hb.raw": (header block, body)`` writes the whole response at once (one syscall
    instead of two; a cached response's headers validated once, see :func:`head_block`), then
    completes the cycle exactly as uvicorn's ``send`` does for a body message."""
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

    class Cycle(RequestResponseCycle):
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
                    await super().send({**message, "headers": hdrs})
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


class ConnectionGuard:
    """Which connections the server keeps open (issue 11: 1,100 idle sockets locked everyone
    out). At most ``max_total`` connections, ``max_per_ip`` from one client address; a new
    connection over a cap closes the oldest one that is not running a request (those that never
    finished sending one first, then idle keep-alive ones), of the same address when that
    address is at its cap. Only when every connection is running a request is the newcomer
    refused (503). Idle and slow sockets therefore cost their owner their oldest sockets, never
    another client its turn; the head deadline (from accept) closes the rest."""

    def __init__(self, max_total: int, max_per_ip: int) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.per_ip: dict[str, int] = {}
        # evictable connections, oldest first (dicts keep insertion order)
        self.incomplete: dict[Any, None] = {}  # a request not (yet) fully received
        self.idle: dict[Any, None] = {}  # keep-alive, between requests
        self.ip: dict[Any, str] = {}

    def admit(self, conn: Any, ip: str) -> bool:
        """Register a new connection, evicting one if at a cap; False: refuse it."""
        if self.per_ip.get(ip, 0) >= self.max_per_ip:
            if not self._evict(ip):
                return False
        elif len(self.ip) >= self.max_total and not self._evict(None):
            return False
        self.ip[conn] = ip
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        self.incomplete[conn] = None
        return True

    def receiving(self, conn: Any) -> None:
        """``conn`` started a request (its head or body is on the way)."""
        if conn in self.ip and conn not in self.incomplete:
            self.idle.pop(conn, None)
            self.incomplete[conn] = None

    def busy(self, conn: Any) -> None:
        """``conn``'s request is complete and running: never evicted."""
        self.incomplete.pop(conn, None)
        self.idle.pop(conn, None)

    def done(self, conn: Any) -> None:
        """``conn`` answered its request and waits (keep-alive) for the next."""
        if conn in self.ip:
            self.incomplete.pop(conn, None)
            self.idle[conn] = None

    def lost(self, conn: Any) -> None:
        ip = self.ip.pop(conn, None)
        if ip is None:
            return
        self.incomplete.pop(conn, None)
        self.idle.pop(conn, None)
        left = self.per_ip[ip] - 1
        if left:
            self.per_ip[ip] = left
        else:
            del self.per_ip[ip]

    def _evict(self, ip: str | None) -> bool:
        for group in (self.incomplete, self.idle):
            for conn in group:
                if ip is None or self.ip[conn] == ip:
                    self.lost(conn)
                    conn.evict()
                    return True
        return False


def _protocol_class(max_header: int, header_timeout: float, guard: ConnectionGuard) -> type:
    """uvicorn's httptools protocol with: admission by ``guard`` (:class:`ConnectionGuard`);
    a deadline for each request head, from accept (and from the first byte of each later
    request on a kept-alive connection), after which the connection is closed (408); a
    request-head size limit (431); single-write responses (:func:`_cycle_class`)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

    cycle_class = _cycle_class()

    class Protocol(HttpToolsProtocol):
        _head_bytes = 0
        _head_done = True
        _head_timer: Any = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            ip = self.client[0] if self.client else ""
            if not guard.admit(self, str(ip)):
                _write_close(transport, 503, b"too many connections")
                return
            self._arm()

        def evict(self) -> None:
            """Closed by the guard to make room (it was idle or incomplete)."""
            self._disarm()
            if not self.transport.is_closing():
                self.transport.abort()

        def _arm(self) -> None:
            self._head_done = False
            self._head_bytes = 0
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(header_timeout, self._head_timeout)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self) -> None:
            self._head_timer = None
            if not self._head_done and not self.transport.is_closing():
                guard.lost(self)
                _write_close(self.transport, 408, b"request head not received in time")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_done:  # a later request on a kept-alive connection
                self._arm()
                if self.cycle is None or self.cycle.response_complete:  # not pipelined
                    guard.receiving(self)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self._head_done:
                self._head_bytes += len(data)
                if self._head_bytes > max_header and not self.transport.is_closing():
                    self._disarm()
                    self._too_large()

        def on_headers_complete(self) -> None:
            self._head_done = True
            self._disarm()
            size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
            if size > max_header:
                self._too_large()
                return
            super().on_headers_complete()
            cycle = self.cycle
            if type(cycle) is RequestResponseCycle:
                cycle.__class__ = cycle_class
                cycle.scope["hb.raw"] = True

        def on_message_complete(self) -> None:
            super().on_message_complete()
            if self.cycle is not None and not self.cycle.response_complete:
                guard.busy(self)

        def on_response_complete(self) -> None:
            guard.done(self)
            super().on_response_complete()

        def _too_large(self) -> None:
            if not self.transport.is_closing():
                _write_close(self.transport, 431, b"request head is too large")

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            guard.lost(self)
            super().connection_lost(exc)

    return Protocol


_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


def _write_close(transport: Any, status: int, msg: bytes) -> None:
    """A complete plain-text response, then close (for answers outside any request cycle)."""
    transport.write(
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\nconnection: close\r\n"
        b"content-length: %d\r\n\r\n%s" % (status, _REASONS[status], len(msg), msg)
    )
    transport.close()


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
    node = build_node(opts, wallet)
    app = App(node)
    max_conns = _raise_fd_limit(int(opts.get("max_connections", DEFAULTS["max_connections"])))
    guard = ConnectionGuard(
        max_conns,
        int(opts.get("max_connections_per_ip", DEFAULTS["max_connections_per_ip"])),
    )
    protocol = _protocol_class(
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

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # a graceful stop is a normal exit (status 0): do not re-raise the signal
            self._captured_signals.clear()

    server = _Server(config)
    logs.log(
        logging.INFO,
        "listening",
        url=f"http://{host}:{int(opts['port'])}",
        address=node.address,
        store=repr(node.store),
    )
    try:
        server.run()
    finally:
        if not node.pool._shutdown:  # lifespan did not run (startup failure)
            node.close()


def _has(mod: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(mod) is not None


__all__ = [
    "App",
    "Node",
    "build_node",
    "load_wallet",
    "open_store",
    "register_node_devices",
    "serve",
]
