"""stack@1.0 calls (spec runtime §9; issue 13 item 2).

A 5-member stack of inline append devices, as dev_stack's own ``benchmark_test`` builds it
(``/append`` with ``bin: 2`` appends ``+Dn2`` per member), measured in one run against the
anchor: the same five members resolved one after the other through AO-Core without a stack
(``ao.resolve`` of each inline device on the previous result). What the stack adds is its own
work: one message@1.0 ``set`` per member (``dev_stack:transform/3`` and its reads), the
``pass`` set and the restore at the end.

(a) Fold, ``hashpath=ignore``; (b) Fold, ``hashpath=update``; (c) ``mode: Map`` on the base.

Before issue 13 every stack call read ``mode`` back through the stack itself, 64 nested calls
deep (9 calls/s for (a) on the 2-core development machine under load, against 1.5-1.7k/s now:
benches/README.md); the read is now one message@1.0 lookup. Every result is checked.
"""

from __future__ import annotations

from _common import Result, check, main, rate
from hyperbeam_fast import Atom, ao

N = 300
MEMBERS = 5


def _append_device(sep: str) -> dict:
    def append(m1, m2):
        return "ok", {**m1, "result": m1.get("result", "") + sep + m2["bin"]}

    return {"append": append}


def _stack(**extra) -> dict:
    devs = {str(i): _append_device(f"+D{i}") for i in range(1, MEMBERS + 1)}
    return {"device": "stack@1.0", "device-stack": devs, "result": "INIT", **extra}


def _unstacked(base: dict, req: dict, opts: dict) -> dict:
    msg = base
    for dev in base["device-stack"].values():
        msg = ao.resolve({**msg, "device": dev}, req, opts)[1]
    return msg


def run() -> list[Result]:
    req = {"path": "append", "bin": "2"}
    want = "INIT" + "".join(f"+D{i}2" for i in range(1, MEMBERS + 1))
    base = _stack()
    check(_unstacked(base, req, {"hashpath": "ignore"})["result"] == want, "unstacked")
    cases = [
        ("Fold, hashpath ignore", base, {"hashpath": "ignore"}),
        ("Fold, hashpath update", base, {"hashpath": "update"}),
        ("mode: Map on the base", _stack(mode="Map"), {"hashpath": "ignore"}),
    ]

    anchors = {}
    for mode in ("ignore", "update"):
        hp_opts = {"hashpath": mode}

        def unstacked(hp_opts=hp_opts):
            for _ in range(N):
                _unstacked(base, req, hp_opts)

        anchors[mode] = rate(unstacked, N, repeats=5)
    out = []
    for label, msg, opts in cases:
        st, res = ao.resolve(msg, req, opts)
        check(st == "ok", f"{label}: {st} {res!r:.200}")
        if "mode" in msg:
            for i in range(1, MEMBERS + 1):
                check(res[str(i)]["result"] == f"INIT+D{i}2", f"{label}: member {i}")
        else:
            check(res["result"] == want, f"{label}: {res.get('result')!r}")
            check(res["previous-device"] == Atom("dev_message"), f"{label}: previous-device")
            check(res["device"] == "stack@1.0" and "pass" not in res, f"{label}: restore")

        def call(msg=msg, opts=opts):
            r = ao.resolve
            for _ in range(N):
                r(msg, req, opts)

        ours = rate(call, N, repeats=5)
        vs = (
            (f"unstacked resolves (hashpath {opts['hashpath']})", ours / anchors[opts["hashpath"]]),
        )
        out.append(Result("stack", f"{MEMBERS}-member stack call, {label}", ours, vs=vs))
    return out


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_stack"))
