"""Hashpaths (core §5.1): ``hashpath(msg1[, msg2])`` and ``combine``."""

from __future__ import annotations

from typing import Any

from hyperbeam_fast.exceptions import CodecError, HashPathError

from .keys import is_atom, normalize_keys
from .message_ids import message_id
from .primitives import accumulate, as_bytes, human_id, native_id, sha256, sha256_chain

__all__ = ["AO_CORE_KEYS", "combine_hashpath", "hashpath"]

# §2.4: ?AO_CORE_KEYS, ignored when deciding whether a msg2 is "only a path" (§5.1).
AO_CORE_KEYS = frozenset({b"path", b"hashpath", b"priv"})


_ALGS = {
    "sha-256-chain": sha256_chain,
    "sha256_chain": sha256_chain,
    "accumulate-256": accumulate,
    "accumulate": accumulate,
}


def _alg_function(alg: Any) -> Any:
    """§5.1 ``hashpath_alg``: ``sha-256-chain`` (the default) or ``accumulate-256``, matched
    case-insensitively; a callable is used as is; anything else is an error."""
    if callable(alg):
        return alg
    name = as_bytes(alg).decode("utf-8", "replace").lower() if alg is not None else ""
    if name not in _ALGS:
        raise HashPathError(f"unknown hashpath algorithm {alg!r}")
    return _ALGS[name]


def _get(msg: dict[Any, Any], key: bytes) -> Any:
    """Case-insensitive get of a top-level key (via normalisation)."""
    found = None
    for k, v in normalize_keys(msg).items():
        if k == key:
            found = v
    return found


def _base_hashpath(msg1: object) -> str:
    """§5.1 ``hashpath(bin)`` / ``hashpath(msg)``."""
    if isinstance(msg1, str | bytes | bytearray) and not is_atom(msg1):
        return human_id(sha256(as_bytes(msg1)))
    if not isinstance(msg1, dict):
        raise HashPathError(f"hashpath_not_viable: {type(msg1).__name__}")
    priv = _get(msg1, b"priv")
    if isinstance(priv, dict):
        hp = _get(priv, b"hashpath")
        if hp is not None:
            return as_bytes(hp).decode("utf-8")
    try:
        return message_id(msg1)
    except CodecError as exc:
        raise HashPathError(f"unsupported_type: {exc}") from exc


def _first_path_element(path: Any) -> bytes | None:
    """§5.1 ``term_to_path_parts`` then the first element, as binary."""
    if isinstance(path, list | tuple):  # nested lists flatten: [["/a", ["b"]], "c"] -> a, b, c
        for p in path:
            first = _first_path_element(p)
            if first is not None:
                return first
        return None
    if isinstance(path, int) and not isinstance(path, bool):
        parts = [str(path).encode("ascii")]
    elif is_atom(path):
        parts = [str(path).encode("utf-8")]
    else:
        parts = [p for p in as_bytes(path).split(b"/") if p]
    return parts[0] if parts else None


def combine_hashpath(base: str | bytes, part: str | bytes, alg: object = "sha-256-chain") -> str:
    """§5.1 ``combine``: append ``part`` to ``base``, first compressing a two-part base to
    ``human_id(alg(native_id(p1), p2 if len(p2) != 43 else native_id(p2)))``."""
    fn = _alg_function(alg)
    base_b, part_b = as_bytes(base), as_bytes(part)
    parts = [p for p in base_b.split(b"/") if p]
    if len(parts) == 1:
        return (base_b + b"/" + part_b).decode("utf-8")
    if len(parts) == 2:
        p1, p2 = parts
        second = native_id(p2) if len(p2) == 43 else p2  # a key name is hashed as raw bytes
        compressed = human_id(fn(native_id(p1), second))
        return compressed + "/" + part_b.decode("utf-8")
    raise HashPathError(f"hashpath {base_b!r} has {len(parts)} parts (1 or 2 allowed)")


def hashpath(msg1: object, msg2: object = None, alg: object = "sha-256-chain") -> str:
    """§5.1 ``hb_path:hashpath``.

    * ``hashpath(bytes)`` → ``human_id(sha256(bytes))``;
    * ``hashpath(dict)`` → ``priv.hashpath`` if present, else the message ID (all commitments);
    * ``hashpath(msg1, msg2)``: a ``str``/``bytes`` msg2 is a key name; a dict msg2 holding only
      path/hashpath/priv keys contributes its first path element; any other msg2 its ID.
      A ``hashpath-alg`` key in msg1 overrides ``alg``.
    """
    if msg2 is None:
        return _base_hashpath(msg1)
    if not isinstance(msg1, dict):
        raise HashPathError(f"hashpath_not_viable: msg1 is a {type(msg1).__name__}")
    base = _base_hashpath(msg1)
    chosen = _get(msg1, b"hashpath-alg")
    if chosen is not None:
        alg = chosen
    if isinstance(msg2, str | bytes | bytearray) and not is_atom(msg2):
        part = as_bytes(msg2)
    elif isinstance(msg2, dict):
        norm = normalize_keys(msg2)
        rest = [k for k in norm if k not in AO_CORE_KEYS]
        first = None
        if not rest and b"path" in norm:
            first = _first_path_element(norm[b"path"])
        if first is not None:
            part = first  # the KEY NAME, not an ID
        else:
            try:
                part = message_id(msg2).encode("ascii")
            except CodecError as exc:
                raise HashPathError(f"unsupported_type: {exc}") from exc
    else:
        raise HashPathError(f"hashpath: unsupported msg2 type {type(msg2).__name__}")
    return combine_hashpath(base, part, alg)
