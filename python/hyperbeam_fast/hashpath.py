"""Hashpaths (spec core §5, runtime §2.11): `base/part`, compressed when the next step applies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _native
from .exceptions import HashPathError
from .message import id as message_id

ALGS = ("sha-256-chain", "accumulate-256")
_AO_CORE_KEYS = ("path", "hashpath", "priv")


def _get_ci(msg: dict[str, Any], key: str) -> Any:
    for k, v in msg.items():
        if isinstance(k, str) and k.lower() == key:
            return v
    return None


def path_text(v: Any) -> bytes:
    """A path or hashpath (text, bytes or an integer) as bytes."""
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v).encode()
    raise HashPathError(f"a path or hashpath must be text, got {type(v).__name__}")


def hashpath_base(msg1: Any) -> bytes:
    """``hashpath(msg)``: ``priv.hashpath``, else the ID over all commitments."""
    if isinstance(msg1, (bytes, str)):
        return message_id(msg1).encode()
    if not isinstance(msg1, dict):
        raise HashPathError(f"a hashpath needs a message or binary, got {type(msg1).__name__}")
    priv = _get_ci(msg1, "priv")
    if isinstance(priv, dict):
        hp = _get_ci(priv, "hashpath")
        if hp is not None:
            if not isinstance(hp, (str, bytes)):
                raise HashPathError(f"a stored hashpath must be text, got {type(hp).__name__}")
            return path_text(hp)
    return message_id(msg1, "uncommitted").encode()


def first_path_part(path: Any) -> bytes | None:
    """The first element of ``term_to_path_parts(path)``; nested lists flatten (spec core §5.1)."""
    if isinstance(path, (list, tuple)):
        for p in path:
            first = first_path_part(p)
            if first is not None:
                return first
        return None
    parts = [p for p in path_text(path).split(b"/") if p]
    return parts[0] if parts else None


def _part(msg2: Any) -> bytes:
    """The applied message's part: its key name for a path-only request, else its ID."""
    if isinstance(msg2, (bytes, str)):
        return path_text(msg2)
    if isinstance(msg2, dict):
        only_core = not any(
            not (isinstance(k, str) and k.lower() in _AO_CORE_KEYS) for k in msg2
        )  # stops at the first other key (a message: most requests)
        path = _get_ci(msg2, "path") if only_core else None
        if path is not None:
            first = first_path_part(path)
            if first is not None:
                return first
    return message_id(msg2, "uncommitted").encode()


def alg_of(msg1: Any) -> str:
    """``hashpath_alg``: the message's ``hashpath-alg`` key, default ``sha-256-chain``."""
    alg = _get_ci(msg1, "hashpath-alg") if isinstance(msg1, dict) else None
    if alg is None:
        return "sha-256-chain"
    name = path_text(alg).decode(errors="replace")
    if name not in ALGS:
        raise HashPathError(f"unknown hashpath-alg {name!r} (expected one of {ALGS})")
    return name


def hashpath(msg1: Any, msg2: Any = None, alg: str | None = None) -> str:
    """The hashpath of ``msg1``, or of applying ``msg2`` to it (spec core §5.1).

    ``alg`` defaults to ``msg1``'s ``hashpath-alg`` (``sha-256-chain`` when absent).
    """
    base = hashpath_base(msg1)
    if msg2 is None:
        return base.decode()
    if not isinstance(msg1, (dict, bytes, str)):
        raise HashPathError("hashpath: msg1 must be a message")
    return applied(base, msg2, alg or alg_of(msg1))


def applied(base: str | bytes, msg2: Any, alg: str = "sha-256-chain") -> str:
    """The hashpath of applying ``msg2`` to a message whose hashpath is ``base``: what
    :func:`hashpath` gives for ``({priv: {hashpath: base}}, msg2)`` (spec core §5.1)."""
    return _native.hashpath_combine(path_text(base), _part(msg2), alg)


def fold(base: str | bytes, parts: Sequence[str | bytes], alg: str = "sha-256-chain") -> str:
    """Apply many parts in turn to a hashpath in one native call."""
    return _native.hashpath_fold(path_text(base), [path_text(p) for p in parts], alg)


def combine_many(
    bases: Sequence[str | bytes], parts: Sequence[str | bytes], alg: str = "sha-256-chain"
) -> list[str]:
    """Many independent combine steps (human-form IDs) in one native call."""
    return _native.hashpath_combine_many(list(bases), list(parts), alg)


def chain_many(a: bytes, b: bytes, alg: str = "sha-256-chain") -> bytes:
    """Packed batch: ``a`` and ``b`` hold n 32-byte IDs each; returns n 32-byte chain hashes."""
    return _native.chain_many(a, b, alg)
