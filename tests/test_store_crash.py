"""Crash test (issue 5 durability): a writer killed with SIGKILL at random points never leaves a
half message readable, and every message it reported written reads back whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.exceptions import NotFound
from hyperbeam_fast.store import FSStore, LMDBStore, RocksDBStore

ROUNDS = int(os.environ.get("HB_CRASH_ROUNDS", "10"))

MAKE_MSG = r"""
def make_msg(n):
    import hyperbeam_fast as hb

    body = {
        "n": n,
        "title": f"message {n}",
        "blob": bytes([n % 251]) * (1000 + n % 5000),
        "nested": {"k": n * 2, "deeper": {"x": str(n), "list": [n, "a"]}},
        **{f"key-{i}": f"value-{n}-{i}" for i in range(6)},
    }
    # An HMAC commitment (its ID is the unsigned ID): the cache verifies every commitment.
    hmac = {"commitment-device": "httpsig@1.0", "alg": "hmac-sha256"}
    return {**body, "commitments": {hb.id(body, "none"): hmac}}


def cid_of(n):
    return next(iter(make_msg(n)["commitments"]))
"""

WRITER = (
    MAKE_MSG
    + r"""
import sys
from hyperbeam_fast import cache
from hyperbeam_fast.store import FSStore, LMDBStore, RocksDBStore

kind, path, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = {"fs": FSStore, "lmdb": LMDBStore}.get(kind, RocksDBStore)(path)
print("ready", flush=True)
n = start
prev = None
while True:
    uid = cache.write(make_msg(n), store)
    print(n, uid, flush=True)
    if kind == "rocksdb-unpack" and prev is not None:
        # A later child under the previous message: its packed group becomes a plain one.
        cache.write_binary(f"{prev}/next", str(n).encode(), store)
    prev = uid
    n += 1
"""
)

_ns: dict = {}
exec(MAKE_MSG, _ns)  # noqa: S102 - the same generator as the child's
make_msg = _ns["make_msg"]
cid_of = _ns["cid_of"]


def whole(got: dict, n: int) -> bool:
    """``got`` is message ``n``, plus possibly the ``next`` link of the unpack variant."""
    nxt = got.pop("next", None)
    return hb.match(got, make_msg(n)) and nxt in (None, str(n + 1).encode())


@pytest.mark.parametrize("kind", ["rocksdb", "rocksdb-unpack", "lmdb", "fs"])
def test_sigkill_never_leaves_half_a_message(tmp_path, kind):
    path = str(tmp_path / kind)
    rng = random.Random(5)
    reported: dict[int, str] = {}
    start = 0
    deadline = time.monotonic() + 7
    for _ in range(ROUNDS):
        if time.monotonic() > deadline:
            break
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, kind, path, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                reported[int(parts[0])] = parts[1]
        start = max(reported, default=start - 1) + 1
        # Reopen after each crash (what a restarted node does) and check everything so far.
        store = {"fs": FSStore, "lmdb": LMDBStore}.get(kind, RocksDBStore)(path)
        try:
            # Every message of the last round's tail, plus a random sample of the rest.
            ns = sorted(reported)
            sample = set(ns[-40:]) | set(rng.sample(ns, min(40, len(ns))))
            for n in sorted(sample):
                uid = reported[n]
                msg = make_msg(n)
                assert uid == hb.id(msg, "none")
                assert whole(cache.read(uid, store), n), n
                assert whole(cache.read(cid_of(n), store), n), n
            # The message in flight at the kill: invisible, or whole.
            for n in range(start, start + 3):
                msg = make_msg(n)
                for ref in (hb.id(msg, "none"), cid_of(n)):
                    try:
                        got = cache.read(ref, store)
                    except NotFound:
                        continue
                    assert whole(got, n), (n, ref)
        finally:
            store.close()
    assert len(reported) > 0, "the writer never got to write anything"
    if kind == "rocksdb-unpack":  # the unpacking really happened (and survived restarts)
        store = RocksDBStore(path)
        try:
            links = [store.read(f"{reported[n]}/next") for n in sorted(reported)[:-1]]
            assert any(v is not None for v in links)
            group = store.resolve(reported[min(reported)])  # the unsigned ID links to it
            assert store._db.get(group.encode()) == b"\x03"
        finally:
            store.close()
