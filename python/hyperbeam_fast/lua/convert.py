"""Messages <-> Lua values, as ``dev_lua:encode/decode`` convert them (HyperBEAM dev_lua.erl):
maps are tables, maps keyed ``1..n`` and lists are arrays, binaries are strings, integers and
floats stay apart, atoms are their names; back from Lua, a table keyed ``1..n`` is a list, an
empty table is an empty list (Luerl decodes it as ``[]``), other keys are text. Functions and
host objects do not leave Lua (they are dropped from results). Tables are read in Luerl's key
order, so results never depend on C Lua's per-state string hashing."""

from __future__ import annotations

from typing import Any

from ..atom import Atom
from ..exceptions import HyperbeamError

#: Nesting past this is refused both ways (a cycle, or a message built to exhaust the stack).
MAX_DEPTH = 100


class ConvertError(HyperbeamError):
    """A value that cannot cross between Lua and messages."""


def _ordered(d: dict) -> bool:
    n = len(d)
    if n == 0:
        return False
    for i, k in enumerate(d, 1):
        if k != str(i) and k != i:
            break
    else:
        return True
    ks = set(d)
    return all((str(i) in ks) or (i in ks) for i in range(1, n + 1))


def _key(k: Any) -> Any:
    if isinstance(k, str):
        return k.encode()
    if isinstance(k, (bytes, int)) and not isinstance(k, bool):
        return k
    return str(k).encode()


def to_lua(vm: Any, v: Any, depth: int = 0) -> Any:
    """``v`` as a Lua value of ``vm`` (dev_lua:encode)."""
    if depth > MAX_DEPTH:
        raise ConvertError("message too deep for Lua")
    t = type(v)
    if t is str or t is Atom:
        return v.encode()
    if t is bytes or t is int or t is float or t is bool:
        return v
    if t is dict or isinstance(v, dict):
        tab = vm.table()
        if _ordered(v):
            for i in range(1, len(v) + 1):
                tab[i] = to_lua(vm, v[str(i)] if str(i) in v else v[i], depth + 1)
        else:
            for k, x in v.items():
                tab[_key(k)] = to_lua(vm, x, depth + 1)
        return tab
    if t is list or t is tuple:
        tab = vm.table()
        for i, x in enumerate(v, 1):
            tab[i] = to_lua(vm, x, depth + 1)
        return tab
    if v is None:
        return b"null"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    return str(v).encode()


def _text(b: bytes) -> Any:
    try:
        return b.decode()
    except UnicodeDecodeError:
        return b


def _key_text(k: Any, vm: Any) -> str:
    if isinstance(k, bytes):
        return k.decode("utf-8", "surrogateescape")
    if isinstance(k, float):
        return _text(vm.ctl[b"tostring"](k)) if vm is not None else repr(k)
    if isinstance(k, bool):
        return "true" if k else "false"
    return str(k)


def from_lua(vm: Any, v: Any, depth: int = 0) -> Any:
    """A Lua value as a message value (dev_lua:decode); functions and userdata give ``None``."""
    if depth > MAX_DEPTH:
        raise ConvertError("Lua value too deep (or cyclic) to convert")
    t = type(v)
    if t is bytes:
        return _text(v)
    if t is int or t is float or t is bool or v is None:
        return v
    lt = vm.lua_type(v)
    if lt != "table":
        return None
    items = list(v.items())
    n = len(items)
    if n == 0:
        return []
    keys = [k for k, _ in items]
    if all(type(k) is int for k in keys) and sorted(keys) == list(range(1, n + 1)):
        d = dict(items)
        out_l = []
        for i in range(1, n + 1):
            x = from_lua(vm, d[i], depth + 1)
            out_l.append(x)
        return out_l
    order = vm.ctl[b"sorted_keys"](v)
    out: dict = {}
    d = dict(items)
    for i in range(1, len(order) + 1):
        k = order[i]
        x = d.get(k)
        if x is None or vm.lua_type(x) in ("function", "userdata", "thread"):
            continue
        out[_key_text(k, vm)] = from_lua(vm, x, depth + 1)
    return out
