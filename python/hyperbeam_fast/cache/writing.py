"""The cache's write side (runtime §10.2, §10.4): messages as groups, binaries under
``data/<h>``, ID and hashpath links.

A message is written through one store batch, children before parents and ID links last, so
it becomes readable whole or not at all. IDs are never repointed (first write wins).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .. import _native
from ..exceptions import CacheError, InvalidStorePath
from ..store.base import Store, check_segment, join
from ..store.chain import StoreChain
from .verify import prepare

__all__ = [
    "Planned",
    "apply",
    "data_path",
    "link",
    "ops_for",
    "plan",
    "through_parent",
    "writable",
    "write",
    "write_binary",
    "write_hashpath",
]

_sha256 = hashlib.sha256
_human_id = _native.human_id
_unsigned_id = _native.unsigned_id
_write_set = _native.cache_write_set
_group_id = _native.cache_group_id
_packed_set = _native.cache_packed_set


def data_path(b: bytes) -> str:
    """The store path of a binary: ``data/<base64url of its SHA-256>``."""
    return "data/" + _human_id(_sha256(b).digest())


def ops_for(value: Any, ops: list[Any], known_id: str | None = None) -> str:
    """Append the store operations that write one TABM value; return its path."""
    if type(value) is bytes:
        p = data_path(value)
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
            if k == "":
                # hb_cache links `<ID>/<key>`; for "" that is `<ID>/`, which hb_store's joins
                # collapse onto the group itself, so HyperBEAM's write drops the key silently
                raise CacheError(
                    "cache: a message with an empty key cannot be stored: its link `<ID>/` "
                    "would be the message's own group (HyperBEAM's store layout has no place "
                    "for it and loses the key); nothing was written"
                )
            try:
                check_segment(k)
            except InvalidStorePath as e:
                raise CacheError(f"key {k!r} cannot be a store path segment") from e
            links.append(("link", ops_for(v, ops), f"{uid}/{k}"))
        ops.append(("group", uid))  # after its children (staged groups appear in this order)
        ops.extend(links)
        return uid
    if isinstance(value, (bytearray, memoryview)):
        return ops_for(bytes(value), ops)
    raise CacheError(f"cannot write a {type(value).__name__} to the cache (TABM expected)")


def writable(store: Store) -> Store:
    """The store writes go to: a chain's primary store, else ``store`` itself."""
    return store.primary if isinstance(store, StoreChain) else store


def _free(s: Store, path: str) -> bool:
    """Whether nothing (no entry, no link) is stored at the one-segment ``path``."""
    return s.read_link(path) is None and not s.exists(path)


def write(msg: dict[str, Any] | bytes | str, store: Store) -> str:
    """Write a message (or a binary) and return its unsigned ID (or its ``data/<h>`` path).

    The message is one group (sub-messages too), named by its unsigned ID or, when that ID
    does not cover every key (a signed message: its commitments), by the hash of all of its
    content (``cache_layout::group_id``). The unsigned ID, every commitment ID and, with
    several commitments, the IDs over all of them and over the signed ones link to it. IDs are never
    repointed: an ID (or group) already in the store is left as it is, so once ``X`` names
    content no later write changes what ``read(X)`` returns. A commitment that does not
    verify raises :class:`UnverifiedCommitment` and nothing is written. Atomic per message.
    ``write(msg, store)`` is ``apply(plan(msg, store))``.
    """
    if isinstance(msg, (bytes, str)):
        target = writable(store)
        raw = msg.encode() if isinstance(msg, str) else msg
        p = data_path(raw)
        target.write(p, raw)
        return p
    return apply(plan(msg, store))


class Planned:
    """A message's cache write worked out by :func:`plan` (its IDs, its commitments verified,
    its TABM and store operations) and not yet made: :func:`apply` makes it. What depends on
    the store's state (first write wins, which IDs are free) is decided by :func:`apply`, so
    a plan can be made outside a lock that orders the writes (the scheduler's) and applied
    under it."""

    __slots__ = ("encoded", "fast", "ids", "msg", "name", "packed", "tabm", "target", "uid", "ws")

    def __init__(self, target: Store) -> None:
        self.target = target
        self.msg: dict[str, Any] | None = None  # a RemoteStore's: the peer writes it whole
        self.uid = self.name = ""
        self.ids: list[str] | tuple[()] = ()
        self.tabm: dict[str, Any] | None = None
        self.ws: Any = None
        self.fast = False
        self.packed: Any = None
        self.encoded = False


def _stored(target: Store, name: str, uid: str) -> bool:
    """Whether a signed message's group is there (content-named) or its ID taken."""
    return target.read_link(name) is not None or (name != uid and target.exists(name))


def _set_for(p: Planned) -> None:
    """The store operations of ``p``'s TABM (the general path), into ``p.ws``."""
    target, tabm, name = p.target, p.tabm, p.name
    if tabm is None:
        raise CacheError("cache: a plan without a TABM has no operations to work out")
    ws = None
    if p.packed is not None:
        ws = _packed_set(tabm, "tabm", name, target.inline_max)  # type: ignore[attr-defined]
        if ws is None:  # too big for packed groups: the plain layout
            ws = _write_set(tabm, "tabm", name, True)
            p.packed = None
    else:
        ws = _write_set(tabm, "tabm", name, p.encoded)
    if ws is None:  # declined: the general path's typed errors
        ops: list[Any] = []
        ops_for(tabm, ops, name)
        ws = (name, ops)
        p.encoded, p.packed = False, None
    p.ws = ws


def plan(msg: dict[str, Any], store: Store) -> Planned:
    """Work out the write of message ``msg`` to ``store`` (see :func:`write`) without making
    it: raises as :func:`write` does (an unverified commitment, a value that cannot be
    stored); nothing is written until :func:`apply`."""
    if not isinstance(msg, dict):
        raise CacheError(f"cannot write a {type(msg).__name__} to the cache")
    target = writable(store)
    p = Planned(target)
    if getattr(target, "write_message", None) is not None:
        p.msg = msg
        return p
    packed = getattr(target, "_write_packed", None)
    p.packed = packed
    p.encoded = packed is not None or hasattr(target, "_write_encoded")
    # The common case, an unsigned message without private keys whose unsigned ID covers every
    # key: one native call computes its ID, its TABM and every store operation. Anything else
    # (``None``) takes the general path: IDs, verification and TABM in Python.
    if packed is not None:
        ws = _packed_set(msg, "structured@1.0", None, target.inline_max)  # type: ignore[attr-defined]
    else:
        ws = _write_set(msg, "structured@1.0", None, p.encoded)
    if ws is not None:
        p.uid = p.name = ws[0]
        p.ws, p.fast = ws, True
        return p
    p.tabm, p.uid, p.ids = prepare(msg)
    p.name = _group_id(p.tabm) or p.uid
    if not _stored(target, p.name, p.uid):  # else (already there) no operations are needed
        _set_for(p)
    return p


def apply(p: Planned) -> str:
    """Make the write :func:`plan` worked out (one store batch) and return the message's
    unsigned ID. An ID or group already in the store is left as it is (first write wins)."""
    target, uid, name = p.target, p.uid, p.name
    if p.msg is not None:
        return str(target.write_message(p.msg))  # type: ignore[attr-defined]
    ws = p.ws
    if p.fast:
        if target.read_link(uid) is not None:
            return uid  # already readable through its link (e.g. a signed version of it)
    elif _stored(target, name, uid):
        ws = None  # content-named and already there, or the ID is taken (first write wins)
    elif ws is None:  # it was there when planned and is gone: its operations after all
        _set_for(p)
        ws = p.ws
    links = [a for a in p.ids if a != name and _free(target, a)]
    if ws is None:
        if links:
            with target.batch() as b:
                b.extend_unchecked([("link", name, a) for a in links])
        return uid
    if p.encoded:
        kv, leaves = list(ws[1]), list(ws[3])
        for a in links:
            kv.append((a.encode(), b"\x01" + name.encode()))
            leaves.append(a)
        if p.packed is not None:
            p.packed(kv, ws[2], leaves, ws[4])
        else:
            target._write_encoded(kv, ws[2], leaves)  # type: ignore[attr-defined]
        return uid
    ops = list(ws[1])
    ops.extend(("link", name, a) for a in links)
    with target.batch() as b:
        b.extend_unchecked(ops)
    return uid


def through_parent(s: Store, path: str) -> str:
    """``path`` with its parent resolved through links (so ``<SignedID>/k`` lands in the group)."""
    path = join(path)
    i = path.rfind("/")
    if i < 0:
        return path
    return f"{s.resolve(path[:i])}/{path[i + 1 :]}"


def write_binary(hashpath: str, data: bytes, store: Store) -> str:
    """Write ``data`` and link ``hashpath`` to it (HyperBEAM ``write_binary``)."""
    target = writable(store)
    p = data_path(data)
    hp = through_parent(target, hashpath)
    with target.batch() as b:
        b.write(p, data)
        b.make_link(p, hp)
    return p


def write_hashpath(msg: dict[str, Any], store: Store, hashpath: str | None = None) -> str:
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
    target = writable(store)
    target.make_link(existing, through_parent(target, new))
