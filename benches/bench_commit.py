"""RSA-4096 and httpsig@1.0 commitments: sign/verify rates vs `openssl speed` and vs the
`cryptography` package's OpenSSL (its wheel's own build; same key, same PSS parameters, same
run, interleaved), verify_many thread scaling, and the non-RSA overhead of a commit-then-verify
round trip.

Anchors (issue 3, this machine): OpenSSL RSA-4096 211 sign/s, 13.7k verify/s; HyperBEAM's Erlang
httpsig commit 58/s, verify 925/s (3 keys; 627/s at 20 keys).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import hyperbeam_fast as hb
from _common import Result, check, main, rate
from hyperbeam_fast.wallet import verify_signature

KEY = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "hyperbeam" / "key-1.json"


def _wallet() -> hb.Wallet:
    return hb.Wallet.from_file(KEY) if KEY.exists() else hb.Wallet.generate()


def _openssl_speed() -> tuple[float, float] | None:
    """`openssl speed rsa4096`: (sign/s, verify/s) per core, measured now."""
    try:
        out = subprocess.run(
            ["openssl", "speed", "-seconds", "2", "rsa4096"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"rsa 4096 bits\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out)
    return (float(m.group(1)), float(m.group(2))) if m else None


def _cryptography_key():
    """The same key as a `cryptography` RSA key (None without the package: bench extra)."""
    try:
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        return None
    if not KEY.exists():
        return None
    jwk = json.loads(KEY.read_text())

    def num(f: str) -> int:
        return int.from_bytes(hb.b64url_decode(jwk[f]), "big")

    n, e, d = num("n"), num("e"), num("d")
    p, q = rsa.rsa_recover_prime_factors(n, e, d)
    pub = rsa.RSAPublicNumbers(e, n)
    priv = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), pub
    )
    return priv.private_key()


def _rsa_vs_cryptography(w: hb.Wallet, data: bytes) -> list[Result]:
    """RSA-4096 PSS (SHA-512, salt 64: httpsig@1.0's) sign and verify, ours vs `cryptography`,
    rep by rep; each side's signatures verify on the other side."""
    key = _cryptography_key()
    if key is None:
        print("bench_commit: cryptography (bench extra) or the fixture key missing: skipped")
        return []
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    pub = key.public_key()
    ours = w.sign(data)
    theirs = key.sign(data, pss, hashes.SHA512())
    pub.verify(ours, data, pss, hashes.SHA512())  # raises if ours does not verify there
    check(verify_signature(w.modulus, data, theirs), "cryptography's signature does not verify")
    check(ours != w.sign(data), "PSS signatures are randomised")

    def c_verify() -> None:
        pub.verify(theirs, data, pss, hashes.SHA512())

    s_ours, s_theirs, v_ours, v_theirs = [], [], [], []
    for _ in range(5):  # interleaved, so that load changes hit both alike
        s_ours.append(rate(lambda: [w.sign(data) for _ in range(10)], 10, repeats=1))
        s_theirs.append(
            rate(lambda: [key.sign(data, pss, hashes.SHA512()) for _ in range(10)], 10, repeats=1)
        )
        v_ours.append(
            rate(lambda: [verify_signature(w.modulus, data, ours) for _ in range(500)], 500, 1)
        )
        v_theirs.append(rate(lambda: [c_verify() for _ in range(500)], 500, repeats=1))
    med = [sorted(x)[2] for x in (s_ours, s_theirs, v_ours, v_theirs)]
    return [
        Result("commit", "RSA-4096 sign / cryptography's sign", med[0] / med[1], "x", 0.9),
        Result("commit", "RSA-4096 verify / cryptography's verify", med[2] / med[3], "x", 0.9),
        Result("commit", "cryptography RSA-4096 PSS sign (anchor)", med[1]),
        Result("commit", "cryptography RSA-4096 PSS verify (anchor)", med[3]),
    ]


def _threads_rate(fn, n_threads: int, per_thread: int) -> float:
    def work():
        fn(per_thread)

    ts = [threading.Thread(target=work) for _ in range(n_threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return n_threads * per_thread / (time.perf_counter() - t0)


def run() -> list[Result]:
    w = _wallet()
    data = b"x" * 256
    sig = w.sign(data)
    check(verify_signature(w.modulus, data, sig), "RSA-PSS signature does not verify")
    check(not verify_signature(w.modulus, data + b"!", sig), "tampered data verifies")
    speed = _openssl_speed()
    sign_rate = rate(lambda: [w.sign(data) for _ in range(20)], 20, repeats=3)
    verify_rate = rate(lambda: [verify_signature(w.modulus, data, sig) for _ in range(2000)], 2000)
    res = []
    vs_sign = (("openssl speed same run", sign_rate / speed[0]),) if speed else ()
    vs_verify = (("openssl speed same run", verify_rate / speed[1]),) if speed else ()
    res.append(Result("commit", "RSA-4096 PSS sign", sign_rate, target=200, vs=vs_sign))
    res.append(Result("commit", "RSA-4096 PSS verify", verify_rate, target=12_000, vs=vs_verify))
    if speed:
        res.append(
            Result("commit", "verify / openssl speed verify", verify_rate / speed[1], "x", 0.9)
        )
    res.extend(_rsa_vs_cryptography(w, data))

    msg3 = {"a": "1", "b": 2, "c": "three"}
    msg20 = {f"k{i}": f"value-{i}" for i in range(20)}
    for label, msg, erl_commit, erl_verify in (
        ("3 keys", msg3, 58, 925),
        ("20 keys", msg20, 0, 627),
    ):
        signed = hb.commit(msg, w)
        check(hb.verify(signed), f"{label}: committed message does not verify")
        check(not hb.verify(dict(signed, a=b"tampered", k0=b"tampered")), "tampered verifies")
        c = rate(lambda m=msg: [hb.commit(m, w) for _ in range(10)], 10, repeats=3)
        v = rate(lambda s=signed: [hb.verify(s) for _ in range(500)], 500, repeats=5)
        vs_c = (("Erlang commit", c / erl_commit),) if erl_commit else ()
        res.append(Result("commit", f"httpsig commit ({label})", c, vs=vs_c))
        res.append(
            Result("commit", f"httpsig verify ({label})", v, vs=(("Erlang", v / erl_verify),))
        )
        # The RSA operations' share of a commit+verify round trip; >= 0.91 means everything
        # else (encoding, bases, HMAC, conversions) costs under 10% of the RSA cost.
        rsa_cost = 1 / sign_rate + 1 / verify_rate
        share = rsa_cost / (1 / c + 1 / v)
        res.append(Result("commit", f"RSA share of commit+verify ({label})", share, "x", 0.91))

    batch = [hb.commit({"i": i, "body": "x" * 100}, w) for i in range(8)]
    expected = [hb.verify(m) for m in batch]
    check(hb.verify_many(batch) == expected == [True] * 8, "verify_many disagrees with verify")
    many = batch * 25
    r1s, r2s = [], []
    for _ in range(3):  # alternate, so that warm-up and frequency drift hit both alike
        r1s.append(rate(lambda: hb.verify_many(many, threads=1), len(many), repeats=1))
        r2s.append(rate(lambda: hb.verify_many(many, threads=2), len(many), repeats=1))
    r1, r2 = sorted(r1s)[1], sorted(r2s)[1]
    res.append(Result("commit", "verify_many, 1 thread", r1))
    res.append(Result("commit", "verify_many 2 threads / 1 thread", r2 / r1, "x", 1.8))
    py2 = _threads_rate(
        lambda n: [verify_signature(w.modulus, data, sig) for _ in range(n)], 2, 2000
    )
    res.append(Result("commit", "RSA verify, 2 Python threads / 1", py2 / verify_rate, "x", 1.8))
    return res


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_commit"))
