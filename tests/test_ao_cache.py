"""resolve() with a store: cache-control directives decide lookups and writes (runtime §2.9)."""

from __future__ import annotations

import hyperbeam_fast as hb
from hyperbeam_fast.store import MemoryStore


class Counter:
    """A device whose `compute` key counts its executions."""

    def __init__(self) -> None:
        self.calls = 0

    def compute(self, msg1, msg2, opts):
        self.calls += 1
        return "ok", {"result": f"computed-{msg1.get('n', b'?')!r}", "n": msg1.get("n", b"")}


def _setup():
    dev = Counter()
    hb.register_device("counter-test@1.0", dev)
    return dev, {"device": "counter-test@1.0", "n": "5"}


def test_repeated_resolution_is_served_from_the_cache():
    dev, base = _setup()
    try:
        store = MemoryStore()
        opts = {"store": store, "cache_control": ["always"]}
        st1, r1 = hb.resolve(base, "compute", opts)
        st2, r2 = hb.resolve(base, "compute", opts)
        assert st1 == st2 == "ok"
        assert dev.calls == 1, "second resolution should come from the cache"
        assert hb.match(r2, r1)
        assert hb.hashpath(r2) == hb.hashpath(r1)
        # no-cache: executes again even though the result is stored
        hb.resolve(base, "compute", {"store": store, "cache_control": ["no-cache"]})
        assert dev.calls == 2
    finally:
        hb.unregister_device("counter-test@1.0")


def test_no_store_keeps_the_cache_empty_and_only_if_cached_misses():
    dev, base = _setup()
    try:
        store = MemoryStore()
        opts = {"store": store, "cache_control": ["no-store"]}
        hb.resolve(base, "compute", opts)
        st, err = hb.resolve(
            base, "compute", {"store": store, "cache_control": ["always", "only-if-cached"]}
        )
        assert st == "error" and err["status"] == 504
        assert dev.calls == 1
    finally:
        hb.unregister_device("counter-test@1.0")


def test_default_options_never_touch_the_store():
    dev, base = _setup()
    try:
        store = MemoryStore()
        hb.resolve(base, "compute", {"store": store})
        hb.resolve(base, "compute", {"store": store})
        assert dev.calls == 2  # node default: no-cache, no-store
    finally:
        hb.unregister_device("counter-test@1.0")
