"""Hashpaths of resolved steps (spec runtime §2.11, stage 9 of §2.4): each ok message result
carries ``priv.hashpath``, the hashpath of its base with the request applied
(``hashpath`` option: ``update``, the default; ``reset`` drops it; ``ignore`` leaves it).
"""

from __future__ import annotations

from typing import Any

from .. import _native
from ..exceptions import CodecError, HashPathError
from ..hashpath import alg_of, first_path_part, hashpath_base, path_text
from ..message import id as message_id
from .keys import AO_CORE_KEYS, hashable
from .values import OK


def pair_hashpath(msg1: dict[str, Any], msg2: Any) -> str:
    """``hb_path:hashpath(Msg1, Msg2)`` for a resolved pair (runtime §2.11)."""
    try:
        base = hashpath_base(msg1)
    except (CodecError, TypeError, ValueError) as exc:
        try:
            base = hashpath_base(hashable(msg1))
        except RecursionError:
            raise HashPathError(f"cannot compute the hashpath: {exc}") from exc
    part: bytes | None = None
    if isinstance(msg2, dict):
        path = msg2.get("path")
        if path is not None and all(k in AO_CORE_KEYS for k in msg2):
            try:
                part = first_path_part(path)
            except HashPathError:
                part = None
        if part is None:
            try:
                part = message_id(msg2, "uncommitted").encode()
            except (CodecError, TypeError, ValueError):
                part = message_id(hashable(msg2), "uncommitted").encode()
    else:
        part = path_text(msg2)
    return _native.hashpath_combine(base, part, alg_of(msg1))


def key_hashpath(base: dict[str, Any], key: str) -> str:
    """``pair_hashpath(base, {"path": key})`` for a key without ``/``, skipping the generic
    checks (the fast path of a plain key read)."""
    priv = base.get("priv")
    hp = priv.get("hashpath") if type(priv) is dict else None
    if "commitments" in base or "hashpath-alg" in base or (hp is not None and type(hp) is not str):
        return pair_hashpath(base, {"path": key})
    if hp is None:
        try:
            hp = _native.unsigned_id(base)
        except (CodecError, TypeError, ValueError):
            return pair_hashpath(base, {"path": key})
    return _native.hashpath_combine(hp.encode(), key.encode(), "sha-256-chain")


def with_hashpath(value: dict[str, Any], hp: str) -> dict[str, Any]:
    """``value`` with ``priv.hashpath`` set to ``hp``."""
    priv = value.get("priv")
    new_priv = {**priv, "hashpath": hp} if isinstance(priv, dict) else {"hashpath": hp}
    out = dict(value)
    out["priv"] = new_priv
    return out


def without_hashpath(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` without ``priv.hashpath`` (the same object when it has none)."""
    priv = value.get("priv")
    if isinstance(priv, dict) and "hashpath" in priv:
        out = dict(value)
        out["priv"] = {k: v for k, v in priv.items() if k != "hashpath"}
        return out
    return value


def apply_hashpath(
    status: str, value: Any, msg1: dict[str, Any], msg2: dict[str, Any], opts: dict[str, Any]
) -> Any:
    """Stage 9: the result of ``msg1`` applied with ``msg2`` as the ``hashpath`` option says."""
    if type(value) is not dict:
        return value
    if status != OK:
        return without_hashpath(value)
    mode = opts.get("hashpath", "update")
    if mode == "ignore":
        return value
    if mode == "reset":
        return without_hashpath(value)
    return with_hashpath(value, pair_hashpath(msg1, msg2))
