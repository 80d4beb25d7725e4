"""One conformance suite for every store backend (spec runtime §10.3)."""

from __future__ import annotations

import os

import pytest
from hyperbeam_fast.exceptions import (
    HyperbeamError,
    InvalidStorePath,
    StoreCorrupt,
    StoreError,
    StoreLinkLoop,
)
from hyperbeam_fast.store import FSStore, LMDBStore, MemoryStore, RocksDBStore, StoreChain

BACKENDS = ["memory", "rocksdb", "lmdb", "fs", "chain"]


def make(kind: str, path: str):
    if kind == "memory":
        return MemoryStore()
    if kind == "rocksdb":
        return RocksDBStore(os.path.join(path, "rocks"))
    if kind == "lmdb":
        return LMDBStore(os.path.join(path, "lmdb"), capacity=1 << 26)
    if kind == "fs":
        return FSStore(os.path.join(path, "fs"))
    return StoreChain([MemoryStore(), MemoryStore()])


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = make(request.param, str(tmp_path))
    yield s
    s.close()


def test_write_read_type(store):
    assert store.read("a") is None
    assert store.type("a") is None
    store.write("a", b"1")
    assert store.read("a") == b"1"
    assert store.type("a") == "simple"
    store.write("a", b"2")  # overwrite
    assert store.read("a") == b"2"
    store.write(["x", "y", "z"], b"")
    assert store.read("x/y/z") == b""
    assert store.type("x") == "composite" and store.type("x/y") == "composite"
    assert store.read("x") is None  # a group has no bytes


def test_groups_and_list(store):
    store.make_group("g")
    assert store.type("g") == "composite"
    assert store.list("g") == []
    store.write("g/a", b"1")
    store.write("g/b/c", b"2")
    store.make_group("g/d")
    store.make_group("g")  # idempotent
    assert store.list("g") == ["a", "b", "d"]
    assert store.list("g/b") == ["c"]
    assert store.list("g/a") is None
    assert store.list("nope") is None


def test_links_resolve_segment_by_segment(store):
    # The example of hb_store_fs:resolve: a/b -> a/alt-b.
    store.write("a/b/c", b"Not the right data")
    store.write("a/alt-b/c", b"Correct data")
    store.make_link("a/alt-b", "a/b2")
    assert store.resolve("a/b2/c") == "a/alt-b/c"
    assert store.read("a/b2/c") == b"Correct data"
    assert store.type("a/b2") == "composite"
    assert store.list("a/b2") == ["c"]
    # Chains of links, and a link to bytes.
    store.make_link("a/b2", "l1")
    store.make_link("l1", "l2")
    assert store.read("l2/c") == b"Correct data"
    store.make_link("a/b/c", "direct")
    assert store.read("direct") == b"Not the right data"
    assert store.read_link("direct") == "a/b/c"
    # Replacing a link; linking to itself is a no-op.
    store.make_link("a/alt-b/c", "direct")
    assert store.read("direct") == b"Correct data"
    store.make_link("same", "same")
    assert store.read("same") is None
    assert store.resolve("missing/x/y") == "missing/x/y"


def test_link_loops_are_typed(store):
    store.make_link("loop-b", "loop-a")
    store.make_link("loop-a", "loop-b")
    with pytest.raises(StoreLinkLoop):
        store.read("loop-a")
    with pytest.raises(StoreLinkLoop):
        store.resolve("loop-a/x")
    store.make_link("self/x", "self")  # self -> self/x: grows forever
    with pytest.raises(StoreLinkLoop):
        store.read("self")


@pytest.mark.parametrize(
    "bad",
    ["", "/abs", "/", "a/../b", "..", ".", "a/./b", "a//b", "a/", "nul\x00x", ["a", ".."], []],
)
def test_bad_paths_are_typed(store, bad):
    with pytest.raises(InvalidStorePath):
        store.read(bad)
    with pytest.raises(InvalidStorePath):
        store.write(bad, b"x")
    with pytest.raises(InvalidStorePath):
        store.make_link("a", bad)
    assert isinstance(InvalidStorePath("x"), (HyperbeamError, OSError, ValueError))


def test_bad_values(store):
    with pytest.raises(StoreError):
        store.write("k", "not bytes")  # type: ignore[arg-type]


def test_write_over_group_is_refused(store):
    store.write("g/a", b"1")
    with pytest.raises(StoreError):
        store.write("g/a/b", b"2")  # g/a is bytes, not a group


def test_batch_is_all_or_nothing(store):
    with pytest.raises(RuntimeError):
        with store.batch() as b:
            b.write("t/a", b"1")
            b.make_group("t2")
            b.make_link("t/a", "t3")
            raise RuntimeError("abort")
    assert store.read("t/a") is None and store.type("t2") is None and store.read("t3") is None
    with store.batch() as b:
        b.write("t/a", b"1")
        b.make_group("t2")
        b.make_link("t/a", "t3")
    assert store.read("t3") == b"1" and store.type("t2") == "composite"


def test_reset(store):
    store.write("a/b", b"1")
    store.reset()
    assert store.read("a/b") is None and store.type("a") is None
    store.write("a/b", b"2")
    assert store.read("a/b") == b"2"


def test_big_and_binary_values(store):
    v = os.urandom(300_000) + b"\x00\r\n"
    store.write("big", v)
    assert store.read("big") == v


def test_context_manager_and_path(tmp_path):
    with MemoryStore() as s:
        s.write(s.path("a", ["b", "c"]), b"1")
        assert s.read("a/b/c") == b"1"
    assert MemoryStore.path("x", "y/z") == "x/y/z"


@pytest.mark.parametrize("kind", ["rocksdb", "lmdb", "fs"])
def test_persistence_after_reopen(tmp_path, kind):
    s = make(kind, str(tmp_path))
    s.write("g/a", b"1")
    s.make_link("g/a", "l")
    s.make_group("empty")
    s.close()
    s = make(kind, str(tmp_path))
    assert s.read("l") == b"1" and s.list("g") == ["a"] and s.type("empty") == "composite"
    s.close()


def test_rocksdb_corrupt_entry(tmp_path):
    from rocksdict import Options, Rdict

    p = str(tmp_path / "r")
    db = Rdict(p, options=Options(raw_mode=True))
    db.put(b"bad", b"\x09junk")
    db.put(b"empty", b"")
    db.put(b"badlink", b"\x01\xff\xfe")
    db.close()
    with RocksDBStore(p) as s:
        for k in ("bad", "empty", "badlink"):
            with pytest.raises(StoreCorrupt):
                s.read(k)


def test_fs_never_reads_outside_root(tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "file").write_bytes(b"secret")
    s = FSStore(tmp_path / "fs")
    root = tmp_path / "fs"
    # An absolute link target outside the root: typed error, no read.
    os.symlink(str(outside / "file"), root / "evil")
    with pytest.raises(InvalidStorePath):
        s.read("evil")
    # A relative target with ..: typed error.
    os.symlink("../secret/file", root / "evil2")
    with pytest.raises(InvalidStorePath):
        s.read("evil2")
    # An OS-level directory symlink in the middle of a path is not followed.
    os.symlink(str(outside), root / "evildir")
    with pytest.raises(InvalidStorePath):
        s.read("evildir/file")  # the store sees a link pointing outside
    assert s._entry("evildir/file") is None
    # A FIFO is a corrupt entry, not a hang.
    os.mkfifo(root / "fifo")
    with pytest.raises(StoreCorrupt):
        s.read("fifo")
    # An unreadable file: typed.
    (root / "locked").write_bytes(b"x")
    os.chmod(root / "locked", 0)
    if os.geteuid() != 0:
        with pytest.raises(StoreCorrupt):
            s.read("locked")
    # Writing through a symlinked directory is refused.
    with pytest.raises((StoreError, InvalidStorePath)):
        s.write("evildir/new", b"x")
    assert not (outside / "new").exists()
    s.close()


def test_fs_reads_hyperbeam_style_links(tmp_path):
    """HyperBEAM writes link targets as "<prefix>/<path>" with the prefix as configured."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        s = FSStore("cache-mainnet")
        s.write("data/x", b"1")
        os.symlink("cache-mainnet/data/x", "cache-mainnet/hblink")
        assert s.read("hblink") == b"1"
        s.make_link("data/x", "ours")
        assert os.readlink("cache-mainnet/ours") == "cache-mainnet/data/x"
    finally:
        os.chdir(cwd)


def test_chain_order_and_fallback():
    a, b = MemoryStore(), MemoryStore()
    b.write("only-b", b"b")
    a.write("both", b"a")
    b.write("both", b"b")
    c = StoreChain([a, b])
    assert c.read("both") == b"a"
    assert c.read("only-b") == b"b"
    assert c.read("none") is None
    c.write("new", b"n")  # to the first writable store
    assert a.read("new") == b"n" and b.read("new") is None

    class Broken(MemoryStore):
        def _entry(self, path):
            raise StoreError("disk on fire")

    c2 = StoreChain([Broken(), b])
    assert c2.read("only-b") == b"b"  # an error moves on
    assert c2.type("only-b") == "simple"
