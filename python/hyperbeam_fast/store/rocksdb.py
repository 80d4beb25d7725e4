"""``RocksDBStore``: the embedded default store, on RocksDB through rocksdict (raw mode).

Encoding (runtime §10.3 lets a port choose any KV encoding equivalent to HyperBEAM's): the key
is the UTF-8 path; the value is one tag byte and a payload, with HyperBEAM's tag numbers:

* ``b"\\x01" + target``: a link to ``target``;
* ``b"\\x02" + bytes``: raw bytes;
* ``b"\\x03"``: a (plain) group marker;
* ``b"\\x04" + table``: a *packed* group (a message written by ``cache.write``).

The children of a plain group ``g`` are not stored in its value (that would make every write a
read-modify-write of an ever-growing set, as ``data`` is): they are the keys ``g/<name>``
found by one ordered scan, skipping descendants with a seek.

A packed group carries its children in its own value: a table (``hb_core::cache_layout``,
validated whole on decode) of ``name -> link target`` or ``name -> raw bytes``. ``cache.write``
stores a message as one packed group per (sub-)message, keyed by its unsigned ID as before:
binaries up to :attr:`RocksDBStore.inline_max` bytes inline, longer ones once under
``data/<h>`` (deduplicated) and linked, sub-messages linked by ID. Reading a message is then
one ``get`` per (sub-)message plus one multi-get for its ``data`` values, decoded natively;
writing it is one ``put`` per (sub-)message. To the store interface a packed group is a
group like any other: ``<ID>/<key>`` reads, resolves, lists and types through the table. The
two forms never mix: adding anything below a packed group (``make_link``/``write`` of
``<ID>/<part>``, e.g. a hashpath) first turns it into a plain group (its table becomes
``<ID>/<name>`` keys, in the same ``WriteBatch`` as the addition), and a packed message
written over an existing plain group is written as plain children. See docs/store-rocksdb.md.

Every write, link or group of a batch goes through one ``WriteBatch`` (atomic; the WAL makes
it survive a crash).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, cast

from .. import _native
from ..exceptions import StoreError
from .base import GROUP, LINK, RAW, Entry, Store, decode_entry, disk_usage

try:  # pragma: no cover - exercised when rocksdict is installed (a dependency)
    from rocksdict import (
        BlockBasedOptions,
        Cache,
        Options,
        Rdict,
        ReadOptions,
        WriteBatch,
        WriteOptions,
    )
except ImportError:  # pragma: no cover
    Rdict = None  # type: ignore[assignment,misc]

_MARKER = b"\x03"
#: RocksDB memtable size and block cache size (bytes), see RocksDBStore._open.
WRITE_BUFFER = 16 << 20
BLOCK_CACHE = 16 << 20
_PACKED = 4
_GROUP_ENTRY: Entry = (GROUP, None)
_packed_entries = _native.cache_packed_entries
_packed_child = _native.cache_packed_child
_packed_read = _native.cache_packed_read
_RawWriter = _native.RawWriter


def _decode(key: bytes | str, v: bytes) -> Entry:
    if len(v) > 1 and v[0] == _PACKED:
        return _GROUP_ENTRY  # its table is validated when its children are read
    return decode_entry(key, v)


class RocksDBStore(Store):
    """A RocksDB database directory at ``path`` (created if missing).

    ``inline_max``: binaries of a message written by ``cache.write`` up to this many bytes are
    stored inside the message's packed group; longer ones once under ``data/<h>``.

    ``sync`` (the node's ``store_sync``): by default (``False``, as ``hb_store_rocksdb``) a
    write batch is acknowledged once it is in the WAL in the OS's buffers, which survives a
    crash of the process but not of the machine. With ``sync=True`` the WAL is fsynced for every
    batch (``WriteOptions.sync``) before the write returns, which survives power loss too.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, sync: bool = False, inline_max: int = 256
    ) -> None:
        if Rdict is None:  # pragma: no cover
            raise StoreError("RocksDBStore needs the rocksdict package")
        self.root = os.fspath(path)
        self.sync = sync
        self.inline_max = inline_max
        # Writers that read before they write (group checks, unpacking) run one at a time:
        # resolver threads share a store. Readers need no lock (a WriteBatch is atomic).
        self._lock = threading.Lock()
        self._db: Any = None  # the open Rdict
        self._open()

    def __repr__(self) -> str:
        return f"RocksDBStore({self.root!r})"

    def size(self) -> int:
        """Bytes of the database directory (SST files, WAL, manifest)."""
        return disk_usage(self.root)

    def _open(self) -> None:
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        # Bounded native memory (issue 15 item 3): RocksDB's memtable (64 MiB by default, two
        # while one flushes) and its block cache (32 MiB) filled over the first ~10,000 AOS
        # slots, which read as RSS that never levelled off; 16 MiB each keeps that growth small.
        opts.set_write_buffer_size(WRITE_BUFFER)
        table = BlockBasedOptions()
        table.set_block_cache(Cache(BLOCK_CACHE))
        opts.set_block_based_table_factory(table)
        try:
            self._db = Rdict(self.root, options=opts)
        except Exception as e:  # rocksdict raises plain Exceptions
            raise StoreError(f"cannot open RocksDB store at {self.root!r}: {e}") from e
        self._get = self._db.get
        self._put = self._db.put
        self._items = self._db.items
        # Plain groups, and packed groups, that this process wrote or found (only one process
        # opens a RocksDB database, so they stay what they are until this process changes them).
        self._known_groups: set[str] = set()
        self._known_packed: set[str] = set()
        # The instance's ``write``: the native fast path, falling back to the class's (unless
        # a subclass overrides ``write``).
        # With ``sync`` every write goes through a synced WriteBatch (``_commit``) instead.
        if type(self).write is RocksDBStore.write and not self.sync:
            self.write = _RawWriter(self._put, self._known_groups, _checked_write(self)).write  # type: ignore[method-assign]

    def write(self, key: str | Sequence[str], value: bytes) -> None:
        """Store ``value`` at ``key`` (parents become groups).

        While the store is open, ``self.write`` is the native fast path
        (``_native.RawWriter``'s ``write``): when the parent is a group this process has seen (so
        a valid path: only valid paths ever become groups), the last segment is plainly valid
        (not empty, no ``.``, no NUL) and the key is not itself a known group, one plain
        ``put`` (atomic); everything else comes here, the checked general path.
        """
        super().write(key, value)

    def read(self, key: str | Sequence[str]) -> bytes | None:
        """The bytes at ``key`` after following links; ``None`` if absent or a group."""
        # Fast path: a valid str path holding raw bytes (no link can be among its prefixes:
        # nothing is ever written below a link or a raw value).
        if (
            type(key) is str
            and key
            and "." not in key
            and "//" not in key
            and "\x00" not in key
            and key[:1] != "/"
            and key[-1:] != "/"
        ):
            v = self._get(key.encode())
            if v is not None and v[:1] == b"\x02":
                return cast("bytes | None", v[1:])
        return super().read(key)

    def _entry(self, path: str) -> Entry | None:
        v = self._get(path.encode())
        if v is None:
            return self._packed_entry(path)
        return _decode(path, v)

    def _packed_entry(self, path: str) -> Entry | None:
        """The entry at ``path`` when it is a child of a packed group (no key of its own)."""
        i = path.rfind("/")
        if i <= 0:
            return None
        pv = self._get(path[:i].encode())
        if pv is None:
            return None
        if pv[:1] != b"\x04":
            # Not packed (now): if another thread unpacked it since our first get, the child
            # is a key of its own by now (an unpack is one WriteBatch); look once more.
            v = self._get(path.encode())
            return None if v is None else _decode(path, v)
        return _packed_child(pv, path[i + 1 :])

    def _entries(self, paths: Sequence[str]) -> list[Entry | None]:
        vals = self._get([p.encode() for p in paths])
        return [
            self._packed_entry(p) if v is None else _decode(p, v)
            for p, v in zip(paths, vals, strict=True)
        ]

    def _packed_read(self, path: str, structured: bool) -> dict[str, Any] | None:
        """The message at the one-segment ``path`` if it is a packed group (following
        one-segment links to it), as TABM or structured; ``None`` for anything else."""
        return _packed_read(self._get, path, structured)

    def _scan(self, path: str, with_values: bool) -> list[Any]:
        pre = path.encode() + b"/"
        n = len(pre)
        it = self._db.iter()
        it.seek(pre)
        out: list[Any] = []
        while it.valid():
            k = it.key()
            if not k.startswith(pre):
                break
            rest = k[n:]
            j = rest.find(b"/")
            if j < 0:
                name = rest.decode()
                out.append((name, _decode(k, it.value())) if with_values else name)
                it.next()
            else:  # a descendant: its child has a marker already listed; skip the subtree
                it.seek(pre + rest[:j] + b"0")
        return out

    def _group_items(self, path: str) -> list[tuple[bytes, bytes]]:
        """Every ``(key, value)`` from ``path`` itself up to its last descendant, in one scan
        (keys that merely start with ``path``, such as ``<path>-x``, come along: callers skip
        them). The message cache reads a whole group with it."""
        if self._db is None:
            raise StoreError("the store is closed")
        p = path.encode()
        ro = ReadOptions()
        ro.set_iterate_upper_bound(p + b"0")  # "0" is the byte after "/"
        return list(self._items(from_key=p, read_opt=ro))

    def _children(self, path: str) -> list[str]:
        v = self._get(path.encode())
        if v is not None and v[:1] == b"\x04":
            return [n for n, _ in _packed_entries(v)]
        return self._scan(path, False)

    def _child_entries(self, path: str) -> list[tuple[str, Entry]]:
        v = self._get(path.encode())
        if v is not None and v[:1] == b"\x04":
            return _packed_entries(v)
        return self._scan(path, True)

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        with self._lock:
            self._apply_locked(ops)

    def _apply_locked(self, ops: list[tuple[Any, ...]]) -> None:
        if self._db is None:
            raise StoreError("the store is closed")
        wb = WriteBatch(raw_mode=True)
        put = wb.put
        known = self._known_groups
        packed = self._known_packed
        new_groups: set[str] = set()
        staged: dict[str, int] = {}

        def group(path: str, own: bool = False) -> None:
            # Make ``path`` and its ancestors groups (checked once per process, then cached);
            # a packed ancestor, which gets a child, is unpacked first. ``own``: ``path`` is
            # the group asked for (a packed one is a group already and stays packed).
            while path not in known and path not in new_groups:
                kind = staged.get(path)
                if kind is None:
                    key = path.encode()
                    v = self._get(key)
                    if v is None:
                        e = self._packed_entry(path)  # a child of a packed group?
                        kind = None if e is None else e[0]
                    elif v[:1] == b"\x04":
                        if own:
                            return
                        # Unpack: the table's children become keys, then a plain marker.
                        for name, e in _packed_entries(v):
                            child = f"{path}/{name}"
                            tag = b"\x02" if e[0] == RAW else b"\x01"
                            put(child.encode(), tag + (e[1] if e[0] == RAW else e[1].encode()))
                            staged[child] = e[0]
                        packed.discard(path)
                        put(key, _MARKER)
                        kind = GROUP
                    else:
                        kind = _decode(path, v)[0]
                if kind is not None and kind != GROUP:
                    raise StoreError(f"{path!r} exists and is not a group")
                if kind is None:
                    put(path.encode(), _MARKER)
                new_groups.add(path)
                i = path.rfind("/")
                if i < 0:
                    return
                path = path[:i]
                own = False

        for op in ops:
            kind = op[0]
            if kind == "write" or kind == "link":
                path = op[1] if kind == "write" else op[2]
                if path in known or path in new_groups or path in packed:
                    raise StoreError(f"cannot write over the group {path!r}")
                # The parent first: unpacking a packed parent writes its old children, which
                # this write must come after (a WriteBatch applies in order).
                i = path.rfind("/")
                if i >= 0:
                    group(path[:i])
                if kind == "write":
                    put(path.encode(), b"\x02" + op[2])
                    staged[path] = RAW
                else:
                    put(path.encode(), b"\x01" + op[1].encode())
                    staged[path] = LINK
            else:
                group(op[1], True)
        self._commit(wb)
        known |= new_groups

    def _commit(self, wb: WriteBatch) -> None:
        try:
            if self.sync:
                wo = WriteOptions()
                wo.sync = True
                self._db.write(wb, wo)
            else:
                self._db.write(wb)
        except Exception as e:
            raise StoreError(f"RocksDB write failed: {e}") from e

    def _write_encoded(
        self, kv: list[tuple[bytes, bytes]], groups: list[str], leaves: list[str]
    ) -> None:
        with self._lock:
            self._write_encoded_locked(kv, groups, leaves)

    def _write_encoded_locked(
        self, kv: list[tuple[bytes, bytes]], groups: list[str], leaves: list[str]
    ) -> None:
        """Apply a message's precomputed write set (``cache.write``) as one ``WriteBatch``.

        ``kv`` are encoded ``(key, value)`` pairs (raw values and links) at the paths
        ``leaves``; ``groups`` are top-level groups to create (their parents are the root). The
        checks are those of :meth:`_apply`: nothing is written over a group, and a group path
        that exists must be a group. A group that exists packed (the same message, written
        packed before) becomes a plain one: ``kv`` holds all of its children.
        """
        if self._db is None:
            raise StoreError("the store is closed")
        known = self._known_groups
        kp = self._known_packed
        new = [g for g in groups if g not in known]
        if (
            not known.isdisjoint(leaves)
            or not kp.isdisjoint(leaves)
            or (new and not set(new).isdisjoint(leaves))
        ):
            bad = sorted((known | kp | set(new)).intersection(leaves))[0]
            raise StoreError(f"cannot write over the group {bad!r}")
        wb = WriteBatch(raw_mode=True)
        put = wb.put
        if new:
            gkeys = [g.encode() for g in new]
            for g, k, v in zip(new, gkeys, self._get(gkeys), strict=True):
                if v is None or v[:1] == b"\x04":
                    put(k, _MARKER)
                    kp.discard(g)
                elif _decode(g, v)[0] != GROUP:
                    raise StoreError(f"{g!r} exists and is not a group")
        for k, v in kv:
            put(k, v)
        self._commit(wb)
        known.update(new)

    def _write_packed(
        self,
        kv: list[tuple[bytes, bytes]],
        groups: list[str],
        leaves: list[str],
        packed: list[tuple[bytes, bytes]],
    ) -> None:
        with self._lock:
            self._write_packed_locked(kv, groups, leaves, packed)

    def _write_packed_locked(
        self,
        kv: list[tuple[bytes, bytes]],
        groups: list[str],
        leaves: list[str],
        packed: list[tuple[bytes, bytes]],
    ) -> None:
        """Apply a message's packed write set (``cache.write``) as one ``WriteBatch``.

        ``packed`` are ``(group key, packed value)`` pairs, one per (sub-)message; ``kv`` the
        encoded ``data/<h>`` values at the paths ``leaves`` (plus commitment links);
        ``groups`` top-level groups to create (``data``). A group key that is a plain group
        already (say, with hashpath links under it) gets the table's children as keys; one
        holding anything but a group is refused, as is a leaf over a group.
        """
        if self._db is None:
            raise StoreError("the store is closed")
        known = self._known_groups
        kp = self._known_packed
        if leaves and not (known.isdisjoint(leaves) and kp.isdisjoint(leaves)):
            bad = sorted((known | kp).intersection(leaves))[0]
            raise StoreError(f"cannot write over the group {bad!r}")
        named = [(g.decode(), g, v) for g, v in packed]
        # Group keys whose current value this process does not know: looked up in one
        # multi-get with the new top-level groups.
        check = [(n, g) for n, g, _ in named if n not in kp]
        new = [g for g in groups if g not in known]
        if leaves and check and not {n for n, _ in check}.isdisjoint(leaves):
            bad = sorted({n for n, _ in check}.intersection(leaves))[0]
            raise StoreError(f"cannot write over the group {bad!r}")
        wb = WriteBatch(raw_mode=True)
        put = wb.put
        found: dict[str, bytes | None] = {}
        if new or check:
            gkeys = [g.encode() for g in new]
            vals = self._get(gkeys + [g for _, g in check])
            for g, k, v in zip(new, gkeys, vals, strict=False):
                if v is None:
                    put(k, _MARKER)
                elif _decode(g, v)[0] != GROUP:
                    raise StoreError(f"{g!r} exists and is not a group")
            found = {n: v for (n, _), v in zip(check, vals[len(new) :], strict=True)}
        plain: list[str] = []
        for name, gkey, v in named:
            old = found.get(name)
            if name in known or old == _MARKER:  # a plain group: its children as keys
                self._put_children(put, name, v)
                plain.append(name)
            elif old is None or old[:1] == b"\x04":
                put(gkey, v)
            else:
                _decode(name, old)  # StoreCorrupt if corrupt
                raise StoreError(f"{name!r} exists and is not a group")
        for k, v in kv:
            put(k, v)
        self._commit(wb)
        known.update(new)
        known.update(plain)
        kp.update(n for n, _, _ in named if n not in known)

    @staticmethod
    def _put_children(put: object, group: str, value: bytes) -> None:
        """Put the children of the packed group ``value`` as ``<group>/<name>`` keys."""
        for name, e in _packed_entries(value):
            tag = b"\x02" if e[0] == RAW else b"\x01"
            put(  # type: ignore[operator]
                f"{group}/{name}".encode(), tag + (e[1] if e[0] == RAW else e[1].encode())
            )

    def reset(self) -> None:
        """Destroy the database and open an empty one in its place."""
        self.close()
        Rdict.destroy(self.root)
        self._open()

    def close(self) -> None:
        """Close the database (later operations fail; closing twice is harmless)."""
        if self._db is not None:
            self._db.close()
            self._db = None
            self._get = self._put = self._items = _closed_get
            self._known_groups = set()
            self._known_packed = set()
            self.__dict__.pop("write", None)  # the class's checked path: "the store is closed"


def _checked_write(store: RocksDBStore) -> Callable[[str | Sequence[str], bytes], None]:
    """``RocksDBStore.write`` of ``store`` through a weak reference (the fast path's fallback
    lives in the store's ``__dict__``: no reference cycle keeps the store alive)."""
    ref = weakref.ref(store)

    def write(key: str | Sequence[str], value: bytes) -> None:
        s = ref()
        if s is None:
            raise StoreError("the store is closed")
        RocksDBStore.write(s, key, value)

    return write


def _closed_get(*_a: object) -> None:
    raise StoreError("the store is closed")
