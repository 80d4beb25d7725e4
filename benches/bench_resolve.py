"""AO-Core resolution throughput (spec runtime §2; issue 4).

Measured in one run, each against a naive pure-Python resolver doing the same work (split the
path, look for a device, case-insensitive key lookup, and for ``hashpath=update`` the public
``hyperbeam_fast.hashpath`` plus a copy of the result with ``priv.hashpath``) and against
HyperBEAM's own resolver timed on this machine (issue 4):

(a) ``resolve`` of a key of a 20-key message, ``hashpath=ignore`` (target 200k/s; HB 10,192/s);
(b) ``resolve`` of a key whose value is a sub-message, ``hashpath=update`` (target 100k/s);
(c) a 5-step path through nested messages, ``hashpath=ignore`` (target 40k/s; HB 2,582/s);
(d) the same 5-step path with ``hashpath=update`` (informational; HB 1,416/s).

Every result is checked (values and hashpaths) against the naive resolver.
"""

from __future__ import annotations

import hyperbeam_fast
from _common import Result, check, main, rate
from hyperbeam_fast import ao

N = 20_000
HB_KEY = 10_192
HB_PATH5 = 2_582
HB_PATH5_HP = 1_416


def naive_resolve(base, path, hashpath_mode="ignore"):
    """A straightforward resolver: no fast paths, public APIs only."""
    msg = base
    for key in [p for p in path.split("/") if p]:
        if not isinstance(msg, dict):
            return "error", "not_found"
        dev = next((v for k, v in msg.items() if k.lower() == "device"), None)
        if dev is not None:
            raise NotImplementedError("the naive resolver only knows message@1.0")
        lk = key.lower()
        if lk.startswith("priv"):
            return "error", "not_found"
        found = [v for k, v in msg.items() if k.lower() == lk]
        if not found:
            return "error", "not_found"
        value = found[0]
        if isinstance(value, dict) and hashpath_mode == "update":
            hp = hyperbeam_fast.hashpath(msg, {"path": key})
            value = {**value, "priv": {**value.get("priv", {}), "hashpath": hp}}
        msg = value
    return "ok", msg


def _flat20():
    return {f"key-{i:02d}": f"value-{i}" for i in range(20)}


def _with_sub():
    m = _flat20()
    m["sub"] = {"x": "1", "y": "2"}
    return m


def _nested5():
    leaf = {"value": "deep"}
    msg = leaf
    for name in ("e", "d", "c", "b"):
        msg = {name: msg, **{f"pad-{i}": f"p{i}" for i in range(5)}}
    return {"a": msg, **{f"pad-{i}": f"p{i}" for i in range(5)}}


def run() -> list[Result]:
    out = []
    ignore = {"hashpath": "ignore"}
    update = {"hashpath": "update"}
    cases = [
        ("key of a 20-key msg, hashpath ignore", _flat20(), "key-13", ignore, 200e3, HB_KEY),
        ("sub-message key, hashpath update", _with_sub(), "sub", update, 100e3, None),
        ("5-step path, hashpath ignore", _nested5(), "a/b/c/d/e", ignore, 40e3, HB_PATH5),
        ("5-step path, hashpath update", _nested5(), "a/b/c/d/e", update, None, HB_PATH5_HP),
    ]
    for label, msg, path, opts, target, hb in cases:
        mode = opts["hashpath"]
        got = ao.resolve(msg, path, opts)
        want = naive_resolve(msg, path, mode)
        check(got == want, f"{label}: {got!r:.200} != {want!r:.200}")

        def fast(msg=msg, path=path, opts=opts):
            r = ao.resolve
            for _ in range(N):
                r(msg, path, opts)

        def naive(msg=msg, path=path, mode=mode):
            for _ in range(N):
                naive_resolve(msg, path, mode)

        ours = rate(fast, N, repeats=5)
        ref = rate(naive, N, repeats=5)
        vs = [("naive Python", ours / ref)]
        if hb:
            vs.append(("HyperBEAM", ours / hb))
        out.append(Result("resolve", label, ours, target=target, vs=tuple(vs)))
    return out


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_resolve"))
