"""The HTTP layer's cost per request (issue 12): what a request costs the node over HTTP beyond
``Node.handle`` itself, on loopback.

Starts `hyperbeam-fast serve` (memory store, HMAC replies, request logs off: the throughput
profile of bench_clients.py) and sends pre-built requests from ``--clients`` kept-alive raw
sockets (the client does nothing but write and read bytes):

* ``POST /body`` with a 2-byte body: a request that hops to the resolver threads (every request
  with a body does), answered by message@1.0;
* ``GET /~meta@1.0/info``: answered on the event loop from the response cache (the anchor: the
  protocol and app work alone).

For each: requests/s, and the node's CPU per request, split into its event-loop thread and
every other thread (/proc/<pid>/task). Then ``Node.handle`` in process on the same request (thread
CPU per request): the HTTP layer's cost per request is the node's CPU over HTTP minus that.
Rounds alternate the cases (``--rounds``) and the median is printed with the load average.

    python benches/bench_http.py [-n 4000] [--clients 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import check, machine  # noqa: E402
from node_util import NodeProc  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
CONFIG = "log_requests: false\nforce_signed: false\nworkers: 8\n"
BODY = b"hi"
CASES = {
    "POST /body (pool)": (
        b"POST /body HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\n"
        b"content-length: 2\r\n\r\n" + BODY,
        BODY,
    ),
    "GET /~meta@1.0/info (inline)": (
        b"GET /~meta@1.0/info HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n",
        None,
    ),
}


def thread_cpu(pid: int) -> tuple[float, float, float]:
    """(event-loop thread, all other threads, system time of all) CPU seconds of ``pid``, from
    /proc."""
    loop = other = system = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        system += int(fields[12]) / TICK
        if int(tid) == pid:
            loop += cpu
        else:
            other += cpu
    return loop, other, system


def _read_response(s: socket.socket, buf: bytearray) -> tuple[int, bytes, bytearray]:
    """One HTTP/1.1 response with a content-length: (status, body, what follows it)."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buf[:end]).lower()
            i = head.find(b"content-length: ")
            check(i >= 0, f"no content-length: {head[:200]!r}")
            n = int(head[i + 16 : head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None])
            if len(buf) >= end + 4 + n:
                status = int(head[9:12])
                return status, bytes(buf[end + 4 : end + 4 + n]), buf[end + 4 + n :]
        chunk = s.recv(65536)
        check(bool(chunk), "connection closed")
        buf += chunk


def load(port: int, req: bytes, want: bytes | None, n: int, clients: int) -> float:
    """``n`` requests over ``clients`` kept-alive sockets; returns the wall seconds."""
    left = [n]
    lock = threading.Lock()
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(clients)]
    for s in socks:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    errors: list[BaseException] = []

    def worker(s: socket.socket) -> None:
        try:
            run(s)
        except BaseException as e:  # noqa: BLE001 - reported by load()
            errors.append(e)
            with lock:
                left[0] = 0

    def run(s: socket.socket) -> None:
        buf = bytearray()
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            s.sendall(req)
            status, body, buf = _read_response(s, buf)
            check(status == 200, f"status {status}: {body[:200]!r}")
            if want is not None:
                check(body == want, f"body {body[:200]!r}")

    ts = [threading.Thread(target=worker, args=(s,)) for s in socks]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    for s in socks:
        s.close()
    if errors:
        raise errors[0]
    return wall


def in_process(n: int) -> float:
    """Thread CPU ms per ``POST /body`` through ``Node.handle`` (the same headers as uvicorn
    gives the app)."""
    from hyperbeam_fast.node.config import DEFAULTS
    from hyperbeam_fast.node.pipeline import Node

    node = Node({**DEFAULTS, "store": "memory", "force_signed": False})
    hdrs = [(b"host", b"127.0.0.1"), (b"content-type", b"text/plain"), (b"content-length", b"2")]
    try:
        for _ in range(200):
            node.handle("POST", "/body", hdrs, BODY)
        t = time.thread_time()
        for _ in range(n):
            st, _, out = node.handle("POST", "/body", hdrs, BODY)
        dt = time.thread_time() - t
        check(st == 200 and out == BODY, "in-process reply")
    finally:
        node.close()
    return dt / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=4000, help="requests per case and round")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(f"# bench_http on {machine()}; load {os.getloadavg()[0]:.2f}")
    tmp = Path(tempfile.mkdtemp())
    node = NodeProc(tmp / "node", config=CONFIG)
    rows: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in CASES}
    try:
        for req, want in CASES.values():  # warm up
            load(node.port, req, want, 300, a.clients)
        for _ in range(a.rounds):
            for name, (req, want) in CASES.items():
                l0, o0, s0 = thread_cpu(node.proc.pid)
                wall = load(node.port, req, want, a.n, a.clients)
                l1, o1, s1 = thread_cpu(node.proc.pid)
                ms = [(x1 - x0) / a.n * 1000 for x0, x1 in ((l0, l1), (o0, o1), (s0, s1))]
                rows[name].append((a.n / wall, *ms))
    finally:
        node.stop()
    inproc = statistics.median(in_process(a.n) for _ in range(a.rounds))
    for name, rs in rows.items():
        rate = statistics.median(r[0] for r in rs)
        loop = statistics.median(r[1] for r in rs)
        other = statistics.median(r[2] for r in rs)
        system = statistics.median(r[3] for r in rs)
        line = (
            f"{name:30} {rate:7.0f} req/s  node CPU {loop + other:.3f} ms/req"
            f" (event loop {loop:.3f}, other threads {other:.3f}; kernel {system:.3f})"
        )
        if "pool" in name:
            line += (
                f"; Node.handle in process {inproc:.3f} ms: HTTP layer"
                f" {loop + other - inproc:.3f} ms/req"
            )
        print(line)
    print(f"{a.clients} connections, {a.rounds} rounds x {a.n}; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
