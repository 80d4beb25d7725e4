"""``RocksDBStore``: the embedded default store, on RocksDB through rocksdict (raw mode).

Encoding (runtime §10.3 lets a port choose any KV encoding equivalent to HyperBEAM's): the key
is the UTF-8 path; the value is one tag byte and a payload, with HyperBEAM's tag numbers:

* ``b"\\x01" + target``: a link to ``target``;
* ``b"\\x02" + bytes``: raw bytes;
* ``b"\\x03"``: a group marker.

Group membership is not stored in the group's value (that would make every write a
read-modify-write of an ever-growing set, as ``data`` is): the children of ``g`` are the keys
``g/<name>`` found by one ordered scan, skipping descendants with a seek. Every write, link or
group of a batch goes through one ``WriteBatch`` (atomic; the WAL makes it survive a crash).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..exceptions import StoreCorrupt, StoreError
from .base import GROUP, LINK, RAW, Entry, Store

try:  # pragma: no cover - exercised when rocksdict is installed (a dependency)
    from rocksdict import Options, Rdict, ReadOptions, WriteBatch, WriteOptions
except ImportError:  # pragma: no cover
    Rdict = None  # type: ignore[assignment,misc]

_MARKER = b"\x03"
_GROUP_ENTRY: Entry = (GROUP, None)


def _decode(key: bytes | str, v: bytes) -> Entry:
    if v:
        t = v[0]
        if t == 2:
            return (RAW, v[1:])
        if t == 1:
            try:
                return (LINK, v[1:].decode())
            except UnicodeDecodeError:
                pass
        elif t == 3 and len(v) == 1:
            return _GROUP_ENTRY
    raise StoreCorrupt(f"corrupt store entry at {key!r}")


class RocksDBStore(Store):
    """A RocksDB database directory at ``path`` (created if missing)."""

    def __init__(self, path: str | os.PathLike[str], *, sync: bool = False) -> None:
        if Rdict is None:  # pragma: no cover
            raise StoreError("RocksDBStore needs the rocksdict package")
        self.root = os.fspath(path)
        self._sync = sync
        self._db = None
        self._open()

    def __repr__(self) -> str:
        return f"RocksDBStore({self.root!r})"

    def _open(self) -> None:
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        opts.set_write_buffer_size(64 << 20)
        try:
            self._db = Rdict(self.root, options=opts)
        except Exception as e:  # rocksdict raises plain Exceptions
            raise StoreError(f"cannot open RocksDB store at {self.root!r}: {e}") from e
        self._get = self._db.get
        self._put = self._db.put
        self._items = self._db.items
        self._known_groups: set[str] = set()

    def write(self, key: str | Sequence[str], value: bytes) -> None:
        """Store ``value`` at ``key``; one plain ``put`` once the parent group is known."""
        # Fast path: the parent is a group this process has seen (so a valid path: only valid
        # paths ever become groups), the last segment is plainly valid (not empty, no ".", no
        # NUL) and is not itself a known group. One put is atomic.
        if type(key) is str and type(value) is bytes:
            i = key.rfind("/")
            known = self._known_groups
            if (
                0 < i < len(key) - 1
                and "." not in key
                and "\x00" not in key
                and key[:i] in known
                and key not in known
            ):
                try:
                    self._put(key.encode(), b"\x02" + value)
                except Exception as e:
                    if self._db is None:
                        raise StoreError("the store is closed") from None
                    raise StoreError(f"RocksDB write failed: {e}") from e
                return
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
                return v[1:]
        return super().read(key)

    def _entry(self, path: str) -> Entry | None:
        v = self._get(path.encode())
        if v is None:
            return None
        return _decode(path, v)

    def _entries(self, paths: Sequence[str]) -> list[Entry | None]:
        vals = self._get([p.encode() for p in paths])
        return [None if v is None else _decode(p, v) for p, v in zip(paths, vals, strict=True)]

    def _scan(self, path: str, with_values: bool) -> list:
        pre = path.encode() + b"/"
        n = len(pre)
        it = self._db.iter()
        it.seek(pre)
        out: list = []
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
        return self._scan(path, False)

    def _child_entries(self, path: str) -> list[tuple[str, Entry]]:
        return self._scan(path, True)

    def _apply(self, ops: list[tuple]) -> None:
        if self._db is None:
            raise StoreError("the store is closed")
        wb = WriteBatch(raw_mode=True)
        put = wb.put
        known = self._known_groups
        new_groups: set[str] = set()
        staged: dict[str, int] = {}

        def group(path: str) -> None:
            # Make ``path`` and its ancestors groups (checked once per process, then cached).
            while path not in known and path not in new_groups:
                kind = staged.get(path)
                if kind is None:
                    v = self._get(path.encode())
                    kind = None if v is None else _decode(path, v)[0]
                if kind is not None and kind != GROUP:
                    raise StoreError(f"{path!r} exists and is not a group")
                if kind is None:
                    put(path.encode(), _MARKER)
                new_groups.add(path)
                i = path.rfind("/")
                if i < 0:
                    return
                path = path[:i]

        for op in ops:
            kind = op[0]
            if kind == "write" or kind == "link":
                path = op[1] if kind == "write" else op[2]
                if path in known or path in new_groups:
                    raise StoreError(f"cannot write over the group {path!r}")
                if kind == "write":
                    put(path.encode(), b"\x02" + op[2])
                    staged[path] = RAW
                else:
                    put(path.encode(), b"\x01" + op[1].encode())
                    staged[path] = LINK
                i = path.rfind("/")
                if i >= 0:
                    group(path[:i])
            else:
                group(op[1])
        self._commit(wb)
        known |= new_groups

    def _commit(self, wb: WriteBatch) -> None:
        try:
            if self._sync:
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
        """Apply a message's precomputed write set (``cache.write``) as one ``WriteBatch``.

        ``kv`` are encoded ``(key, value)`` pairs (raw values and links) at the paths
        ``leaves``; ``groups`` are top-level groups to create (their parents are the root). The
        checks are those of :meth:`_apply`: nothing is written over a group, and a group path
        that exists must be a group.
        """
        if self._db is None:
            raise StoreError("the store is closed")
        known = self._known_groups
        new = [g for g in groups if g not in known]
        if not known.isdisjoint(leaves) or (new and not set(new).isdisjoint(leaves)):
            bad = sorted((known | set(new)).intersection(leaves))[0]
            raise StoreError(f"cannot write over the group {bad!r}")
        wb = WriteBatch(raw_mode=True)
        put = wb.put
        if new:
            gkeys = [g.encode() for g in new]
            for g, k, v in zip(new, gkeys, self._get(gkeys), strict=True):
                if v is None:
                    put(k, _MARKER)
                elif _decode(g, v)[0] != GROUP:
                    raise StoreError(f"{g!r} exists and is not a group")
        for k, v in kv:
            put(k, v)
        self._commit(wb)
        known.update(new)

    def reset(self) -> None:
        self.close()
        Rdict.destroy(self.root)
        self._open()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            self._get = self._put = self._items = _closed_get


def _closed_get(*_a: object) -> None:
    raise StoreError("the store is closed")
