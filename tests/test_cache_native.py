"""The native cache layout (``_native.cache_write_set``, ``cache_group_*``) and the RocksDB fast
paths agree exactly with the general Python code they shortcut."""

from __future__ import annotations

import hashlib
import os

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native, cache
from hyperbeam_fast.exceptions import (
    CacheError,
    InvalidStorePath,
    StoreCorrupt,
    StoreError,
    StoreLinkLoop,
)
from hyperbeam_fast.message import convert
from hyperbeam_fast.store import MemoryStore, RocksDBStore
from hyperbeam_fast.store.base import GROUP, LINK, RAW
from hypothesis import HealthCheck, given, settings
from strategies import messages


def python_ops(tabm: dict, uid: str) -> list:
    ops: list = []
    cache.writing.ops_for(tabm, ops, uid)
    return ops


NESTED = {
    "a": "1",
    "n": {"b": 2, "deeper": {"c": [1, "x"]}},
    "same": {"b": 2, "deeper": {"c": [1, "x"]}},
    "empty": {},
    "f": 1.5,
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages())
def test_write_set_matches_python_ops(msg):
    if cache.verify.has_priv(msg):
        msg = {k: v for k, v in msg.items() if k[:4] != "priv"}
    tabm = convert(msg, "tabm")
    uid = hb.id(msg, "none")
    comms = msg.get("commitments")
    if isinstance(comms, dict) and comms:  # the general path's: commitments
        assert _native.cache_write_set(msg, "structured@1.0") is None
        args: tuple = (tabm, "tabm", uid)
    else:
        args = (msg, "structured@1.0", None)
    got = _native.cache_write_set(*args)
    try:
        want = python_ops(tabm, uid)
    except CacheError:
        assert got is None  # declined: the general path raises
        return
    assert got == (uid, want)
    assert _native.cache_write_set(tabm, "tabm", uid) == (uid, want)
    # The encoded (RocksDB) form is the same set of operations.
    u2, kv, groups, leaves = _native.cache_write_set(*args, True)
    assert u2 == uid
    enc = {}
    for op in want:
        if op[0] == "write":
            enc[op[1].encode()] = b"\x02" + op[2]
        elif op[0] == "link":
            enc[op[2].encode()] = b"\x01" + op[1].encode()
    assert dict(kv) == enc and len(kv) == len(want) - len(groups) + ("data" in groups)
    assert [k.decode() for k, _ in kv] == leaves
    want_groups = [op[1] for op in want if op[0] == "group"]
    if any(op[0] == "write" for op in want):
        want_groups.insert(0, "data")
    assert groups == want_groups


def test_write_set_of_a_nested_message():
    uid, ops = _native.cache_write_set(NESTED, "structured@1.0")
    assert uid == hb.id(NESTED, "none")
    assert ops == python_ops(convert(NESTED, "tabm"), uid)


@pytest.mark.parametrize(
    "msg",
    [
        {"a/b": "1"},
        {"..": "1"},
        {"device": {"x": "1"}},
        {"n": {"x\x00y": "1"}},
    ],
)
def test_declined_messages_keep_their_typed_errors(msg, tmp_path):
    assert _native.cache_write_set(msg, "structured@1.0") is None
    for s in (MemoryStore(), RocksDBStore(str(tmp_path / "r"))):
        with pytest.raises(CacheError):
            cache.write(msg, s)
        s.close()


def plain_write(msg: dict, store) -> str:
    """Write ``msg`` in the plain (HyperBEAM fs-like) layout, as the store's batch does it."""
    uid, ops = _native.cache_write_set(msg, "structured@1.0")
    with store.batch() as b:
        b.extend_unchecked(ops)
    return uid


def as_memory(rocks) -> MemoryStore:
    """A memory store holding the same entries as ``rocks`` (packed groups expanded)."""
    m = MemoryStore()

    def put(k: str, e) -> None:
        m._d[k] = e
        if "/" in k:
            p, n = k.rsplit("/", 1)
            m._kids.setdefault(p, set()).add(n)

    for k, v in rocks._db.items():
        k = k.decode()
        if v[0] == 4:
            put(k, (GROUP, None))
            for n, e in _native.cache_packed_entries(v):
                put(f"{k}/{n}", e)
            continue
        put(k, {1: (LINK, v[1:].decode()), 2: (RAW, v[1:]), 3: (GROUP, None)}[v[0]])
    return m


@pytest.fixture
def rocks(tmp_path):
    s = RocksDBStore(os.path.join(str(tmp_path), "rocks"))
    yield s
    s.close()


def test_group_scan_decoding(rocks):
    uid = plain_write(NESTED, rocks)
    outs, names, tgts = [], [], []
    out, subs = _native.cache_group_entries(
        rocks._group_items(uid), uid.encode(), outs, names, tgts
    )
    assert out == {}  # every child is a link
    assert sorted(n for n, _ in subs) == ["n", "same"]
    assert sorted(names) == ["a", "ao-types", "f"] and all(o is out for o in outs)
    assert all(t.startswith(b"data/") for t in tgts)
    pending = _native.cache_group_fill(outs, names, tgts, rocks._get(tgts))
    assert pending == []
    assert out == {k: rocks.read(t.decode()) for k, t in zip(names, tgts, strict=True)}
    # Not a group (absent, raw, a link): declined, nothing queued.
    for p in ("missing", "data/" + "x" * 43):
        assert _native.cache_group_entries(rocks._group_items(p), p.encode(), [], [], []) is None
    rocks.make_link(uid, "alias")
    q: list = []
    assert _native.cache_group_entries(rocks._group_items("alias"), b"alias", q, q, q) is None
    assert q == []


@pytest.mark.parametrize("layout", ["plain", "packed"])
def test_rocksdb_read_fast_path_edge_cases(rocks, layout):
    write = plain_write if layout == "plain" else cache.write
    uid = write(NESTED, rocks)
    assert hb.match(cache.read(uid, rocks), NESTED)
    assert cache.read_tabm(uid, rocks) == convert(NESTED, "tabm")
    # A sibling key sharing the prefix is not a child.
    rocks.write(f"{uid}-x", b"sibling")
    rocks.write(f"{uid}.y/z", b"sibling")
    assert hb.match(cache.read(uid, rocks), NESTED)
    # A raw child, a child linked through a further link, an inlined sub-group.
    u2 = write({"k": "v"}, rocks)
    rocks.write(f"{u2}/raw", b"r")
    assert cache.read_tabm(u2, rocks) == {"k": b"v", "raw": b"r"}
    hv = "data/" + hb.b64url_encode(hashlib.sha256(b"hv").digest())  # blobs are checked
    rocks.make_link(hv, "alias-of-data")
    rocks.write(hv, b"hv")
    rocks.make_link("alias-of-data", f"{u2}/via")
    rocks.make_link(uid, "alias-of-msg")
    rocks.make_link("alias-of-msg", f"{u2}/sub")
    rocks.make_group(f"{u2}/inline")
    rocks.write(f"{u2}/inline/q", b"1")
    t = cache.read_tabm(u2, rocks)
    assert t["via"] == b"hv" and t["inline"] == {"q": b"1"}
    assert t["sub"] == convert(NESTED, "tabm")
    # The same through the general path (as a memory store would read it).
    m = as_memory(rocks)
    assert cache.read_tabm(u2, m) == t
    assert cache.read_tabm(uid, m) == cache.read_tabm(uid, rocks)


@pytest.mark.parametrize("layout", ["plain", "packed"])
def test_rocksdb_fast_path_loops_and_corruption(rocks, layout):
    write = plain_write if layout == "plain" else cache.write
    a = write({"a": "1"}, rocks)
    b = write({"b": "1"}, rocks)
    rocks.make_link(b, f"{a}/to-b")
    rocks.make_link(a, f"{b}/to-a")
    with pytest.raises(StoreLinkLoop):
        cache.read(a, rocks)
    c = write({"c": "1"}, rocks)
    rocks.make_link("data/missing", f"{c}/gone")
    with pytest.raises(StoreCorrupt):
        cache.read(c, rocks)
    d = write({"d": "1"}, rocks)
    if layout == "plain":
        rocks._db.put(f"{d}/bad".encode(), b"\x09junk")
    else:
        rocks._db.put(d.encode(), b"\x04\x01\x01\x03bad\x09\x00")  # an unknown child kind
    with pytest.raises(StoreCorrupt):
        cache.read(d, rocks)


def test_rocksdb_raw_fast_paths(rocks):
    rocks.write("data/a", b"1")
    rocks.write("data/b", b"2")  # parent known: the one-put path
    assert rocks.read("data/a") == b"1" and rocks.read("data/b") == b"2"
    rocks.make_link("data/b", "ln")
    assert rocks.read("ln") == b"2" and rocks.read("data") is None
    for bad in ("", "/abs", "a/../b", "a//b", "a/", "./a", "a\x00b"):
        with pytest.raises(InvalidStorePath):
            rocks.read(bad)
        with pytest.raises(InvalidStorePath):
            rocks.write(bad, b"x")
    with pytest.raises(StoreError):
        rocks.write("data", b"over a group")
    rocks.make_group("data/g")
    with pytest.raises(StoreError):
        rocks.write("data/g", b"over a group")
    assert rocks.type("data/g") == "composite"


def test_encoded_write_checks(rocks):
    rocks.write("x", b"raw")
    ws = _native.cache_write_set({"a": "1"}, "structured@1.0", None, True)
    uid, kv, groups, leaves = ws
    with pytest.raises(StoreError):  # a group path that exists as raw bytes
        rocks._write_encoded(kv, ["x", *groups], leaves)
    assert rocks.read(f"{uid}/a") is None  # nothing of the batch is visible
    rocks._write_encoded(kv, groups, leaves)
    assert cache.read(uid, rocks) == {"a": b"1"}
    with pytest.raises(StoreError):  # a leaf over a known group
        rocks._write_encoded([(b"data", b"\x021")], [], ["data"])
    # Reopening forgets the known groups: existing markers are found and kept.
    rocks.close()
    rocks._open()
    uid2 = cache.write({"a": "1", "b": "2"}, rocks)
    assert cache.read(uid2, rocks) == {"a": b"1", "b": b"2"}
    assert rocks.type("data") == "composite"


def test_signed_and_private_messages_take_the_general_path(rocks):
    msg = {"a": "1", "priv": {"x": "y"}, "private-thing": "z"}
    assert _native.cache_write_set(msg, "structured@1.0") is None
    uid = cache.write(msg, rocks)
    assert uid == hb.id({"a": "1"}, "none")
    assert cache.read(uid, rocks) == {"a": b"1"}
    hand = {
        "a": "1",
        "commitments": {uid: {"commitment-device": "httpsig@1.0", "alg": "hmac-sha256"}},
    }
    assert _native.cache_write_set(hand, "structured@1.0") is None
    assert cache.write(hand, rocks) == uid  # the unsigned group exists: left as it is
    assert cache.read(uid, rocks) == {"a": b"1"}
