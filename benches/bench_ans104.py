"""ans104@1.0: deep hash, data items, message encode/decode, verify (spec core §8).

Measured in one run:

* the data-item deep hash (signature data) of a 1 KiB item: native vs a pure-Python deep hash
  written here (anchor: pure-Python deep hash 31k items/s on this machine, from the issue);
* deep hash + data-item serialise + parse of a 1 KiB item (``ans104_serialize`` then
  ``ans104_parse``, which recomputes the unsigned ID, i.e. the deep hash): target >= 75k/s;
* message level, a 20-key message: ``codecs.ans104.encode`` vs HyperBEAM's serialise (1,048/s),
  ``decode`` vs its deserialise (5,655/s), and verifying the signed message vs its verify
  (1,299/s);
* deserialise to a message (issue 15 item 5): the bytes of the *signed* 20-key item -> its rich
  message, without the RSA verify: ``decode`` (one native call, ``_native.ans104_decode``) vs
  ``decode_general`` (the tx dict and ``from_tx`` in Python, the path before) in the same run;
  target >= 50k/s (10x HyperBEAM's 5,655/s). Wall-clock rates, and CPU-time rates (thread
  time) beside them, since the machine is shared.
* data-item verify (RSA-4096, one thread) and ``verify_many`` on 1 vs 2 threads (target 1.8x).

Checked: native deep hash == the pure-Python one; parse(serialise(tx)) gives back the tags and
data; decode(encode(msg)) matches; ``decode`` == ``decode_general`` (types and key order
included) on the unsigned and the signed item; every verification is True (and a tampered copy
False).
"""

from __future__ import annotations

import hashlib
import os
import time

from _common import Result, check, main, paired_rates, rate
from hyperbeam_fast import _native
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.match import match
from hyperbeam_fast.wallet import Wallet

PY_DEEP_HASH_ANCHOR = 31_000
ERL_SERIALIZE = 1_048
ERL_DESERIALIZE = 5_655
ERL_VERIFY = 1_299
TARGET_ITEM = 75_000
TARGET_SCALING = 1.8
TARGET_DECODE = 50_000


def same(a, b) -> bool:
    """Equal values of the same types, dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def py_deep_hash(v) -> bytes:
    """Pure-Python ``ar_deep_hash`` (SHA-384), the anchor."""
    if isinstance(v, bytes):
        tag = hashlib.sha384(b"blob" + str(len(v)).encode()).digest()
        return hashlib.sha384(tag + hashlib.sha384(v).digest()).digest()
    acc = hashlib.sha384(b"list" + str(len(v)).encode()).digest()
    for e in v:
        acc = hashlib.sha384(acc + py_deep_hash(e)).digest()
    return acc


def run() -> list[Result]:
    B = "ans104"
    tags = [(f"tag-{i}".encode(), f"value-{i}".encode()) for i in range(8)]
    tx = {"tags": tags, "data": os.urandom(1024)}
    raw = _native.ans104_serialize(tx)
    parsed = _native.ans104_parse(raw)
    check(parsed["tags"] == tags and parsed["data"] == tx["data"], "parse(serialize(tx))")
    pre = [
        b"dataitem",
        b"1",
        b"1",
        bytes(512),
        b"",
        b"",
        _native.ans104_encode_tags(tags),
        tx["data"],
    ]
    sd = _native.ans104_signature_data(raw, True)
    check(py_deep_hash(pre) == sd == _native.deep_hash(pre), "deep hash differs from Python")
    check(hashlib.sha256(sd).digest() == parsed["unsigned_id"], "unsigned id")

    n = 2000
    r_py = rate(lambda: [py_deep_hash(pre) for _ in range(n)], n, repeats=5)
    r_dh = rate(lambda: [_native.deep_hash(pre) for _ in range(n)], n)
    r_sd = rate(lambda: [_native.ans104_signature_data(raw, True) for _ in range(n)], n)
    ser, par = _native.ans104_serialize, _native.ans104_parse
    r_item = rate(lambda: [par(ser(tx)) for _ in range(n)], n)

    msg = {f"key-{i}": f"value-{i}" for i in range(17)}
    msg.update({"count": 42, "flag": True, "nested": {"x": "1"}})
    data = ans104.encode(msg)
    check(match(ans104.decode(data), msg), "decode(encode(msg))")
    m = 300
    r_enc = rate(lambda: [ans104.encode(msg) for _ in range(m)], m)

    wallet = Wallet.generate(4096)
    signed = ans104.commit(msg, wallet)
    ((cid, c),) = signed["commitments"].items()
    check(ans104.verify_commitment(signed, cid, c), "signed message verifies")
    check(not ans104.verify_commitment({**signed, "x": "1"}, cid, c), "tampered message fails")
    r_mver = rate(lambda: [ans104.verify_commitment(signed, cid, c) for _ in range(m)], m)

    # deserialise to a message: the signed item, native one-call path vs the general path
    sdata = ans104.encode(signed)
    check(match(ans104.decode(sdata), signed), "decode(encode(signed msg))")
    for raw_item in (data, sdata):
        check(_native.ans104_decode(raw_item) is not None, "the native decode takes the item")
        check(same(ans104.decode(raw_item), ans104.decode_general(raw_item)), "native != general")
    dec, gen = ans104.decode, ans104.decode_general
    # alternating rounds of the same size: both paths see the same load
    r_sdec, r_sgen = paired_rates(
        lambda: [dec(sdata) for _ in range(m)], lambda: [gen(sdata) for _ in range(m)], m
    )
    c_sdec, c_sgen = paired_rates(
        lambda: [dec(sdata) for _ in range(m)],
        lambda: [gen(sdata) for _ in range(m)],
        m,
        clock=time.thread_time,
    )
    r_dec, r_dec_gen = paired_rates(
        lambda: [dec(data) for _ in range(m)], lambda: [gen(data) for _ in range(m)], m
    )

    items = [_native.ans104_serialize(_native.ans104_sign(tx, wallet._key)) for _ in range(4)]
    batch = items * 100
    check(all(ans104.verify_many(batch, threads=2)), "verify_many")
    bad = items[0][:-1] + bytes([items[0][-1] ^ 1])
    check(ans104.verify_many([bad]) == [False], "tampered item verifies")
    r_ver = rate(lambda: [ans104.verify_item(i) for i in batch], len(batch), repeats=5)
    r_v1 = rate(lambda: ans104.verify_many(batch, threads=1), len(batch), repeats=5)
    r_v2 = rate(lambda: ans104.verify_many(batch, threads=2), len(batch), repeats=5)

    return [
        Result(
            B,
            "deep hash, 1 KiB item (native)",
            r_dh,
            vs=(("pure Python", r_dh / r_py), ("Python 31k/s", r_dh / PY_DEEP_HASH_ANCHOR)),
        ),
        Result(
            B,
            "deep hash, pure Python (here)",
            r_py,
            vs=(("Python 31k/s anchor", r_py / PY_DEEP_HASH_ANCHOR),),
        ),
        Result(B, "signature data of 1 KiB item", r_sd, vs=(("pure Python", r_sd / r_py),)),
        Result(
            B,
            "serialise+parse+deep hash 1 KiB",
            r_item,
            target=TARGET_ITEM,
            vs=(("pure-Python deep hash", r_item / r_py),),
        ),
        Result(B, "encode 20-key msg", r_enc, vs=(("Erlang 1,048/s", r_enc / ERL_SERIALIZE),)),
        Result(
            B,
            "decode 20-key msg",
            r_dec,
            vs=(("general path", r_dec / r_dec_gen), ("Erlang 5,655/s", r_dec / ERL_DESERIALIZE)),
        ),
        Result(
            B,
            "deserialise signed 20-key item -> msg",
            r_sdec,
            target=TARGET_DECODE,
            vs=(("general path", r_sdec / r_sgen), ("Erlang 5,655/s", r_sdec / ERL_DESERIALIZE)),
        ),
        Result(
            B,
            "  same, CPU time (thread)",
            c_sdec,
            target=TARGET_DECODE,
            vs=(("general path", c_sdec / c_sgen), ("Erlang 5,655/s", c_sdec / ERL_DESERIALIZE)),
        ),
        Result(B, "  general path (before), signed item", r_sgen),
        Result(B, "  general path, CPU time (thread)", c_sgen),
        Result(
            B, "verify 20-key signed msg", r_mver, vs=(("Erlang 1,299/s", r_mver / ERL_VERIFY),)
        ),
        Result(
            B,
            "verify data item (1 thread)",
            r_ver,
            vs=(("Erlang msg 1,299/s", r_ver / ERL_VERIFY),),
        ),
        Result(
            B,
            "verify_many 2 vs 1 threads",
            r_v2 / r_v1,
            unit="x",
            target=TARGET_SCALING,
            vs=(("1 thread", r_v2 / r_v1),),
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_ans104"))
