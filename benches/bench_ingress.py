"""Ingress of a signed ANS-104 request: the one native pass vs the general path (issue 12/15).

``request_to_singleton`` (node/http.py) on pre-signed aoconnect-shaped data items (the tags of
``_common.AOC``, an ``Eval`` or a numbered message, a 32-byte target), every memo empty
before each round as for fresh requests, in alternating rounds in one process:

* native: ``commitments.verified_ans104`` (``_native.ans104_decode_verified``: parse, RSA
  verify with the GIL released, the message and its committed keys; the verify and committed
  memos filled), then the same ``_check_signed`` (which hits the memos);
* general (the anchor, the path before): ``decode``, then ``verify`` (re-encoding the message,
  deep hash, RSA) and ``with_only_committed`` (re-encoding it again).

Items with aoconnect's capitalised tag names (``Data-Protocol``, ...: original tags) are timed
as a second set. Reported: microseconds of thread CPU per request (and wall), and the part that
is not the RSA verify (``ans104_verify`` of the same bytes, timed here): an estimate of the
GIL-held share, since the native pass releases the GIL for the RSA check.

Checked: both paths give the same singleton for every item; an item with a flipped signature
byte is refused (400) by both and leaves no memo entry.
"""

from __future__ import annotations

import time

import hyperbeam_fast as hb
from _common import AOC, Result, check, main
from hyperbeam_fast import _native
from hyperbeam_fast import commitments as cm
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.node import http
from hyperbeam_fast.wallet import Wallet

N = 300
ROUNDS = 7
HDRS = [(b"content-type", b"application/ans104"), (b"codec-device", b"ans104@1.0")]
NATIVE = http.verified_ans104


def _forget() -> None:
    cm._CHECKED.clear()
    cm._COMMITTED.clear()
    ans104._CHECKED.clear()


def _items(w: Wallet) -> tuple[list[bytes], list[bytes]]:
    target = _native.b64url_encode(bytes(range(32)))
    lower = []
    for i in range(N):
        extra = {"action": "Eval", "data": "return 1 + 1"} if i % 2 else {"n": str(i)}
        lower.append(ans104.encode(hb.commit({**AOC, **extra, "target": target}, w, "ans104@1.0")))
    caps = []
    for i in range(N):
        tags = [(k.title().encode(), v.encode()) for k, v in AOC.items()]
        tags += [(b"Action", b"Eval"), (b"N", str(i).encode())]
        tx = {"tags": tags, "data": b"return 1 + 1", "target": bytes(range(32))}
        caps.append(_native.ans104_serialize(_native.ans104_sign(tx, w._key)))
    return lower, caps


def _ingress(items: list[bytes], native: bool) -> list[tuple[dict, bool]]:
    http.verified_ans104 = NATIVE if native else (lambda _raw: None)
    try:
        out = []
        for b in items:
            msg, signed = http.request_to_singleton("POST", "/p~process@1.0/push", HDRS, b)
            out.append(({k: v for k, v in msg.items() if k != "priv"}, signed))
        return out
    finally:
        http.verified_ans104 = NATIVE


def _timed(items: list[bytes]) -> dict[str, tuple[float, float]]:
    """Median (thread CPU, wall) microseconds per request of each path, alternating rounds."""
    runs: dict[str, list[tuple[float, float]]] = {"native": [], "general": []}
    for r in range(ROUNDS):
        order = ("native", "general") if r % 2 == 0 else ("general", "native")
        for name in order:
            _forget()
            c0, w0 = time.thread_time(), time.perf_counter()
            _ingress(items, name == "native")
            c, w = time.thread_time() - c0, time.perf_counter() - w0
            runs[name].append((c / len(items) * 1e6, w / len(items) * 1e6))
    _forget()
    out = {}
    for name, ts in runs.items():
        cpus, walls = sorted(t[0] for t in ts), sorted(t[1] for t in ts)
        out[name] = (cpus[len(cpus) // 2], walls[len(walls) // 2])
    return out


def run() -> list[Result]:
    w = Wallet.generate(4096)
    lower, caps = _items(w)
    for items in (lower, caps):
        _forget()
        a = _ingress(items, True)
        _forget()
        b = _ingress(items, False)
        check(a == b, "the native pass and the general path give the same singletons")
        check(all(s for _, s in a), "every request is signed")
        _forget()
        check(NATIVE(items[0]) is not None, "the native pass takes the item")
    bad = bytearray(lower[0])
    bad[100] ^= 1
    for native in (True, False):
        _forget()
        try:
            _ingress([bytes(bad)], native)
            check(False, "a bad signature is refused")
        except http.BadRequest as e:
            check(e.status == 400, "a bad signature is a 400")
        check(True not in cm._CHECKED.values(), "a bad signature is recorded nowhere as valid")
    t0 = time.thread_time()
    for b in lower:
        check(_native.ans104_verify(b), "the item verifies")
    rsa = (time.thread_time() - t0) / len(lower) * 1e6
    results = []
    for label, items in (("aoconnect tags", lower), ("capitalised tags", caps)):
        t = _timed(items)
        (nc, nw), (gc, gw) = t["native"], t["general"]
        print(
            f"{label}: native {nc:.1f} us CPU ({nw:.1f} wall), general {gc:.1f} us CPU "
            f"({gw:.1f} wall); RSA verify alone {rsa:.1f} us; not RSA: native "
            f"{nc - rsa:.1f} us, general {gc - rsa:.1f} us"
        )
        results.append(
            Result(
                "ingress",
                f"request_to_singleton, {label} (CPU)",
                1e6 / nc,
                vs=(("general path", gc / nc), ("not-RSA part", (gc - rsa) / max(nc - rsa, 1e-9))),
            )
        )
    return results


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_ingress"))
