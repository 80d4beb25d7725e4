"""The Erlang map order HyperBEAM's serialisation follows (docs/map-order.md).

Above 32 keys an Erlang map iterates in its internal hash order, which changed between OTP 25
and OTP 27. The mode is process-wide, held in the Rust core (every native codec reads it):
``otp27`` (default, production HyperBEAM) or ``otp25`` (the golden vectors). It is read from
``HB_MAP_ORDER`` when this module is first imported and set by the node's ``map_order`` option.
The orders themselves: ``rust/hyperbeam-core/src/map_order.rs``; the independent model:
:mod:`hyperbeam_fast.reference.map_order`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from . import _native
from .exceptions import ConfigError

T = TypeVar("T")

#: the modes
MODES = ("otp27", "otp25")
#: ``maps:to_list``/``keys``/``values`` and ``maps:fold``/``map``/iterators
TO_LIST, FOLD = "to_list", "fold"
#: maps of more keys than this are HAMTs, iterated in hash order
SMALL_MAP_LIMIT = 32


def set_map_order(mode: str) -> str:
    """Select the process-wide map order (``otp27`` | ``otp25``); returns the previous one."""
    if mode not in MODES:
        raise ConfigError(f"map_order must be one of {', '.join(MODES)}, not {mode!r}")
    return str(_native.set_map_order(mode))


def map_order() -> str:
    """The process-wide map order."""
    return str(_native.map_order())


def ordered(items: Iterable[T], key: Callable[[T], bytes], walk: str) -> list[T]:
    """``items`` (one per distinct key) in the order ``walk`` visits their map (sorted up to
    32 keys)."""
    items = list(items)
    if len(items) <= SMALL_MAP_LIMIT:
        return sorted(items, key=key)
    return [items[i] for i in _native.map_walk_order([key(it) for it in items], walk)]


def json_object(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` (text keys) with its keys in the order OTP 27's ``json:encode`` writes a map
    (it iterates it: sorted up to 32 keys, the fold order above). Code point order is UTF-8
    byte order, so small objects need no encoding."""
    if len(obj) <= SMALL_MAP_LIMIT:
        keys = sorted(obj)
    else:
        keys = ordered(obj, str.encode, FOLD)
    return {k: obj[k] for k in keys}


def _from_env() -> None:
    mode = os.environ.get("HB_MAP_ORDER", "").strip().lower()
    if mode:
        set_map_order(mode)


_from_env()
