"""The AO client path end to end (issue 12): aoconnect-shaped signed messages through
``POST /<ProcID>~process@1.0/push`` on loopback, each result read back.

For each node profile (:data:`PROFILES`: the defaults, and the throughput options of
docs/node.md) starts `hyperbeam-fast serve` (a subprocess, memory store unless ``--store
rocksdb``, request logs off), uploads the AOS module as a signed ANS-104 data item and spawns
an AOS process with ``POST /push`` (as aoconnect 0.0.98 does: ``execution-device:
genesis-wasm@1.0``). Then sends N pre-signed Eval messages (ANS-104 data items with
aoconnect's tags, and httpsig-signed messages), ``--clients`` at a time on keep-alive
connections, each push answered with its computed result, and reads every result back with a
signed ``/compute/results=<slot>`` (plain JSON; the reads are signed before timing, as the
messages are: aoconnect's ``result`` is a signed request). Checks every answer (the counter's
value). Prints messages/s and p50/p99 latency per format against an anchor measured in the
same run (``GET /~meta@1.0/info`` on the same connections), HyperBEAM's published ~114 ms per
AOS slot for reference, the CPU per message of the node (its process tree, /proc) and of this
client, and the rate the cores could give at that CPU. Then, in process (``Node.handle``, the
same pipeline without the socket), over ``--share-n`` messages: the CPU of each stage per
message (thread time) and, from a profiled pass, what one message costs (RSA signatures and
verifications, cache writes, IDs, JSON encodes, wasm calls).

    python benches/bench_clients.py [-n 300] [--clients 4] [--profile default|throughput|all]
        [--store memory|rocksdb] [--workers N] [--resolver-threads N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import hyperbeam_fast as hb  # noqa: E402
from _common import AOC, check, machine  # noqa: E402
from hyperbeam_fast.codecs import ans104  # noqa: E402
from hyperbeam_fast.node.http import lift_to_body  # noqa: E402
from node_util import NodeProc  # noqa: E402

FX = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "hyperbeam"
ANS = {"content-type": "application/ans104", "codec-device": "ans104@1.0"}
HYPERBEAM_MS_PER_SLOT = 114.0


def _fixtures() -> Path:
    for p in (FX, Path("/work/shared/fixtures/hyperbeam")):
        if (p / "aos-2-pure-xs.wasm").exists():
            return p
    sys.exit("the AOS module (shared/fixtures/hyperbeam/aos-2-pure-xs.wasm) is not there")


class Conn:
    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)

    def req(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        self.c.request(method, path, body=body or None, headers=headers or {})
        r = self.c.getresponse()
        return r.status, dict(r.getheaders()), r.read()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of process ``pid`` and its descendants
    (``serve --workers``), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(fields[1])
        cpu[int(d)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo += [c for c, pp in parent.items() if pp == p]
    return total


def _httpsig(msg: dict, path: str) -> tuple[dict, bytes]:
    """A signed httpsig request for ``msg`` (the push step of the path is unsigned)."""
    enc = lift_to_body(hb.convert(msg, "httpsig@1.0"))
    body = enc.pop("body", b"")
    return {k: v.decode("latin-1") for k, v in enc.items()}, body


#: What the accounting pass counts per message, by the functions that do it (cProfile call
#: counts in the calling thread, where the pipeline runs in process): native functions by
#: name, Python ones by ``file:line(name)`` suffix, or ``file(name)`` for any line.
_NAT = "<built-in method hyperbeam_fast._native."
COUNTED = {
    "RSA signatures": (
        _NAT + "httpsig_commit>",
        _NAT + "ans104_sign>",
        "<method 'sign' of 'hyperbeam_fast._native.RsaPrivateKey' objects>",
    ),
    "RSA verifications": (
        _NAT + "httpsig_verify>",
        _NAT + "ans104_verify>",
        _NAT + "ans104_decode_verified>",  # the ingress pass: one RSA check per call
        _NAT + "rsa_verify>",
    ),
    "cache writes": ("cache/writing.py(apply)",),  # every message write: write = apply(plan)
    "message IDs": (_NAT + "id>", _NAT + "unsigned_id>", _NAT + "unsigned_id_general>"),
    "JSON encodes": ("<orjson.dumps>", "json/__init__.py:183(dumps)"),
    "wasm calls": ("_bindings.py:3568(wasmtime_func_call_unchecked)",),
}


def shares(w: hb.Wallet, wasm: bytes, n: int, profile: str) -> None:
    """Time the pipeline's stages in process over ``n`` ANS-104 messages (push + signed read
    of its result, as aoconnect's ``message`` + ``result``), then count what one message
    costs (signatures, verifications, writes, IDs, encodes) over a profiled pass."""
    import cProfile
    import pstats

    from hyperbeam_fast.devices import process_compute, scheduler
    from hyperbeam_fast.node import pipeline

    spent = {"decode+signatures": 0.0, "scheduling": 0.0, "compute": 0.0, "replies": 0.0}
    # (scheduling holds the assignment's RSA signature, compute the AOS wasm call)

    def timed(label, fn):  # CPU time of this thread (the stages run here in process)
        def wrap(*args, **kw):
            t = time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                spent[label] += time.thread_time() - t

        return wrap

    from hyperbeam_fast.node.config import DEFAULTS

    forced = "force_signed: false" not in PROFILES[profile]
    opts = {**DEFAULTS, "store": "memory", "force_signed": forced}
    node = pipeline.Node(opts, wallet=w)
    hdrs = [(b"content-type", b"application/ans104"), (b"codec-device", b"ans104@1.0")]
    limits = {"memory-limit": "1-gb", "compute-limit": "9000000000000"}  # required (ao CU)
    mod = hb.commit(
        {"content-type": "application/wasm", "data-protocol": "ao", "type": "Module"}
        | {"data": wasm, **limits},
        w,
        "ans104@1.0",
    )
    check(node.handle("POST", "/content-type", hdrs, ans104.encode(mod))[0] == 200, "upload")
    proc = {"device": "process@1.0", "type": "Process", "scheduler": w.address}
    proc |= {"authority": w.address, "module": hb.id(mod, "all"), "data": "1984"}
    proc = {**AOC, **proc, "execution-device": "genesis-wasm@1.0", "type": "Process"}
    st, h, _ = node.handle("POST", "/push", hdrs, ans104.encode(hb.commit(proc, w, "ans104@1.0")))
    pid = dict(h)[b"process"].decode()
    target = hb.native_id(pid)
    counted = max(10, n // 5)

    def signed(fields: dict, k: int) -> list[bytes]:
        return [
            ans104.encode(
                hb.commit({**AOC, **fields, "target": target, "n": str(i)}, w, "ans104@1.0")
            )
            for i in range(k)
        ]

    items = signed({"action": "Eval", "data": "N = (N or 0) + 1; return N"}, n + 1 + counted)
    reads = signed({}, n + 1 + counted)
    push_path = f"/{pid}~process@1.0/push"

    def message(i: int) -> None:
        st, _, out = node.handle("POST", push_path, hdrs, items[i])
        check(st == 200, f"in-process push: {st} {out[:300]!r}")
        slot = json.loads(out)["slot"]
        path = f"/{pid}~process@1.0/compute/results={slot}"
        st, _, res = node.handle("POST", path, hdrs, reads[i])
        check(st == 200, f"in-process read: {st} {res[:300]!r}")
        check(json.loads(res)["raw"]["Output"]["data"] == str(slot), f"in-process: {res[:300]!r}")

    message(0)  # instantiates AOS (slot 1)
    saved = (
        pipeline.request_to_singleton,
        scheduler._Server.schedule,
        process_compute._compute_slot,
        pipeline.encode_response,
        pipeline.Node._sign,
    )
    pipeline.request_to_singleton = timed("decode+signatures", saved[0])
    scheduler._Server.schedule = timed("scheduling", saved[1])
    process_compute._compute_slot = timed("compute", saved[2])
    pipeline.encode_response = timed("replies", saved[3])
    pipeline.Node._sign = timed("replies", saved[4])
    try:
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        for i in range(1, n + 1):
            message(i)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        mine = time.thread_time() - m0
    finally:
        (
            pipeline.request_to_singleton,
            scheduler._Server.schedule,
            process_compute._compute_slot,
            pipeline.encode_response,
            pipeline.Node._sign,
        ) = saved
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n + 1, n + 1 + counted):
        message(i)
    prof.disable()
    node.close()
    calls = {  # "file:line(function)" or a built-in's name -> number of calls
        (k[2] if k[0] == "~" else f"{k[0]}:{k[1]}({k[2]})"): v[1]
        for k, v in pstats.Stats(prof).stats.items()  # type: ignore[attr-defined]
    }

    def hit(name: str, pat: str) -> bool:
        return name.endswith(pat) or re.sub(r":\d+\(", "(", name).endswith(pat)

    counts = {
        row: sum(c for name, c in calls.items() if any(hit(name, p) for p in pats)) / counted
        for row, pats in COUNTED.items()
    }
    spent["other (this thread)"] = mine - sum(spent.values())
    spent["other threads (state writes)"] = cpu - mine
    parts = ", ".join(f"{k} {v / n * 1000:.2f} ms" for k, v in spent.items())
    t = time.thread_time()
    for _ in range(20):
        w.sign(b"x" * 48)
    rsa = (time.thread_time() - t) / 20 * 1000
    print(
        f"in process ({profile}): {n / total:.1f} messages/s (push + read;"
        f" {total / n * 1000:.2f} ms each; CPU {cpu / n * 1000:.2f} ms each, all threads): {parts}"
        f"; load {os.getloadavg()[0]:.2f}"
    )
    print(
        "  per message: "
        + ", ".join(f"{k} {v:.1f}" for k, v in counts.items())
        + f"; one RSA-4096 signature here {rsa:.2f} ms CPU"
    )


#: The node configurations compared (config.flat lines): the node's defaults, and what an
#: operator tuning for throughput runs (docs/node.md "Throughput"): replies carry an HMAC
#: commitment instead of an RSA signature (``force_signed: false``, HyperBEAM's own default),
#: and 8 resolver threads (the default too since 2026-12-04: four per core, at least 8), so
#: that the compute gate (a quarter of them) lets 2 computes run and 2 wait: 4 clients of one
#: process then never get a 503. Assignments are RSA-signed and client signatures verified in
#: both.
PROFILES = {
    "default": "log_requests: false\n",
    "throughput": "log_requests: false\nforce_signed: false\nworkers: 8\n",
}


def _cores() -> int:
    """The cores this process may run on (``taskset`` included)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def end_to_end(label: str, config: str, a: argparse.Namespace, fx: Path, w: hb.Wallet) -> None:
    """Start a node with ``config``, spawn AOS, time ``a.n`` pushes + reads per format."""
    if a.resolver_threads and "workers:" not in config:
        config += f"workers: {a.resolver_threads}\n"
    tmp = Path(tempfile.mkdtemp())
    store, extra = "memory", []
    if a.store == "rocksdb":
        store = f"rocksdb:{tmp / 'rocksdb'}"
    if a.workers != 1:
        store, extra = f"lmdb:{tmp / 'lmdb'}", ["--workers", str(a.workers)]
    node = NodeProc(tmp / "node", config=config, key=fx / "key-1.json", store=store, extra=extra)
    print(
        f"## profile {label}: {config.strip().replace(chr(10), '; ')}; store {store.split(':')[0]}"
        f", --workers {a.workers}"
    )
    try:
        c = Conn(node.url)
        wasm = (fx / "aos-2-pure-xs.wasm").read_bytes()
        mod = hb.commit(
            {"content-type": "application/wasm", "data-protocol": "ao", "type": "Module"}
            | {"data": wasm, "memory-limit": "1-gb", "compute-limit": "9000000000000"},
            w,
            "ans104@1.0",
        )
        st, _, _ = c.req("POST", "/content-type", ans104.encode(mod), ANS)
        check(st == 200, f"module upload: {st}")
        proc = {
            "device": "process@1.0",
            "scheduler-device": "scheduler@1.0",
            "push-device": "push@1.0",
            "execution-device": "genesis-wasm@1.0",
            "authority": w.address,
            "scheduler": w.address,
            "module": hb.id(mod, "all"),
            "data": "1984",
            **AOC,
            "type": "Process",
        }
        st, h, body = c.req("POST", "/push", ans104.encode(hb.commit(proc, w, "ans104@1.0")), ANS)
        pid = h.get("process")
        check(st == 200 and bool(pid), f"spawn: {st} {body[:200]!r}")
        target = hb.native_id(pid)
        st, _, body = c.req(
            "POST",
            f"/{pid}~process@1.0/push",
            ans104.encode(
                hb.commit(
                    {**AOC, "action": "Eval", "data": "N = 0", "target": target}, w, "ans104@1.0"
                )
            ),
            ANS,
        )
        check(st == 200, f"first message: {st} {body[:300]!r}")

        code = "N = N + 1; return N"
        t0 = time.perf_counter()
        items = [
            ans104.encode(
                hb.commit(
                    {**AOC, "action": "Eval", "data": code, "target": target, "n": str(i)},
                    w,
                    "ans104@1.0",
                )
            )
            for i in range(a.n)
        ]
        sigs = [
            _httpsig(
                hb.commit(
                    {**AOC, "action": "Eval", "data": code, "target": pid, "n": str(i)},
                    w,
                ),
                "",
            )
            for i in range(a.n)
        ]
        # aoconnect's `result` is a signed request too (its slot is in the unsigned path):
        # signed here with the messages, so that the client's RSA work is not timed
        reads = [
            ans104.encode(hb.commit({**AOC, "target": target, "n": str(i)}, w, "ans104@1.0"))
            for i in range(2 * a.n)
        ]
        print(f"signed {4 * a.n} requests in {time.perf_counter() - t0:.1f} s (client side)")

        def anchor_rate(seconds: float = 2.0) -> float:
            done = [0]

            def worker() -> None:
                cc = Conn(node.url)
                end = time.perf_counter() + seconds
                while time.perf_counter() < end:
                    st, _, _ = cc.req("GET", "/~meta@1.0/info")
                    check(st == 200, "anchor")
                    done[0] += 1

            ts = [threading.Thread(target=worker) for _ in range(a.clients)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return done[0] / seconds

        seen: list[int] = []
        retries = [0]
        lock = threading.Lock()

        def run(fmt: str, reqs: list[tuple[dict, bytes]]) -> None:
            lat: list[float] = []
            slots: list[int] = []
            retries[0] = 0
            q = list(enumerate(reqs))

            def worker() -> None:
                cc = Conn(node.url)
                while True:
                    with lock:
                        if not q:
                            return
                        _i, (hdrs, body) = q.pop(0)
                        read = reads.pop()
                    t = time.perf_counter()
                    st, _, out = cc.req("POST", f"/{pid}~process@1.0/push", body, hdrs)
                    # 202: scheduled, its compute found no turn (read by slot below)
                    check(st in (200, 202), f"{fmt} push: {st} {out[:300]!r}")
                    r = json.loads(out)
                    slot = int(r["slot"])
                    for _ in range(100):  # a read that finds the computes busy (503) retries
                        st, _, res = cc.req(
                            "POST", f"/{pid}~process@1.0/compute/results={slot}", read, ANS
                        )
                        if st != 503:
                            break
                        with lock:
                            retries[0] += 1
                        time.sleep(0.005)
                    dt = time.perf_counter() - t
                    check(st == 200, f"{fmt} result: {st} {res[:300]!r}")
                    raw = json.loads(res).get("raw") or {}
                    check(raw.get("Output", {}).get("data") is not None, f"{fmt}: no Output")
                    with lock:
                        lat.append(dt)
                        slots.append(slot)
                        seen.append(int(raw["Output"]["data"]))

            s0, c0 = tree_cpu(node.proc.pid), time.process_time()
            t0 = time.perf_counter()
            ts = [threading.Thread(target=worker) for _ in range(a.clients)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            wall = time.perf_counter() - t0
            server = (tree_cpu(node.proc.pid) - s0) / len(reqs) * 1000
            client = (time.process_time() - c0) / len(reqs) * 1000
            lat.sort()
            rate = len(lat) / wall
            p50 = lat[len(lat) // 2] * 1000
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
            check(len(set(slots)) == len(slots) == len(reqs), f"{fmt}: slots {len(slots)}")
            cores = _cores()
            print(
                f"{fmt:8} {rate:7.1f} msg/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                f"({retries[0]} busy reads retried) "
                f"({rate / anchor:.3f}x of GET /~meta@1.0/info {anchor:.0f}/s; "
                f"{rate * HYPERBEAM_MS_PER_SLOT / 1000:.1f}x HyperBEAM's published 114 ms/slot)\n"
                f"         CPU per message (push + read): node {server:.2f} ms, bench client"
                f" {client:.2f} ms: {cores} cores give at most"
                f" {cores * 1000 / (server + client):.0f} msg/s; load {os.getloadavg()[0]:.2f}"
            )

        anchor = anchor_rate()
        print(f"anchor   GET /~meta@1.0/info {anchor:.0f} req/s ({a.clients} connections)")
        run("ans104", [(ANS, b) for b in items])
        run("httpsig", sigs)
        # every message saw the counter once: N went 1..2n in slot order
        check(sorted(seen) == list(range(1, 2 * a.n + 1)), "the counter's values")
        print(f"checked: {2 * a.n} results, counter 1..{2 * a.n}; {machine()}")
    finally:
        node.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300, help="messages per format")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--share-n", type=int, default=100)
    ap.add_argument("--workers", type=int, default=1, help="serve --workers (>1: lmdb store)")
    ap.add_argument("--store", choices=["memory", "rocksdb"], default="memory")
    ap.add_argument(
        "--resolver-threads",
        type=int,
        default=0,
        help="resolver threads of a profile that does not set them (the default: twice the"
        " node's os.cpu_count(); set 4 to run a 2-core machine's default under taskset)",
    )
    ap.add_argument(
        "--profile", choices=[*PROFILES, "all"], default="all", help="node configuration"
    )
    a = ap.parse_args()
    fx = _fixtures()
    print(f"# bench_clients on {machine()}")
    w = hb.Wallet.from_file(str(fx / "key-1.json"))
    names = list(PROFILES) if a.profile == "all" else [a.profile]
    for name in names:
        end_to_end(name, PROFILES[name], a, fx, w)
    wasm = (fx / "aos-2-pure-xs.wasm").read_bytes()
    for name in names:
        shares(w, wasm, a.share_n, name)


if __name__ == "__main__":
    main()
