"""The message cache (HyperBEAM's ``hb_cache``, spec runtime §10.2, §2.9; core §2.5).

Layout written into any :mod:`~hyperbeam_fast.store` (runtime §10.4)::

    data/<b64url(sha256(bin))>        raw bytes (content-addressed: deduplicated; checked on read)
    <G>/                              a group per (sub-)message (TABM map): G is its unsigned ID,
                                      or, when that ID leaves keys out (commitments, signature,
                                      body-keys, content-digest: core §4.3), the hash of all of
                                      its content (``cache_layout::group_id``)
    <G>/<key> -> data/<h> | <SubG>
    <ID> -> <G>                       the unsigned ID, every verified commitment ID, id(all)
    <HP1>/<HP2> -> data/<h>           cached binary results (write_binary)

A message is written through one store batch, children before parents and ID links last, so
it becomes readable whole or not at all. Each write of a signed message is its own group, so
the same content signed by several keys or codecs keeps every signature, each readable by its
ID. IDs are never repointed: an ID already in the store keeps naming what it named.

Cache control (runtime §2.9), for ``ao.resolve``::

    status, value = cache.lookup(msg1, msg2, store, opts)   # before executing
    #   "hit"     -> value is the cached result: return it
    #   "loaded"  -> msg1 was an ID; value is the loaded message: execute with it
    #   "error"   -> value is {"status": 504|404, ...}: return it as the error result
    #   "miss"/"skip" -> execute normally
    ...execute -> msg3...
    cache.store_result(msg1, msg2, msg3, store, opts)        # after a successful result

``opts`` is the node's option dict: ``cache_control`` (a directive or list; the node default is
``["no-cache", "no-store"]``, HTTP requests use ``["always"]``), ``hashpath`` (``"ignore"`` forces
no store) and ``cache_lookup_hueristics`` (sic, HyperBEAM's spelling; default false).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from . import _native
from .exceptions import (
    CacheError,
    HyperbeamError,
    InvalidStorePath,
    NotFound,
    StoreCorrupt,
    StoreLinkLoop,
    UnverifiedCommitment,
)
from .store.base import GROUP, LINK, RAW, Store, check_segment, join
from .store.chain import StoreChain

__all__ = [
    "link",
    "list",
    "list_numbered",
    "lookup",
    "lookup_settings",
    "read",
    "read_resolved",
    "read_tabm",
    "settings",
    "store_result",
    "store_settings",
    "write",
    "write_binary",
    "write_hashpath",
]

_list = list  # ``list`` is one of this module's functions

_sha256 = hashlib.sha256
_human_id = _native.human_id
_unsigned_id = _native.unsigned_id
_write_set = _native.cache_write_set
_group_id = _native.cache_group_id
_packed_set = _native.cache_packed_set
_group_entries = _native.cache_group_entries
_group_fill = _native.cache_group_fill
_native_convert = _native.convert


# ---- writing ------------------------------------------------------------------------------


def _data_path(b: bytes) -> str:
    return "data/" + _human_id(_sha256(b).digest())


def _ops_for(value: Any, ops: _list, known_id: str | None = None) -> str:
    """Append the store operations that write one TABM value; return its path."""
    if type(value) is bytes:
        p = _data_path(value)
        ops.append(("write", p, value))
        return p
    if isinstance(value, dict):
        uid = known_id or _group_id(value) or _unsigned_id(value)
        links = []
        for k, v in value.items():
            if k[:4] == "priv":
                continue
            if k == "device" and isinstance(v, dict):
                raise CacheError("device_map_cannot_be_written: a `device` key holds a map")
            try:
                check_segment(k)
            except InvalidStorePath as e:
                raise CacheError(f"key {k!r} cannot be a store path segment") from e
            links.append(("link", _ops_for(v, ops), f"{uid}/{k}"))
        ops.append(("group", uid))  # after its children (staged groups appear in this order)
        ops.extend(links)
        return uid
    if isinstance(value, (bytearray, memoryview)):
        return _ops_for(bytes(value), ops)
    raise CacheError(f"cannot write a {type(value).__name__} to the cache (TABM expected)")


def _writable(store: Store) -> Store:
    return store.primary if isinstance(store, StoreChain) else store


def _prepare(msg: dict) -> tuple[dict, str, _list[str]]:
    """Drop private keys, keep only committed keys of a signed message, compute IDs.

    Returns ``(tabm, uid, ids)``: ``ids`` are the IDs to link to the message's group, the
    unsigned ID first, then every commitment ID (each verified, :func:`_verified`) and, with
    several commitments, the ID over all of them that hashpaths use as their base (core §5.1)
    and the ID over the signed ones (``id(msg, "all")``).
    """
    from .message import convert
    from .message import id as msg_id

    body = {k: v for k, v in msg.items() if k[:4] != "priv"} if _has_priv(msg) else msg
    comms = body.get("commitments")
    ids: _list[str] = []
    if isinstance(comms, dict) and comms:
        for cid in comms:
            if not (isinstance(cid, str) and len(cid) == 43):
                raise CacheError(f"commitment key {cid!r} is not a 43-character ID")
        body = _verified(body)
        uid = msg_id(body, "none")
        ids.append(uid)
        ids.extend(comms)
        if len(comms) > 1:
            ids.append(msg_id(body, "uncommitted"))
            ids.append(msg_id(body, "all"))  # over the signed commitments (one: its own ID)
    else:
        uid = _unsigned_id(body) if type(body) is dict else msg_id(body, "none")
        ids.append(uid)
    return convert(body, "tabm"), uid, ids


def _commitment_verifies(msg: dict, cid: str, c: Any) -> bool:
    """Whether the commitment ``cid`` (``c``) of ``msg`` verifies against ``msg`` (core §4).

    An HMAC commitment names no signer: its ID must be the message's recomputed unsigned ID.
    Any other commitment must name a committer and verify alone, on a copy of ``msg`` that
    carries only it (so that no other commitment can vouch for it).
    """
    from . import commitments as _c
    from .message import id as msg_id

    if not isinstance(c, dict):
        return False
    if _b(c.get("alg")) == b"hmac-sha256":
        return cid == msg_id(msg, "none")
    alone = {**msg, "commitments": {cid: c}}
    return _c.verify(alone) and len(_c.signers(alone)) == 1


def _verified(body: dict) -> dict:
    """``body`` with only its committed keys (``with_only_committed``, core §4.8) when every
    commitment verifies against that; raises :class:`UnverifiedCommitment` otherwise.

    A message with no httpsig signature may instead keep all of its keys when every commitment
    verifies against all of them: an ans104 signature covers the whole data item (core §8) and
    an HMAC ID is the unsigned ID over every key, so none of its keys is uncommitted, while
    ``committed`` does not list them all (an ans104 binary that is not UTF-8 travels in the
    item's data, not as a tag; an HMAC commitment without ``signature-input`` lists none). An
    httpsig signature covers only its components: other keys are always dropped.
    """
    from . import commitments as _c

    comms = body["commitments"]
    candidates = []
    try:
        candidates.append(_only_committed(body, _c.committed(body)))
    except HyperbeamError:
        pass
    if not any(_httpsig_signature(c) for c in comms.values()):
        candidates.append(body)
    bad = next(iter(comms))
    for cand in candidates:
        try:
            bad = next(
                (cid for cid, c in comms.items() if not _commitment_verifies(cand, cid, c)), None
            )
        except HyperbeamError as e:
            raise UnverifiedCommitment(f"a commitment cannot be checked: {e}") from e
        if bad is None:
            return cand
    raise UnverifiedCommitment(f"commitment {bad!r} does not verify against the message")


def _b(v: Any) -> bytes | None:
    return v.encode() if isinstance(v, str) else v


def _httpsig_signature(c: Any) -> bool:
    """Whether ``c`` is (or claims to be) an httpsig commitment other than an HMAC one."""
    if not isinstance(c, dict):
        return False
    return _b(c.get("commitment-device")) == b"httpsig@1.0" and _b(c.get("alg")) != b"hmac-sha256"


def _only_committed(body: dict, keys: _list[str]) -> dict:
    """``with_only_committed`` (core §4.8), keeping ID keys when ``ao-ids`` was signed.

    httpsig signs a message's ID keys (32, 42 or 43 bytes, core §1.2) inside the ``ao-ids``
    component (core §6.2) and
    empty values inside ``ao-types``, so ``committed`` names those components and not the keys
    themselves; they must survive.
    """
    keep = set(keys)
    keep.add("commitments")
    ids = "ao-ids" in keep
    types = "ao-types" in keep
    return {
        k: v
        for k, v in body.items()
        if k in keep
        or (ids and len(k) in (32, 42, 43))
        # Empty values live only in the signed ao-types (core §3.1, §4.7).
        or (types and v in (b"", "", {}, []))
    }


def _has_priv(msg: dict) -> bool:
    for k in msg:
        if k[:4] == "priv":
            return True
    return False


def _free(s: Store, path: str) -> bool:
    """Whether nothing (no entry, no link) is stored at the one-segment ``path``."""
    return s.read_link(path) is None and not s.exists(path)


def write(msg: dict | bytes | str, store: Store) -> str:
    """Write a message (or a binary) and return its unsigned ID (or its ``data/<h>`` path).

    The message is one group (sub-messages too), named by its unsigned ID or, when that ID
    does not cover every key (a signed message: its commitments), by the hash of all of its
    content (``cache_layout::group_id``). The unsigned ID, every commitment ID and, with
    several commitments, the IDs over all of them and over the signed ones link to it. IDs are never
    repointed: an ID (or group) already in the store is left as it is, so once ``X`` names
    content no later write changes what ``read(X)`` returns. A commitment that does not
    verify raises :class:`UnverifiedCommitment` and nothing is written. Atomic per message.
    """
    target = _writable(store)
    if isinstance(msg, (bytes, str)):
        b = msg.encode() if isinstance(msg, str) else msg
        p = _data_path(b)
        target.write(p, b)
        return p
    if not isinstance(msg, dict):
        raise CacheError(f"cannot write a {type(msg).__name__} to the cache")
    packed = getattr(target, "_write_packed", None)
    encoded = packed is not None or hasattr(target, "_write_encoded")
    # The common case, an unsigned message without private keys whose unsigned ID covers every
    # key: one native call computes its ID, its TABM and every store operation. Anything else
    # (``None``) takes the general path: IDs, verification and TABM in Python.
    if packed is not None:
        ws = _packed_set(msg, "structured@1.0", None, target.inline_max)  # type: ignore[attr-defined]
    else:
        ws = _write_set(msg, "structured@1.0", None, encoded)
    if ws is not None:
        uid, ids, name, tabm = ws[0], (), ws[0], None
        if target.read_link(uid) is not None:
            return uid  # already readable through its link (e.g. a signed version of it)
    else:
        tabm, uid, ids = _prepare(msg)
        name = _group_id(tabm) or uid
        stored = target.read_link(name) is not None or (name != uid and target.exists(name))
        if stored:
            pass  # content-named and already there, or the ID is taken (first write wins)
        elif packed is not None:
            ws = _packed_set(tabm, "tabm", name, target.inline_max)  # type: ignore[attr-defined]
            if ws is None:  # too big for packed groups: the plain layout
                ws = _write_set(tabm, "tabm", name, True)
                packed = None
        else:
            ws = _write_set(tabm, "tabm", name, encoded)
        if ws is None and not stored:  # declined: the general path's typed errors
            ops: _list = []
            _ops_for(tabm, ops, name)
            ws = (name, ops)
            encoded = packed = None
    links = [a for a in ids if a != name and _free(target, a)]
    if ws is None:
        if links:
            with target.batch() as b:
                b.extend_unchecked([("link", name, a) for a in links])
        return uid
    if encoded:
        kv, leaves = ws[1], ws[3]
        for a in links:
            kv.append((a.encode(), b"\x01" + name.encode()))
            leaves.append(a)
        if packed is not None:
            packed(kv, ws[2], leaves, ws[4])
        else:
            target._write_encoded(kv, ws[2], leaves)  # type: ignore[attr-defined]
        return uid
    ops = ws[1]
    ops.extend(("link", name, a) for a in links)
    with target.batch() as b:
        b.extend_unchecked(ops)
    return uid


def _through_parent(s: Store, path: str) -> str:
    """``path`` with its parent resolved through links (so ``<SignedID>/k`` lands in the group)."""
    path = join(path)
    i = path.rfind("/")
    if i < 0:
        return path
    return f"{s.resolve(path[:i])}/{path[i + 1 :]}"


def write_binary(hashpath: str, data: bytes, store: Store) -> str:
    """Write ``data`` and link ``hashpath`` to it (HyperBEAM ``write_binary``)."""
    target = _writable(store)
    p = _data_path(data)
    hp = _through_parent(target, hashpath)
    with target.batch() as b:
        b.write(p, data)
        b.make_link(p, hp)
    return p


def write_hashpath(msg: dict, store: Store, hashpath: str | None = None) -> str:
    """Write ``msg`` and link its hashpath (``priv.hashpath`` unless given) to it."""
    hp = hashpath
    if hp is None:
        priv = msg.get("priv")
        hp = priv.get("hashpath") if isinstance(priv, dict) else None
        if isinstance(hp, bytes):
            hp = hp.decode()
    if not hp:
        raise CacheError("write_hashpath: the message has no priv.hashpath")
    uid = write(msg, store)
    link(uid, hp, store)
    return uid


def link(existing: str, new: str, store: Store) -> None:
    """Make ``new`` a link to ``existing`` (``new``'s parent is resolved through links)."""
    target = _writable(store)
    target.make_link(existing, _through_parent(target, new))


# ---- reading ------------------------------------------------------------------------------


def _stores(store: Store) -> _list[Store]:
    return store.stores if isinstance(store, StoreChain) else [store]


#: Deepest nesting of sub-messages a read follows: the codecs' own limit.
MAX_READ_DEPTH = _native.MAX_DEPTH


def _too_deep(path: str) -> StoreCorrupt:
    return StoreCorrupt(f"{path!r}: the message nests deeper than {MAX_READ_DEPTH} levels")


def _read_group(s: Store, path: str, stack: set[str]) -> dict:
    if path in stack:
        raise StoreLinkLoop(f"circular link: {path!r} contains itself")
    if len(stack) >= MAX_READ_DEPTH:
        raise _too_deep(path)
    if "/" not in path and hasattr(s, "_packed_read"):
        r = s._packed_read(path, False)
        if r is not None:
            return r
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
        for (name, tgt), e in zip(links, ents, strict=True):
            _put_linked(s, out, path, name, tgt, e, stack)
    stack.discard(path)
    return out


def _checked_data(path: str, b: bytes) -> bytes:
    """``b``, read at ``path``; a ``data/<h>`` blob must hash to ``<h>`` (runtime §10.2)."""
    if path[:5] == "data/" and _data_path(b) != path:
        raise StoreCorrupt(f"{path!r} does not hold the content its name hashes")
    return b


def _put_linked(s: Store, out: dict, path: str, name: str, tgt: str, e: Any, stack: set) -> None:
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


def _read_group_scan(s: Any, path: str, stack: set[str]) -> dict | None:
    """A group read with one prefix scan per (sub-)group and one multi-get for every value of
    the tree (RocksDB), decoded natively; ``None`` when ``path`` is not a plain group of raw
    values and links (the general path then reads it, or finds it absent)."""
    outs: _list = []
    names: _list = []
    tgts: _list = []
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
    return out


def _scan_tree(s: Any, path: str, stack: set[str], outs: _list, names: _list, tgts: _list) -> Any:
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


def _read_local(s: Store, path: str, packed: bool = True) -> dict | bytes:
    if packed and "/" not in path and hasattr(s, "_packed_read"):
        # A message in packed groups (RocksDB), through any one-segment links to it.
        r = s._packed_read(path, False)
        if r is not None:
            return r
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


def _check_named(path: str, r: dict | bytes) -> None:
    """A peer's answer for the ID or ``data/<h>`` path ``path`` must be what that names: a
    message with ``path`` among its (verified) IDs, or bytes that hash to it; StoreCorrupt
    otherwise (other paths, e.g. hashpaths, name nothing that can be checked)."""
    if isinstance(r, bytes):
        _checked_data(path, r)
    elif "/" not in path and len(path) == 43 and isinstance(r, dict):
        try:
            named = path in _prepare(r)[2]
        except HyperbeamError as e:
            raise StoreCorrupt(f"the message a peer sent for {path!r} is refused: {e}") from e
        if not named:
            raise StoreCorrupt(f"a peer sent a message for {path!r} that has another ID")


def read_tabm(target: str | Sequence[str], store: Store) -> dict | bytes:
    """Like :func:`read` but returns the stored TABM (no ``structured@1.0`` decoding)."""
    return _read(target, store, tabm=True)


def read(target: str | Sequence[str], store: Store) -> dict | bytes:
    """Read a message by unsigned ID, any commitment ID, hashpath or path (``[ID, key, ...]``).

    Returns the message (structured) or, for a simple entry, its bytes. Raises
    :class:`~hyperbeam_fast.NotFound` when no store has it; a single store's typed errors
    (:class:`StoreLinkLoop`, :class:`StoreCorrupt`, ...) propagate; in a chain they move on.
    """
    return _read(target, store, tabm=False)


def _read(target: str | Sequence[str], store: Store, tabm: bool) -> dict | bytes:
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
                    from .message import convert

                    return convert(r, "tabm")
                return r
            if not tabm and "/" not in path and hasattr(s, "_packed_read"):
                # Packed groups decoded and converted to structured@1.0 in one native call.
                r = s._packed_read(path, True)
                if r is not None:
                    return r
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
            return _native_convert(r, "tabm", "structured@1.0")
        from .message import convert

        return convert(r, "structured@1.0", "tabm")
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


# ---- cache control (runtime §2.9) -----------------------------------------------------------


def _id_like(v: Any) -> bool:
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    return isinstance(v, str) and len(v) == 43 and "/" not in v


def _directives(value: Any) -> _list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        value = [value]
    elif isinstance(value, dict):  # a numbered map (a list after normalisation)
        value = [value[k] for k in sorted(value, key=lambda k: (len(str(k)), str(k)))]
    out = []
    for v in value:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str):
            out.extend(p.strip().lower() for p in v.split(",") if p.strip())
        else:
            out.append(str(v).lower())
    return out


def _from_directives(ds: _list[str]) -> dict[str, bool]:
    s: dict[str, bool] = {}
    if "always" in ds:
        s["store"] = True
        s["lookup"] = True
    else:
        if "no-store" in ds:
            s["store"] = False
        elif "store" in ds:
            s["store"] = True
        if "no-cache" in ds:
            s["lookup"] = False
        elif "cache" in ds:
            s["lookup"] = True
    if "only-if-cached" in ds:
        s["only-if-cached"] = True
    return s


def _msg_cc(msg: Any) -> Any:
    if isinstance(msg, dict):
        for k, v in msg.items():
            if isinstance(k, str) and k.lower() == "cache-control":
                return v
    return None


def _opts_cc(opts: dict | None) -> Any:
    if not opts:
        return None
    for k in ("cache_control", "cache-control"):
        if k in opts:
            return opts[k]
    return None


def settings(sources: Sequence[dict[str, bool]]) -> dict[str, bool]:
    """Fold per-source settings, ``sources`` highest precedence first; unset does not override."""
    out = {"store": False, "lookup": False, "only-if-cached": False}
    for src in reversed(sources):
        out.update(src)
    return out


def lookup_settings(msg1: Any, msg2: Any, opts: dict | None = None) -> dict[str, bool]:
    """Settings for a lookup: precedence Opts > Msg1 > Msg2."""
    return settings(
        [_from_directives(_directives(x)) for x in (_opts_cc(opts), _msg_cc(msg1), _msg_cc(msg2))]
    )


def store_settings(msg2: Any, msg3: Any, opts: dict | None = None) -> dict[str, bool]:
    """Settings for storing a result: precedence Opts > Msg3 > Msg2 (Msg1 is never consulted)."""
    o = _from_directives(_directives(_opts_cc(opts)))
    if opts and opts.get("hashpath") in ("ignore", b"ignore"):
        o["store"] = False
    return settings(
        [
            o,
            _from_directives(_directives(_msg_cc(msg3))),
            _from_directives(_directives(_msg_cc(msg2))),
        ]
    )


def _result_path(msg1: Any, msg2: Any) -> str:
    from .hashpath import hashpath
    from .message import id as msg_id

    if _id_like(msg1):
        m1 = msg1.decode() if isinstance(msg1, bytes) else msg1
        if _id_like(msg2):
            return f"{m1}/{msg2.decode() if isinstance(msg2, bytes) else msg2}"
        return f"{m1}/{msg_id(msg2, 'uncommitted')}"
    return hashpath(msg1, msg2)


def read_resolved(msg1: Any, msg2: Any, store: Store) -> dict | bytes:
    """The cached result of resolving ``msg2`` against ``msg1`` (runtime §2.9 step 3)."""
    try:
        path = _result_path(msg1, msg2)
    except HyperbeamError as e:
        raise NotFound(f"no cache path for this pair: {e}") from e
    return read(path, store)


def lookup(msg1: Any, msg2: Any, store: Store | None, opts: dict | None = None) -> tuple[str, Any]:
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
    msg1: Any, msg2: Any, msg3: Any, store: Store | None, opts: dict | None = None
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
                w = _writable(store)
                hp = _through_parent(w, hp)
                if w.read_link(hp) is None and not w.exists(hp):
                    link(uid, hp, store)
        return True
    return False


#: public names for the devices that write through the cache (process@1.0 snapshots)
writable = _writable
data_path = _data_path
