"""The cache's read side (runtime §10.2): reads by ID, hashpath or path through every store of
a chain, ``data/<h>`` blobs checked against their hash, a peer's answer checked against the ID
it was asked for, sub-messages followed to :data:`MAX_READ_DEPTH`; group listings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from .. import _native
from ..exceptions import HyperbeamError, NotFound, StoreCorrupt, StoreLinkLoop
from ..store.base import GROUP, LINK, RAW, Store, join
from ..store.chain import StoreChain
from .verify import prepare
from .writing import data_path, write

__all__ = ["MAX_READ_DEPTH", "list", "list_numbered", "read", "read_tabm"]

_list = list  # ``list`` is one of this module's functions

_group_entries = _native.cache_group_entries
_group_fill = _native.cache_group_fill
_native_convert = _native.convert


def _stores(store: Store) -> _list[Store]:
    return store.stores if isinstance(store, StoreChain) else [store]


#: Deepest nesting of sub-messages a read follows: the codecs' own limit.
MAX_READ_DEPTH = _native.MAX_DEPTH


def _too_deep(path: str) -> StoreCorrupt:
    return StoreCorrupt(f"{path!r}: the message nests deeper than {MAX_READ_DEPTH} levels")


def _read_group(s: Store, path: str, stack: set[str]) -> dict[str, Any]:
    if path in stack:
        raise StoreLinkLoop(f"circular link: {path!r} contains itself")
    if len(stack) >= MAX_READ_DEPTH:
        raise _too_deep(path)
    if "/" not in path and hasattr(s, "_packed_read"):
        r = s._packed_read(path, False)
        if r is not None:
            return cast("dict[str, Any]", r)
    if hasattr(s, "_group_items"):
        r = _read_group_scan(s, path, stack)
        if r is not None:
            return r
    stack.add(path)
    out: dict[str, Any] = {}
    links = []
    for name, e in s._child_entries(path):
        t = e[0]
        if t == RAW:
            out[name] = e[1]
        elif t == LINK:
            links.append((name, e[1]))
        else:
            out[name] = _read_group(s, f"{path}/{name}", stack)
    if links:
        ents = s._entries([tgt for _, tgt in links])
        for (name, tgt), ent in zip(links, ents, strict=True):
            _put_linked(s, out, path, name, tgt, ent, stack)
    stack.discard(path)
    return out


def _checked_data(path: str, b: bytes) -> bytes:
    """``b``, read at ``path``; a ``data/<h>`` blob must hash to ``<h>`` (runtime §10.2)."""
    if path[:5] == "data/" and data_path(b) != path:
        raise StoreCorrupt(f"{path!r} does not hold the content its name hashes")
    return b


def _put_linked(
    s: Store, out: dict[str, Any], path: str, name: str, tgt: str, e: Any, stack: set[Any]
) -> None:
    """Set ``out[name]`` from the child link ``path/name -> tgt`` whose target entry is ``e``."""
    if e is None or e[0] == LINK:
        tgt = s.resolve(tgt)
        e = s._entry(tgt)
        if e is None:
            raise StoreCorrupt(f"subpath_not_found: {path}/{name} -> {tgt}")
    if e[0] == RAW:
        out[name] = _checked_data(tgt, e[1])
    elif e[0] == GROUP:
        out[name] = _read_group(s, tgt, stack)
    else:
        raise StoreCorrupt(f"unresolvable link at {path}/{name}")


def _read_group_scan(s: Any, path: str, stack: set[str]) -> dict[str, Any] | None:
    """A group read with one prefix scan per (sub-)group and one multi-get for every value of
    the tree (RocksDB), decoded natively; ``None`` when ``path`` is not a plain group of raw
    values and links (the general path then reads it, or finds it absent)."""
    outs: _list[Any] = []
    names: _list[Any] = []
    tgts: _list[Any] = []
    out = _scan_tree(s, path, stack, outs, names, tgts)
    if out is not None and tgts:
        pending = _group_fill(outs, names, tgts, s._get(tgts))
        if pending:
            stack.add(path)
            for o, name, tgt, is_group in pending:
                if is_group:
                    o[name] = _read_group(s, tgt, stack)
                else:
                    _put_linked(s, o, path, name, tgt, s._entry(tgt), stack)
            stack.discard(path)
    return cast("dict[str, Any] | None", out)


def _scan_tree(
    s: Any, path: str, stack: set[str], outs: _list[Any], names: _list[Any], tgts: _list[Any]
) -> Any:
    """Scan the group ``path`` and, first, its sub-messages; queue the values to fetch."""
    if len(stack) >= MAX_READ_DEPTH:
        raise _too_deep(path)
    dec = _group_entries(s._group_items(path), path.encode(), outs, names, tgts)
    if dec is None:
        return None
    out, subs = dec
    if subs:
        stack.add(path)
        for name, tgt in subs:
            if tgt in stack:
                raise StoreLinkLoop(f"circular link: {tgt!r} contains itself")
            r = _scan_tree(s, tgt, stack, outs, names, tgts)
            if r is None:  # not a plain group (a link, a miss...): the general path
                _put_linked(s, out, path, name, tgt, s._entry(tgt), stack)
            else:
                out[name] = r
        stack.discard(path)
    return out


def _read_local(s: Store, path: str, packed: bool = True) -> dict[str, Any] | bytes:
    if packed and "/" not in path and hasattr(s, "_packed_read"):
        # A message in packed groups (RocksDB), through any one-segment links to it.
        r = s._packed_read(path, False)
        if r is not None:
            return cast("dict[str, Any] | bytes", r)
    if "/" not in path and hasattr(s, "_group_items"):
        # A one-segment path is either the group itself (read in one scan) or, e.g. for a
        # signed ID, a link: the general path below resolves it.
        r = _read_group_scan(s, path, set())
        if r is not None:
            return r
    p, e = s._resolved_entry(path)
    if e is None:
        raise NotFound(path)
    if e[0] == RAW:
        return _checked_data(p, e[1])
    if e[0] == GROUP:
        return _read_group(s, p, set())
    raise StoreCorrupt(f"unresolved link at {path!r}")


def _check_named(path: str, r: dict[str, Any] | bytes) -> None:
    """A peer's answer for the ID or ``data/<h>`` path ``path`` must be what that names: a
    message with ``path`` among its (verified) IDs, or bytes that hash to it; StoreCorrupt
    otherwise (other paths, e.g. hashpaths, name nothing that can be checked)."""
    if isinstance(r, bytes):
        _checked_data(path, r)
    elif "/" not in path and len(path) == 43 and isinstance(r, dict):
        try:
            named = path in prepare(r)[2]
        except HyperbeamError as e:
            raise StoreCorrupt(f"the message a peer sent for {path!r} is refused: {e}") from e
        if not named:
            raise StoreCorrupt(f"a peer sent a message for {path!r} that has another ID")


def read_tabm(target: str | Sequence[str], store: Store) -> dict[str, Any] | bytes:
    """Like :func:`read` but returns the stored TABM (no ``structured@1.0`` decoding)."""
    return _read(target, store, tabm=True)


def read(target: str | Sequence[str], store: Store) -> dict[str, Any] | bytes:
    """Read a message by unsigned ID, any commitment ID, hashpath or path (``[ID, key, ...]``).

    Returns the message (structured) or, for a simple entry, its bytes. Raises
    :class:`~hyperbeam_fast.NotFound` when no store has it; a single store's typed errors
    (:class:`StoreLinkLoop`, :class:`StoreCorrupt`, ...) propagate; in a chain they move on.
    """
    return _read(target, store, tabm=False)


def _read(target: str | Sequence[str], store: Store, tabm: bool) -> dict[str, Any] | bytes:
    path = join(target)
    stores = _stores(store)
    err: BaseException | None = None
    for s in stores:
        try:
            if s.scope == "remote" and hasattr(s, "read_message"):
                r = s.read_message(path)
                if r is None:
                    continue
                _check_named(path, r)
                if isinstance(store, StoreChain) and store.write_through:
                    local = store.local_writable()
                    if local is not None:
                        write(r, local)
                if tabm and isinstance(r, dict):
                    from ..message import convert

                    return cast("dict[str, Any] | bytes", convert(r, "tabm"))
                return cast("dict[str, Any] | bytes", r)
            if not tabm and "/" not in path and hasattr(s, "_packed_read"):
                # Packed groups decoded and converted to structured@1.0 in one native call.
                r = s._packed_read(path, True)
                if r is not None:
                    return cast("dict[str, Any] | bytes", r)
                r = _read_local(s, path, False)  # not packed: no second try
            else:
                r = _read_local(s, path)
        except NotFound:
            continue
        except (HyperbeamError, OSError) as e:
            if len(stores) == 1:
                raise
            err = e
            continue
        if tabm or not isinstance(r, dict):
            return r
        if "priv" not in r:
            return cast("dict[str, Any] | bytes", _native_convert(r, "tabm", "structured@1.0"))
        from ..message import convert

        return cast("dict[str, Any] | bytes", convert(r, "structured@1.0", "tabm"))
    if err is not None:
        raise NotFound(f"{path} (last store error: {err})") from err
    raise NotFound(path)


def list(path: str | Sequence[str], store: Store) -> _list[str]:  # noqa: A001
    """The child names of a group (after links); ``[]`` if there is none."""
    for s in _stores(store):
        try:
            r = s.list(path)
        except (HyperbeamError, OSError):
            continue
        if r is not None:
            return r
    return []


def list_numbered(path: str | Sequence[str], store: Store) -> _list[int]:
    """The integer-named children of a group, sorted (process slots, runtime §10.2)."""
    out = []
    for n in list(path, store):
        if n.isdigit() or (n[:1] == "-" and n[1:].isdigit()):
            out.append(int(n))
    out.sort()
    return out
