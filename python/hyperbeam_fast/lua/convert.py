"""Messages <-> Lua values, as ``dev_lua:encode/decode`` convert them (HyperBEAM dev_lua.erl):
maps are tables, maps keyed ``1..n`` and lists are arrays, binaries are strings, integers and
floats stay apart, atoms are their names, ``null`` is the string ``"null"``; back from Lua, a
table keyed ``1..n`` is a list, an empty table is an empty list (Luerl decodes it as ``[]``),
other keys are text in Luerl's key order; functions and host objects do not leave Lua.

Values cross the boundary as one MessagePack binary each way (the prelude's ``mp_decode`` /
``mp_encode``): one call into Lua per message instead of one per key, and Lua never holds a
Python object nor Python a Lua table."""

from __future__ import annotations

from typing import Any, cast

import msgpack

from ..exceptions import HyperbeamError

#: Nesting past this is refused both ways (a cycle, or a message built to exhaust the stack).
MAX_DEPTH = 100
_I64 = (-(1 << 63), (1 << 63) - 1)


class ConvertError(HyperbeamError):
    """A value that cannot cross between Lua and messages."""


def _default(v: Any) -> Any:
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, dict):
        return dict(v)
    if isinstance(v, (set, frozenset)):
        return sorted(v, key=str)
    return str(v)


def _safe(v: Any, depth: int = 0) -> Any:
    """``v`` with integers outside 64 bits as text (Lua has no bignums)."""
    if depth > MAX_DEPTH:
        raise ConvertError("message too deep for Lua")
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if _I64[0] <= v <= _I64[1] else str(v)
    if isinstance(v, dict):
        return {k: _safe(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_safe(x, depth + 1) for x in v]
    return v


def pack(v: Any) -> bytes:
    """``v`` as the binary the prelude's ``mp_decode`` reads."""
    try:
        return cast(
            "bytes", msgpack.packb(v, use_bin_type=True, default=_default, strict_types=False)
        )
    except OverflowError:
        return cast(
            "bytes",
            msgpack.packb(_safe(v), use_bin_type=True, default=_default, strict_types=False),
        )
    except (ValueError, TypeError) as e:  # msgpack's nesting limit, odd keys
        raise ConvertError(f"message cannot enter Lua: {e}") from e


def unpack(b: Any) -> Any:
    """A binary written by the prelude's ``mp_encode`` as a message value."""
    if not isinstance(b, bytes):
        raise ConvertError("Lua did not return an encoded value")
    try:
        return msgpack.unpackb(b, raw=False, strict_map_key=False, use_list=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise ConvertError(f"Lua value cannot be read: {e}") from e


def to_lua(vm: Any, v: Any) -> Any:
    """``v`` as a Lua value of ``vm``."""
    return vm.ctl[b"decode"](pack(v))


def from_lua(vm: Any, v: Any) -> Any:
    """A Lua value of ``vm`` as a message value."""
    if isinstance(v, (bytes, int, float, bool)) or v is None:
        return unpack(pack(v))
    return unpack(vm.ctl[b"encode"](v))


# ---- the direct path of ``LuaVM.invoke``: the same conversions as mp_decode / mp_encode, made
# with lupa's C table builder one way and its table iteration the other (no MessagePack and no
# Lua-side parser: about a third of a hyper-aos call). Only bytes, numbers, booleans and tables
# of them reach Lua; anything else is its text, as ``pack`` gives it. ----

_NULL = b"null"


def _key_in(k: Any) -> Any:
    t = type(k)
    if t is str:
        return k.encode("utf-8", "surrogatepass")
    if t is bytes or t is bool or t is float:
        return k
    if t is int:
        return k if _I64[0] <= k <= _I64[1] else str(k).encode()
    return str(k).encode()


def _array_keys(d: dict[Any, Any]) -> bool:
    """mp_decode's rule: a map keyed exactly "1".."n" (text) is an array."""
    if "1" not in d and b"1" not in d:
        return False
    n = len(d)
    for i in range(1, n + 1):
        if str(i) not in d and str(i).encode() not in d:
            return False
    return all(type(k) is str or type(k) is bytes for k in d)


def lua_value(v: Any, depth: int = 0) -> Any:
    """``v`` as a value lupa's ``table_from(..., recursive=True)`` turns into what mp_decode
    makes of ``pack(v)`` (text as bytes, ``None`` as ``"null"``, maps keyed "1".."n" as lists)."""
    t = type(v)
    if t is str:
        return v.encode("utf-8", "surrogatepass")
    if t is bytes or t is bool or t is float:
        return v
    if t is int:
        return v if _I64[0] <= v <= _I64[1] else str(v).encode()
    if v is None:
        return _NULL
    if depth >= MAX_DEPTH:
        raise ConvertError("message too deep for Lua")
    if isinstance(v, dict):
        if ("1" in v or b"1" in v) and _array_keys(v):
            return [
                lua_value(v.get(str(i), v.get(str(i).encode())), depth + 1)
                for i in range(1, len(v) + 1)
            ]
        d = depth + 1  # text and binaries inline: most values of a message are
        out = {}
        for k, x in v.items():
            tx = type(x)
            out[k.encode("utf-8", "surrogatepass") if type(k) is str else _key_in(k)] = (
                x.encode("utf-8", "surrogatepass")
                if tx is str
                else x
                if tx is bytes
                else lua_value(x, d)
            )
        return out
    if isinstance(v, (list, tuple)):
        return [lua_value(x, depth + 1) for x in v]
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, (set, frozenset)):
        return [lua_value(x, depth + 1) for x in sorted(v, key=str)]
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return lua_value(int(v), depth)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v).encode("utf-8", "surrogatepass")
    return str(v).encode("utf-8", "surrogatepass")


_SKIP = frozenset({"function", "userdata", "thread"})


def _text_or_bytes(b: bytes) -> Any:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b


#: Lua values the reader takes as they are (lupa gives strings as bytes, numbers, booleans).
_PLAIN = frozenset({bytes, int, float, bool})


class Reader:
    """Lua values of one state as message values, as mp_encode + ``unpack`` give them: tables
    keyed 1..n are lists, empty tables empty lists, other keys text in bytewise order;
    functions, userdata and threads are left out (``None`` in a list). Reads tables raw
    (``lua_next``: no metamethod runs); a table with keys that are not all text goes through
    the prelude's encoder (Luerl's key order and number printing)."""

    def __init__(self, lua_type: Any, encode: Any) -> None:
        self.lua_type = lua_type
        self.encode = encode

    def value(self, v: Any, depth: int = 0) -> Any:
        """The message value of the Lua value ``v`` (``depth`` tables deep)."""
        t = type(v)
        if t is bytes:
            return _text_or_bytes(v)
        if t is int or t is float or t is bool or v is None:
            return v
        if self.lua_type(v) != "table":
            return None
        return self.table(v, depth)

    def table(self, v: Any, depth: int) -> Any:
        """The message value of the Lua table ``v``."""
        if depth > MAX_DEPTH:
            raise ConvertError("Lua value too deep (or cyclic) to convert")
        items = list(v.items())
        if not items:
            return []
        raw = dict(items)
        if len(raw) != len(items):  # keys equal in Python only (1 and true): Luerl's order
            return unpack(self.encode(v))
        try:
            ks = sorted(raw)
        except TypeError:  # keys of several types
            return self._mixed(v, raw, depth)
        if type(ks[0]) is not bytes:  # numbers: an array, or Luerl's order
            return self._mixed(v, raw, depth)
        # text keys only (bytes sort only among bytes): a map in bytewise key order
        out: dict[str | bytes, Any] = {}
        d = depth + 1
        lt = self.lua_type
        for k in ks:
            x = raw[k]
            tx = type(x)
            key: str | bytes
            try:
                key = k.decode("utf-8")
            except UnicodeDecodeError:
                key = k
            if tx is bytes:
                try:
                    out[key] = x.decode("utf-8")
                except UnicodeDecodeError:
                    out[key] = x
            elif tx in _PLAIN:
                out[key] = x
            elif lt(x) not in _SKIP:
                out[key] = self.table(x, d)
        return out if out else []

    def _mixed(self, v: Any, raw: dict[Any, Any], depth: int) -> Any:
        """A table with keys other than text: an array (keys 1..n), else the prelude's encoder."""
        if any(type(k) is not bytes and type(k) is not int for k in raw):
            return unpack(self.encode(v))  # float, boolean, table keys: Luerl's order
        lt = self.lua_type
        skipped = [k for k, x in raw.items() if type(x) not in _PLAIN and lt(x) in _SKIP]
        kept = len(raw) - len(skipped)
        if not kept:
            return []
        m = 0
        while (m + 1) in raw:
            m += 1
        if m == kept:
            d = depth + 1
            return [
                None if skipped and q in skipped else self.value(raw[q], d) for q in range(1, m + 1)
            ]
        for k in skipped:
            del raw[k]
        if all(type(k) is bytes for k in raw):  # the number keys held functions only
            return self.table_of(raw, depth)
        return unpack(self.encode(v))

    def table_of(self, raw: dict[bytes, Any], depth: int) -> dict[str | bytes, Any]:
        """A map of text keys (no functions among the values) in bytewise key order."""
        out: dict[str | bytes, Any] = {}
        d = depth + 1
        for k in sorted(raw):
            x = raw[k]
            key: str | bytes
            try:
                key = k.decode("utf-8")
            except UnicodeDecodeError:
                key = k
            out[key] = self.value(x, d)
        return out
