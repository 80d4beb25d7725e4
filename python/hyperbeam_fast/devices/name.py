"""``name@1.0`` (HyperBEAM ``dev_name``): names resolved through the ``name_resolvers`` chain.

``GET /~name@1.0/<name>``: each resolver message of ``name_resolvers`` (a list or a numbered
map, e.g. ``[{device: local-name@1.0}]``) is asked ``lookup?key=<name>`` in turn; the first
answer wins. With ``load`` (the default) the answer is an ID or path read from the cache, so
``/~name@1.0/<name>/<key>`` reads a key of the named message; ``load=false`` gives it as it is.
"""

from __future__ import annotations

from typing import Any

from .. import ao, cache
from ..exceptions import InvalidStorePath, NotFound


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def resolvers(opts: dict[str, Any]) -> list[dict[str, Any]]:
    """The name resolvers of ``opts['name_resolvers']`` (a list or a numbered map), in order."""
    rs = opts.get("name_resolvers") or []
    if isinstance(rs, dict):
        rs = [rs[k] for k in sorted(rs, key=lambda x: int(x) if str(x).isdigit() else 0)]
    return [r for r in rs if isinstance(r, dict)] if isinstance(rs, list) else []


def resolve_name(key: str, opts: dict[str, Any]) -> Any:
    """The first resolver's answer for ``key``, or None."""
    for r in resolvers(opts):
        try:
            st, v = ao.resolve(r, {"path": "lookup", "key": key}, opts)
        except Exception:  # noqa: BLE001, S112 - a failing resolver is skipped, as HyperBEAM
            continue
        if st == "ok" and v is not ao.NOT_FOUND:
            return v
    return None


def _lookup(key: Any, base: Any = None, req: Any = None, opts: Any = None) -> tuple[str, Any]:
    opts = opts or {}
    key = _text(key)
    got = resolve_name(key, opts)
    if got is None:
        return "error", {"status": 404, "body": f"name@1.0: no resolver knows {key!r}."}
    load = req.get("load", True) if isinstance(req, dict) else True
    if _text(load).lower() == "false" or not isinstance(got, (str, bytes)):
        return "ok", got
    store = opts.get("priv_store")
    if store is None:
        return "ok", got
    try:
        return "ok", cache.read(_text(got), store)
    except (NotFound, InvalidStorePath, ValueError):
        return "error", {
            "status": 404,
            "body": f"name@1.0: {key!r} names {_text(got)[:100]!r}, which is not in the cache.",
        }


class _Named(dict[str, Any]):
    name = "name@1.0"


DEVICE = _Named({"info": {"default": _lookup, "excludes": ["keys", "set"]}})

__all__ = ["DEVICE", "resolve_name", "resolvers"]
