"""The device framework (spec runtime §2.5): the ``Device`` protocol, the registry of preloaded
devices, ``load_device`` and ``message_to_fun`` (which function handles a key), and calling a
device function with as many arguments as it declares.

The registry starts empty: :mod:`hyperbeam_fast.devices` registers the core devices when the
package is imported. The one device known here is message@1.0 (:mod:`.message`), the fallback of
every other device. Imports only :mod:`.values`, :mod:`.keys`, :mod:`.message`, the exceptions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from ..exceptions import DeviceNotFound, ResolveError
from . import message as _message
from .keys import ci_get, is_id, normalize_key
from .values import EMPTY, OK

#: message@1.0, the device of a message without ``device`` and every device's fallback
MESSAGE_DEVICE = _message.DEVICE
#: the keys message@1.0 handles with a function (the others are plain ``get``s)
MESSAGE_DEVICE_KEYS = _message.FUNCTION_KEYS
#: options never passed on to device functions (runtime §2.1 TEMP_OPTS)
TEMP_OPTS = ("add_key", "force_message", "cache_control", "spawn_worker", "trace")


class DeviceProtocol(Protocol):
    """The shape of a device, for type checkers (the resolver takes any object or mapping):
    a versioned ``name``, an optional ``info`` (a mapping, or ``info(msg)``) and one callable
    per key it handles, as :class:`Device` describes."""

    name: str


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
        self.funs: dict[str, tuple[Callable[..., Any] | None, int]] = {}
        self.is_message = dev is MESSAGE_DEVICE
        info = _map_find(dev, "info") if self.is_map else getattr(dev, "info", None)
        if info is None or isinstance(info, Mapping):
            self.static_info: dict[str, Any] | None = dict(info) if info is not None else {}
            self.info_fn = None
        elif callable(info):
            self.static_info = None
            self.info_fn = info
        else:
            raise ResolveError(f"device info must be a mapping or a function, got {info!r}")

    def info(self, msg: Any, opts: dict[str, Any]) -> dict[str, Any]:
        if self.info_fn is None:
            return cast("dict[str, Any]", self.static_info)
        out = call(self.info_fn, (msg, opts))
        if isinstance(out, tuple) and len(out) == 2 and out[0] == OK:
            out = out[1]
        if not isinstance(out, Mapping):
            raise ResolveError(f"device info returned {type(out).__name__}, not a mapping")
        return dict(out)

    def function(self, key: str) -> Callable[..., Any] | None:
        hit = self.funs.get(key)
        if hit is not None:
            return hit[0]
        fn: Callable[..., Any] | None
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


def _map_find(dev: Mapping[str, Any], key: str) -> Any:
    if key in dev:
        return dev[key]
    for k, v in dev.items():
        if isinstance(k, (str, bytes)) and normalize_key(k) == key:
            return v
    return None


_ARITY: dict[Any, int] = {}


def _arity(fn: Callable[..., Any]) -> int:
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


def call(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """``fn(*args)`` with only as many ``args`` as ``fn`` takes (devices may omit request/opts)."""
    n = _arity(fn)
    return fn(*args[:n]) if n < len(args) else fn(*args)


_REGISTRY: dict[str, Any] = {}
_SPECS: dict[int, _DevSpec] = {}
#: Bumped by every change to the registry: what callers that remember a loaded device check.
_VERSION = [0]


def register_device(name: str, device: Any) -> None:
    """Add (or replace) a preloaded device under ``name`` (case-insensitive, e.g. ``x@1.0``)."""
    if not isinstance(name, str) or not name:
        raise ResolveError("a device name must be a non-empty string")
    _REGISTRY[name.lower()] = device
    _VERSION[0] += 1


def unregister_device(name: str) -> None:
    """Remove a preloaded device (an operator restricting the node)."""
    _REGISTRY.pop(name.lower(), None)
    _VERSION[0] += 1


def registry_version() -> int:
    """A number that changes whenever a device is registered or unregistered (a device
    loaded by name stays valid while it is the same)."""
    return _VERSION[0]


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


def load_device(value: Any, opts: dict[str, Any] | None = None) -> Any:
    """``hb_ao:load_device``: a device object from a ``device`` key's value (runtime §2.5)."""
    opts = opts or EMPTY
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
    if is_id(name):
        raise DeviceNotFound(
            f"device_not_loadable: {name} (remote devices are disabled: load_remote_devices)"
        )
    raise DeviceNotFound(f"device_not_loadable: {name!r} is not a preloaded device")


def message_to_device(msg: dict[str, Any], opts: dict[str, Any]) -> Any:
    """The device of ``msg``: its ``device`` key loaded (case-insensitive), else message@1.0."""
    dev = msg.get("device")
    if dev is None:
        dev = ci_get(msg, "device") if "device" not in msg else None
        if dev is None:
            return MESSAGE_DEVICE
    return load_device(dev, opts)


def device_info(msg: Any, opts: dict[str, Any] | None = None) -> dict[str, Any]:
    """``hb_ao:info``: the info map of ``msg``'s device."""
    opts = opts or EMPTY
    if not isinstance(msg, dict):
        return {}
    return _spec(message_to_device(msg, opts)).info(msg, opts)


def _norm_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, Mapping):
        v = list(v.values())
    if isinstance(v, (str, bytes)):
        v = [v]
    if type(v) is list:
        try:
            joined = "".join(v)
        except TypeError:
            joined = None
        if joined is not None and joined.isascii() and joined == joined.lower():
            return v  # lower-case ASCII text is its own normal form (normalize_key)
    return [normalize_key(k) for k in v]


def is_exported(info: dict[str, Any], key: str) -> bool:
    """Whether ``key`` is callable on a device with this ``info`` (``exports``/``excludes``;
    ``info`` always)."""
    if key == "info":
        return True
    if "excludes" in info and key in _norm_list(info["excludes"]):
        return False
    if "exports" in info:
        return key in _norm_list(info["exports"])
    return True


def message_to_fun(
    msg: dict[str, Any], key: str, opts: dict[str, Any], dev: Any = None
) -> tuple[Callable[..., Any], bool]:
    """``hb_ao:message_to_fun``: ``(function, add_key)`` for ``key`` on ``msg``'s device."""
    for _ in range(32):  # a chain of fallback devices, bounded
        if dev is None:
            dev = message_to_device(msg, opts)
        spec = _spec(dev)
        info = spec.info(msg, opts)
        exported = is_exported(info, key)
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
        dev = MESSAGE_DEVICE
    raise ResolveError("device fallback chain too long")


def user_opts(opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` without the resolver-only options (:data:`TEMP_OPTS`), as devices get them."""
    if opts is EMPTY or not any(k in opts for k in TEMP_OPTS):
        return opts
    return {k: v for k, v in opts.items() if k not in TEMP_OPTS}


def norm_result(res: Any) -> tuple[str, Any]:
    """A device function's return value as ``(status, value)`` (a bare value is ``ok``)."""
    if type(res) is tuple and len(res) == 2 and isinstance(res[0], str):
        st = res[0]
        return (st if type(st) is str else str(st)), res[1]
    return OK, res
