"""``local-name@1.0`` (HyperBEAM ``dev_local_name``): the node's own names.

* ``register`` (``key``, ``value``): operator-only (a signature of the operator's covering
  ``key`` and ``value``); the value (a binary or a message) is written to the node's cache and
  ``local-name@1.0/<key>`` is linked to it, so names survive a restart. Registering a name
  again repoints it.
* ``lookup`` (``key``), or any other key (``GET /~local-name@1.0/<name>``): the registered
  value; names of the node message's ``local_names`` map come second. 404 when unknown.

:func:`direct_register` is the operator-check-free form other devices of the node use
(node-process@1.0); it is not a key of the device.
"""

from __future__ import annotations

import re
from typing import Any

from .. import cache
from ..exceptions import HyperbeamError, InvalidStorePath, NotFound
from ..node import authority

GROUP = "local-name@1.0"
#: A name: one store path segment of printable characters, at most 256 bytes.
_NAME = re.compile(r"[A-Za-z0-9_.@:+=-]{1,256}")


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def valid_name(key: Any) -> str | None:
    """``key`` as a name, or None when it cannot be one (empty, ``/``, ``..``, too long)."""
    if not isinstance(key, (str, bytes)):
        return None
    k = _text(key)
    return k if _NAME.fullmatch(k) and k not in (".", "..") else None


def _store(opts: dict[str, Any]) -> Any:
    return opts.get("priv_store")


def direct_register(key: str, value: Any, opts: dict[str, Any]) -> None:
    """Write ``value`` to the cache and link ``local-name@1.0/<key>`` to it."""
    store = _store(opts)
    if store is None:
        raise HyperbeamError("local-name@1.0 needs the node's store")
    target = cache.write(value, store)
    cache.link(target, f"{GROUP}/{key}", store)


def find(key: str, opts: dict[str, Any]) -> Any:
    """The value registered as ``key`` (the store, then ``local_names``), or None."""
    store = _store(opts)
    if store is not None:
        try:
            return cache.read(f"{GROUP}/{key}", store)
        except (NotFound, InvalidStorePath):
            pass
    names = opts.get("local_names")
    if isinstance(names, dict) and key in names:
        return names[key]
    return None


def _not_found(key: str) -> tuple[str, dict[str, Any]]:
    return "error", {"status": 404, "body": f"local-name@1.0: no name {key!r} is registered."}


class LocalName:
    """``local-name@1.0``: names the node operator registers, looked up by anyone."""

    name = "local-name@1.0"
    info: dict[str, Any] = {"excludes": ["keys", "set", "direct_register", "find"]}

    def __init__(self) -> None:
        self.info = {**self.info, "default": self._default}

    def lookup(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``lookup``: the value registered under the request's ``key`` (404 if none)."""
        opts = opts or {}
        raw = req.get("key") if isinstance(req, dict) else None
        key = valid_name(raw)
        if key is None:
            return "error", {"status": 400, "body": "local-name@1.0: lookup needs a valid key."}
        got = find(key, opts)
        return ("ok", got) if got is not None else _not_found(key)

    def register(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``register``: bind ``key`` to ``value`` (signed by the operator)."""
        opts = opts or {}
        req = req if isinstance(req, dict) else {}
        who = authority.operator_of(opts, path_signed=False)
        covered = authority.caller(opts).covers.get(who, frozenset()) if who else frozenset()
        if who is None or not {"key", "value"} <= covered:
            return authority.refused("Registering a name (key and value signed)")
        key = valid_name(req.get("key"))
        if key is None:
            return "error", {
                "status": 400,
                "body": "local-name@1.0: register needs a key of 1-256 letters, digits or "
                "_.@:+=- characters.",
            }
        if "value" not in req:
            return "error", {"status": 400, "body": "local-name@1.0: register needs a value."}
        try:
            direct_register(key, req["value"], opts)
        except HyperbeamError as e:  # e.g. a value whose commitments do not verify
            return "error", {"status": 400, "body": f"local-name@1.0: cannot store the value: {e}"}
        return "ok", "Registered."

    def _default(self, key: Any, base: Any = None, req: Any = None, opts: Any = None) -> Any:
        return self.lookup(base, {**(req if isinstance(req, dict) else {}), "key": key}, opts)


DEVICE = LocalName()

__all__ = ["DEVICE", "GROUP", "LocalName", "direct_register", "find", "valid_name"]
