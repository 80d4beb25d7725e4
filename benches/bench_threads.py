"""The GIL is released while IDs are hashed: ``id_many`` in 1 thread vs 2 threads.

The same total work (512 messages with a 64 KB body each) is done by one thread calling
``hyperbeam_fast.id_many`` on all of them, then by two threads each calling it on half. Only
the Python -> Rust conversion of the messages (a copy of each body) holds the GIL; the hashing
does not, so on 2 cores the two-thread run should take ~1/2 of the time (speedup ~1.5-2x).
A 20-key message batch is shown too: there the GIL-held conversion is a larger share.

The IDs from both runs are checked against each other and a sample against
``reference.unsigned_id``.
"""

from __future__ import annotations

import os
import random
import threading

from _common import Result, check, main, median_time

import hyperbeam_fast
from hyperbeam_fast import reference
from bench_ids import msg20

TARGET_SPEEDUP = 1.5
N_BIG = 512
N_SMALL = 8000


def _threaded(msgs: list[dict], n_threads: int) -> list[str]:
    chunks = [msgs[i::n_threads] for i in range(n_threads)]
    out: list[list[str] | None] = [None] * n_threads
    barrier = threading.Barrier(n_threads)

    def work(i: int) -> None:
        barrier.wait()
        out[i] = hyperbeam_fast.id_many(chunks[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Re-interleave to the input order.
    ids: list[str] = [""] * len(msgs)
    for i, part in enumerate(out):
        ids[i::n_threads] = part
    return ids


def _speedup(msgs: list[dict]) -> tuple[float, float, float]:
    t1 = median_time(lambda: _threaded(msgs, 1))
    t2 = median_time(lambda: _threaded(msgs, 2))
    return t1 / t2, len(msgs) / t1, len(msgs) / t2


def run() -> list[Result]:
    rng = random.Random(3)
    big = [{"action": "Upload", "nonce": i, "body": rng.randbytes(64 * 1024)} for i in range(N_BIG)]
    small = [msg20(i) for i in range(N_SMALL)]
    for name, msgs in (("64KB", big), ("20-key", small)):
        one = _threaded(msgs, 1)
        two = _threaded(msgs, 2)
        check(one == two, f"{name}: 2-thread IDs differ from 1-thread IDs")
        sample = range(0, len(msgs), max(1, len(msgs) // 16))
        check(
            all(one[i] == reference.unsigned_id(msgs[i]) for i in sample),
            f"{name}: id_many != reference.unsigned_id",
        )
    s_big, r1_big, r2_big = _speedup(big)
    s_small, r1_small, r2_small = _speedup(small)
    cores = os.cpu_count() or 1
    B = "threads"
    return [
        Result(B, "id_many 64 KB bodies, 1 thread", r1_big),
        Result(B, "id_many 64 KB bodies, 2 threads", r2_big),
        Result(B, f"2-thread speedup, 64 KB bodies ({cores} cores)", s_big, unit="x",
               target=TARGET_SPEEDUP),
        Result(B, "id_many 20-key msgs, 1 thread", r1_small),
        Result(B, "id_many 20-key msgs, 2 threads", r2_small),
        Result(B, "2-thread speedup, 20-key msgs", s_small, unit="x"),
    ]


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_threads"))
