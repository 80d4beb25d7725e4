"""``StoreChain``: several stores used as one (runtime §10.3, ``Opts.store`` as a list).

Reads try the stores in order; a miss or an error moves on to the next (HyperBEAM's
``call_function``). Writes go to the first writable store. With ``write_through=True``, a hit
from a ``remote``-scope store is also written to the first writable local store (the gateway
store's local ``store`` option).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, cast

from ..exceptions import HyperbeamError, NoViableStore
from .base import Batch, Kind, Store, join


class StoreChain(Store):
    """``StoreChain([local, remote, ...], write_through=False)``."""

    def __init__(self, stores: Sequence[Store], *, write_through: bool = False) -> None:
        if not stores:
            raise NoViableStore("a StoreChain needs at least one store")
        for s in stores:
            if not isinstance(s, Store):
                raise TypeError(f"not a store: {s!r}")
        self.stores = list(stores)
        self.write_through = write_through
        self.writable = any(s.writable for s in self.stores)
        self.scope = "local" if any(s.scope == "local" for s in self.stores) else "remote"

    def size(self) -> int | None:
        """The sum over the stores that report a size (None if none does)."""
        sizes = [n for n in (s.size() for s in self.stores) if n is not None]
        return sum(sizes) if sizes else None

    def __repr__(self) -> str:
        return f"StoreChain({self.stores!r})"

    @property
    def primary(self) -> Store:
        """The store that takes writes (the first writable one)."""
        for s in self.stores:
            if s.writable:
                return s
        raise NoViableStore("no writable store in the chain")

    def local_writable(self) -> Store | None:
        """The first writable local store of the chain, if any."""
        for s in self.stores:
            if s.writable and s.scope == "local":
                return s
        return None

    def _first(self, fn: str, key: object) -> object:
        """``(store, result)`` of the first store with a result; a miss or an error moves on.

        When no store answers and some raised, the last error is raised again (typed), so a
        link loop or a bad path is not silently a miss.
        """
        err: BaseException | None = None
        for s in self.stores:
            try:
                r = getattr(s, fn)(key)
            except (HyperbeamError, OSError) as e:
                err = e
                continue
            if r is not None:
                return s, r
        if err is not None:
            raise err
        return None

    def read(self, key: str | Sequence[str]) -> bytes | None:
        """The value at ``key`` from the first store that has it (a remote hit is copied into the
        first writable local store when ``write_through``)."""
        k = join(key)
        hit = self._first("read", k)
        if hit is None:
            return None
        s, value = cast("tuple[Store, bytes]", hit)
        if self.write_through and s.scope == "remote":
            local = self.local_writable()
            if local is not None:
                local.write(k, value)
        return value

    def type(self, key: str | Sequence[str]) -> Kind | None:
        """The kind of ``key`` in the first store that has it."""
        hit = self._first("type", join(key))
        return None if hit is None else hit[1]  # type: ignore[index]

    def list(self, key: str | Sequence[str]) -> list[str] | None:
        """The children of group ``key`` in the first store that has it."""
        hit = self._first("list", join(key))
        return None if hit is None else hit[1]  # type: ignore[index]

    def read_link(self, key: str | Sequence[str]) -> str | None:
        """The target of link ``key`` in the first store that has it."""
        hit = self._first("read_link", join(key))
        return None if hit is None else hit[1]  # type: ignore[index]

    def exists(self, key: str | Sequence[str]) -> bool:
        """Whether any store of the chain has ``key``."""
        return any(_safe_exists(s, key) for s in self.stores)

    def resolve(self, key: str | Sequence[str]) -> str:
        """``key`` with its links followed, in the first store where it resolves."""
        k = join(key)
        first = None
        err: BaseException | None = None
        for s in self.stores:
            try:
                r = s.resolve(k)
                if first is None:
                    first = r
                if s._entry(r) is not None:
                    return r
            except (HyperbeamError, OSError) as e:
                err = e
        if err is not None:
            raise err
        return first if first is not None else k

    def _entry(self, path: str) -> Any:  # noqa: ANN202 - used by resolve() callers
        for s in self.stores:
            try:
                e = s._entry(path)
            except (HyperbeamError, OSError):
                continue
            if e is not None:
                return e
        return None

    def _children(self, path: str) -> builtins.list[str]:
        return self.list(path) or []

    def _apply(self, ops: builtins.list[tuple[Any, ...]]) -> None:
        self.primary._apply(ops)

    def batch(self) -> Batch:
        """A batch of writes to the primary store."""
        return self.primary.batch()

    def reset(self) -> None:
        """Empty every writable local store of the chain (a remote node's cache stays)."""
        for s in self.stores:
            if s.writable and s.scope == "local":
                s.reset()

    def close(self) -> None:
        """Close every store of the chain."""
        for s in self.stores:
            s.close()


def _safe_exists(s: Store, key: object) -> bool:
    try:
        return s.exists(key)  # type: ignore[arg-type]
    except (HyperbeamError, OSError):
        return False
