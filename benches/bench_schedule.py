"""Ingestion into one process (issue 15 item 1): signed messages scheduled through
scheduler@1.0 (each verified, an RSA-4096-signed assignment stored in RocksDB), from 1 and from
4 threads (concurrent requests of the node's resolver threads), in process. Anchor, same run:
the same calls with the whole of ``schedule`` inside one per-process lock (the span the lock had
before this change: the RSA signature of the assignment under it). Rounds alternate. Checked:
every slot 0..n-1 is assigned once, in order, chained.

Run: ``python benches/bench_schedule.py`` (needs ../shared fixtures for the wallet).
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import check  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HYPERBEAM_SHARED", ROOT.parent / "shared"))
KEY = SHARED / "fixtures" / "hyperbeam" / "key-1.json"
PER_ROUND = 120


def _d(s):
    s = s.decode() if isinstance(s, bytes) else s
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main() -> None:
    import hyperbeam_fast as hb
    from hyperbeam_fast import ao
    from hyperbeam_fast.devices.process import register_process_devices
    from hyperbeam_fast.store import RocksDBStore

    register_process_devices()
    post = {"path": "schedule", "method": "POST"}
    w = hb.Wallet.from_file(str(KEY))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    rates: dict[tuple[str, int], list[float]] = {}
    for rnd in range(3):
        for serial in (True, False):
            for threads in (1, 4):
                store = RocksDBStore(os.path.join(tempfile.mkdtemp(), "db"))
                opts = {"priv_store": store, "priv_wallet": w}
                proc = hb.commit(
                    {"device": "scheduler@1.0", "type": "Process", "r": f"{rnd}{serial}{threads}"},
                    w,
                )
                pid = hb.id(proc, "all")
                check(ao.resolve(proc, {**post, "body": proc}, opts)[0] == "ok", "process")
                msgs = [hb.commit({"target": pid, "i": i}, w) for i in range(PER_ROUND)]
                big = threading.Lock()

                def send(batch, proc=proc, opts=opts, big=big, serial=serial):
                    for m in batch:
                        if serial:
                            with big:
                                s, _ = ao.resolve(proc, {**post, "body": m}, opts)
                        else:
                            s, _ = ao.resolve(proc, {**post, "body": m}, opts)
                        check(s == "ok", "scheduled")

                ts = [
                    threading.Thread(target=send, args=(msgs[k::threads],)) for k in range(threads)
                ]
                t0 = time.perf_counter()
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                dt = time.perf_counter() - t0
                s, got = ao.resolve(
                    proc, {"path": "schedule", "from": 0, "to": PER_ROUND}, {"priv_store": store}
                )
                asg = got["assignments"]
                check(sorted(int(k) for k in asg) == list(range(PER_ROUND + 1)), "no gap")
                chain = b""
                for n in range(PER_ROUND + 1):
                    chain = hashlib.sha256(chain + _d(hb.id(asg[str(n)]["body"], "all"))).digest()
                    check(_d(asg[str(n)]["hash-chain"]) == chain, f"chain at {n}")
                store.close()
                key = (
                    "lock held while signing (before)" if serial else "sign outside the lock",
                    threads,
                )
                rates.setdefault(key, []).append(PER_ROUND / dt)
    med = {k: sorted(v)[1] for k, v in rates.items()}
    for (label, threads), r in sorted(med.items()):
        print(f"  {label:34} {threads} thread(s): {r:7.1f} signed messages/s into one process")
    anchor = med[("lock held while signing (before)", 4)]
    new = med[("sign outside the lock", 4)]
    print(f"  4 threads, after / before: {new / anchor:.2f}x (target: >= 400/s on 2 cores)")


if __name__ == "__main__":
    main()
