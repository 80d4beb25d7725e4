"""Restart benchmark (issue 15 item 3): an AOS process with 1,000 and 10,000 computed slots is
restarted (live states and scheduling servers dropped, the RocksDB store closed and reopened);
then one more message is scheduled and computed. Reported per size: the slots computed after
the restart (replayed from the newest snapshot; 10,000 meant a replay from slot 0), the seconds
to that answer, and, as the anchor from the same run, the seconds the first compute of all the
slots took (what a replay from slot 0 costs). Also the process's RSS after 1,000 and after
10,000 computed slots (target: within 1.3x), and how much of it is the process's own linear
memory. A genesis-wasm@1.0 process gets ``handle``'s two strings on the guest's stack, as the
ao CU (ao-loader's ``ccall``) does, so its memory stays flat; json-iface@1.0 ``malloc``s them and
never frees them, as HyperBEAM does (the AOS image exports no ``free``): ~3 KB a slot.

Run: ``python benches/bench_restart.py [genesis|stack] [sizes...]`` (default: both kinds, 1,000
and 10,000 slots; ``genesis`` is a genesis-wasm@1.0 process, the kind aoconnect and aos spawn,
``stack`` a stack@1.0 AOS process, HyperBEAM's json-iface stack). Needs ../shared fixtures and
the exnref translator (tools/binaryen). Every answer is checked (the Lua counter).
Assignments are not signed here (no node wallet): the bench measures compute and restore, not
scheduling (bench_node.py measures that).
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import check, genesis_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HYPERBEAM_SHARED", ROOT.parent / "shared"))
FX = SHARED / "fixtures" / "hyperbeam"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _process(kind: str, w, store) -> tuple[dict, str]:
    """A signed AOS process of ``kind`` (``genesis`` or ``stack``) and its WASM prefix."""
    from hyperbeam_fast import cache
    from hyperbeam_fast.devices.process import aos_process

    wasm = (FX / "aos-2-pure-xs.wasm").read_bytes()
    if kind == "stack":  # stack@1.0 (wasi + json-iface + wasm-64), HyperBEAM's AOS stack
        return aos_process(cache.write({"body": wasm}, store), w, authority=w.address), "wasm"
    return genesis_process(wasm, w, store), "wasm"


def run_size(n: int, rss_at: tuple[int, ...] = (), kind: str = "genesis") -> dict:
    import hyperbeam_fast as hb
    from hyperbeam_fast import ao
    from hyperbeam_fast.devices import wasm64
    from hyperbeam_fast.devices.process import forget_live, register_process_devices
    from hyperbeam_fast.store import RocksDBStore

    register_process_devices()
    w = hb.Wallet.from_file(str(FX / "key-1.json"))
    tmp = tempfile.mkdtemp(prefix="hb-restart-")
    store = RocksDBStore(os.path.join(tmp, "db"))
    opts = {"priv_store": store}
    proc, prefix = _process(kind, w, store)
    pid = hb.id(proc, "all")
    if kind == "genesis":  # slot 0 is the process itself
        s, _ = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
        check(s == "ok", "spawn")
    inc = hb.commit(
        {"target": pid, "type": "Message", "action": "Eval", "data": "C = (C or 0) + 1; return C"},
        w,
    )

    def schedule(m, o):
        s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, o)
        check(s == "ok", f"schedule: {a!r:.200}")
        return int(_text(a["slot"]))

    rss: dict[int, float] = {}
    wasm_mb: dict[int, float] = {}  # the process's own linear memory (AOS's Lua heap)
    compute_s = 0.0
    done = 0
    for mark in sorted({*rss_at, n}):
        for _ in range(mark - done):
            schedule(inc, opts)
        t = time.perf_counter()
        s, st = ao.resolve(proc, "now", opts)
        compute_s += time.perf_counter() - t
        check(s == "ok" and _text(st["results"]["data"]) == str(mark), f"count at {mark}")
        done = mark
        gc.collect()
        rss[mark] = rss_mb()
        ctx = wasm64.context(st, prefix)
        wasm_mb[mark] = ctx.instance.memory_size() / 1e6 if ctx and ctx.instance else 0.0
    # restart
    forget_live()
    store.close()
    store = RocksDBStore(os.path.join(tmp, "db"))
    computed: list[int] = []
    opts2 = {"priv_store": store, "process_progress": lambda d, _t: computed.append(d)}
    t = time.perf_counter()
    probe = {"target": pid, "type": "Message", "action": "Eval", "data": "return C"}
    last = schedule(hb.commit(probe, w), opts2)
    s, st = ao.resolve(proc, "now", opts2)
    answer_s = time.perf_counter() - t
    first = 1 if kind == "genesis" else 0  # the slot of the first Eval
    check(s == "ok" and last == n + first, f"slot after restart {last}")
    check(_text(st["results"]["data"]) == str(n), "count after restart")
    store.close()
    return {
        "n": n,
        "replayed": len(computed),
        "answer_s": answer_s,
        "compute_s": compute_s,
        "rss": rss,
        "wasm": wasm_mb,
    }


def main(argv: list[str]) -> None:
    kinds = [a for a in argv if a in ("genesis", "stack")] or ["genesis", "stack"]
    sizes = [int(a) for a in argv if a.isdigit()] or [1000, 10000]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    for kind, n in ((k, n) for k in kinds for n in sizes):
        r = run_size(n, rss_at=(1000,) if n > 1000 else (), kind=kind)
        print(
            f"{kind:>7} {n:>6} slots: replayed after restart {r['replayed']:>5} slots, "
            f"next answer in {r['answer_s']:.3f} s (target < 1 s) | anchor: computing all "
            f"{n} slots took {r['compute_s']:.2f} s "
            f"({r['compute_s'] / r['answer_s']:.0f}x the restart)"
        )
        if len(r["rss"]) > 1:
            a, b = r["rss"][1000], r["rss"][n]
            print(
                f"        RSS after 1000 slots {a:.0f} MB, after {n} slots {b:.0f} MB: "
                f"{b / a:.2f}x (target <= 1.3x)"
            )
            wa, wb = r["wasm"][1000], r["wasm"][n]
            print(
                f"        of which the process's own WASM memory {wa:.0f} MB -> {wb:.0f} MB; "
                f"the rest {a - wa:.0f} MB -> {b - wb:.0f} MB: {(b - wb) / (a - wa):.2f}x"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
