"""Key normalisation (core §2.2) and private keys (core §2.3)."""

from __future__ import annotations

from typing import Any

from hyperbeam_fast.exceptions import CodecError

from .primitives import ID_SIZES, as_bytes

__all__ = [
    "is_atom",
    "is_private",
    "list_to_numbered",
    "lowercase",
    "normalize_key",
    "normalize_keys",
]


def is_atom(x: object) -> bool:
    """Our tiny Atom check: a ``str`` subclass instance whose class is named ``Atom``."""
    return isinstance(x, str) and type(x).__name__ == "Atom"


def lowercase(b: bytes) -> bytes:
    # `string:lowercase` is Unicode-aware on UTF-8; fall back to ASCII for invalid UTF-8.
    """§2.2 ``string:lowercase``: Unicode-aware on UTF-8, ASCII otherwise."""
    try:
        return b.decode("utf-8").lower().encode("utf-8")
    except UnicodeDecodeError:
        return b.lower()


def normalize_key(k: object) -> bytes:
    """§2.2 ``hb_ao:normalize_key/1``, first matching rule wins."""
    if is_atom(k):
        return str(k).encode("utf-8")  # rule 3: atom_to_binary, no lowercasing
    if isinstance(k, bool):
        return b"true" if k else b"false"  # an Erlang atom
    if isinstance(k, str | bytes | bytearray):
        b = as_bytes(k)
        if len(b) in ID_SIZES:
            return b  # rule 1: ID-sized binaries keep their case
        return lowercase(b)  # rule 2
    if isinstance(k, int):
        return str(k).encode("ascii")  # rule 4
    if isinstance(k, list | tuple):
        return b"/".join(normalize_key(p) for p in k)  # rule 5 (non-string lists)
    raise CodecError(f"unsupported key type: {type(k).__name__}")


def is_private(k: object) -> bool:
    """§2.3: a key is private when its normalised form starts with ``priv``."""
    return normalize_key(k).startswith(b"priv")


def normalize_keys(msg: dict[Any, Any]) -> dict[bytes, object]:
    """§2.2 ``normalize_keys``: top-level only. On a collision the key that comes last in
    (byte) order wins, like the fold over a small Erlang map."""
    out: dict[bytes, object] = {}
    for k in sorted(msg, key=lambda k: as_bytes(k) if isinstance(k, str | bytes) else b""):
        out[normalize_key(k)] = msg[k]
    return out


def list_to_numbered(items: list[Any]) -> dict[bytes, object]:
    """§2.2: ``normalize_keys(List)`` gives a map with keys "1".."N"."""
    return {str(i).encode("ascii"): v for i, v in enumerate(items, start=1)}
