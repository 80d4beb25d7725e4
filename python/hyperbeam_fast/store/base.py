"""The store interface (spec runtime §10.3, HyperBEAM's ``hb_store``).

A store holds a tree of *paths* (``/``-joined segments). Each path is one of:

* **simple**: raw bytes (``write``);
* **composite**: a group (``make_group``), whose children are listed with ``list``;
* a **link** (``make_link(existing, new)``): ``new`` points at ``existing``. Links are followed
  segment by segment by ``resolve`` (after joining each next segment, if that prefix is a link,
  continue from its target), and by ``read``/``type``/``list``, which resolve first.

Writing ``a/b/c`` creates the parent groups ``a`` and ``a/b``. Misses are ``None``
(HyperBEAM's ``not_found``); failures are typed :class:`~hyperbeam_fast.StoreError`\\ s.
Paths are validated: no empty, ``.`` or ``..`` segments, no leading ``/``, no NUL; a bad path
raises :class:`~hyperbeam_fast.exceptions.InvalidStorePath`, so nothing is ever read or
written outside a store's root. A link chain longer than :data:`MAX_HOPS`, or a loop, raises
:class:`~hyperbeam_fast.exceptions.StoreLinkLoop`.

Atomicity: :meth:`Store.batch` returns a :class:`Batch` whose operations become visible all at
once when the ``with`` block exits without an error (RocksDB: one ``WriteBatch``; fs: temp
names and renames; memory: one locked update). The message cache writes each message through
one batch, so a crash never leaves half a message readable.

Backends implement the small primitive set marked "backend" below; the public operations and
the link-following algorithm live here, shared by every backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal, cast

from ..exceptions import InvalidStorePath, StoreCorrupt, StoreError, StoreLinkLoop

LINK = 1
RAW = 2
GROUP = 3

#: An entry as the backends report it: ``(RAW, bytes)``, ``(LINK, target_path)`` or
#: ``(GROUP, None)``.
Entry = tuple[int, Any]

_GROUP_ENTRY: Entry = (GROUP, None)


def decode_entry(key: bytes | str, v: bytes) -> Entry:
    """An entry from the tag-byte encoding the RocksDB and LMDB stores share: ``\x01`` + a
    link target, ``\x02`` + raw bytes, ``\x03`` alone for a group; else :class:`StoreCorrupt`."""
    if v:
        t = v[0]
        if t == RAW:
            return (RAW, v[1:])
        if t == LINK:
            try:
                return (LINK, v[1:].decode())
            except UnicodeDecodeError:
                pass
        elif t == GROUP and len(v) == 1:
            return _GROUP_ENTRY
    raise StoreCorrupt(f"corrupt store entry at {key!r}")


#: Longest chain of links followed while resolving one path.
MAX_HOPS = 64

Kind = Literal["simple", "composite"]


def check_segment(seg: str) -> str:
    """Raise :class:`InvalidStorePath` unless ``seg`` is a valid single path segment."""
    if not seg or seg == "." or seg == ".." or "/" in seg or "\x00" in seg:
        raise InvalidStorePath(f"invalid store path segment {seg!r}")
    return seg


def _check_parts(parts: list[str], raw: Any) -> None:
    for seg in parts:
        if not seg or seg == "." or seg == ".." or "\x00" in seg:
            raise InvalidStorePath(f"invalid store path {raw!r} (segment {seg!r})")


def join(path: str | bytes | Sequence[str | bytes | Sequence[str]]) -> str:
    """Normalise a path (a ``/``-joined string, bytes, or a list of segments) to a string.

    A list may hold sub-paths (``["a/b", "c"]`` is ``a/b/c``). Raises
    :class:`InvalidStorePath` for empty, ``.``/``..`` segments, a leading ``/`` or NUL.
    """
    if isinstance(path, str):
        s = path
    elif isinstance(path, (bytes, bytearray)):
        try:
            s = bytes(path).decode()
        except UnicodeDecodeError:
            raise InvalidStorePath(f"store path {path!r} is not UTF-8") from None
    elif isinstance(path, (list, tuple)):
        if not path:
            raise InvalidStorePath("empty store path")
        s = "/".join(join(p) for p in path)
    else:
        raise InvalidStorePath(f"a store path must be str, bytes or a list, not {type(path)}")
    if not s or s[0] == "/":
        raise InvalidStorePath(f"store path {s!r} is empty or absolute")
    # Fast path: no ".", no "//", no trailing "/", no NUL: nothing to check per segment.
    if "." not in s and "//" not in s and s[-1] != "/" and "\x00" not in s:
        return s
    _check_parts(s.split("/"), s)
    return s


def disk_usage(root: str) -> int:
    """Bytes of the regular files under ``root`` (links not followed; what vanishes meanwhile
    is skipped): the size of an on-disk store."""
    total = 0
    stack = [root]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for e in it:
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif e.is_file(follow_symlinks=False):
                        total += e.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    return total


class Store:
    """Base class of every store. Usable as a context manager (``close`` on exit)."""

    #: ``"local"`` or ``"remote"`` (runtime §10.3 ``scope``).
    scope: str = "local"
    #: Whether writes are accepted.
    writable: bool = True

    # ---- backend primitives -------------------------------------------------------------

    def _entry(self, path: str) -> Entry | None:  # backend
        """The entry stored exactly at ``path`` (no link following), or ``None``."""
        raise NotImplementedError

    def _entries(self, paths: Sequence[str]) -> list[Entry | None]:  # backend (optional)
        """Many :meth:`_entry` lookups at once (RocksDB: one multi-get)."""
        return [self._entry(p) for p in paths]

    def _children(self, path: str) -> list[str]:  # backend
        """Names of the children of the group at ``path`` (which exists)."""
        raise NotImplementedError

    def _child_entries(self, path: str) -> list[tuple[str, Entry]]:  # backend (optional)
        """``(name, entry)`` for each child of the group at ``path``."""
        names = self._children(path)
        ents = self._entries([f"{path}/{n}" for n in names])
        return [(n, e) for n, e in zip(names, ents, strict=True) if e is not None]

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:  # backend
        """Apply ``("write", path, bytes)``, ``("group", path)``, ``("link", existing, new)``
        operations atomically, in order."""
        raise NotImplementedError

    def reset(self) -> None:  # backend
        """Remove everything in the store."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the store's resources. Idempotent."""

    def size(self) -> int | None:
        """Bytes the store holds (an estimate where the backend keeps one), or ``None`` when
        it cannot tell (a remote store); the node's ``hb_store_bytes`` metric."""
        return None

    # ---- public interface -----------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def path(*parts: str | bytes | Sequence[str]) -> str:
        """Join path parts with ``/`` (HyperBEAM ``hb_store:path``), validating them."""
        return join(list(parts))

    def _check_writable(self) -> None:
        if not self.writable:
            raise StoreError(f"{type(self).__name__} is read-only")

    def write(self, key: str | Sequence[str], value: bytes) -> None:
        """Store ``value`` at ``key`` (parents become groups)."""
        self._check_writable()
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise StoreError(f"store values are bytes, not {type(value).__name__}")
        self._apply([("write", join(key), bytes(value))])

    def make_group(self, key: str | Sequence[str]) -> None:
        """Create the group ``key`` (and its parents); a no-op if it exists."""
        self._check_writable()
        self._apply([("group", join(key))])

    def make_link(self, existing: str | Sequence[str], new: str | Sequence[str]) -> None:
        """Make ``new`` a link to ``existing`` (replacing an older link); no-op if equal."""
        self._check_writable()
        e, n = join(existing), join(new)
        if e != n:
            self._apply([("link", e, n)])

    def batch(self) -> Batch:
        """A :class:`Batch` that applies its operations atomically when its block ends."""
        self._check_writable()
        return Batch(self)

    def resolve(self, key: str | Sequence[str]) -> str:
        """Follow links segment by segment and return the final path (runtime §10.3).

        Raises :class:`StoreLinkLoop` for a loop or a chain of more than :data:`MAX_HOPS`.
        """
        parts = join(key).split("/")
        hops = 0
        cur = ""
        i = 0
        n = len(parts)
        while i < n:
            nxt = parts[i] if not cur else f"{cur}/{parts[i]}"
            e = self._entry(nxt)
            if e is None:
                # Nothing further down can be a link: the rest is taken literally.
                return "/".join([nxt, *parts[i + 1 :]])
            if e[0] == LINK:
                hops += 1
                if hops > MAX_HOPS:
                    raise StoreLinkLoop(f"too many links (or a loop) resolving {key!r}")
                target = join(e[1])
                # The target itself may pass through links: restart on its segments.
                parts = target.split("/") + parts[i + 1 :]
                n = len(parts)
                cur = ""
                i = 0
                continue
            cur = nxt
            i += 1
        return cur

    def _resolved_entry(self, key: str | Sequence[str]) -> tuple[str, Entry | None]:
        p = join(key)
        # Fast path: a path that exists literally (and is not itself a link) has no link among
        # its prefixes, because every backend refuses to write below a link or a raw value.
        e = self._entry(p)
        if e is not None and e[0] != LINK:
            return p, e
        p = self.resolve(p)
        return p, self._entry(p)

    def read(self, key: str | Sequence[str]) -> bytes | None:
        """The bytes at ``key`` after following links; ``None`` if absent or a group."""
        _, e = self._resolved_entry(key)
        if e is None or e[0] != RAW:
            return None
        return cast("bytes | None", e[1])

    def type(self, key: str | Sequence[str]) -> Kind | None:
        """``"simple"`` (bytes), ``"composite"`` (a group) or ``None`` (absent)."""
        _, e = self._resolved_entry(key)
        if e is None:
            return None
        if e[0] == RAW:
            return "simple"
        if e[0] == GROUP:
            return "composite"
        raise StoreCorrupt(f"unresolved link at {key!r}")

    def list(self, key: str | Sequence[str]) -> list[str] | None:
        """The child names of the group at ``key`` (sorted), or ``None`` if it is not a group."""
        p, e = self._resolved_entry(key)
        if e is None or e[0] != GROUP:
            return None
        return sorted(self._children(p))

    def read_link(self, key: str | Sequence[str]) -> str | None:
        """The target of the link stored exactly at ``key`` (not followed), or ``None``."""
        e = self._entry(join(key))
        return e[1] if e is not None and e[0] == LINK else None

    def exists(self, key: str | Sequence[str]) -> bool:
        """Whether ``key`` resolves to bytes or a group."""
        return self._resolved_entry(key)[1] is not None


class Batch:
    """Operations collected for one atomic :meth:`Store._apply` (a context manager)."""

    __slots__ = ("_store", "ops", "_done")

    def __init__(self, store: Store) -> None:
        self._store = store
        self.ops: list[tuple[Any, ...]] = []
        self._done = False

    def write(self, key: str, value: bytes) -> None:
        """Queue writing ``value`` at ``key``."""
        self.ops.append(("write", join(key), bytes(value)))

    def make_group(self, key: str) -> None:
        """Queue creating the group ``key``."""
        self.ops.append(("group", join(key)))

    def make_link(self, existing: str, new: str) -> None:
        """Queue a link ``new`` -> ``existing`` (none when they are the same path)."""
        e, n = join(existing), join(new)
        if e != n:
            self.ops.append(("link", e, n))

    def extend_unchecked(self, ops: Iterable[tuple[Any, ...]]) -> None:
        """Add operations whose paths the caller already validated (the cache's hot path)."""
        self.ops.extend(ops)

    def commit(self) -> None:
        """Apply the queued operations to the store at once (once; later calls do nothing)."""
        if not self._done:
            self._done = True
            if self.ops:
                self._store._apply(self.ops)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._done = True  # dropped: nothing of it becomes visible
