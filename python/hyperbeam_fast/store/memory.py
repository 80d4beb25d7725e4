"""``MemoryStore``: an in-process store for tests and ephemeral nodes (nothing persists)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ..exceptions import StoreError
from .base import GROUP, LINK, RAW, Entry, Store

_GROUP_ENTRY: Entry = (GROUP, None)


class MemoryStore(Store):
    """A dict of ``path -> entry`` plus a child-name index per group.

    A batch is staged and then published with one ``dict.update`` (atomic under the GIL), so
    a reader in another thread sees all of a message or none of it.
    """

    def __init__(self) -> None:
        self._d: dict[str, Entry] = {}
        self._kids: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._d)} entries)"

    def _entry(self, path: str) -> Entry | None:
        return self._d.get(path)

    def size(self) -> int:
        """Bytes of the values and link targets held (paths not counted)."""
        return sum(len(v) for _, v in list(self._d.values()) if v is not None)

    def _entries(self, paths: Sequence[str]) -> list[Entry | None]:
        g = self._d.get
        return [g(p) for p in paths]

    def _children(self, path: str) -> list[str]:
        return list(self._kids.get(path, ()))

    def _child_entries(self, path: str) -> list[tuple[str, Entry]]:
        g = self._d.get
        out = []
        for n in list(self._kids.get(path, ())):
            e = g(f"{path}/{n}")
            if e is not None:
                out.append((n, e))
        return out

    def write(self, key: str | Sequence[str], value: bytes) -> None:
        """Store ``value`` at ``key``; replacing the bytes already there is one dict update
        (a ledger record rewritten per request: devices/simple_pay.py)."""
        if type(key) is str and type(value) is bytes and self.writable and not self._closed:
            with self._lock:
                cur = self._d.get(key)
                if cur is not None and cur[0] == RAW:
                    self._d[key] = (RAW, value)
                    return
        super().write(key, value)

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        with self._lock:
            staged: dict[str, Entry] = {}
            new_kids: list[tuple[str, str]] = []
            d = self._d
            sget, dget, add_kid = staged.get, d.get, new_kids.append
            groups: set[str] = set()  # parents seen to be groups in this batch

            def parents(path: str) -> None:
                """Create the missing groups above ``path`` (the slow path: a new parent)."""
                while True:
                    i = path.rfind("/")
                    if i < 0:
                        return
                    parent, name = path[:i], path[i + 1 :]
                    add_kid((parent, name))
                    cur = sget(parent) or dget(parent)
                    if cur is not None:
                        if cur[0] != GROUP:
                            raise StoreError(f"{parent!r} exists and is not a group")
                        return
                    staged[parent] = _GROUP_ENTRY
                    path = parent

            for op in ops:
                kind = op[0]
                if kind == "group":
                    path = op[1]
                    cur = sget(path) or dget(path)
                    if cur is None:
                        staged[path] = _GROUP_ENTRY
                        parents(path)
                    elif cur[0] != GROUP:
                        raise StoreError(f"{path!r} exists and is not a group")
                    continue
                if kind == "write":
                    path = op[1]
                    entry: Entry = (RAW, op[2])
                    what = "write bytes over"
                else:
                    path = op[2]
                    entry = (LINK, op[1])
                    what = "link over"
                cur = sget(path) or dget(path)
                if cur is not None:
                    if cur[0] == GROUP:
                        raise StoreError(f"cannot {what} the group {path!r}")
                    if cur == entry:  # already there, and in its parent's index: nothing to do
                        continue
                staged[path] = entry
                # the common case inline: the parent is a group already (`data`, `<G>`)
                i = path.rfind("/")
                if i >= 0:
                    parent = path[:i]
                    if parent not in groups:
                        pe = sget(parent) or dget(parent)
                        if pe is None or pe[0] != GROUP:
                            parents(path)
                            continue
                        groups.add(parent)
                    add_kid((parent, path[i + 1 :]))
            kids = self._kids
            for parent, name in new_kids:
                s = kids.get(parent)
                if s is None:
                    kids[parent] = {name}
                else:
                    s.add(name)
            d.update(staged)

    def reset(self) -> None:
        """Delete every entry."""
        with self._lock:
            self._d.clear()
            self._kids.clear()

    def close(self) -> None:
        """Close the store (later operations fail)."""
        self._closed = True
