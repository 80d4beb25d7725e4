"""HTTP node throughput and latency on loopback with wrk (issue 6 targets).

Starts `hyperbeam-fast serve` (a subprocess, memory store) twice: RSA-signed responses
(``force_signed: true``, the default) and HMAC-committed ones (``force_signed: false``), then
runs wrk against GET /~meta@1.0/info, a cached key resolution (GET /<ID>/key of a stored
message) and a HyperPATH. Prints req/s and p50/p99 latency per case, plus the machine's RSA-4096
signing rate for the signed-response ratio. Needs `wrk` (apt-get install wrk).

    python benches/bench_node.py [--duration 5] [--connections 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hyperbeam_fast as hb  # noqa: E402
from hyperbeam_fast.node import client  # noqa: E402
from node_util import NodeProc  # noqa: E402


def wrk(url: str, duration: int, conns: int, threads: int) -> tuple[float, str, str]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # the latency distribution lines ("    50%    1.23ms"), not "+/- Stdev" percentages
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        print(f"  !! {non2xx.group(1)} non-2xx responses", file=sys.stderr)
    return rps, p50, p99


def rsa_rate(seconds: float = 2.0) -> float:
    w = hb.Wallet.generate()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        w._key.sign("sha512", b"x" * 64)
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    cores = os.cpu_count() or 1
    rate = rsa_rate()
    print(
        f"machine: {cores} cores; RSA-4096 sign {rate:.0f}/s/core -> x cores = {rate * cores:.0f}/s"
    )
    tmp = Path(tempfile.mkdtemp())
    for label, cfg in (
        ("hmac", "force_signed: false\nlog_requests: false\n"),
        ("rsa", "log_requests: false\n"),
    ):
        node = NodeProc(tmp / label, config=cfg)
        try:
            msg = {"key": "value", "n": 1}
            w = hb.Wallet.generate()
            signed = hb.commit(msg, w)
            client.request("POST", node.url, {**signed, "path": "/key"}, wallet=None)
            uid = hb.id(hb.with_only_committed(signed), "all")
            cases = {
                "GET /~meta@1.0/info": "/~meta@1.0/info",
                "cached key GET /<ID>/key": f"/{uid}/key",
                "HyperPATH typed+chained": "/~message@1.0&a+integer=5&b=x/a",
            }
            for name, path in cases.items():
                st, _ = client.get(node.url, path)
                rps, p50, p99 = wrk(node.url + path, a.duration, a.connections, a.threads)
                extra = ""
                if label == "rsa":
                    extra = f"  ({rps / (rate * cores):.2f}x of RSA rate x cores)"
                print(
                    f"{label:5} {name:28} {rps:9.0f} req/s  p50 {p50:>8}  p99 {p99:>8}"
                    f"{extra}  [{st}]"
                )
        finally:
            node.stop()


if __name__ == "__main__":
    main()
