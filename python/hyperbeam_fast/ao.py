"""AO-Core resolution (spec runtime §2): ``resolve``, ``resolve_many``, ``get``, ``set``, ...

``resolve(base, request, opts)`` applies ``request`` to ``base`` through the device that
``base`` names in its ``device`` key (``message@1.0`` when absent) and returns
``(status, value)``. Statuses are plain strings: ``"ok"``, ``"error"``, ``"skip"``, ``"pass"``,
``"created"``, ``"failure"``, ``"not_found"``, ``"unavailable"``. A missing key is
``("error", NOT_FOUND)`` exactly as HyperBEAM's ``{error, not_found}``.

The pipeline for one (base, request) pair (runtime §2.4): normalisation (``As`` device switches,
``Resolve`` sub-resolutions, lists to numbered maps, top-level key normalisation), validation,
device lookup (``handler`` > named function > ``default`` > ``message@1.0``, honouring
``exports``/``excludes``), execution with arity truncation, the ``step`` hook, sub-resolution of
``Resolve`` results, and the hashpath update (``hashpath`` option ``update``/``reset``/``ignore``).
A multi-part path is a chain: each step's result is the next step's base.

Options (``opts``, a ``dict``; every key optional):

* ``hashpath``: ``"update"`` (default), ``"reset"`` or ``"ignore"``;
* ``store``: a :mod:`hyperbeam_fast.store` store; with it, ``cache_control`` directives (runtime
  §2.9: ``always``, ``no-cache``, ``no-store``, ``only-if-cached``, ...) decide whether results are
  looked up before execution (stage 2) and written after it (stage 10);
* ``error_strategy``: ``"throw"`` (default: a device exception is re-raised as
  :class:`~hyperbeam_fast.exceptions.DeviceError`, a ``HyperbeamError`` passes through) or
  anything else (the exception becomes an ``("error", {...})`` status);
* ``max_depth`` (default 64): nested resolutions (devices resolving inside devices, sub-paths);
  deeper is ``("error", {"status": 508, ...})``, never a stack overflow;
* ``max_steps`` (default 100000): resolution steps per top-level call (or per unit of work run
  under :func:`step_budget`, e.g. one process slot); more is an error status, so a device loop
  (``pass`` forever, a self-referencing path) cannot hang;
* ``preloaded_devices``: a ``{name: device}`` mapping replacing the global registry (an operator
  restricts or extends the devices a node can load); ``force_message``; ``on`` (hooks, §6);
  ``loader``: ``callable(id) -> message | None`` used where a message must be read by ID (the
  cache of issue 5 plugs in here).

Not implemented here (issue 5/6): the result cache (stages 2 and 10), in-flight grouping and
persistent workers (stages 4, 11, 12; the recursion guard is the depth/step limit instead).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import _native
from .atom import Atom
from .exceptions import (
    CodecError,
    DeviceError,
    DeviceNotFound,
    HashPathError,
    HyperbeamError,
    ResolveError,
)
from .hashpath import _base as _hashpath_base
from .hashpath import _first_path_part, _text, alg_of

__all__ = [
    "As",
    "Device",
    "NOT_FOUND",
    "Resolve",
    "STATUSES",
    "UNDEFINED",
    "UNSET",
    "device_info",
    "get",
    "keys",
    "load_device",
    "normalize_key",
    "normalize_keys",
    "path_parts",
    "register_device",
    "registered_devices",
    "remove",
    "resolve",
    "resolve_many",
    "set",
    "step_budget",
    "unregister_device",
]

OK = "ok"
ERROR = "error"
SKIP = "skip"
PASS = "pass"
STATUSES = frozenset(
    {"ok", "error", "skip", "pass", "created", "failure", "not_found", "unavailable"}
)

NOT_FOUND = Atom("not_found")
UNSET = Atom("unset")
UNDEFINED = Atom("undefined")

MAX_DEPTH = 64
MAX_STEPS = 100_000

_EMPTY: dict = {}
_ID_LENGTHS = (32, 42, 43)
_AO_CORE_KEYS = ("path", "hashpath", "priv")
#: options never passed on to device functions (runtime §2.1 TEMP_OPTS)
_TEMP_OPTS = ("add_key", "force_message", "cache_control", "spawn_worker", "trace")


# --- sub-resolution markers ---------------------------------------------------------------------


@dataclass(slots=True)
class As:
    """HyperBEAM's ``{as, Device, Msg}``: ``msg`` (a message, path or ID) as ``device``."""

    device: Any
    msg: Any


@dataclass(slots=True)
class Resolve:
    """HyperBEAM's ``{resolve, Messages}``: a value that is the result of resolving a list."""

    messages: list


def _marker(x: Any) -> Any:
    """``As``/``Resolve`` for a marker, accepting the Erlang-shaped tuples of the vectors."""
    if isinstance(x, (As, Resolve)):
        return x
    if type(x) is tuple:
        if len(x) == 3 and x[0] == "as":
            return As(x[1], x[2])
        if len(x) == 2 and x[0] == "resolve":
            return Resolve(list(x[1]))
    return None


# --- keys and paths (runtime §1, §2.2) ------------------------------------------------------------


def normalize_key(key: Any) -> str:
    """``hb_ao:normalize_key``: IDs keep their case, other text is lower-cased (ASCII)."""
    if type(key) is str:
        if len(key) in _ID_LENGTHS and len(key.encode()) in _ID_LENGTHS:
            return key
        return key.lower() if key.isascii() else _ascii_lower(key)
    if isinstance(key, Atom):
        return str(key)
    if isinstance(key, str):
        return normalize_key(str(key))
    if isinstance(key, (bytes, bytearray)):
        raw = bytes(key)
        if len(raw) in _ID_LENGTHS:
            return raw.decode("utf-8", "surrogateescape")
        return normalize_key(raw.decode("utf-8", "surrogateescape"))
    if isinstance(key, bool) or key is None:
        return "true" if key is True else "false" if key is False else "null"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, (list, tuple)):
        if key and all(isinstance(c, int) and not isinstance(c, bool) for c in key):
            try:
                return normalize_key(bytes(key))
            except ValueError:
                pass
        return "/".join(normalize_key(p) for p in key)
    raise ResolveError(f"cannot use a {type(key).__name__} as a key")


def _ascii_lower(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def normalize_keys(msg: Any) -> Any:
    """``hb_ao:normalize_keys``: top-level keys normalised; a list becomes a numbered map."""
    if type(msg) is list:
        return {str(i): v for i, v in enumerate(msg, 1)}
    if type(msg) is dict:
        try:
            joined = "".join(msg)
        except TypeError:
            joined = None
        if joined is not None and joined.isascii() and joined == joined.lower():
            return msg
        return {normalize_key(k): v for k, v in msg.items()}
    if isinstance(msg, dict):
        return {normalize_key(k): v for k, v in msg.items()}
    return msg


def path_parts(path: Any) -> list[Any] | None:
    """``hb_path:term_to_path_parts``: ``None`` for an empty path, ``[]`` for ``"/"``."""
    if path is None or path == "" or path == b"" or path == []:
        return None
    if isinstance(path, (bytes, bytearray)):
        path = bytes(path).decode("utf-8", "surrogateescape")
    if isinstance(path, Atom):
        return [str(path)]
    if isinstance(path, str):
        if "/" not in path:
            return [path]
        return [p for p in path.split("/") if p]
    if isinstance(path, bool):
        return [normalize_key(path)]
    if isinstance(path, int):
        return [str(path)]
    m = _marker(path)
    if isinstance(m, As):
        return [As(normalize_key(m.device) if not callable(m.device) else m.device, m.msg)]
    if isinstance(m, Resolve):
        return [m]
    if isinstance(path, (list, tuple)):
        if path and all(isinstance(c, int) and not isinstance(c, bool) for c in path):
            return [normalize_key(path)]
        out: list[Any] = []
        for p in path:
            sub = path_parts(p)
            if sub:
                out.extend(sub)
        return out
    if isinstance(path, dict):
        return path_parts(_ci_get(path, "path"))
    raise ResolveError(f"a path cannot be a {type(path).__name__}")


def _ci_get(msg: Mapping, key: str, default: Any = None) -> Any:
    """Exact key, else the first key equal to ``key`` after normalisation."""
    if key in msg:
        return msg[key]
    for k, v in msg.items():
        try:
            if normalize_key(k) == key:
                return v
        except HyperbeamError:
            continue
    return default


def _is_id(x: Any) -> bool:
    if isinstance(x, str) and not isinstance(x, Atom):
        return len(x) == 43 and _B64URL.issuperset(x)
    if isinstance(x, bytes):
        return len(x) == 43 and _B64URL.issuperset(x.decode("latin-1"))
    return False


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _is_private(key: str) -> bool:
    return key.startswith("priv")


# --- errors and limits ----------------------------------------------------------------------------


def _err(status: int, body: str, **extra: Any) -> tuple[str, dict]:
    return ERROR, {"status": status, "body": body, **extra}


class _Ctx(threading.local):
    depth = 0
    steps = 0


_ctx = _Ctx()


def _limit_error(what: str) -> tuple[str, dict]:
    return _err(508, f"Request creates infinite recursion ({what} limit reached).")


class step_budget:  # noqa: N801 - used as a context manager, like a function
    """``with step_budget():`` runs its resolutions on a fresh ``max_steps`` count and then gives
    the caller back its own: for a loop over independent units of work whose number is bounded
    elsewhere (process@1.0 computing N scheduled slots, runtime §12.3). Each unit keeps the
    runaway protection; the loop is bounded by its own length."""

    __slots__ = ("_saved",)

    def __enter__(self) -> None:
        self._saved = _ctx.steps
        _ctx.steps = 0

    def __exit__(self, *_: object) -> None:
        _ctx.steps = self._saved


# --- the device framework (runtime §2.5) ---------------------------------------------------


class Device:
    """Base class for devices written in Python (subclassing is optional: any object works).

    A key ``K`` is handled by the method named ``K`` with ``-`` replaced by ``_`` (a trailing
    ``_`` is also tried, for Python keywords: ``pass_``); it takes up to three positional
    arguments ``(base, request, opts)`` and gets as many as it declares. It returns
    ``(status, value)`` or just a value (meaning ``("ok", value)``). ``info`` (a dict, or a
    method taking ``(msg)`` or nothing) may give ``handler``, ``default``, ``exports`` and
    ``excludes`` exactly as in HyperBEAM. Methods whose names start with ``_`` are never exposed.
    """

    name: str = ""


class _DevSpec:
    """What the resolver needs to know about a device object, computed once."""

    __slots__ = ("dev", "is_map", "static_info", "info_fn", "funs", "is_message")

    def __init__(self, dev: Any) -> None:
        self.dev = dev
        self.is_map = isinstance(dev, Mapping)
        self.funs: dict[str, tuple[Callable | None, int]] = {}
        self.is_message = dev is _MESSAGE_DEVICE
        info = _map_find(dev, "info") if self.is_map else getattr(dev, "info", None)
        if info is None or isinstance(info, Mapping):
            self.static_info = dict(info) if info is not None else {}
            self.info_fn = None
        elif callable(info):
            self.static_info = None
            self.info_fn = info
        else:
            raise ResolveError(f"device info must be a mapping or a function, got {info!r}")

    def info(self, msg: Any, opts: dict) -> dict:
        if self.info_fn is None:
            return self.static_info  # type: ignore[return-value]
        out = _call(self.info_fn, (msg, opts))
        if isinstance(out, tuple) and len(out) == 2 and out[0] == OK:
            out = out[1]
        if not isinstance(out, Mapping):
            raise ResolveError(f"device info returned {type(out).__name__}, not a mapping")
        return dict(out)

    def function(self, key: str) -> Callable | None:
        hit = self.funs.get(key)
        if hit is not None:
            return hit[0]
        fn: Callable | None
        if self.is_map:
            fn = _map_find(self.dev, key)
            if key == "info" and isinstance(fn, Mapping):
                fn = _constant(fn)
            if not callable(fn):
                fn = None
        else:
            fn = None
            name = key.replace("-", "_")
            if name.isidentifier() and not name.startswith("_") and name != "name":
                for cand in (name, name + "_"):
                    attr = getattr(self.dev, cand, None)
                    if attr is None:
                        continue
                    if cand == "info" and isinstance(attr, Mapping):
                        fn = _constant(attr)
                    elif callable(attr):
                        fn = attr
                    break
        self.funs[key] = (fn, 0)
        return fn


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _map_find(dev: Mapping, key: str) -> Any:
    if key in dev:
        return dev[key]
    for k, v in dev.items():
        if isinstance(k, (str, bytes)) and normalize_key(k) == key:
            return v
    return None


_ARITY: dict[Any, int] = {}


def _arity(fn: Callable) -> int:
    """Positional parameters ``fn`` accepts (a ``*args`` counts as 4)."""
    key = getattr(fn, "__func__", fn)
    try:
        return _ARITY[key]
    except (KeyError, TypeError):
        pass
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        n = 4
    else:
        n = 0
        for p in sig.parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                n = 4
                break
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                n += 1
    try:
        _ARITY[key] = n
    except TypeError:
        pass
    return n


def _call(fn: Callable, args: tuple) -> Any:
    n = _arity(fn)
    return fn(*args[:n]) if n < len(args) else fn(*args)


_REGISTRY: dict[str, Any] = {}
_SPECS: dict[int, _DevSpec] = {}


def register_device(name: str, device: Any) -> None:
    """Add (or replace) a preloaded device under ``name`` (case-insensitive, e.g. ``x@1.0``)."""
    if not isinstance(name, str) or not name:
        raise ResolveError("a device name must be a non-empty string")
    _REGISTRY[name.lower()] = device


def unregister_device(name: str) -> None:
    """Remove a preloaded device (an operator restricting the node)."""
    _REGISTRY.pop(name.lower(), None)


def registered_devices() -> dict[str, Any]:
    """A copy of the registry: ``{name: device}``."""
    return dict(_REGISTRY)


def _spec(dev: Any) -> _DevSpec:
    if isinstance(dev, Mapping):
        return _DevSpec(dev)  # inline devices are mutable: never cached
    key = id(dev)
    spec = _SPECS.get(key)
    if spec is None or spec.dev is not dev:
        spec = _DevSpec(dev)
        if len(_SPECS) > 4096:
            _SPECS.clear()
        _SPECS[key] = spec
    return spec


def load_device(value: Any, opts: dict | None = None) -> Any:
    """``hb_ao:load_device``: a device object from a ``device`` key's value (runtime §2.5)."""
    opts = opts or _EMPTY
    if isinstance(value, Mapping) or (not isinstance(value, (str, bytes)) and value is not None):
        if isinstance(value, (int, float, list, tuple)):
            raise DeviceNotFound(f"device_not_loadable: a {type(value).__name__} is not a device")
        return value
    if value is None:
        raise DeviceNotFound("device_not_loadable: null")
    name = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    registry = opts.get("preloaded_devices")
    if registry is None:
        registry = _REGISTRY
    dev = registry.get(name.lower())
    if dev is None and registry is not _REGISTRY:
        dev = registry.get(name)
    if dev is not None:
        return dev
    if _is_id(name):
        raise DeviceNotFound(
            f"device_not_loadable: {name} (remote devices are disabled: load_remote_devices)"
        )
    raise DeviceNotFound(f"device_not_loadable: {name!r} is not a preloaded device")


def _message_to_device(msg: dict, opts: dict) -> Any:
    dev = msg.get("device")
    if dev is None:
        dev = _ci_get(msg, "device") if "device" not in msg else None
        if dev is None:
            return _MESSAGE_DEVICE
    return load_device(dev, opts)


def device_info(msg: Any, opts: dict | None = None) -> dict:
    """``hb_ao:info``: the info map of ``msg``'s device."""
    opts = opts or _EMPTY
    if not isinstance(msg, dict):
        return {}
    return _spec(_message_to_device(msg, opts)).info(msg, opts)


def _norm_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, Mapping):
        v = list(v.values())
    if isinstance(v, (str, bytes)):
        v = [v]
    return [normalize_key(k) for k in v]


def _is_exported(info: dict, key: str) -> bool:
    if key == "info":
        return True
    if "excludes" in info and key in _norm_list(info["excludes"]):
        return False
    if "exports" in info:
        return key in _norm_list(info["exports"])
    return True


def _message_to_fun(msg: dict, key: str, opts: dict, dev: Any = None) -> tuple[Callable, bool]:
    """``hb_ao:message_to_fun``: ``(function, add_key)`` for ``key`` on ``msg``'s device."""
    for _ in range(32):  # a chain of fallback devices, bounded
        if dev is None:
            dev = _message_to_device(msg, opts)
        spec = _spec(dev)
        info = spec.info(msg, opts)
        exported = _is_exported(info, key)
        handler = info.get("handler")
        if handler is not None and exported:
            if isinstance(handler, Mapping):  # legacy {func, excludes}
                handler = handler.get("func")
            if callable(handler):
                return handler, True
        if exported:
            fn = spec.function(key)
            if fn is not None:
                return fn, False
            default = info.get("default")
            if default is not None:
                if callable(default) and not isinstance(default, (Device, Mapping)):
                    return default, True
                dev = load_device(default, opts)
                continue
        if spec.is_message:
            raise ResolveError(f"default_device_could_not_resolve_key: {key!r}")
        dev = _MESSAGE_DEVICE
    raise ResolveError("device fallback chain too long")


# --- resolution ----------------------------------------------------------------------------------


def _user_opts(opts: dict) -> dict:
    if opts is _EMPTY or not any(k in opts for k in _TEMP_OPTS):
        return opts
    return {k: v for k, v in opts.items() if k not in _TEMP_OPTS}


def _internal(opts: dict) -> dict:
    """``hb_ao`` internal opts: hashpath ignored (set/remove/keys and device plumbing)."""
    if opts.get("hashpath") == "ignore" and "force_message" not in opts:
        return opts
    out = {k: v for k, v in opts.items() if k != "force_message"}
    out["hashpath"] = "ignore"
    return out


def _norm_result(res: Any) -> tuple[str, Any]:
    if type(res) is tuple and len(res) == 2 and isinstance(res[0], str):
        st = res[0]
        return (st if type(st) is str else str(st)), res[1]
    return OK, res


def _force_message(status: str, value: Any) -> Any:
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value, 1)}
    if isinstance(value, Resolve):
        return value
    if not isinstance(value, dict):
        return {"ao-result": "body", "body": value}
    if value.keys() == {"status", "body"} and _text_or_none(value["status"]) == status:
        return {**value, "ao-result": "body"}
    return value


def _text_or_none(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def _hashable(value: Any) -> Any:
    """Replace what cannot be hashed (functions, device objects) by a stable name."""
    if isinstance(value, dict):
        return {k: _hashable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hashable(v) for v in value]
    if isinstance(value, (bytes, str, int, float, bool)) or value is None:
        return value
    mod = getattr(value, "__module__", None) or type(value).__module__
    name = getattr(value, "__qualname__", None) or type(value).__qualname__
    return f"{mod}.{name}"


def _hashpath(msg1: dict, msg2: Any) -> str:
    """``hb_path:hashpath(Msg1, Msg2)`` for a resolved pair (runtime §2.11)."""
    try:
        base = _hashpath_base(msg1)
    except (CodecError, TypeError, ValueError) as exc:
        try:
            base = _hashpath_base(_hashable(msg1))
        except RecursionError:
            raise HashPathError(f"cannot compute the hashpath: {exc}") from exc
    part: bytes | None = None
    if isinstance(msg2, dict):
        path = msg2.get("path")
        if path is not None and all(k in _AO_CORE_KEYS for k in msg2):
            try:
                part = _first_path_part(path)
            except HashPathError:
                part = None
        if part is None:
            from .message import id as message_id

            try:
                part = message_id(msg2, "uncommitted").encode()
            except (CodecError, TypeError, ValueError):
                part = message_id(_hashable(msg2), "uncommitted").encode()
    else:
        part = _text(msg2)
    return _native.hashpath_combine(base, part, alg_of(msg1))


def _with_hashpath(value: dict, hp: str) -> dict:
    priv = value.get("priv")
    new_priv = {**priv, "hashpath": hp} if isinstance(priv, dict) else {"hashpath": hp}
    out = dict(value)
    out["priv"] = new_priv
    return out


def _without_hashpath(value: dict) -> dict:
    priv = value.get("priv")
    if isinstance(priv, dict) and "hashpath" in priv:
        out = dict(value)
        out["priv"] = {k: v for k, v in priv.items() if k != "hashpath"}
        return out
    return value


def _apply_hashpath(status: str, value: Any, msg1: dict, msg2: dict, opts: dict) -> Any:
    if type(value) is not dict:
        return value
    if status != OK:
        return _without_hashpath(value)
    mode = opts.get("hashpath", "update")
    if mode == "ignore":
        return value
    if mode == "reset":
        return _without_hashpath(value)
    return _with_hashpath(value, _hashpath(msg1, msg2))


def _load(ident: Any, opts: dict) -> Any:
    loader = opts.get("loader")
    msg = loader(ident) if callable(loader) else None
    if msg is None:
        raise ResolveError(f"necessary_message_not_found: {ident!r}")
    return msg


def _subresolve(base: Any, dev: Any, req: Any, opts: dict) -> tuple[str, Any]:
    """``hb_ao:subresolve`` (runtime §2.8): the ``~device`` switch."""
    if isinstance(req, (str, bytes)):
        req = {"path": req}
    if _is_id(base):
        base = _load(base, opts)
    if isinstance(dev, Resolve):
        st, dev = resolve_many(dev.messages, opts)
        if st != OK:
            return st, dev
    if not isinstance(base, dict):
        base = normalize_keys(base) if isinstance(base, list) else base
        if not isinstance(base, dict):
            return ERROR, NOT_FOUND
    if dev is not None:
        base = set(base, {"device": dev}, opts=opts)
    if not isinstance(req, dict):
        return ERROR, NOT_FOUND
    path = req.get("path")
    if path is None or path == "" or path == b"":
        rest = {k: v for k, v in req.items() if k != "path"}
        if rest:
            base = set(base, rest, opts={k: v for k, v in opts.items() if k != "force_message"})
        return OK, base
    return resolve(base, req, opts)


def _pair(msg1: Any, msg2: Any, opts: dict) -> tuple[str, Any]:
    """One (base, request) pair through stages 1-9 of runtime §2.4."""
    ctx = _ctx
    ctx.steps += 1
    if ctx.steps > opts.get("max_steps", MAX_STEPS):
        return _limit_error("step")
    # Stage 1: normalisation.
    while True:
        m1 = _marker(msg1)
        if isinstance(m1, As):
            dev, inner = m1.device, m1.msg
            if _is_id(inner):
                inner = {"path": inner}
            if isinstance(inner, dict) and _is_id(inner.get("path")):
                loaded = _load(inner["path"], opts)
                params = {k: v for k, v in inner.items() if k != "path"}
                loaded = {**loaded, **params} if isinstance(loaded, dict) else loaded
                msg1 = set(loaded, {"device": dev}, opts=opts)
                continue
            st, res = _subresolve({}, dev, inner, opts)
            if st != OK:
                return st, res
            msg1 = res
            continue
        if isinstance(m1, Resolve):
            st, res = resolve_many(m1.messages, opts)
            if st != OK:
                return st, res
            msg1 = res
            continue
        break
    m2 = _marker(msg2)
    if isinstance(m2, As):
        msg2 = {"path": m2}
    elif isinstance(m2, Resolve):
        sub_opts = {k: v for k, v in opts.items() if k != "force_message"}
        st, res = resolve_many(m2.messages, sub_opts)
        if st != OK:
            return st, res
        msg2 = res if isinstance(res, dict) else {"path": res}
    if isinstance(msg2, dict):
        inner_as = _marker(msg2.get("path"))
        if isinstance(inner_as, As):
            inner = inner_as.msg
            inner = inner if isinstance(inner, dict) else {"path": inner}
            return _subresolve(msg1, inner_as.device, {**msg2, **inner}, opts)
    if isinstance(msg1, list):
        msg1 = normalize_keys(msg1)
    if not isinstance(msg2, dict):
        msg2 = {"path": msg2}
    msg1 = normalize_keys(msg1)
    msg2 = normalize_keys(msg2)
    # Stage 3: validation.
    if not isinstance(msg1, dict) or not isinstance(msg2, dict):
        return ERROR, NOT_FOUND
    # Stage 2: cache lookup (runtime §2.9), when a store is configured (opts["store"]).
    store = opts.get("store")
    if store is not None:
        from . import cache

        cst, cval = cache.lookup(msg1, msg2, store, opts)
        if cst == "hit":
            return OK, _apply_hashpath(OK, cval, msg1, msg2, opts)
        if cst == "error":
            return ERROR, cval
        if cst == "loaded" and isinstance(cval, dict):
            msg1 = cval
    # Stage 5: device lookup.
    parts = path_parts(msg2.get("path"))
    if not parts:
        return _err(400, "The request has no path: nothing to resolve.")
    key = parts[0]
    if isinstance(key, (As, Resolve)):
        return _err(400, "A path element cannot be a sub-resolution here.")
    key = normalize_key(key)
    user_opts = _user_opts(opts)
    try:
        fn, add_key = _message_to_fun(msg1, key, user_opts)
        # Stage 6: execution.
        args = (key, msg1, msg2, user_opts) if add_key else (msg1, msg2, user_opts)
        status, value = _norm_result(_call(fn, args))
    except RecursionError:
        return _limit_error("recursion")
    except Exception as exc:  # noqa: BLE001 - every device failure becomes typed
        if opts.get("error_strategy", "throw") == "throw":
            if isinstance(exc, HyperbeamError):
                raise
            raise DeviceError(f"device call for key {key!r} failed: {exc!r}") from exc
        kind = "loading_device" if isinstance(exc, DeviceNotFound) else "device_call"
        return _err(500, f"{kind}: {type(exc).__name__}: {exc}", **{"error-class": kind})
    if opts.get("force_message"):
        value = _force_message(status, value)
    # Stage 7: the step hook.
    on = opts.get("on")
    if on and isinstance(on, dict) and on.get("step") is not None:
        from .devices.hook import run_step_hook

        hooked = run_step_hook(msg1, msg2, status, value, opts)
        if hooked is not None:
            status, value = hooked
    # Stage 8: sub-resolution of {resolve, ...} results.
    if status == OK and isinstance(value, Resolve):
        return resolve_many(value.messages, opts)
    # Stage 9: hashpath.
    value = _apply_hashpath(status, value, msg1, msg2, opts)
    # Stage 10: cache the result (runtime §2.9, cache-control permitting).
    if store is not None and status == OK:
        cache.store_result(msg1, msg2, value, store, opts)
    return status, value


def _fast_hashpath(base: dict, key: str) -> str:
    """``_hashpath(base, {"path": key})`` for a key without ``/``, skipping the generic checks."""
    priv = base.get("priv")
    hp = priv.get("hashpath") if type(priv) is dict else None
    if "commitments" in base or "hashpath-alg" in base or (hp is not None and type(hp) is not str):
        return _hashpath(base, {"path": key})
    if hp is None:
        try:
            hp = _native.unsigned_id(base)
        except (CodecError, TypeError, ValueError):
            return _hashpath(base, {"path": key})
    return _native.hashpath_combine(hp.encode(), key.encode(), "sha-256-chain")


def _fast_get(base: dict, key: str, opts: dict) -> tuple[str, Any] | None:
    """``resolve(base, key)`` for a plain message@1.0 base and a plain key, or ``None``."""
    try:
        joined = "".join(base)
    except TypeError:
        return None
    if not joined.isascii() or joined != joined.lower() or "device" in base:
        return None
    nkey = key if key.islower() or not key.isascii() else normalize_key(key)
    if nkey in _MESSAGE_KEYS or nkey.startswith("priv") or not nkey.isascii():
        return None
    value = base.get(nkey, _MISSING)
    if value is _MISSING:
        return ERROR, NOT_FOUND
    if type(value) is dict:
        mode = opts.get("hashpath", "update")
        if mode == "update":
            return OK, _with_hashpath(value, _fast_hashpath(base, key))
        if mode == "reset":
            return OK, _without_hashpath(value)
    return OK, value


def _fast_chain(base: dict, path: str, opts: dict) -> tuple[str, Any] | None:
    """A ``/`` path of plain keys over plain messages; hands over to the full pipeline at the
    first step the fast path cannot take (a device, a function key, ...)."""
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > opts.get("max_steps", MAX_STEPS):
        return None
    current: Any = base
    for i, key in enumerate(parts):
        if type(current) is not dict:
            return None if i == 0 else resolve_many([current, *parts[i:]], opts)
        step = _fast_get(current, key, opts)
        if step is None:
            return None if i == 0 else resolve_many([current, *parts[i:]], opts)
        status, current = step
        if status != OK:
            return step
    return OK, current


_MISSING = object()
_FAST_BLOCKERS = ("on", "force_message")


def resolve(base: Any, request: Any = _MISSING, opts: dict | None = None) -> tuple[str, Any]:
    """Apply ``request`` to ``base`` (runtime §2.1): ``(status, value)``.

    ``request`` is a message with a ``path`` (``"a/b/c"`` or a list of keys: a chain, each step
    carrying the request's other keys), a bare key or path (``"a/b"``), or an :class:`As`.
    Without ``request``, ``base`` is a singleton (an HTTP-style message whose ``path`` is a
    HyperPATH, runtime §5) that is parsed with :func:`hyperbeam_fast.path.parse_path` first.
    """
    if opts is None:
        opts = _EMPTY
    if type(request) is str and type(base) is dict and request:
        if opts is _EMPTY or not (
            opts.get("on") or opts.get("force_message") or opts.get("store") is not None
        ):
            if "/" not in request:
                fast = _fast_get(base, request, opts)
                if fast is not None:
                    return fast
            else:
                fast = _fast_chain(base, request, opts)
                if fast is not None:
                    return fast
    if request is _MISSING:
        from .path import parse_path

        return resolve_many(parse_path(base, opts), opts)
    return _guarded(_resolve_request, base, request, opts)


def _resolve_request(base: Any, request: Any, opts: dict) -> tuple[str, Any]:
    """``resolve`` once the fast paths did not apply: the request's path as a chain."""
    if isinstance(request, (As, Resolve)) or _marker(request) is not None:
        return _resolve_many([base, request], opts)
    if not isinstance(request, dict):
        request = {"path": request}
    path = request.get("path", _MISSING)
    if path is _MISSING:
        path = _ci_get(request, "path", _MISSING)
    if path is _MISSING:
        return _err(400, "The request has no path: nothing to resolve.")
    parts = path_parts(path)
    if parts is None:
        return _err(400, "The request has an empty path: nothing to resolve.")
    if len(parts) == 1 and isinstance(path, str) and "/" not in path:
        return _resolve_many([base, request], opts)
    rest = {k: v for k, v in request.items() if k != "path" and normalize_key(k) != "path"}
    return _resolve_many([base, *({**rest, "path": p} for p in parts)], opts)


def _guarded(fn: Callable[..., tuple[str, Any]], *args: Any) -> tuple[str, Any]:
    """Run a resolution under the depth limit (runtime §2.4 limits; ``opts`` is the last
    argument): too deep or a Python recursion error is a 508 error status, never a crash."""
    opts = args[-1]
    ctx = _ctx
    if ctx.depth >= opts.get("max_depth", MAX_DEPTH):
        return _limit_error("depth")
    if ctx.depth == 0:
        ctx.steps = 0
    ctx.depth += 1
    try:
        return fn(*args)
    except RecursionError:
        return _limit_error("recursion")
    finally:
        ctx.depth -= 1


def resolve_many(messages: Any, opts: dict | None = None) -> tuple[str, Any]:
    """``hb_ao:resolve_many`` (runtime §2.3): fold a list of messages, stopping at non-ok."""
    return _guarded(_resolve_many, messages, _EMPTY if opts is None else opts)


def _resolve_many(messages: Any, opts: dict) -> tuple[str, Any]:
    m = _marker(messages)
    if isinstance(m, As):
        return _subresolve({}, m.device, m.msg, opts)
    if isinstance(m, Resolve):
        return _resolve_many(m.messages, opts)
    if isinstance(messages, dict):
        try:
            ordered = sorted(messages.items(), key=lambda kv: int(kv[0]))
        except (TypeError, ValueError):
            raise ResolveError("resolve_many_error: a map of messages needs integer keys") from None
        messages = [v for _, v in ordered]
    if not isinstance(messages, (list, tuple)):
        raise ResolveError(f"resolve_many_error: expected a list, got {type(messages).__name__}")
    if not messages:
        return _err(400, "Nothing to resolve: the message list is empty.")
    if len(messages) == 1:
        only = messages[0]
        if _is_id(only):
            loader = opts.get("loader")
            msg = loader(only) if callable(loader) else None
            return (OK, msg) if msg is not None else (ERROR, NOT_FOUND)
        if isinstance(_marker(only), Resolve):
            return _resolve_many(_marker(only).messages, opts)
        if isinstance(_marker(only), As):
            return _resolve_many(only, opts)
        return OK, only
    current = messages[0]
    if _is_id(current):
        current = _load(current, opts)
    for req in messages[1:]:
        status, current = _pair(current, req, opts)
        if status != OK:
            return status, current
    return OK, current


# --- get / set / remove / keys (runtime §2.1, §2.6) -----------------------------------------------


def get(base: Any, path: Any, opts: dict | None = None, default: Any = None) -> Any:
    """``hb_ao:get``: the value at ``path`` (a key, ``"a/b/c"`` or a list), else ``default``.

    ``base`` may be ``As(device, msg)`` to read through another device.
    """
    if opts is None:
        opts = _EMPTY
    m = _marker(base)
    if isinstance(m, As):
        base = _with_device(m.msg, m.device)
    status, value = resolve(base, {"path": path} if not isinstance(path, str) else path, opts)
    return value if status == OK else default


def _with_device(msg: Any, device: Any) -> dict:
    """``msg`` re-typed as ``device`` (a plain key write: the old device is not consulted)."""
    msg = normalize_keys(msg)
    if not isinstance(msg, dict):
        raise ResolveError(f"cannot read a {type(msg).__name__} as a message")
    out = dict(msg)
    out["device"] = device
    return out


def keys(base: Any, opts: dict | None = None, remove: bool = False) -> list[str]:
    """``hb_ao:keys``: the keys of ``base`` as its device lists them (private keys hidden)."""
    if opts is None:
        opts = _EMPTY
    status, value = resolve(base, {"path": "keys"}, _internal(opts))
    if status != OK:
        raise ResolveError(f"keys failed with status {status}: {value!r}")
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        raise ResolveError(f"keys returned {type(value).__name__}, not a list")
    out = [normalize_key(k) for k in value]
    if remove:
        out = [k for k in out if k not in _AO_CORE_KEYS]
    return out


def set(base: Any, key_or_values: Any, *args: Any, opts: dict | None = None) -> dict:  # noqa: A001
    """``hb_ao:set``: ``set(msg, {k: v, "a/b": v2}, opts)`` or ``set(msg, key, value, opts)``.

    Keys may be paths (``"a/b"`` or lists): nested messages are created or updated through each
    level's own device. The value ``UNSET`` deletes a key; ``UNDEFINED`` is ignored.
    """
    if (
        isinstance(key_or_values, dict)
        and not args
        or (isinstance(key_or_values, dict) and len(args) == 1 and isinstance(args[0], dict))
    ):
        if args:
            opts = args[0]
        opts = _internal(opts or _EMPTY)
        msg = normalize_keys(base)
        values = normalize_keys(key_or_values)
        batch: dict = {}  # consecutive plain keys, set in one message@1.0 ``set``
        for k in sorted(values, key=str):
            if k in ("hashpath", "priv") or _is_private(k):
                continue
            parts = path_parts(k) or []
            if len(parts) == 1 and _batchable(msg, parts[0]):
                batch[normalize_key(parts[0])] = values[k]
                continue
            if batch:
                msg, batch = _device_set(msg, "/", batch, opts, explicit=False), {}
            msg = _deep_set(msg, parts, values[k], opts)
        if batch:
            msg = _device_set(msg, "/", batch, opts, explicit=False)
        return msg
    if not args:
        raise ResolveError("set(base, key, value): a value is needed")
    value = args[0]
    if len(args) > 1:
        opts = args[1]
    opts = _internal(opts or _EMPTY)
    parts = path_parts(key_or_values)
    return _deep_set(normalize_keys(base), parts if parts is not None else [], value, opts)


#: Keys a message@1.0 ``set`` request reads as instructions, not as values to set.
_SET_CONTROL_KEYS = frozenset({"path", "device", "set-mode"})


def _batchable(msg: Any, key: Any) -> bool:
    """Whether setting ``key`` on ``msg`` may join one batched message@1.0 ``set``: the same
    result as HyperBEAM's one ``set`` per key (deep merge of distinct keys), in one copy of
    ``msg`` instead of one per key (issue 11: 100k keys were quadratic)."""
    if not isinstance(msg, dict) or not isinstance(key, str):
        return False
    dev = msg.get("device")
    if dev is not None and _text_of(dev).lower() != "message@1.0":
        return False
    return normalize_key(key) not in _SET_CONTROL_KEYS


def _text_of(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _deep_set(msg: Any, parts: list, value: Any, opts: dict) -> dict:
    if not isinstance(msg, dict):
        msg = normalize_keys(msg) if isinstance(msg, list) else {}
    if not parts:
        return _device_set(msg, "/", value, opts, explicit=False)
    key = normalize_key(parts[0])
    if len(parts) == 1:
        return _device_set(msg, key, value, opts, explicit=False)
    status, sub = resolve(msg, {"path": key}, opts)
    if status == OK and isinstance(sub, (dict, list)):
        inner = _deep_set(sub, parts[1:], value, opts)
        return _device_set(msg, key, inner, opts, explicit=True)
    out = dict(msg)
    out[key] = _deep_set({}, parts[1:], value, opts)
    return out


def _device_set(msg: dict, key: str, value: Any, opts: dict, explicit: bool) -> dict:
    if key == "path":
        req: dict = {"path": "set_path", "value": value}
    elif key == "/" and isinstance(value, dict):
        req = {**normalize_keys(value), "path": "set"}
    else:
        req = {"path": "set", key: value}
    if explicit:
        req["set-mode"] = "explicit"
    status, out = _resolve_many([msg, req], opts)
    if status != OK or not isinstance(out, dict):
        raise ResolveError(f"set of {key!r} failed: {status} {out!r:.200}")
    return out


def remove(base: Any, key: Any, opts: dict | None = None) -> dict:
    """``hb_ao:remove``: ``base`` without ``key`` (through its device's ``remove``)."""
    status, out = resolve(base, {"path": "remove", "item": key}, _internal(opts or _EMPTY))
    if status != OK or not isinstance(out, dict):
        raise ResolveError(f"remove of {key!r} failed: {status} {out!r:.200}")
    return out


# --- message@1.0 lives in devices/message.py; registered here to avoid import cycles -------------

from .devices import message as _message_module  # noqa: E402

_MESSAGE_DEVICE = _message_module.DEVICE
MESSAGE_DEVICE = _MESSAGE_DEVICE
_MESSAGE_KEYS = _message_module.FUNCTION_KEYS
MESSAGE_DEVICE_KEYS = _MESSAGE_KEYS

from .devices import register_core_devices  # noqa: E402

register_core_devices()
