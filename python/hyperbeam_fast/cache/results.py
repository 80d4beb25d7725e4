"""The result cache (runtime §2.9): ``lookup`` before a resolution, ``store_result`` after one;
a result is found under ``hashpath(msg1, msg2)`` (or ``<ID1>/<ID2>``). See the package
docstring for the statuses.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import HyperbeamError, NotFound, UnverifiedCommitment
from ..store.base import Store
from .control import lookup_settings, store_settings
from .reading import read
from .writing import link, through_parent, writable, write, write_binary

__all__ = ["lookup", "read_resolved", "store_result"]


def _id_like(v: Any) -> bool:
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    return isinstance(v, str) and len(v) == 43 and "/" not in v


def _result_path(msg1: Any, msg2: Any) -> str:
    from ..hashpath import hashpath
    from ..message import id as msg_id

    if _id_like(msg1):
        m1 = msg1.decode() if isinstance(msg1, bytes) else msg1
        if _id_like(msg2):
            return f"{m1}/{msg2.decode() if isinstance(msg2, bytes) else msg2}"
        return f"{m1}/{msg_id(msg2, 'uncommitted')}"
    return hashpath(msg1, msg2)


def read_resolved(msg1: Any, msg2: Any, store: Store) -> dict[str, Any] | bytes:
    """The cached result of resolving ``msg2`` against ``msg1`` (runtime §2.9 step 3)."""
    try:
        path = _result_path(msg1, msg2)
    except HyperbeamError as e:
        raise NotFound(f"no cache path for this pair: {e}") from e
    return read(path, store)


def lookup(
    msg1: Any, msg2: Any, store: Store | None, opts: dict[str, Any] | None = None
) -> tuple[str, Any]:
    """``maybe_lookup`` (runtime §2.9): see the module docstring for the statuses."""
    s = lookup_settings(msg1, msg2, opts)
    if (
        opts
        and (opts.get("cache_lookup_hueristics") or opts.get("cache_lookup_heuristics"))
        and not _id_like(msg1)
        and not s["only-if-cached"]
        and isinstance(msg1, dict)
        and isinstance(msg2, dict)
        and isinstance(msg2.get("path"), (str, bytes))
        and _as_str(msg2["path"]) in msg1
    ):
        return ("skip", None)
    if not s["lookup"] or store is None:
        return ("skip", None)
    try:
        return ("hit", read_resolved(msg1, msg2, store))
    except NotFound:
        pass
    if s["only-if-cached"]:
        return (
            "error",
            {
                "status": 504,
                "cache-status": "miss",
                "body": "Computed result not available in cache.",
            },
        )
    if _id_like(msg1):
        try:
            return ("loaded", read(_as_str(msg1), store))
        except NotFound:
            return ("error", {"status": 404, "body": "Necessary messages not found in cache."})
    return ("miss", None)


def _as_str(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else v


def store_result(
    msg1: Any, msg2: Any, msg3: Any, store: Store | None, opts: dict[str, Any] | None = None
) -> bool:
    """``maybe_store`` (runtime §2.9): write msg1, msg2 (maps) and the result; True if stored
    (False too when one of them carries a commitment that does not verify).

    A binary result is linked from ``hashpath(msg1, msg2)`` (``write_binary``). A map result is
    written and, as an extension over HyperBEAM, also linked from that hashpath when the path is
    still free, so that repeated resolutions with map results are served from the cache too.
    """
    if store is None or not store_settings(msg2, msg3, opts)["store"]:
        return False
    # A message whose commitments do not verify is not cached (nothing may link its IDs), and
    # neither is a result computed from it: caching is an optimisation, never an error.
    try:
        return _store_result(msg1, msg2, msg3, store)
    except UnverifiedCommitment:
        return False


def _store_result(msg1: Any, msg2: Any, msg3: Any, store: Store) -> bool:
    if isinstance(msg1, dict):
        write(msg1, store)
    if isinstance(msg2, dict):
        write(msg2, store)
    if isinstance(msg3, (bytes, str)) or isinstance(msg3, dict):
        try:
            hp = _result_path(msg1, msg2)
        except HyperbeamError:
            hp = None
        if isinstance(msg3, (bytes, str)):
            data = msg3.encode() if isinstance(msg3, str) else msg3
            if hp is not None:
                write_binary(hp, data, store)
            else:
                write(data, store)
        else:
            uid = write(msg3, store)
            if hp is not None:
                w = writable(store)
                hp = through_parent(w, hp)
                if w.read_link(hp) is None and not w.exists(hp):
                    link(uid, hp, store)
        return True
    return False
