"""The GIL is released while IDs are hashed: ``id_many`` in 1 thread vs 2 threads.

The same total work (512 messages with a 64 KB body each) is done by one thread calling
``hyperbeam_fast.id_many`` on all of them, then by two threads each calling it on half. Only
the Python -> Rust conversion of the messages (a copy of each body) holds the GIL; the hashing
does not, so on 2 cores the two-thread run should take ~1/2 of the time (speedup ~1.5-2x).
A 20-key message batch is shown too: there the GIL-held conversion is a larger share.

Control, same run: ``hashlib.sha256`` of the same bytes in 1 MB blocks, 1 vs 2 threads
(CPython's hashlib releases the GIL while it hashes). If the control does not speed up either,
the machine did not give this process two cores at that moment (a shared VM): rerun when quiet.
1-thread and 2-thread runs alternate, and each worker thread is pinned to its own core.

The IDs from both runs are checked against each other and a sample against
``reference.unsigned_id``.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable

import hyperbeam_fast
from _common import Result, check, main
from bench_ids import msg20
from hyperbeam_fast import reference

TARGET_SPEEDUP = 1.5
N_BIG = 512
N_SMALL = 8000
REPEATS = 15
_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _threaded(fn: Callable[[list], list], items: list, n_threads: int) -> list:
    """``fn`` over ``items`` split across ``n_threads`` threads; results in input order."""
    chunks = [items[i::n_threads] for i in range(n_threads)]
    out: list = [None] * n_threads
    barrier = threading.Barrier(n_threads)

    def work(i: int) -> None:
        # One core per worker: otherwise the kernel sometimes keeps both new threads on one
        # core for the whole (short) run.
        if n_threads <= len(_CPUS):
            os.sched_setaffinity(0, {_CPUS[i]})
        barrier.wait()
        out[i] = fn(chunks[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged: list = [None] * len(items)
    for i, part in enumerate(out):
        merged[i::n_threads] = part
    return merged


def _speedup(fn: Callable[[list], list], items: list) -> tuple[float, float, float]:
    """(speedup, 1-thread items/s, 2-thread items/s); 1- and 2-thread runs alternate."""
    t1s: list[float] = []
    t2s: list[float] = []
    _threaded(fn, items, 2)  # warm-up
    for _ in range(REPEATS):
        for n, ts in ((1, t1s), (2, t2s)):
            t0 = time.perf_counter()
            _threaded(fn, items, n)
            ts.append(time.perf_counter() - t0)
    t1, t2 = sorted(t1s)[REPEATS // 2], sorted(t2s)[REPEATS // 2]
    return t1 / t2, len(items) / t1, len(items) / t2


def _hashlib_blocks(blocks: list[bytes]) -> list[bytes]:
    return [hashlib.sha256(b).digest() for b in blocks]


def run() -> list[Result]:
    rng = random.Random(3)
    big = [{"action": "Upload", "nonce": i, "body": rng.randbytes(64 * 1024)} for i in range(N_BIG)]
    small = [msg20(i) for i in range(N_SMALL)]
    id_many = hyperbeam_fast.id_many
    for name, msgs in (("64KB", big), ("20-key", small)):
        one = _threaded(id_many, msgs, 1)
        two = _threaded(id_many, msgs, 2)
        check(one == two, f"{name}: 2-thread IDs differ from 1-thread IDs")
        sample = range(0, len(msgs), max(1, len(msgs) // 16))
        check(
            all(one[i] == reference.unsigned_id(msgs[i]) for i in sample),
            f"{name}: id_many != reference.unsigned_id",
        )
    # The control hashes the same bytes in 1 MB blocks, so that GIL hand-offs are rare and it
    # measures what the machine gives two threads right now.
    blocks = [b"".join(m["body"] for m in big[i : i + 16]) for i in range(0, N_BIG, 16)]
    check(_threaded(_hashlib_blocks, blocks, 2) == _hashlib_blocks(blocks), "hashlib control")
    s_big, r1_big, r2_big = _speedup(id_many, big)
    s_ctl, _, _ = _speedup(_hashlib_blocks, blocks)
    s_small, r1_small, r2_small = _speedup(id_many, small)
    cores = len(_CPUS) or os.cpu_count() or 1
    B = "threads"
    return [
        Result(B, "id_many 64 KB bodies, 1 thread", r1_big),
        Result(B, "id_many 64 KB bodies, 2 threads", r2_big),
        Result(
            B,
            f"2-thread speedup, 64 KB bodies ({cores} cores)",
            s_big,
            unit="x",
            target=TARGET_SPEEDUP,
            vs=(("of hashlib control's speedup", s_big / s_ctl),),
        ),
        Result(
            B, "  control: hashlib same bytes in 1 MB blocks, 2-thread speedup", s_ctl, unit="x"
        ),
        Result(B, "id_many 20-key msgs, 1 thread", r1_small),
        Result(B, "id_many 20-key msgs, 2 threads", r2_small),
        Result(B, "2-thread speedup, 20-key msgs", s_small, unit="x"),
    ]


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_threads"))
