"""Hashpath chain steps per second (spec core §1.3, §5.1).

Measured, each against Python doing the *same* step with ``hashlib`` in the same run:

(a) ``hyperbeam_fast.sha256_chain(a, b)`` called once per step (raw 32-byte IDs);
(b) ``hashpath.chain_many(a_packed, b_packed)``: n steps in one call (packed 32-byte IDs);
(c) ``hashpath.combine_many(bases, parts)``: n human-form combine steps
    ``"<id1>/<id2>" + "<id3>"`` -> ``"<b64url(sha256(id1 ‖ id2))>/<id3>"`` (base64url decode,
    hash, encode, join).

Anchors (from the issue, Python ``hashlib`` on this machine): 2.0M steps/s for the raw step,
0.44M steps/s with base64url IDs. The pure-Python reference (``reference.sha256_chain`` /
``reference.combine_hashpath``) is timed too. All outputs are checked against ``hashlib``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random

import hyperbeam_fast
from _common import Result, check, main, rate
from hyperbeam_fast import _native, reference
from hyperbeam_fast.hashpath import chain_many, combine_many, fold

N = 100_000  # steps per timed call
N_REF = 20_000  # the reference is slower: fewer steps per timed call

ANCHOR_HASHLIB_RAW = 2.0e6
ANCHOR_HASHLIB_B64 = 0.44e6
TARGET_PER_CALL = 4.0e6
TARGET_BATCH = 8.0e6
TARGET_COMBINE = 2.5e6


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def py_combine(base: str, part: str) -> str:
    """The combine step in plain Python + hashlib (two-part base, 43-char IDs)."""
    p1, p2 = base.split("/")
    return _b64(hashlib.sha256(_unb64(p1) + _unb64(p2)).digest()) + "/" + part


def run() -> list[Result]:
    rng = random.Random(1)
    a = [rng.randbytes(32) for _ in range(N)]
    b = [rng.randbytes(32) for _ in range(N)]
    sha256 = hashlib.sha256
    chain = hyperbeam_fast.sha256_chain
    ref_chain = reference.sha256_chain

    # --- correctness -----------------------------------------------------------------------
    expected = [sha256(x + y).digest() for x, y in zip(a, b, strict=True)]
    check([chain(x, y) for x, y in zip(a, b, strict=True)] == expected, "sha256_chain != hashlib")
    packed_a, packed_b = b"".join(a), b"".join(b)
    check(chain_many(packed_a, packed_b) == b"".join(expected), "chain_many != hashlib")
    check(
        [ref_chain(x, y) for x, y in zip(a[:1000], b[:1000], strict=True)] == expected[:1000],
        "reference.sha256_chain != hashlib",
    )
    bases = [_b64(x) + "/" + _b64(y) for x, y in zip(a, b, strict=True)]
    parts = [_b64(os.urandom(32)) for _ in range(N)]
    bases_b = [s.encode() for s in bases]
    parts_b = [s.encode() for s in parts]
    py_out = [py_combine(x, y) for x, y in zip(bases, parts, strict=True)]
    check(
        py_out[:100]
        == [_b64(e) + "/" + p for e, p in zip(expected[:100], parts[:100], strict=True)],
        "py_combine self-check",
    )
    check(combine_many(bases, parts) == py_out, "combine_many != hashlib")
    check(
        [reference.combine_hashpath(x, y) for x, y in zip(bases[:1000], parts[:1000], strict=True)]
        == py_out[:1000],
        "reference.combine_hashpath != hashlib",
    )
    # fold: start from one ID, append parts in turn (each append compresses the previous pair).
    fparts = parts[:2000]
    hp = _b64(a[0])
    for p in fparts:
        hp = reference.combine_hashpath(hp, p)
    check(fold(_b64(a[0]), fparts) == hp, "fold != reference.combine_hashpath loop")

    # --- (a) per-call chain ----------------------------------------------------------------
    r_hashlib = rate(lambda: [sha256(x + y).digest() for x, y in zip(a, b, strict=True)], N)
    r_ref = rate(
        lambda: [ref_chain(x, y) for x, y in zip(a[:N_REF], b[:N_REF], strict=True)], N_REF
    )
    r_call = rate(lambda: [chain(x, y) for x, y in zip(a, b, strict=True)], N)
    # --- (b) packed batch --------------------------------------------------------------------
    r_batch = rate(lambda: chain_many(packed_a, packed_b), N)
    # --- (c) human-form combine -----------------------------------------------------------------
    r_py_combine = rate(lambda: [py_combine(x, y) for x, y in zip(bases, parts, strict=True)], N)
    r_ref_combine = rate(
        lambda: [
            reference.combine_hashpath(x, y)
            for x, y in zip(bases[:N_REF], parts[:N_REF], strict=True)
        ],
        N_REF,
    )
    r_combine = rate(lambda: combine_many(bases, parts), N)
    # Informational, to locate the cost of (c): the native batch without the Python wrapper
    # (bytes in), one native call per step, and fold (one base, many parts).
    r_combine_native = rate(
        lambda: _native.hashpath_combine_many(bases_b, parts_b, "sha-256-chain"), N
    )
    r_combine_call = rate(
        lambda: [
            _native.hashpath_combine(x, y, "sha-256-chain")
            for x, y in zip(bases_b, parts_b, strict=True)
        ],
        N,
    )
    r_fold = rate(lambda: fold(bases[0].split("/")[0], parts), N)

    B = "hashpath"
    return [
        Result(
            B,
            "python hashlib chain step (anchor 2.0M/s)",
            r_hashlib,
            vs=(("issue anchor 2.0M/s", r_hashlib / ANCHOR_HASHLIB_RAW),),
        ),
        Result(B, "reference.sha256_chain", r_ref),
        Result(
            B,
            "(a) sha256_chain per call",
            r_call,
            target=TARGET_PER_CALL,
            vs=(
                ("hashlib same run", r_call / r_hashlib),
                ("reference", r_call / r_ref),
                ("anchor 2.0M/s", r_call / ANCHOR_HASHLIB_RAW),
            ),
        ),
        Result(
            B,
            "(b) chain_many packed batch",
            r_batch,
            target=TARGET_BATCH,
            vs=(
                ("hashlib same run", r_batch / r_hashlib),
                ("reference", r_batch / r_ref),
                ("anchor 2.0M/s", r_batch / ANCHOR_HASHLIB_RAW),
            ),
        ),
        Result(
            B,
            "python hashlib+b64url combine (anchor 0.44M/s)",
            r_py_combine,
            vs=(("issue anchor 0.44M/s", r_py_combine / ANCHOR_HASHLIB_B64),),
        ),
        Result(B, "reference.combine_hashpath", r_ref_combine),
        Result(
            B,
            "(c) combine_many human IDs (str)",
            r_combine,
            target=TARGET_COMBINE,
            vs=(
                ("hashlib+b64 same run", r_combine / r_py_combine),
                ("reference", r_combine / r_ref_combine),
                ("anchor 0.44M/s", r_combine / ANCHOR_HASHLIB_B64),
            ),
        ),
        Result(
            B,
            "  _native.hashpath_combine_many (bytes, no wrapper)",
            r_combine_native,
            vs=(("hashlib+b64 same run", r_combine_native / r_py_combine),),
        ),
        Result(
            B,
            "  _native.hashpath_combine per call (bytes)",
            r_combine_call,
            vs=(("hashlib+b64 same run", r_combine_call / r_py_combine),),
        ),
        Result(
            B,
            "  fold (one base, 100k parts)",
            r_fold,
            vs=(("hashlib+b64 same run", r_fold / r_py_combine),),
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_hashpath"))
