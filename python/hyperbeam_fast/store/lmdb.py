"""``LMDBStore``: a store several processes open at once (issue 15 item 2), on LMDB through the
``lmdb`` package (HyperBEAM's newer default store is ``hb_store_lmdb``).

Why LMDB: a RocksDB database is locked by the one process that opens it, so the node's worker
processes (``serve --workers N``, docs/node.md) cannot share one; an LMDB environment is a
memory-mapped file that any number of processes read at once without locks (MVCC snapshots),
with one writer at a time across all of them (LMDB's own inter-process write lock). A write
transaction is atomic and, once committed, visible to every process.

Semantics are ``hb_store_lmdb``'s: one flat key space of ``/``-joined paths; a group is a key
holding a group marker and its children are the keys ``<group>/<name>`` found by one ordered
prefix scan; a link is a key holding its target; writing ``a/b/c`` makes ``a`` and ``a/b``
groups. The values use the tag bytes of :mod:`.rocksdb` (runtime §10.3 leaves the encoding to
the port; HyperBEAM's literal ``group`` and ``link:`` values would make a raw value ``group``
ambiguous): ``\\x01`` + target (a link), ``\\x02`` + bytes (raw), ``\\x03`` (a group). There are
no packed groups: what one process caches about a group another process may change.

``hb_store_lmdb`` acknowledges writes before they reach disk (it flushes every few
milliseconds); here every batch is one committed transaction: with ``sync=False`` (the
default) LMDB leaves the flush to the OS (``sync=False, metasync=False``: survives a crash of
the process, not of the machine); ``sync=True`` fsyncs each commit. ``capacity`` is LMDB's map
size (16 GiB by default, as ``hb_store_lmdb``; the file is sparse and grows as it fills).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..exceptions import StoreError
from .base import GROUP, LINK, RAW, Entry, Store, decode_entry

try:  # pragma: no cover - exercised when lmdb is installed (a dependency)
    import lmdb
except ImportError:  # pragma: no cover
    lmdb = None  # type: ignore[assignment]

#: LMDB map size: the most the store holds (hb_store_lmdb's ``capacity`` default).
CAPACITY = 16 << 30
_MARKER = b"\x03"


_decode = decode_entry


class LMDBStore(Store):
    """An LMDB environment directory at ``path`` (created if missing), which other processes
    may open at the same time (each through its own ``LMDBStore``)."""

    def __init__(
        self, path: str | os.PathLike[str], *, sync: bool = False, capacity: int = CAPACITY
    ) -> None:
        if lmdb is None:  # pragma: no cover
            raise StoreError("LMDBStore needs the lmdb package")
        self.root = os.fspath(path)
        self.sync = sync
        self.capacity = capacity
        self._env: Any = None
        self._open()

    def __repr__(self) -> str:
        return f"LMDBStore({self.root!r})"

    def _open(self) -> None:
        try:
            os.makedirs(self.root, exist_ok=True)
            self._env = lmdb.open(
                self.root,
                map_size=self.capacity,
                sync=self.sync,
                metasync=self.sync,
                readahead=False,
                max_readers=1024,
                max_spare_txns=64,
                lock=True,
            )
        except (OSError, lmdb.Error) as e:
            raise StoreError(f"cannot open LMDB store at {self.root!r}: {e}") from e

    def _txn(self, write: bool = False) -> Any:  # an lmdb.Transaction
        env = self._env
        if env is None:
            raise StoreError("the store is closed")
        try:
            return env.begin(write=write, buffers=False)
        except lmdb.Error as e:
            raise StoreError(f"LMDB: {e}") from e

    def _get(self, keys: bytes | list[bytes]) -> Any:
        """One value, or (a list of keys) their values from one snapshot (RocksDB's multi-get,
        which the message cache's group reader uses)."""
        with self._txn() as txn:
            if isinstance(keys, list):
                g = txn.get
                return [g(k) for k in keys]
            return txn.get(keys)

    def read(self, key: str | Sequence[str]) -> bytes | None:
        """The bytes at ``key`` after following links; ``None`` if absent or a group."""
        if (  # fast path, as RocksDBStore.read: a valid str path holding raw bytes
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
                return bytes(v[1:])
        return super().read(key)

    def _entry(self, path: str) -> Entry | None:
        v = self._get(path.encode())
        return None if v is None else _decode(path, v)

    def _entries(self, paths: Sequence[str]) -> list[Entry | None]:
        vals = self._get([p.encode() for p in paths])
        return [None if v is None else _decode(p, v) for p, v in zip(paths, vals, strict=True)]

    def _scan(self, path: str, with_values: bool) -> list[Any]:
        pre = path.encode() + b"/"
        n = len(pre)
        out: list[Any] = []
        with self._txn() as txn:
            cur = txn.cursor()
            ok = cur.set_range(pre)
            while ok:
                k = cur.key()
                if not k.startswith(pre):
                    break
                rest = k[n:]
                j = rest.find(b"/")
                if j < 0:
                    name = rest.decode()
                    out.append((name, _decode(k, cur.value())) if with_values else name)
                    ok = cur.next()
                else:  # a descendant: its child has a marker already listed; skip the subtree
                    ok = cur.set_range(pre + rest[:j] + b"0")
        return out

    def _group_items(self, path: str) -> list[tuple[bytes, bytes]]:
        """Every ``(key, value)`` from ``path`` itself up to its last descendant, in one scan
        from one snapshot (keys that merely start with ``path`` come along; callers skip
        them): the message cache reads a whole group with it."""
        p = path.encode()
        end = p + b"0"  # "0" is the byte after "/"
        out = []
        with self._txn() as txn:
            cur = txn.cursor()
            ok = cur.set_range(p)
            while ok:
                k = cur.key()
                if k >= end:
                    break
                out.append((k, cur.value()))
                ok = cur.next()
        return out

    def _children(self, path: str) -> list[str]:
        return self._scan(path, False)

    def _child_entries(self, path: str) -> list[tuple[str, Entry]]:
        return self._scan(path, True)

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        with self._txn(write=True) as txn:
            get, put = txn.get, txn.put
            staged: dict[str, int] = {}

            def kind(path: str) -> int | None:
                k = staged.get(path)
                if k is not None:
                    return k
                v = get(path.encode())
                return None if v is None else _decode(path, v)[0]

            def group(path: str) -> None:
                # ``path`` and its ancestors become groups (stop at the first existing one)
                while True:
                    k = kind(path)
                    if k == GROUP:
                        return
                    if k is not None:
                        raise StoreError(f"{path!r} exists and is not a group")
                    put(path.encode(), _MARKER)
                    staged[path] = GROUP
                    i = path.rfind("/")
                    if i < 0:
                        return
                    path = path[:i]

            try:
                for op in ops:
                    if op[0] == "write" or op[0] == "link":
                        path = op[1] if op[0] == "write" else op[2]
                        if kind(path) == GROUP:
                            raise StoreError(f"cannot write over the group {path!r}")
                        i = path.rfind("/")
                        if i >= 0:
                            group(path[:i])
                        if op[0] == "write":
                            put(path.encode(), b"\x02" + op[2])
                            staged[path] = RAW
                        else:
                            put(path.encode(), b"\x01" + op[1].encode())
                            staged[path] = LINK
                    else:
                        group(op[1])
            except lmdb.Error as e:
                raise StoreError(f"LMDB write failed: {e}") from e

    def _write_encoded(
        self, kv: list[tuple[bytes, bytes]], groups: list[str], leaves: list[str]
    ) -> None:
        """Apply a message's precomputed write set (``cache.write``) in one transaction:
        ``kv`` encoded ``(key, value)`` pairs at the paths ``leaves`` (whose parents are
        ``groups`` or below them), ``groups`` top-level groups to create. As :meth:`_apply`,
        nothing is written over a group and an existing group path must be a group."""
        with self._txn(write=True) as txn:
            get, put = txn.get, txn.put
            gset = set(groups)
            try:
                for g in groups:
                    v = get(g.encode())
                    if v is None:
                        put(g.encode(), _MARKER)
                    elif _decode(g, v)[0] != GROUP:
                        raise StoreError(f"{g!r} exists and is not a group")
                for (k, v), leaf in zip(kv, leaves, strict=True):
                    old = None if leaf in gset else get(k)
                    if leaf in gset or (old is not None and old == _MARKER):
                        raise StoreError(f"cannot write over the group {leaf!r}")
                    put(k, v)
            except lmdb.Error as e:
                raise StoreError(f"LMDB write failed: {e}") from e

    def reset(self) -> None:
        """Delete every entry (one transaction)."""
        with self._txn(write=True) as txn:
            txn.drop(self._env.open_db(), delete=False)

    def close(self) -> None:
        """Close the environment (later operations fail; closing twice is harmless)."""
        if self._env is not None:
            self._env.close()
            self._env = None
