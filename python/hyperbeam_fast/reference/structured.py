"""``structured@1.0``: rich message -> TABM (core §3.1, §3.2)."""

from __future__ import annotations

import math
from typing import Any

from hyperbeam_fast.exceptions import CodecError

from .keys import is_atom, list_to_numbered, normalize_key, normalize_keys
from .primitives import as_bytes
from .sf import hb_escape, sf_dictionary, sf_list, sf_string

__all__ = ["REGEN_KEYS", "encode_value", "structured_from"]

# §2.4: ?REGEN_KEYS, dropped by structured@1.0 `from` at every level.
REGEN_KEYS = frozenset({b"unsigned_id", b"content-digest"})


def _encode_float(f: float) -> bytes:
    # §3.2: Erlang float_to_binary default == [{scientific, 20}] == Python "%.20e".
    if math.isnan(f) or math.isinf(f):
        raise CodecError(f"float {f!r} has no Erlang representation")
    return b"%.20e" % f


def _atom_name(v: object) -> bytes:
    if v is True:
        return b"true"
    if v is False:
        return b"false"
    if v is None:
        return b"null"
    return str(v).encode("utf-8")


def _is_atom_value(v: object) -> bool:
    return v is True or v is False or v is None or is_atom(v)


def encode_value(v: object) -> tuple[bytes, bytes]:
    """§3.2 ``encode_value(V)`` → ``(Type, Bin)``."""
    if _is_atom_value(v):
        return b"atom", sf_string(_atom_name(v))  # with the quotes: "true"
    if isinstance(v, int):
        return b"integer", str(v).encode("ascii")
    if isinstance(v, float):
        return b"float", _encode_float(v)
    if isinstance(v, str | bytes | bytearray):
        return b"binary", as_bytes(v)  # only reached for list elements
    if isinstance(v, list):
        members = []
        for elem in v:
            if isinstance(elem, dict):
                # §3.1: a map after a scalar in a list crashes (badmatch) in the original.
                raise CodecError("a map may not follow a scalar inside a list")
            if isinstance(elem, str | bytes | bytearray) and not is_atom(elem):
                members.append(sf_string(as_bytes(elem)))
            else:
                t, enc = encode_value(elem)
                members.append(sf_string(b"(ao-type-" + t + b") " + enc))
        return b"list", sf_list(members)
    raise CodecError(f"unsupported value type: {type(v).__name__}")


def _is_empty_message(v: dict[Any, Any]) -> bool:
    # §3.1: size 0, or size 1 holding only the key priv / "priv".
    if len(v) == 0:
        return True
    return len(v) == 1 and normalize_key(next(iter(v))) == b"priv"


def structured_from(msg: dict[Any, Any]) -> dict[Any, Any]:
    """§3.1 ``dev_codec_structured:from/1``: rich message → TABM (bytes keys and leaves)."""
    if isinstance(msg, str | bytes | bytearray) and not is_atom(msg):
        return as_bytes(msg)  # from(bin) = bin
    if not isinstance(msg, dict):
        raise CodecError(f"not a message: {type(msg).__name__}")
    m = normalize_keys(msg)
    types: list[tuple[bytes, bytes]] = []
    values: dict[bytes, object] = {}
    for k in sorted(m):
        if k in REGEN_KEYS or k.startswith(b"priv"):
            continue
        v = m[k]
        if isinstance(v, str | bytes | bytearray) and not is_atom(v) and len(v) == 0:
            types.append((k, b"empty-binary"))
        elif isinstance(v, list) and len(v) == 0:
            types.append((k, b"empty-list"))
        elif isinstance(v, dict) and _is_empty_message(v):
            types.append((k, b"empty-message"))
        elif isinstance(v, str | bytes | bytearray) and not is_atom(v):
            values[k] = as_bytes(v)
        elif isinstance(v, dict):
            values[k] = structured_from(v)
        elif isinstance(v, list) and isinstance(v[0], dict | list):
            # §3.1: a list whose first element is a map or list becomes a numbered map.
            types.append((k, b"list"))
            values[k] = structured_from(list_to_numbered(v))
        elif _is_atom_value(v) or isinstance(v, int | float | list):
            t, enc = encode_value(v)
            types.append((k, t))
            values[k] = enc
        else:
            # The original drops unknown terms silently; in Python that would hide bugs.
            raise CodecError(f"unsupported value type for key {k!r}: {type(v).__name__}")
    if types:
        values[b"ao-types"] = sf_dictionary([(hb_escape(k), sf_string(t)) for k, t in types])
    return values
