"""The AO client path end to end (issue 12): aoconnect-shaped signed messages through
``POST /<ProcID>~process@1.0/push`` on loopback, each result read back.

Starts `hyperbeam-fast serve` (a subprocess, memory store, request logs off), uploads the AOS
module as a signed ANS-104 data item and spawns an AOS process with ``POST /push`` (as aoconnect
0.0.98 does: ``execution-device: genesis-wasm@1.0``). Then sends N pre-signed Eval messages
(ANS-104 data items with aoconnect's tags, and httpsig-signed messages), ``--clients`` at a time
on keep-alive connections, each push answered with its computed result, and reads every
result back with ``/compute/results=<slot>`` (plain JSON). Checks every answer (the counter's
value). Prints messages/s and p50/p99 latency per format, against an anchor measured in the same
run (``GET /~meta@1.0/info`` on the same connections), plus HyperBEAM's published ~114 ms per
AOS slot for reference. The shares of request decoding + signature checks, scheduling, compute
and replies (signing + encoding) are measured in process (``Node.handle``, the same pipeline
without the socket) over ``--share-n`` ANS-104 pushes, by timing those functions.

    python benches/bench_clients.py [-n 300] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import hyperbeam_fast as hb  # noqa: E402
from _common import check, machine  # noqa: E402
from hyperbeam_fast.codecs import ans104  # noqa: E402
from hyperbeam_fast.node.http import lift_to_body  # noqa: E402
from node_util import NodeProc  # noqa: E402

FX = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "hyperbeam"
ANS = {"content-type": "application/ans104", "codec-device": "ans104@1.0"}
AOC = {  # the tags aoconnect 0.0.98 puts on a message
    "data-protocol": "ao",
    "type": "Message",
    "variant": "ao.N.1",
    "require-codec": "application/json",
    "signing-format": "ans104",
    "accept-bundle": "true",
}
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


def _httpsig(msg: dict, path: str) -> tuple[dict, bytes]:
    """A signed httpsig request for ``msg`` (the push step of the path is unsigned)."""
    enc = lift_to_body(hb.convert(msg, "httpsig@1.0"))
    body = enc.pop("body", b"")
    return {k: v.decode("latin-1") for k, v in enc.items()}, body


def shares(w: hb.Wallet, wasm: bytes, n: int) -> None:
    """Time the pipeline's stages in process over ``n`` ANS-104 pushes of an AOS Eval."""
    from hyperbeam_fast.devices import process_compute, scheduler
    from hyperbeam_fast.node import pipeline

    spent = {"decode+signatures": 0.0, "scheduling": 0.0, "compute": 0.0, "replies": 0.0}

    def timed(label, fn):
        def wrap(*args, **kw):
            t = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                spent[label] += time.perf_counter() - t

        return wrap

    from hyperbeam_fast.node.config import DEFAULTS

    node = pipeline.Node({**DEFAULTS, "store": "memory"}, wallet=w)  # the node's defaults
    hdrs = [(b"content-type", b"application/ans104"), (b"codec-device", b"ans104@1.0")]
    limits = {"memory-limit": "1-gb", "compute-limit": "9000000000000"}  # required (ao CU)
    mod = hb.commit({"content-type": "application/wasm", "data": wasm, **limits}, w, "ans104@1.0")
    check(node.handle("POST", "/content-type", hdrs, ans104.encode(mod))[0] == 200, "upload")
    proc = {"device": "process@1.0", "type": "Process", "scheduler": w.address}
    proc |= {"authority": w.address, "module": hb.id(mod, "all"), "data": "1984"}
    proc["execution-device"] = "genesis-wasm@1.0"
    st, h, _ = node.handle("POST", "/push", hdrs, ans104.encode(hb.commit(proc, w, "ans104@1.0")))
    pid = dict(h)[b"process"].decode()
    target = hb.native_id(pid)
    items = [
        ans104.encode(
            hb.commit(
                {**AOC, "action": "Eval", "data": "return 1", "target": target, "n": str(i)},
                w,
                "ans104@1.0",
            )
        )
        for i in range(n + 1)
    ]
    node.handle("POST", f"/{pid}~process@1.0/push", hdrs, items[0])  # instantiates AOS
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
        t0, c0 = time.perf_counter(), time.process_time()
        for raw in items[1:]:
            st, _, out = node.handle("POST", f"/{pid}~process@1.0/push", hdrs, raw)
            check(
                st == 200 and json.loads(out)["data"] == "1", f"in-process push: {st} {out[:300]!r}"
            )
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        (
            pipeline.request_to_singleton,
            scheduler._Server.schedule,
            process_compute._compute_slot,
            pipeline.encode_response,
            pipeline.Node._sign,
        ) = saved
        node.close()
    rest = total - sum(spent.values())
    parts = ", ".join(f"{k} {v / total:.0%}" for k, v in {**spent, "other": rest}.items())
    print(
        f"in process: {n / total:.1f} pushes/s ({total / n * 1000:.1f} ms each, CPU"
        f" {cpu / n * 1000:.1f} ms each, all threads): {parts}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300, help="messages per format")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--share-n", type=int, default=100)
    a = ap.parse_args()
    fx = _fixtures()
    print(f"# bench_clients on {machine()}")
    w = hb.Wallet.from_file(str(fx / "key-1.json"))
    tmp = Path(tempfile.mkdtemp())
    node = NodeProc(tmp / "node", config="log_requests: false\n", key=fx / "key-1.json")
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
        print(f"signed {2 * a.n} messages in {time.perf_counter() - t0:.1f} s (client side)")

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

        def run(label: str, reqs: list[tuple[dict, bytes]]) -> None:
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
                    t = time.perf_counter()
                    st, _, out = cc.req("POST", f"/{pid}~process@1.0/push", body, hdrs)
                    # 202: scheduled, its compute found no turn (read by slot below)
                    check(st in (200, 202), f"{label} push: {st} {out[:300]!r}")
                    r = json.loads(out)
                    slot = int(r["slot"])
                    for _ in range(100):  # a read that finds the computes busy (503) retries
                        st, _, res = cc.req(
                            "POST",
                            f"/{pid}~process@1.0/compute/results={slot}",
                            ans104.encode(hb.commit({**AOC, "target": target}, w, "ans104@1.0")),
                            ANS,
                        )
                        if st != 503:
                            break
                        with lock:
                            retries[0] += 1
                        time.sleep(0.005)
                    dt = time.perf_counter() - t
                    check(st == 200, f"{label} result: {st} {res[:300]!r}")
                    raw = json.loads(res).get("raw") or {}
                    check(raw.get("Output", {}).get("data") is not None, f"{label}: no Output")
                    with lock:
                        lat.append(dt)
                        slots.append(slot)
                        seen.append(int(raw["Output"]["data"]))

            t0 = time.perf_counter()
            ts = [threading.Thread(target=worker) for _ in range(a.clients)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            wall = time.perf_counter() - t0
            lat.sort()
            rate = len(lat) / wall
            p50 = lat[len(lat) // 2] * 1000
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
            check(len(set(slots)) == len(slots) == len(reqs), f"{label}: slots {len(slots)}")
            print(
                f"{label:8} {rate:7.1f} msg/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                f"({retries[0]} busy reads retried) "
                f"({rate / anchor:.3f}x of GET /~meta@1.0/info {anchor:.0f}/s; "
                f"{rate * HYPERBEAM_MS_PER_SLOT / 1000:.1f}x HyperBEAM's published 114 ms/slot)"
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
    shares(w, wasm, a.share_n)


if __name__ == "__main__":
    main()
