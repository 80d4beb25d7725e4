"""Limits under attack (issue 11, item 9/10 "Proof"): the node keeps answering while it is
attacked, and gives the memory back afterwards.

Starts `hyperbeam-fast serve` (a subprocess, memory store, default limits, RSA-signed replies)
and probes ``GET /~meta@1.0/info`` from one client, one new connection per request, at rest
and while each attack runs from other threads:

* ``idle sockets``: 1,100 connections that send nothing (more than ``max_connections_per_ip``);
* ``slowloris``: 1,100 connections that send a request head one byte every 0.5 s;
* ``multipart bomb``: POSTs of 100k multipart parts (6.6 MB) back to back;
* ``ao-types bomb``: POSTs whose part carries a 250k-member ``ao-types`` dictionary (5 MB);
* ``bad headers``: replies whose keys/values cannot be HTTP headers (escape bytes, spaces and
  colons in keys, AOS colour codes);
* ``looping wasm``: two clients, each computing slots of its own process whose WASM never
  returns (a stranger's key; each slot ends at ``wasm_timeout``, 10 s by default);
* ``growing wasm``: slots of processes whose WASM grows and fills its memory until
  ``wasm_memory_limit`` (4 GiB by default) refuses it.

Before "at rest", one benign slot of a WASM process is computed, so that wasmtime's engine and
caches count in the RSS at rest rather than as the first process attack's residue. Per phase:
the probe's p50/p99 and failed probes, the attack requests answered, and the node's
RSS (``/proc/PID/status``) after the attack stops and the node settles. Targets: p99 < 100 ms
and RSS after every attack within 1.2x of the RSS at rest. Not part of ``run_all.py`` (it
takes about a minute); a wrong answer (a probe that does not get 200, an attack request that
gets no HTTP answer) is reported and exits with status 1.

    python benches/attack_limits.py [--phase-seconds 6] [--only 'looping wasm' ...]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hyperbeam_fast as hb  # noqa: E402
from _common import machine  # noqa: E402
from attack_payloads import GROW, LOOP, multipart  # noqa: E402
from hyperbeam_fast.node import client  # noqa: E402
from node_util import NodeProc  # noqa: E402

P99_TARGET_MS = 100.0
RSS_TARGET = 1.2
SOCKETS = 1100


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) / 1024
    return float("nan")


def request(port: int, method: str, path: str, body: bytes = b"", headers=None, timeout=30):  # noqa: ANN001
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


class Probe:
    """Sequential GET /~meta@1.0/info probes in a thread; latencies in ms."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lat: list[float] = []
        self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                ok = request(self.port, "GET", "/~meta@1.0/info", timeout=10) == 200
            except OSError:
                ok = False
            dt = (time.perf_counter() - t0) * 1000
            if ok:
                self.lat.append(dt)
            else:
                self.failed += 1
            self.stop.wait(0.01)

    def run_for(self, seconds: float) -> Probe:
        self.thread.start()
        time.sleep(seconds)
        self.stop.set()
        self.thread.join()
        return self


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("inf")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


# --- attacks: each runs until ``stop`` is set and returns (attack requests, answered) ---------


def idle_sockets(port: int, stop: threading.Event, first: bytes = b"", dribble: bool = False):
    socks = []
    for _ in range(SOCKETS):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            if first:
                s.send(first)
            socks.append(s)
        except OSError:
            pass
    sent = len(socks)
    while not stop.is_set():
        if dribble:
            for s in socks:
                try:
                    s.send(b"a")
                except OSError:
                    pass
        stop.wait(0.5)
    for s in socks:
        s.close()
    return sent, sent  # sockets opened (none expects an answer while it stays silent)


def slowloris(port: int, stop: threading.Event):
    head = b"GET /~meta@1.0/info HTTP/1.1\r\nHost: x\r\nX-Slow: "
    return idle_sockets(port, stop, head, dribble=True)


def post_loop(body_of: Callable[[], tuple[dict, bytes]], path: str):
    hdrs, body = body_of()

    def attack(port: int, stop: threading.Event):
        n = answered = 0
        while not stop.is_set():
            n += 1
            try:
                request(port, "POST", path, body, hdrs, timeout=60)
                answered += 1
            except OSError:
                pass
        return n, answered

    return attack


def multipart_bomb():
    return multipart(
        [b'content-disposition: form-data;name="k%d"\r\n\r\nv' % i for i in range(100_000)]
    )


def ao_types_bomb():
    types = b", ".join(b'k%d="integer"' % i for i in range(250_000))
    return multipart(
        [b'content-disposition: form-data;name="x"\r\nao-types: ' + types + b"\r\nk7: 1"]
    )


BAD = [
    "/~message@1.0&a=%1b",
    "/~message@1.0&out=%1b%5b32mgreen%1b%5b0m",
    "/~message@1.0&a%20b=1",
    "/~message@1.0&a%3Ab=1",
    "/~message@1.0&a=x%07%7fy",
]


def bad_headers(port: int, stop: threading.Event):
    n = answered = 0
    while not stop.is_set():
        for path in BAD:
            n += 1
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            answered += data.startswith(b"HTTP/1.1 ")
    return n, answered


_STRANGER: list[hb.Wallet] = []


def _stranger() -> hb.Wallet:
    if not _STRANGER:
        _STRANGER.append(hb.Wallet.generate())
    return _STRANGER[0]


def _spawn(url: str, wat: str) -> str:
    """A stranger's signed wasm-64 process on a signed image of ``wat``, on this node's
    scheduler: its ID."""
    import wasmtime

    w = _stranger()
    st, node_addr = client.get(url, "/~meta@1.0/info/address")
    assert st == "ok", node_addr
    img = hb.commit(
        {"path": "/content-type", "content-type": "application/wasm",
         "body": wasmtime.wat2wasm(wat)},
        w,
    )  # fmt: skip
    st, v = client.request("POST", url, img, timeout=60)
    assert st == "ok", v
    proc = hb.commit(
        {"device": "process@1.0", "type": "Process", "scheduler": node_addr,
         "image": hb.id(hb.with_only_committed(img), "all"),
         "execution-device": "stack@1.0", "device-stack": ["wasm-64@1.0"]},
        w,
    )  # fmt: skip
    st, a = client.post(url, "/~scheduler@1.0/schedule", {"method": "POST", "body": proc})
    assert st == "ok", a
    return hb.id(proc, "all")


def _warm_process(url: str) -> None:
    """One benign slot computed (``ok`` of the looping module), so that the engine and its
    caches are part of the RSS at rest, not counted as an attack's residue."""
    pid = _spawn(url, LOOP)
    msg = hb.commit({"target": pid, "type": "Message", "function": "ok"}, _stranger())
    st, a = client.post(url, f"/{pid}/schedule", {"method": "POST", "body": msg})
    assert st == "ok", a
    st, r = client.get(url, f"/{pid}/compute/results?slot={a['slot']}", timeout=60)
    assert st == "ok", r


def process_loop(wat: str, fn: str, clients: int):
    """``clients`` threads, each scheduling a ``fn`` slot in its own process and computing it,
    back to back: an answered attack request is one that gets an HTTP answer (the slot's error
    result, or a 503 'busy' while the compute gate is full)."""

    def attack(port: int, stop: threading.Event):
        url = f"http://127.0.0.1:{port}"
        counts = [[0, 0] for _ in range(clients)]

        def one(i: int) -> None:
            pid = _spawn(url, wat)
            while not stop.is_set():
                counts[i][0] += 1
                msg = hb.commit({"target": pid, "type": "Message", "function": fn}, _stranger())
                try:
                    st, a = client.post(url, f"/{pid}/schedule", {"method": "POST", "body": msg})
                    slot = a["slot"] if st == "ok" and isinstance(a, dict) else 0
                    client.get(url, f"/{pid}/compute/results?slot={slot}", timeout=120)
                    counts[i][1] += 1
                except (OSError, client.ClientError) as e:
                    print(f"  {fn}: no answer: {type(e).__name__}: {e}", file=sys.stderr)

        ts = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    return attack


ATTACKS = {
    "idle sockets": idle_sockets,
    "slowloris": slowloris,
    "multipart bomb": post_loop(multipart_bomb, "/~message@1.0/k1"),
    "ao-types bomb": post_loop(ao_types_bomb, "/~message@1.0/x/k7"),
    "bad headers": bad_headers,
    "looping wasm": process_loop(LOOP, "spin", 2),
    "growing wasm": process_loop(GROW, "grow", 2),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase-seconds", type=float, default=6.0)
    ap.add_argument("--settle-seconds", type=float, default=3.0)
    ap.add_argument("--only", action="append", choices=sorted(ATTACKS), help="these attacks")
    a = ap.parse_args()
    print(f"# attack_limits on {machine()}")
    node = NodeProc(Path(tempfile.mkdtemp()), config="log_requests: false\n")
    wrong = 0
    try:
        pid = node.proc.pid
        Probe(node.port).run_for(1.0)  # warm-up
        _warm_process(node.url)  # "at rest" is a node that has run a process: wasmtime loaded
        rest = Probe(node.port).run_for(a.phase_seconds)
        rss0 = rss_mb(pid)
        rows = [("at rest", rest, (0, 0), rss0, rss0)]
        for name, attack in ATTACKS.items():
            if a.only and name not in a.only:
                continue
            stop = threading.Event()
            out: list = []
            t = threading.Thread(target=lambda at=attack, s=stop, o=out: o.append(at(node.port, s)))
            t.start()
            time.sleep(0.5)
            probe = Probe(node.port).run_for(a.phase_seconds)
            peak = rss_mb(pid)
            stop.set()
            t.join()
            time.sleep(a.settle_seconds)
            rows.append((name, probe, out[0] if out else (0, 0), peak, rss_mb(pid)))
    finally:
        node.stop()
    print(f"\nnode RSS at rest {rss0:.1f} MB; targets: p99 < {P99_TARGET_MS:.0f} ms, RSS after")
    print(f"each attack <= {RSS_TARGET}x the RSS at rest\n")
    head = ("phase", "probes", "p50 ms", "p99 ms", "failed", "attack answered", "RSS peak",
            "RSS after", "after/rest", "target?")  # fmt: skip
    lines = []
    for name, probe, (n, ok), peak, after in rows:
        p99 = pct(probe.lat, 0.99)
        ratio = after / rss0
        met = p99 < P99_TARGET_MS and ratio <= RSS_TARGET and not probe.failed
        wrong += probe.failed + (n - ok)
        lines.append((name, str(len(probe.lat)), f"{pct(probe.lat, 0.5):.1f}", f"{p99:.1f}",
                      str(probe.failed), f"{ok}/{n}", f"{peak:.1f} MB", f"{after:.1f} MB",
                      f"{ratio:.2f}x", "PASS" if met else "FAIL"))  # fmt: skip
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join("{:<" + str(w) + "}" for w in widths)
    print(fmt.format(*head))
    print(fmt.format(*("-" * w for w in widths)))
    for ln in lines:
        print(fmt.format(*ln))
    if wrong:
        print(f"\nWRONG: {wrong} probes or attack requests got no right answer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
