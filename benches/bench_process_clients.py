"""Several clients of one AOS process, in process (issue 12): the per-process serial sections.

``bench_clients.py`` drives the node over HTTP; this drives the same pipeline (``Node.handle``,
memory store, the throughput profile: HMAC replies) from ``--clients`` threads without the
socket, so that what one process's messages wait for shows: each thread sends a signed ANS-104
Eval to ``POST /<ProcID>~process@1.0/push`` and reads its result back with a signed
``compute/results=<slot>``, as aoconnect does. Prints messages/s, the CPU of all threads per
message, and the wall and CPU time per call of the two serial sections of a process: the
compute under the process lock (``process_compute._compute_locked``, and how many calls: one
per push when reads take no turn) and the ordered write of an assignment under the scheduler
lock (``scheduler._Server.write``). Every result is checked (the counter 1..N in slot order).

    python benches/bench_process_clients.py [--clients 4] [-n 400] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import hyperbeam_fast as hb  # noqa: E402
from _common import check, machine  # noqa: E402
from bench_clients import AOC, _fixtures  # noqa: E402
from hyperbeam_fast.codecs import ans104  # noqa: E402
from hyperbeam_fast.devices import process_compute, scheduler  # noqa: E402
from hyperbeam_fast.node import pipeline  # noqa: E402
from hyperbeam_fast.node.config import DEFAULTS  # noqa: E402

HDRS = [(b"content-type", b"application/ans104"), (b"codec-device", b"ans104@1.0")]


class Timed:
    """Wall and thread-CPU seconds per call of ``owner.name`` (wrapped until :meth:`undo`)."""

    def __init__(self, owner: Any, name: str) -> None:
        self.owner, self.name, self.real = owner, name, getattr(owner, name)
        self.n, self.wall, self.cpu = 0, 0.0, 0.0
        self.guard = threading.Lock()
        real = self.real

        def wrapped(*a: Any, **k: Any) -> Any:
            t, c = time.perf_counter(), time.thread_time()
            try:
                return real(*a, **k)
            finally:
                dt, dc = time.perf_counter() - t, time.thread_time() - c
                with self.guard:
                    self.n, self.wall, self.cpu = self.n + 1, self.wall + dt, self.cpu + dc

        setattr(owner, name, wrapped)

    def undo(self) -> None:
        setattr(self.owner, self.name, self.real)

    def line(self) -> str:
        n = max(self.n, 1)
        return f"n={self.n} wall {self.wall / n * 1000:.2f} ms cpu {self.cpu / n * 1000:.2f} ms"


def one_round(w: hb.Wallet, wasm: bytes, clients: int, n: int) -> None:
    node = pipeline.Node({**DEFAULTS, "store": "memory", "force_signed": False}, wallet=w)
    try:
        mod = hb.commit(
            {"content-type": "application/wasm", "data-protocol": "ao", "type": "Module"}
            | {"data": wasm, "memory-limit": "1-gb", "compute-limit": "9000000000000"},
            w,
            "ans104@1.0",
        )
        check(node.handle("POST", "/content-type", HDRS, ans104.encode(mod))[0] == 200, "module")
        proc = {
            **AOC,
            "device": "process@1.0",
            "type": "Process",
            "execution-device": "genesis-wasm@1.0",
            "scheduler": w.address,
            "authority": w.address,
            "module": hb.id(mod, "all"),
            "data": "1984",
        }
        spawn = ans104.encode(hb.commit(proc, w, "ans104@1.0"))
        st, h, _ = node.handle("POST", "/push", HDRS, spawn)
        check(st == 200, f"spawn: {st}")
        pid = dict(h)[b"process"].decode()
        target = hb.native_id(pid)

        def signed(fields: dict[str, Any]) -> bytes:
            return ans104.encode(hb.commit({**AOC, "target": target, **fields}, w, "ans104@1.0"))

        code = "N = (N or 0) + 1; return N"
        first = signed({"action": "Eval", "data": code, "n": "first"})
        st, _, out = node.handle("POST", f"/{pid}~process@1.0/push", HDRS, first)
        check(st == 200, f"first message: {st} {out[:200]!r}")
        items = [signed({"action": "Eval", "data": code, "n": str(i)}) for i in range(n)]
        reads = [signed({"n": str(i)}) for i in range(n)]
        locked = Timed(process_compute, "_compute_locked")
        write = Timed(scheduler._Server, "write")
        queue, guard, seen = list(range(n)), threading.Lock(), []

        def client() -> None:
            while True:
                with guard:
                    if not queue:
                        return
                    i = queue.pop(0)
                st, _, out = node.handle("POST", f"/{pid}~process@1.0/push", HDRS, items[i])
                check(st == 200, f"push: {st} {out[:200]!r}")
                slot = json.loads(out)["slot"]
                path = f"/{pid}~process@1.0/compute/results={slot}"
                st, _, res = node.handle("POST", path, HDRS, reads[i])
                check(st == 200, f"result: {st} {res[:200]!r}")
                with guard:
                    seen.append((slot, int(json.loads(res)["raw"]["Output"]["data"])))

        c0, t0 = time.process_time(), time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        locked.undo()
        write.undo()
        check(len(seen) == n and all(v == s for s, v in seen), "each slot's counter is its slot")
        print(
            f"{clients} clients: {n / wall:6.1f} msg/s, CPU {cpu / n * 1000:.2f} ms per message"
            f" (push + read, all threads); process lock {locked.line()}; scheduler write"
            f" {write.line()}; load {os.getloadavg()[0]:.2f}"
        )
    finally:
        node.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("-n", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    fx = _fixtures()
    w = hb.Wallet.from_file(str(fx / "key-1.json"))
    wasm = (fx / "aos-2-pure-xs.wasm").read_bytes()
    print(f"# bench_process_clients on {machine()}")
    for _ in range(a.rounds):
        one_round(w, wasm, a.clients, a.n)


if __name__ == "__main__":
    main()
