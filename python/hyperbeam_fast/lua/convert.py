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
