"""RocksDB packed groups (store/rocksdb.py, docs/store-rocksdb.md): a message written by
``cache.write`` is one packed value per (sub-)message, and the store interface sees exactly
what the plain layout (or a memory store) would show, before and after later additions."""

from __future__ import annotations

import os

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native, cache
from hyperbeam_fast.exceptions import NotFound, StoreCorrupt, StoreError, StoreLinkLoop
from hyperbeam_fast.message import convert
from hyperbeam_fast.store import MemoryStore, RocksDBStore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import messages

BIG = "B" * 300  # over the default inline limit (256 bytes)
MSG = {
    "a": "1",
    "big": BIG,
    "n": {"x": "y", "deep": {"z": 3}},
    "same": {"x": "y", "deep": {"z": 3}},
    "empty": {},
    "list": [1, "two"],
}


@pytest.fixture
def rocks(tmp_path):
    s = RocksDBStore(os.path.join(str(tmp_path), "rocks"))
    yield s
    s.close()


def raw(store: RocksDBStore) -> dict[bytes, bytes]:
    return dict(store._db.items())


def data_path(b: bytes) -> str:
    return cache.data_path(b)


def test_layout_is_one_packed_value_per_message(rocks):
    uid = cache.write(MSG, rocks)
    db = raw(rocks)
    tabm = convert(MSG, "tabm")
    sub = hb.id(MSG["n"], "none")
    deep = hb.id(MSG["n"]["deep"], "none")
    assert db[uid.encode()][:1] == b"\x04"
    for g in (sub, deep):
        assert db[g.encode()][:1] == b"\x04"
    # No per-key entries: the children live in the group's value.
    assert not any(k.startswith(uid.encode() + b"/") for k in db)
    # The big binary once under data/, linked; small ones inline.
    big = data_path(BIG.encode())
    assert db[big.encode()] == b"\x02" + BIG.encode()
    assert dict(_native.cache_packed_entries(db[uid.encode()])) == {
        "a": (2, b"1"),
        "ao-types": (2, tabm["ao-types"]),
        "big": (1, big),
        "list": (2, tabm["list"]),
        "n": (1, sub),
        "same": (1, sub),
    }
    assert rocks.type("data") == "composite"
    # Content dedup of big values: a second message holding it adds no data key.
    before = len(raw(rocks))
    u2 = cache.write({"other": BIG}, rocks)
    assert len(raw(rocks)) == before + 1 and rocks.read_link(f"{u2}/other") == big


def test_store_interface_on_packed_groups(rocks):
    uid = cache.write(MSG, rocks)
    sub = hb.id(MSG["n"], "none")
    assert rocks.type(uid) == "composite" and rocks.exists(uid)
    assert rocks.read(uid) is None
    assert rocks.list(uid) == sorted(convert(MSG, "tabm"))
    assert rocks.read(f"{uid}/a") == b"1" and rocks.type(f"{uid}/a") == "simple"
    assert rocks.read(f"{uid}/big") == BIG.encode()
    assert rocks.read_link(f"{uid}/big") == data_path(BIG.encode())
    assert rocks.read_link(f"{uid}/n") == sub and rocks.read_link(f"{uid}/a") is None
    assert rocks.resolve(f"{uid}/n/x") == f"{sub}/x"
    assert rocks.read(f"{uid}/n/x") == b"y" and rocks.read([uid, "n", "x"]) == b"y"
    assert rocks.type(f"{uid}/same/deep") == "composite"
    assert rocks.list(f"{uid}/n") == sorted(convert(MSG["n"], "tabm"))
    assert rocks.read(f"{uid}/missing") is None and rocks.type(f"{uid}/missing") is None
    assert rocks.list(f"{uid}/a") is None
    assert cache.read([uid, "n", "deep", "z"], rocks) == b"3"
    assert hb.match(cache.read([uid, "n"], rocks), MSG["n"])
    assert cache.list(uid, rocks) == rocks.list(uid)
    assert hb.match(cache.read(uid, rocks), MSG)
    assert cache.read_tabm(uid, rocks) == convert(MSG, "tabm")


def both(tmp_path):
    return RocksDBStore(os.path.join(str(tmp_path), "r")), MemoryStore()


def same(rocks: RocksDBStore, mem: MemoryStore, uid: str) -> None:
    assert cache.read_tabm(uid, rocks) == cache.read_tabm(uid, mem)
    assert rocks.list(uid) == mem.list(uid)


def test_later_children_unpack_the_group(tmp_path):
    rocks, mem = both(tmp_path)
    other = {"result": "r"}
    for s in (rocks, mem):
        uid = cache.write(MSG, s)
        ou = cache.write(other, s)
        cache.link(ou, f"{uid}/hp-part", s)  # a hashpath link under the message
    same(rocks, mem, uid)
    assert rocks._db.get(uid.encode()) == b"\x03"  # a plain group now
    assert "hp-part" in rocks.list(uid) and rocks.read(f"{uid}/a") == b"1"
    assert cache.read_tabm(uid, rocks)["hp-part"] == {"result": b"r"}
    # More additions, an overwrite of a child, a binary under a hashpath.
    for s in (rocks, mem):
        cache.write_binary(f"{uid}/bin-part", b"bin", s)
        s.write(f"{uid}/a", b"new")
    same(rocks, mem, uid)
    assert rocks.read(f"{uid}/a") == b"new"
    # Writing the same message again keeps the group plain and its extra children.
    for s in (rocks, mem):
        assert cache.write(MSG, s) == uid
    same(rocks, mem, uid)
    assert rocks.read(f"{uid}/a") == b"1" and rocks.read(f"{uid}/bin-part") == b"bin"
    # An addition under a packed sub-message unpacks only that one.
    sub = hb.id(MSG["n"], "none")
    for s in (rocks, mem):
        s.make_link(f"{uid}/a", f"{sub}/extra")
    assert rocks._db.get(hb.id(MSG["n"]["deep"], "none").encode())[:1] == b"\x04"
    same(rocks, mem, uid)
    same(rocks, mem, sub)
    rocks.close()


def test_writes_into_a_packed_group_are_checked(rocks):
    uid = cache.write(MSG, rocks)
    before = raw(rocks)
    with pytest.raises(StoreError):
        rocks.write(f"{uid}/a/below-raw", b"x")  # `a` is bytes, not a group
    with pytest.raises(StoreError):
        rocks.write(uid, b"over the message")
    with pytest.raises(StoreError):
        with rocks.batch() as b:  # all or nothing: the unpack is dropped with the batch
            b.make_link("data/x", f"{uid}/fine")
            b.write(f"{uid}/a/below-raw", b"x")
    assert raw(rocks) == before
    # A new sub-group below a packed group: unpacked, then the group made.
    rocks.write(f"{uid}/new/leaf", b"l")
    assert rocks.list(f"{uid}/new") == ["leaf"] and rocks.read(f"{uid}/big") == BIG.encode()
    assert cache.read_tabm(uid, rocks)["new"] == {"leaf": b"l"}


def test_reopen(tmp_path):
    p = os.path.join(str(tmp_path), "r")
    s = RocksDBStore(p)
    uid = cache.write(MSG, s)
    u2 = cache.write({"k": "v"}, s)
    s.close()
    s = RocksDBStore(p)
    assert hb.match(cache.read(uid, s), MSG) and s.list(uid) == sorted(convert(MSG, "tabm"))
    # After a restart the process knows nothing: additions and rewrites still find the form.
    cache.link(uid, f"{u2}/hp", s)
    assert cache.read_tabm(u2, s) == {"k": b"v", "hp": convert(MSG, "tabm")}
    assert cache.write({"k": "v"}, s) == u2
    s.close()
    s = RocksDBStore(p)
    assert cache.read_tabm(u2, s)["hp"] == convert(MSG, "tabm")
    assert cache.write({"k": "v"}, s) == u2  # over a plain group, after a restart
    assert sorted(cache.read_tabm(u2, s)) == ["hp", "k"]
    s.close()


@pytest.mark.parametrize(
    "bad",
    [
        b"\x04",  # no table
        b"\x04\x02\x00",  # unknown version
        b"\x04\x01\x05",  # a count past the end
        b"\x04\x01\x01\x01a\x02\x05ab",  # a truncated value
        b"\x04\x01\x01\x01a\x07\x00",  # an unknown kind
        b"\x04\x01\x02\x01b\x02\x00\x01a\x02\x00",  # names out of order
        b"\x04\x01\x01\x02..\x02\x00",  # a bad name
        b"\x04\x01\x01\x01a\x01\x02\xff\xfe",  # a link target that is not UTF-8
        b"\x04\x01\x00\x00",  # trailing bytes
    ],
)
def test_corrupt_packed_values_are_typed(rocks, bad):
    uid = cache.write({"a": "1"}, rocks)
    rocks._db.put(uid.encode(), bad)
    for f in (
        lambda: cache.read(uid, rocks),
        lambda: cache.read_tabm(uid, rocks),
        lambda: rocks.list(uid),
        lambda: rocks.read(f"{uid}/a"),
        lambda: rocks.make_link("data/x", f"{uid}/new"),
    ):
        with pytest.raises(StoreCorrupt):
            f()


def test_missing_or_odd_sub_messages(rocks):
    uid = cache.write(MSG, rocks)
    sub = hb.id(MSG["n"], "none")
    rocks._db.delete(sub.encode())
    with pytest.raises(StoreCorrupt):  # subpath_not_found
        cache.read(uid, rocks)
    rocks._db.put(sub.encode(), b"\x02raw")
    assert cache.read_tabm(uid, rocks)["n"] == b"raw"  # what a link to bytes reads as
    big = data_path(BIG.encode())
    rocks._db.delete(big.encode())
    with pytest.raises(StoreCorrupt):
        cache.read(uid, rocks)


def test_links_to_packed_groups_and_loops(rocks):
    uid = cache.write(MSG, rocks)
    rocks.make_link(uid, "alias1")
    rocks.make_link("alias1", "alias2")
    assert hb.match(cache.read("alias2", rocks), MSG)
    rocks.make_link("loop-b", "loop-a")
    rocks.make_link("loop-a", "loop-b")
    with pytest.raises(StoreLinkLoop):
        cache.read("loop-a", rocks)
    # A packed group that (corruptly) contains itself.
    me = b"\x04\x01\x01\x04self\x01" + bytes([len("selfref")]) + b"selfref"
    rocks._db.put(b"selfref", me)
    with pytest.raises(StoreLinkLoop):
        cache.read("selfref", rocks)
    with pytest.raises(NotFound):
        cache.read("nothing-here", rocks)


def test_inline_limit(tmp_path):
    s = RocksDBStore(os.path.join(str(tmp_path), "r"), inline_max=0)
    uid = cache.write(MSG, s)
    db = raw(s)
    ents = dict(_native.cache_packed_entries(db[uid.encode()]))
    assert all(kind == 1 for kind, _ in ents.values())  # every binary under data/
    assert db[data_path(b"1").encode()] == b"\x021"
    assert hb.match(cache.read(uid, s), MSG)
    s.close()


def test_signed_message_by_commitment_id(rocks):
    cid = hb.id({"a": "1"}, "none")
    msg = {
        "a": "1",
        "commitments": {cid: {"commitment-device": "httpsig@1.0", "alg": "hmac-sha256"}},
    }
    uid = cache.write(msg, rocks)
    group = _native.cache_group_id(hb.convert(msg, "tabm"))  # named by content: it is committed
    assert uid == cid and rocks.read_link(cid) == group
    assert rocks._db.get(group.encode())[:1] == b"\x04"
    assert hb.match(cache.read(cid, rocks), msg)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages(), inline=st.sampled_from([0, 4, 256]), link=st.booleans())
def test_packed_reads_as_memory_does(tmp_path_factory, msg, inline, link):
    d = tmp_path_factory.mktemp("p")
    rocks, mem = RocksDBStore(str(d / "r"), inline_max=inline), MemoryStore()
    try:
        try:
            uid = cache.write(msg, mem)
        except hb.HyperbeamError:
            with pytest.raises(hb.HyperbeamError):
                cache.write(msg, rocks)
            return
        assert cache.write(msg, rocks) == uid
        if link:
            for s in (rocks, mem):
                cache.write_binary(f"{uid}/hp", b"result", s)
        same(rocks, mem, uid)
        assert hb.match(cache.read(uid, rocks), cache.read(uid, mem))
    finally:
        rocks.close()


def test_raw_write_fast_path(tmp_path):
    p = os.path.join(str(tmp_path), "r")
    s = RocksDBStore(p)
    s.write("data/a", b"1")  # the checked path: makes `data` a known group
    s.write("data/b", b"2")  # the native one-put path
    assert s.read("data/a") == b"1" and s.read("data/b") == b"2"
    s.make_group("data/g")
    with pytest.raises(StoreError):
        s.write("data/g", b"over a known group")
    with pytest.raises(StoreError):
        s.write("data/c", "not bytes")  # type: ignore[arg-type]
    s.write("data/ünïcode", b"u")
    assert s.read("data/ünïcode") == b"u"
    s.close()
    with pytest.raises(StoreError):
        s.write("data/c", b"3")  # closed: typed, from the checked path
    s = RocksDBStore(p)
    assert s.read("data/b") == b"2" and s.list("data") == ["a", "b", "g", "ünïcode"]
    s.close()


def test_packed_write_over_a_non_group_is_refused(rocks):
    uid = hb.id({"a": "1"}, "none")
    rocks.write(uid, b"raw bytes at the message's key")
    with pytest.raises(StoreError):
        cache.write({"a": "1"}, rocks)
    assert rocks.read(uid) == b"raw bytes at the message's key"
    # An ID that is already a link is never repointed (issue 11): the write leaves it.
    rocks.make_link("data/x", hb.id({"b": "1"}, "none"))
    cache.write({"b": "1"}, rocks)
    assert rocks.read_link(hb.id({"b": "1"}, "none")) == "data/x"


def test_make_group_on_a_packed_group_keeps_it(rocks):
    uid = cache.write(MSG, rocks)
    rocks.make_group(uid)
    assert rocks._db.get(uid.encode())[:1] == b"\x04"
    rocks.make_group(f"{uid}/sub-group")  # a child: unpacked
    assert rocks._db.get(uid.encode()) == b"\x03"
    assert rocks.list(uid) == sorted([*convert(MSG, "tabm"), "sub-group"])


def test_threads_unpacking_rewriting_and_reading(rocks):
    import concurrent.futures
    import sys

    msgs = [{"i": i, "body": f"message {i}", "n": {"k": i}} for i in range(40)]
    uids = [cache.write(m, rocks) for m in msgs]
    other = cache.write({"result": "r"}, rocks)
    base = [set(convert(m, "tabm")) for m in msgs]

    def work(job: tuple[int, int]) -> None:
        i, t = job
        cache.write(msgs[i], rocks)  # a rewrite of a (maybe) packed group
        cache.link(other, f"{uids[i]}/hp-{t}", rocks)  # unpacks it
        got = cache.read_tabm(uids[i], rocks)
        assert base[i] <= set(got), (i, t)
        assert rocks.read(f"{uids[i]}/body") == f"message {i}".encode()

    jobs = [(i, t) for t in range(4) for i in range(len(msgs))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: races show
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(work, jobs))
    finally:
        sys.setswitchinterval(interval)
    for i, u in enumerate(uids):
        assert rocks.list(u) == sorted(base[i] | {f"hp-{t}" for t in range(4)})
        assert cache.read_tabm(u, rocks)["hp-3"] == {"result": b"r"}


def test_store_is_freed_without_close(tmp_path):
    import gc
    import weakref

    s = RocksDBStore(os.path.join(str(tmp_path), "r"))
    s.write("data/a", b"1")
    s.write("data/b", b"2")
    ref = weakref.ref(s)
    del s
    gc.collect()
    assert ref() is None  # no reference cycle through the native write fast path


def test_big_messages_keep_the_plain_layout(tmp_path):
    p = os.path.join(str(tmp_path), "r")
    s = RocksDBStore(p)
    big = {f"k{i}": f"v{i}" for i in range(1100)}  # over MAX_PACKED_CHILDREN
    uid = cache.write(big, s)
    assert s._db.get(uid.encode()) == b"\x03"
    assert s.read(f"{uid}/k7") == b"v7" and len(s.list(uid)) == 1100
    assert hb.match(cache.read(uid, s), big)
    # The same message packed earlier (a store with a small inline limit made it fit), then
    # written by a store that cannot pack it: it becomes one plain group, whole.
    wide = {f"k{i}": "x" * 200 for i in range(400)}  # 400 x 200 bytes inline: over 64 KiB
    s.close()
    s = RocksDBStore(p, inline_max=100)
    u2 = cache.write(wide, s)
    assert s._db.get(u2.encode())[:1] == b"\x04"
    s.close()
    s = RocksDBStore(p)
    assert cache.write(wide, s) == u2
    assert s._db.get(u2.encode()) == b"\x03"
    assert hb.match(cache.read(u2, s), wide) and len(s.list(u2)) == 400
    s.close()


def test_the_native_write_path_checks_only_the_last_segment():
    """``RawWriter`` puts a raw value in one call when its parent is a known (so valid) group
    and its last segment is plain: a device-named parent such as ``simple-pay@1.0/ledger`` (a
    ``.`` in it) takes that path too; a last segment with ``.`` or NUL, or an unknown parent,
    goes to the checked path."""
    from hyperbeam_fast import _native

    puts: list[tuple[bytes, bytes]] = []
    slow: list[str] = []
    w = _native.RawWriter(
        lambda k, v: puts.append((k, v)), {"simple-pay@1.0/ledger"}, lambda k, v: slow.append(k)
    )
    w.write("simple-pay@1.0/ledger/abc", b"7")
    assert puts == [(b"simple-pay@1.0/ledger/abc", b"\x027")] and slow == []
    for k in ("simple-pay@1.0/ledger/..", "simple-pay@1.0/ledger/a.b", "other@1.0/x"):
        w.write(k, b"1")
    w.write("simple-pay@1.0/ledger/a\x00", b"1")
    assert len(puts) == 1
    assert slow == [
        "simple-pay@1.0/ledger/..",
        "simple-pay@1.0/ledger/a.b",
        "other@1.0/x",
        "simple-pay@1.0/ledger/a\x00",
    ]
