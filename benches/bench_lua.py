"""lua@5.3a benchmarks (issue 14): hyper-aos computes through process@1.0 (Eval and handler
messages, every state written to the store) against the bare Lua call in the same run, and the
restart of a long-history process.

Run: ``python benches/bench_lua.py`` (needs ../shared fixtures). ``LUA_BENCH_MESSAGES`` (default
1000: one lua@5.3a checkpoint, taken every 1000 slots, falls inside the run) sets the process
run, ``LUA_BENCH_RUNS`` (default 2) how many times it is repeated on a fresh process (the rates
are the mean), ``LUA_BENCH_RESTART_SLOTS`` (default 10000) the restart history.

Rates are CPU time per message (``time.process_time``: every thread of this process, so the
state and checkpoint writes count) and, printed beside them, wall time: the machine is shared,
and wall time there measures the other jobs as much as this code.

Anchors: the bare Lua call (``LuaVM.invoke`` of hyper-aos ``compute`` on the same base and
message, conversions included) measured here; Luerl's ~565 computes/s on this machine and
HyperBEAM's 250-330 Lua messages/s per process are the figures published in issue 14, printed
as such (not measured here).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Result, check, machine, print_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HYPERBEAM_SHARED", ROOT.parent / "shared"))
FX = SHARED / "fixtures" / "hyperbeam"
LUERL_PUBLISHED = 565.0  # bare Luerl, hyper-aos computes/s (issue 14 text)
HYPERBEAM_PUBLISHED = 330.0  # HyperBEAM users' best reported Lua messages/s per process
PING = (
    "Handlers.add('ping', function(m) return m.body.action == 'Ping' end, function(msg)"
    " Pings = (Pings or 0) + 1; State[#State + 1] = msg.body.n; msg.reply({data = 'pong'}) end)"
)


def _setup(store, n_msgs):
    import hyperbeam_fast as hb
    from hyperbeam_fast import ao, cache
    from hyperbeam_fast.devices.process import register_process_devices

    register_process_devices()
    w = hb.Wallet.from_file(str(FX / "key-1.json"))
    code = (FX / "hyper-aos.lua").read_text()
    mod = cache.write({"content-type": "application/lua", "body": code}, store)
    proc = hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "scheduler": w.address,
            "execution-device": "lua@5.3a",
            "module": mod,
            "authority": w.address,
        },
        w,
    )
    pid = hb.id(proc, "all")
    opts = {"priv_store": store, "priv_wallet": w}

    def send(**f):
        m = hb.commit({"target": pid, "type": "Message", **f}, w)
        s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
        check(s == "ok", f"schedule: {a}")

    send(action="Eval", data="State = {}; " + PING)
    for i in range(n_msgs):
        if i % 2:
            send(action="Ping", n=i)
        else:
            send(action="Eval", data=f"Counter = (Counter or 0) + {i}; return Counter")
    return proc, pid, opts


def bench_process(n_msgs: int, cold: bool) -> dict:
    """``n_msgs`` scheduled messages computed by one ``now``; ``cold``: the scheduler's memory
    dropped first (every assignment read back from the store, as after a restart), else the
    assignments are in memory as on a node that scheduled them. The bare anchor: the same
    messages through ``LuaVM.invoke`` of ``compute`` on the live state, in the same run."""
    from hyperbeam_fast import ao
    from hyperbeam_fast.devices import lua as lua_dev
    from hyperbeam_fast.devices import scheduler
    from hyperbeam_fast.devices.process import forget_live
    from hyperbeam_fast.store import MemoryStore

    store = MemoryStore()
    proc, pid, opts = _setup(store, n_msgs)
    s, st = ao.resolve(proc, {"path": "compute", "slot": 1}, opts)  # init + the handler
    check(s == "ok", "first slots compute")
    if cold:
        scheduler.forget_servers()
    t0, c0 = time.perf_counter(), time.process_time()
    s, st = ao.resolve(proc, "now", opts)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    check(s == "ok" and int(st["at-slot"]) == n_msgs, "all slots computed")
    last = (n_msgs - 1) - ((n_msgs - 1) % 2)  # the last Eval (message i is at slot i + 1)
    evens = sum(range(0, last + 1, 2))
    got = ao.resolve(proc, {"path": "compute", "slot": last + 1}, opts)
    out = str(got[1]["results"]["output"]["data"])
    check(str(evens) in out, f"Counter is the sum of the Eval increments ({out!r})")
    # the bare Lua call on the same state and the same messages, in the same run
    vm = lua_dev.state_of(st)
    check(vm is not None, "live Lua state")
    base = {k: v for k, v in st.items() if not k.startswith("priv") and k != "results"}
    srv = scheduler.server(pid, opts)
    msgs = [srv.read(n) for n in range(1, n_msgs + 1)]
    t1, c1 = time.perf_counter(), time.process_time()
    for msg in msgs:
        ok, res = vm.invoke(b"compute", [base, msg, {}])
    bare, bare_c = time.perf_counter() - t1, time.process_time() - c1
    check(ok and isinstance(res[0], dict) and "results" in res[0], "bare call result")
    forget_live()
    return {
        "process_rate": n_msgs / dc,
        "bare_rate": len(msgs) / bare_c,
        "process_wall": n_msgs / dt,
        "bare_wall": len(msgs) / bare,
    }


def _mean(runs: list[dict], key: str) -> float:
    return sum(r[key] for r in runs) / len(runs)


def bench_restart(slots: int) -> dict:
    """A ``slots``-slot hyper-aos process: the node restarts (live states dropped); the time
    until its next message is computed (newest checkpoint + replay since)."""
    import hyperbeam_fast as hb
    from hyperbeam_fast import ao
    from hyperbeam_fast.devices.process import forget_live
    from hyperbeam_fast.store import MemoryStore

    store = MemoryStore()
    t = time.perf_counter()
    proc, pid, opts = _setup(store, slots - 2)
    sched_s = time.perf_counter() - t
    t = time.perf_counter()
    s, st = ao.resolve(proc, "now", opts)
    check(s == "ok", "history computed")
    hist_s = time.perf_counter() - t
    w = opts["priv_wallet"]
    m = hb.commit({"target": pid, "type": "Message", "action": "Eval", "data": "return #State"}, w)
    check(ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)[0] == "ok", "")
    forget_live()  # what a node restart does; the store keeps the schedule and checkpoints
    t = time.perf_counter()
    s, st = ao.resolve(proc, "now", opts)
    restart = time.perf_counter() - t
    check(s == "ok" and str(st["results"]["output"]["data"]) == str((slots - 2) // 2), "answer")
    return {"restart_s": restart, "history_s": hist_s, "schedule_s": sched_s, "slots": slots}


def run() -> list[Result]:
    n = int(os.environ.get("LUA_BENCH_MESSAGES", "1000"))
    runs = [bench_process(n, cold=False) for _ in range(int(os.environ.get("LUA_BENCH_RUNS", "2")))]
    for i, r in enumerate(runs):
        print(
            f"run {i + 1} (load {os.getloadavg()[0]:.2f}): process {r['process_rate']:.0f}/s CPU "
            f"({r['process_wall']:.0f}/s wall), bare {r['bare_rate']:.0f}/s CPU "
            f"({r['bare_wall']:.0f}/s wall), process/bare {r['process_rate'] / r['bare_rate']:.2f}x"
        )
    p = {k: _mean(runs, k) for k in runs[0]}
    c = bench_process(n, cold=True)
    rs = int(os.environ.get("LUA_BENCH_RESTART_SLOTS", "10000"))
    r = bench_restart(rs)
    print(
        f"restart: {r['slots']} slots (scheduled in {r['schedule_s']:.1f} s, computed in "
        f"{r['history_s']:.1f} s); next message answered {r['restart_s']:.2f} s after restart"
    )
    return [
        Result("lua", "bare Lua call (hyper-aos compute, same msgs), CPU", p["bare_rate"], "/s"),
        Result(
            "lua",
            "process@1.0 msgs (Eval+handler, schedule in memory), CPU",
            p["process_rate"],
            "/s",
            target=3000.0,
            vs=(
                ("bare Lua call (same run)", p["process_rate"] / p["bare_rate"]),
                ("Luerl 565/s (published)", p["process_rate"] / LUERL_PUBLISHED),
                ("HyperBEAM 330/s (published)", p["process_rate"] / HYPERBEAM_PUBLISHED),
            ),
        ),
        Result(
            "lua",
            "process rate / bare rate (overhead <= 1.5x)",
            p["process_rate"] / p["bare_rate"],
            "x",
            target=1 / 1.5,
        ),
        Result(
            "lua",
            "process@1.0 msgs, wall time (shared machine)",
            p["process_wall"],
            "/s",
            vs=(("bare Lua call, wall (same run)", p["process_wall"] / p["bare_wall"]),),
        ),
        Result(
            "lua",
            "process@1.0 msgs (schedule read from the store), CPU",
            c["process_rate"],
            "/s",
            vs=(("bare Lua call (same run)", c["process_rate"] / c["bare_rate"]),),
        ),
        Result(
            "lua",
            f"restart: 2 s / time to answer ({r['slots']} slots)",
            2.0 / r["restart_s"],
            "x",
            target=1.0,
        ),
    ]


def main() -> int:
    if not (FX / "hyper-aos.lua").exists():
        print("fixtures not found (set HYPERBEAM_SHARED); nothing to do")
        return 0
    print(machine())
    print_table(run(), "lua@5.3a (targets: >= 3000 msgs/s; overhead <= 1.5x; restart <= 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
