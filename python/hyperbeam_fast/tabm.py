"""Conversions the Rust core does between the native forms (spec core §3, §6, §9): the TABM,
``structured@1.0``, ``httpsig@1.0`` and ``flat@1.0``. The top-level ``priv`` stays out of the
conversion and is merged back into structured/TABM results, as HyperBEAM does.

Below :mod:`hyperbeam_fast.message` (``convert``, which adds json@1.0 and ans104@1.0) and the
codec modules; imports only ``_native``.
"""

from __future__ import annotations

from typing import Any, overload

from . import _native
from . import map_order as _map_order  # noqa: F401  (reads HB_MAP_ORDER at import)

#: the forms :func:`convert` handles
NATIVE_FORMS = ("structured@1.0", "httpsig@1.0", "flat@1.0", "tabm")


@overload
def as_bytes(v: bytes | str) -> bytes: ...
@overload
def as_bytes(v: Any) -> bytes | None: ...
def as_bytes(v: Any) -> bytes | None:
    """``bytes`` as they are, a ``str`` as its UTF-8 bytes, anything else ``None``."""
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode()
    return None


def split_priv(msg: Any) -> tuple[Any, Any]:
    """``(msg without its top-level priv, the priv)``; ``priv`` is ``None`` when absent."""
    if isinstance(msg, dict) and "priv" in msg:
        return {k: v for k, v in msg.items() if k != "priv"}, msg["priv"]
    return msg, None


def deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``b`` merged into ``a``, nested maps merged key by key."""
    out = dict(a)
    for k, v in b.items():
        both = isinstance(v, dict) and isinstance(out.get(k), dict)
        out[k] = deep_merge(out[k], v) if both else v
    return out


def convert(msg: Any, target: str, source: str = "structured@1.0") -> Any:
    """:func:`hyperbeam_fast.message.convert` between two :data:`NATIVE_FORMS`: a binary that
    is not flat@1.0 text is returned as bytes; flat@1.0 text is parsed first."""
    if isinstance(msg, (bytes, str)) and source != "flat@1.0":
        return as_bytes(msg)
    body, priv = split_priv(msg)
    if source == "flat@1.0" and isinstance(body, (bytes, str)):
        body = _native.flat_parse(as_bytes(body))
    out = _native.convert(body, source, target)
    if priv is not None and target in ("structured@1.0", "tabm") and isinstance(out, dict):
        out = deep_merge(out, {"priv": priv})
    return out
