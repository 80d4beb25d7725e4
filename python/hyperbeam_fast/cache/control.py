"""Cache-control settings (runtime §2.9): which of store, lookup and only-if-cached apply, from
the ``cache-control`` directives of the node options and the messages, by precedence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["lookup_settings", "settings", "store_settings"]


def _directives(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        value = [value]
    elif isinstance(value, dict):  # a numbered map (a list after normalisation)
        value = [value[k] for k in sorted(value, key=lambda k: (len(str(k)), str(k)))]
    out: list[Any] = []
    for v in value:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str):
            out.extend(p.strip().lower() for p in v.split(",") if p.strip())
        else:
            out.append(str(v).lower())
    return out


def _from_directives(ds: list[str]) -> dict[str, bool]:
    s: dict[str, bool] = {}
    if "always" in ds:
        s["store"] = True
        s["lookup"] = True
    else:
        if "no-store" in ds:
            s["store"] = False
        elif "store" in ds:
            s["store"] = True
        if "no-cache" in ds:
            s["lookup"] = False
        elif "cache" in ds:
            s["lookup"] = True
    if "only-if-cached" in ds:
        s["only-if-cached"] = True
    return s


def _msg_cc(msg: Any) -> Any:
    if isinstance(msg, dict):
        for k, v in msg.items():
            if isinstance(k, str) and k.lower() == "cache-control":
                return v
    return None


def _opts_cc(opts: dict[str, Any] | None) -> Any:
    if not opts:
        return None
    for k in ("cache_control", "cache-control"):
        if k in opts:
            return opts[k]
    return None


def settings(sources: Sequence[dict[str, bool]]) -> dict[str, bool]:
    """Fold per-source settings, ``sources`` highest precedence first; unset does not override."""
    out = {"store": False, "lookup": False, "only-if-cached": False}
    for src in reversed(sources):
        out.update(src)
    return out


def lookup_settings(msg1: Any, msg2: Any, opts: dict[str, Any] | None = None) -> dict[str, bool]:
    """Settings for a lookup: precedence Opts > Msg1 > Msg2."""
    return settings(
        [_from_directives(_directives(x)) for x in (_opts_cc(opts), _msg_cc(msg1), _msg_cc(msg2))]
    )


def store_settings(msg2: Any, msg3: Any, opts: dict[str, Any] | None = None) -> dict[str, bool]:
    """Settings for storing a result: precedence Opts > Msg3 > Msg2 (Msg1 is never consulted)."""
    o = _from_directives(_directives(_opts_cc(opts)))
    if opts and opts.get("hashpath") in ("ignore", b"ignore"):
        o["store"] = False
    return settings(
        [
            o,
            _from_directives(_directives(_msg_cc(msg3))),
            _from_directives(_directives(_msg_cc(msg2))),
        ]
    )
