"""Stores and the message cache (spec runtime §10; issue 5).

Measured in one run, on this machine:

* raw store operations through our API on ``RocksDBStore`` (``write``/``read`` of 64-byte values,
  singly and 1000 per batch), with rocksdict's own ``put``/``get`` on a second database in the
  same run as the anchor (the ratio is our overhead);
* whole messages (10 keys, one of them a nested 3-key message) through ``cache.write`` and
  ``cache.read`` on ``rocksdb``, ``lmdb`` (ratio to ``rocksdb`` in the same run), ``fs`` and
  ``memory``, against HyperBEAM's published message
  cache figures (LMDB, 557 writes/s, 1,760 reads/s) and its fs-backed cache as timed on this
  machine for the issue (636 writes/s, 1,101 reads/s for a 3-key message);
* on ``rocksdb``, the storage floor in the same run: rocksdict alone doing exactly the store
  work of a message in the store's layout (packed groups, store/rocksdb.py: one ``WriteBatch``
  of its precomputed packed values and ``data`` values; one ``get`` per (sub-)message and, if
  it has values too big to inline, one multi-get of them), with no ID, hash, encoding,
  decoding or conversion work. The ratio to it is the whole cost of the cache over the raw
  database;
* the same message write and read on ``rocksdb`` with ``inline_max=0`` (every value under
  ``data/<h>`` and linked, read with a multi-get), informational: the layout's cost when
  nothing is inlined.

Every read is checked: raw values byte for byte, messages with ``match`` against the original.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import hyperbeam_fast as hb
from _common import Result, check, main, rate
from hyperbeam_fast import cache
from hyperbeam_fast.store import FSStore, LMDBStore, MemoryStore, RocksDBStore

N_RAW = 50_000
N_MSG = 2_000
HB_LMDB_WRITE, HB_LMDB_READ = 557, 1760
HB_FS_WRITE_3, HB_FS_READ_3 = 636, 1101

TARGET_RAW_WRITE = 300_000
TARGET_RAW_READ = 600_000
TARGET_MSG_WRITE = 20_000
TARGET_MSG_READ = 50_000


def msg10(i: int) -> dict:
    return {
        "type": "Message",
        "action": "Transfer",
        "recipient": f"recipient-{i}",
        "quantity": i * 1000,
        "ratio": 0.5 + i,
        "flag": True,
        "data": f"payload {i} " * 8,
        "tags": ["a", "b", i],
        "owner": f"owner-{i % 7}",
        "nested": {"reply-to": f"r-{i}", "ref": i, "note": "nested message"},
    }


def _rocksdict_floor(st: RocksDBStore, msgs: list[dict], ids: list[str]) -> tuple[float, float]:
    """rocksdict alone doing a message's store work (writes/s, reads/s), on ``st``'s database:
    the packed layout's puts in one ``WriteBatch``; its gets (one per packed group) and the
    multi-get of its linked ``data`` values, if any."""
    from hyperbeam_fast import _native
    from rocksdict import WriteBatch

    db = st._db
    sets = [_native.cache_packed_set(m, "structured@1.0", None, st.inline_max) for m in msgs]
    writes = [kv + packed for _, kv, _, _, packed in sets]
    # Per message: its packed groups (the message and its sub-message) and its data keys.
    plans = []
    for u, (uid, kv, _, _, packed) in zip(ids, sets, strict=True):
        check(uid == u, "packed write set of another message")
        plans.append(([g for g, _ in packed], [k for k, _ in kv]))
    get = db.get

    def write_all() -> None:
        for kv in writes:
            wb = WriteBatch(raw_mode=True)
            for k, v in kv:
                wb.put(k, v)
            db.write(wb)

    def read_all() -> None:
        for groups, data in plans:
            for g in groups:
                get(g)
            if data:
                get(data)

    return rate(write_all, len(msgs), 3), rate(read_all, len(msgs), 5)


def run() -> list[Result]:
    from rocksdict import Options, Rdict

    tmp = tempfile.mkdtemp(prefix="bench-store-")
    results: list[Result] = []
    try:
        keys = [f"data/{i:040d}" for i in range(N_RAW)]
        val = os.urandom(64)

        # --- raw: rocksdict anchor ---------------------------------------------------------
        db = Rdict(os.path.join(tmp, "anchor"), options=Options(raw_mode=True))
        bkeys = [k.encode() for k in keys]
        put, get = db.put, db.get

        def anchor_put() -> None:
            for k in bkeys:
                put(k, val)

        def anchor_get() -> None:
            for k in bkeys:
                get(k)

        anchor_w = rate(anchor_put, N_RAW, 3)
        anchor_r = rate(anchor_get, N_RAW, 3)
        db.close()

        # --- raw: our API ------------------------------------------------------------------
        s = RocksDBStore(os.path.join(tmp, "raw"))
        w, r = s.write, s.read

        def our_put() -> None:
            for k in keys:
                w(k, val)

        def our_get() -> None:
            for k in keys:
                r(k)

        def our_batch() -> None:
            for i in range(0, N_RAW, 1000):
                with s.batch() as b:
                    for k in keys[i : i + 1000]:
                        b.write(k, val)

        raw_w = rate(our_put, N_RAW, 3)
        raw_r = rate(our_get, N_RAW, 3)
        raw_b = rate(our_batch, N_RAW, 3)
        check(all(r(k) == val for k in keys[:: N_RAW // 100]), "raw read != written value")
        check(s.read("data/missing") is None, "a missing raw key must read as None")
        s.close()
        results += [
            Result(
                "store",
                "rocksdb raw write",
                raw_w,
                "/s",
                TARGET_RAW_WRITE,
                (("vs rocksdict put", raw_w / anchor_w),),
            ),
            Result(
                "store",
                "rocksdb raw read",
                raw_r,
                "/s",
                TARGET_RAW_READ,
                (("vs rocksdict get", raw_r / anchor_r),),
            ),
            Result(
                "store",
                "rocksdb raw write, batch 1000",
                raw_b,
                "/s",
                None,
                (("vs rocksdict put", raw_b / anchor_w),),
            ),
        ]

        # --- whole messages ----------------------------------------------------------------
        msgs = [msg10(i) for i in range(N_MSG)]
        ids = hb.id_many(msgs)
        rocks: dict[str, float] = {}  # the rocksdb rates, LMDB's anchor
        for kind in ("rocksdb", "rocksdb-no-inline", "lmdb", "fs", "memory"):
            path = os.path.join(tmp, f"msg-{kind}")
            st = {
                "rocksdb": lambda p=path: RocksDBStore(p),
                "rocksdb-no-inline": lambda p=path: RocksDBStore(p, inline_max=0),
                "lmdb": lambda p=path: LMDBStore(p, capacity=1 << 30),
                "fs": lambda p=path: FSStore(p),
                "memory": MemoryStore,
            }[kind]()
            n = N_MSG if kind != "fs" else N_MSG // 4
            sub = msgs[:n]

            def write_all(st=st, sub=sub) -> None:
                for m in sub:
                    cache.write(m, st)

            def read_all(st=st, n=n) -> None:
                for u in ids[:n]:
                    cache.read(u, st)

            mw = rate(write_all, n, 3)
            mr = rate(read_all, n, 5)
            floor: tuple = ()
            if kind.startswith("rocksdb"):
                fw, fr = _rocksdict_floor(st, sub, ids[:n])
                floor = (("vs rocksdict floor", mw / fw), ("vs rocksdict floor", mr / fr))
            if kind == "rocksdb":
                rocks = {"w": mw, "r": mr}
            if kind == "lmdb":  # the store several worker processes share, vs the default
                floor = (("vs rocksdb", mw / rocks["w"]), ("vs rocksdb", mr / rocks["r"]))
            for i in range(n):  # every message, outside the timing
                check(hb.match(cache.read(ids[i], st), msgs[i]), f"{kind}: message {i} differs")
            st.close()
            label = "rocksdb, inline_max=0," if kind == "rocksdb-no-inline" else kind
            tw = TARGET_MSG_WRITE if kind == "rocksdb" else None
            tr = TARGET_MSG_READ if kind == "rocksdb" else None
            results += [
                Result(
                    "cache",
                    f"{label} message write (10 keys)",
                    mw,
                    "/s",
                    tw,
                    (
                        ("vs HB LMDB", mw / HB_LMDB_WRITE),
                        ("vs HB fs 3-key", mw / HB_FS_WRITE_3),
                        *floor[:1],
                    ),
                ),
                Result(
                    "cache",
                    f"{label} message read (10 keys)",
                    mr,
                    "/s",
                    tr,
                    (
                        ("vs HB LMDB", mr / HB_LMDB_READ),
                        ("vs HB fs 3-key", mr / HB_FS_READ_3),
                        *floor[1:],
                    ),
                ),
            ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_store"))
