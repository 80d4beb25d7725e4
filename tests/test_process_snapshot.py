"""process@1.0 snapshot storage: size + non-zero 64 KiB pages, content-addressed, one batch."""

from __future__ import annotations

import os

import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.devices import process_compute as proc
from hyperbeam_fast.exceptions import StoreCorrupt
from hyperbeam_fast.store import MemoryStore, RocksDBStore

P = proc.SNAPSHOT_PAGE
PID = "p" * 43


def _memory(pages: int, tail: int = 0) -> bytes:
    b = bytearray(pages * P + tail)
    b[5] = 1  # page 0
    b[3 * P + 17 : 3 * P + 40] = os.urandom(23)  # page 3
    if tail:
        b[-1] = 9  # the short last page
    return bytes(b)


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_round_trip_and_dedup(kind, tmp_path):
    store = MemoryStore() if kind == "memory" else RocksDBStore(tmp_path / "db")
    try:
        mem = _memory(8, tail=100)
        proc._write_snapshot(PID, 10, {"3": {"body": mem}}, store)
        d = f"computed/{PID}/snapshot/10/3"
        assert cache.list(f"{d}/page", store) == ["0", "3", "8"]  # zero pages are not stored
        assert cache.read(f"{d}/size", store) == str(len(mem)).encode()
        assert proc._read_snapshot(PID, 10, store) == {"3": {"body": mem}}
        # the same pages in a later snapshot are the same content-addressed binaries
        proc._write_snapshot(PID, 20, {"3": {"body": mem}}, store)
        a = store.read_link(f"{d}/page/3")
        assert a is not None and a == store.read_link(f"computed/{PID}/snapshot/20/3/page/3")
        assert cache.list_numbered(f"computed/{PID}/snapshot", store) == [10, 20]
        # all-zero and empty memories
        proc._write_snapshot(PID, 30, {"1": {"body": bytes(2 * P)}, "2": {"body": b""}}, store)
        assert proc._read_snapshot(PID, 30, store) == {
            "1": {"body": bytes(2 * P)},
            "2": {"body": b""},
        }
    finally:
        store.close()


def test_corrupt_snapshot_is_a_typed_error():
    store = MemoryStore()
    proc._write_snapshot(PID, 1, {"3": {"body": _memory(4)}}, store)
    store.write(f"computed/{PID}/snapshot/1/3/size", b"100")  # smaller than page 3 needs
    with pytest.raises(StoreCorrupt):
        proc._read_snapshot(PID, 1, store)
    store.write(f"computed/{PID}/snapshot/1/3/size", b"x")
    with pytest.raises(StoreCorrupt):
        proc._read_snapshot(PID, 1, store)
    # compute falls back (to an older snapshot or init) instead of failing
    cache.link(cache.write({"at-slot": 1}, store), f"computed/{PID}/slot/1", store)
    assert proc._from_snapshot(PID, 5, {"priv_store": store}) is None
