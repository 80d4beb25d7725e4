"""WASM and process benchmarks (issue 7): fac calls, AOS bare loop vs process@1.0, Node, cold start.

Run: ``python benches/bench_wasm.py`` (needs ../shared fixtures; AOS needs the exnref translator
or a cached translated module, and the Node comparison needs ``node``). All ratios come from one
run on one machine; every measured result is checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import check, genesis_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HYPERBEAM_SHARED", ROOT.parent / "shared"))
FX = SHARED / "fixtures" / "hyperbeam"

MSG = (
    b'{"From":"FOOBAR","Block-Height":"1","Target":"AOS","Owner":"FOOBAR","Id":"1",'
    b'"Module":"W","Tags":[{"name":"Action","value":"Eval"}],"Data":"return 1 + 1"}'
)
ENV = (
    b'{"Process":{"Id":"AOS","Owner":"FOOBAR","Tags":[{"name":"Name","value":"Thomas"},'
    b'{"name":"Authority","value":"FOOBAR"}]}}'
)


def bench_fac(n: int = 20000) -> dict:
    from hyperbeam_fast.wasm import Instance, load_module

    inst = Instance(load_module((FX / "test-64.wasm").read_bytes()))
    slow = Instance(load_module((FX / "test-64.wasm").read_bytes()), raw_calls=False)
    check(slow.call("fac", 5.0) == [120.0], "fac(5.0) == 120.0 (default path)")
    t = time.perf_counter()
    for _ in range(n):
        slow.call("fac", 5.0)
    dt_slow = (time.perf_counter() - t) / n
    fn, _, _ = inst.func("fac")
    store = inst.store
    check(inst.call("fac", 5.0) == [120.0], "fac(5.0) == 120.0")
    t = time.perf_counter()
    for _ in range(n):
        inst.call("fac", 5.0)
    dt_api = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        r = fn(store, 5.0)
    dt_raw = (time.perf_counter() - t) / n
    check(r == 120.0, "raw fac")
    return {
        "fac_calls_per_s_instance_call": 1 / dt_api,
        "fac_calls_per_s_default_path": 1 / dt_slow,
        "fac_calls_per_s_wasmtime_func": 1 / dt_raw,
    }


OLD_FUEL = 50_000_000_000  # the fuel limit every call had before the unmetered default


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2]


class AosBare:
    """``handle(msg, env)`` in a loop on one instance: the WASM work alone (``boot``: a first
    message, e.g. the process message the legacy CU sends before any other); ``fuel``: on the
    metered engine with that limit, else on the deadline-only one (the default)."""

    def __init__(self, image: bytes, msg: bytes, env: bytes, boot: bytes | None = None, fuel=None):
        from hyperbeam_fast.wasm import Instance, load_module

        self.inst = Instance(load_module(image, metered=fuel is not None), fuel=fuel)
        self.msg, self.env = msg, env
        self.inst.call("handle", self.inst.write_string(boot or msg), self.inst.write_string(env))

    def rep(self, n: int) -> float:
        import orjson

        inst = self.inst
        t = time.perf_counter()
        for _ in range(n):
            (p,) = inst.call("handle", inst.write_string(self.msg), inst.write_string(self.env))
            out = orjson.loads(inst.read_string(p))
        dt = (time.perf_counter() - t) / n
        check(out["response"]["Output"]["data"] == "2", "AOS bare 1+1 == 2")
        return dt


class AosProcess:
    """An AOS process through process@1.0 (stack fast path, json-iface, WASM, state written to
    RocksDB, snapshots at the default interval; ``genesis``: a genesis-wasm@1.0 process
    instead, the legacy CU's JSON); ``fuel``: ``wasm_fuel`` (None: the default, unmetered).
    Each :meth:`rep` schedules ``n`` signed ``Eval`` messages, then computes them with one
    ``now``. :meth:`json` gives the exact message/env JSON the process sent to ``handle``
    (genesis: the message is a pair, the last Eval's JSON and the process message's, which
    boots AOS)."""

    def __init__(self, image: bytes, genesis: bool = False, fuel=None) -> None:
        import tempfile

        import hyperbeam_fast as hb
        from hyperbeam_fast import ao, cache
        from hyperbeam_fast.devices.process import aos_process, register_process_devices
        from hyperbeam_fast.store import RocksDBStore

        register_process_devices()
        self.genesis = genesis
        self.w = w = hb.Wallet.from_file(str(FX / "key-1.json"))
        self.tmp = tempfile.mkdtemp(prefix="bench-aos-")
        self.store = store = RocksDBStore(self.tmp)  # the node's default store
        # the node's defaults: states written behind the slot (process_async_cache)
        self.opts = {"priv_store": store, "priv_wallet": w, "process_async_cache": True}
        if fuel is not None:
            self.opts["wasm_fuel"] = fuel
        if genesis:
            self.proc = genesis_process(image, w, store)
            ao.resolve(
                self.proc, {"path": "schedule", "method": "POST", "body": self.proc}, self.opts
            )
        else:
            self.proc = aos_process(cache.write({"body": image}, store), w)
        self.pid = hb.id(self.proc, "all")
        self.m = hb.commit({"target": self.pid, "action": "Eval", "data": "return 1 + 1"}, w)
        self._schedule()
        ao.resolve(self.proc, "now", self.opts)  # init + first message (lazy Lua init)
        self.top = self._top()

    def _schedule(self) -> None:
        from hyperbeam_fast import ao

        ao.resolve(self.proc, {"path": "schedule", "method": "POST", "body": self.m}, self.opts)

    def _top(self) -> int:
        from hyperbeam_fast.devices import scheduler as sched

        return sched.server(self.pid, self.opts).current

    def rep(self, n: int) -> tuple[float, float]:
        from hyperbeam_fast import ao

        t = time.perf_counter()
        for _ in range(n):
            self._schedule()
        t_sched = (time.perf_counter() - t) / n
        from hyperbeam_fast.devices.process_writes import WRITER

        t = time.perf_counter()
        s, st = ao.resolve(self.proc, "now", self.opts)
        WRITER.flush()  # timed with every state written (in the writer thread, beside WASM)
        t_comp = (time.perf_counter() - t) / n
        self.top += n
        check(
            s == "ok" and st["at-slot"] == self.top and st["results"]["data"] in ("2", b"2"),
            "process AOS result",
        )
        return t_sched, t_comp

    def json(self) -> tuple:
        from hyperbeam_fast import cache
        from hyperbeam_fast.devices import genesis_wasm, json_iface
        from hyperbeam_fast.devices import scheduler as sched

        srv = sched.server(self.pid, self.opts)
        last = srv.read(self.top)
        if self.genesis:
            mid = genesis_wasm.scheduler_formats.id_text(self.proc["module"])
            mj = json.dumps(genesis_wasm.cu_message(last)).encode()
            ej = genesis_wasm.env_json(self.proc, mid, cache.read(mid, self.store))
            return mj, ej, json.dumps(genesis_wasm.cu_message(srv.read(0))).encode()
        return json_iface.message_json(self.proc, last), json_iface.env_json(self.proc), None

    def close(self) -> None:
        from hyperbeam_fast.devices.process import forget_live

        forget_live()
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def bench_aos(image: bytes, n: int, reps: int) -> dict:
    """Per engine (``epoch``: the default, no fuel; ``fuel``: ``wasm_fuel`` 5e10, the old
    default) the stack@1.0 and genesis-wasm@1.0 processes and their bare ``handle()`` loops on
    the same JSON, interleaved rep by rep (one rep of each, then the next), so that load
    changes hit them alike. Medians of the reps, plus the median of the per-rep ratios."""
    kinds = {}
    for mode, fuel in (("epoch", None), ("fuel", OLD_FUEL)):
        for genesis in (False, True):
            p = AosProcess(image, genesis=genesis, fuel=fuel)
            mj, ej, boot = p.json()
            kinds[(mode, genesis)] = (p, AosBare(image, mj, ej, boot, fuel), len(mj) + len(ej))
    got: dict = {k: {"sched": [], "comp": [], "bare": []} for k in kinds}
    try:
        for _ in range(reps):
            for k, (p, bare, _) in kinds.items():
                ts, tc = p.rep(n)
                got[k]["sched"].append(ts)
                got[k]["comp"].append(tc)
                got[k]["bare"].append(bare.rep(n))
    finally:
        for p, _, _ in kinds.values():
            p.close()
    out = {}
    for k, g in got.items():
        ratios = [c / b for c, b in zip(g["comp"], g["bare"], strict=True)]
        out[k] = {
            "sched": _median(g["sched"]),
            "comp": _median(g["comp"]),
            "bare": _median(g["bare"]),
            "ratio": _median(ratios),
            "bytes": kinds[k][2],
        }
    for genesis in (False, True):
        e, f = out[("epoch", genesis)], out[("fuel", genesis)]
        e["vs_fuel"] = _median(
            [
                fc / ec
                for fc, ec in zip(
                    got[("fuel", genesis)]["comp"], got[("epoch", genesis)]["comp"], strict=True
                )
            ]
        )
        e["bare_vs_fuel"] = f["bare"] / e["bare"]
    return out


def bench_aos_min(image: bytes, n: int = 300) -> float:
    """The bare loop on a minimal JSON (unmetered)."""
    return AosBare(image, MSG, ENV).rep(n)


def bench_cold_start(image: bytes) -> float:
    from hyperbeam_fast.wasm import Instance, clear_memory_cache, load_module

    clear_memory_cache()
    t = time.perf_counter()
    inst = Instance(load_module(image))  # disk cache: deserialize + instantiate
    dt = time.perf_counter() - t
    check(inst.memory_size() == 192 * 65536, "AOS starts at 192 pages")
    return dt


def bench_node(n: int = 300, msg: bytes | None = None, env: bytes | None = None) -> float | None:
    if shutil.which("node") is None:
        return None
    import tempfile

    args = []
    with tempfile.TemporaryDirectory() as d:
        if msg is not None and env is not None:
            for name, data in (("msg.json", msg), ("env.json", env)):
                (Path(d) / name).write_bytes(data)
                args.append(str(Path(d) / name))
        r = subprocess.run(
            [
                "node",
                "--experimental-wasm-memory64",
                str(ROOT / "tools" / "binaryen" / "aos_bench.mjs"),
                str(FX / "aos-2-pure-xs.wasm"),
                str(n),
                *args,
            ],
            capture_output=True,
            timeout=120,
        )
    if r.returncode != 0:
        return None
    out = json.loads(r.stdout)
    check(out["data"] == "2", "node AOS 1+1 == 2")
    return out["ms_per_msg"] / 1e3


def main() -> int:
    if not (FX / "test-64.wasm").exists():
        print("fixtures not found (set HYPERBEAM_SHARED); nothing to do")
        return 0
    fac = bench_fac()
    print(
        f"fac(5.0) Instance.call (raw path) {fac['fac_calls_per_s_instance_call']:>9,.0f} /s"
        "   (target 100k/s)"
    )
    print(f"fac(5.0) Instance.call, default  {fac['fac_calls_per_s_default_path']:>10,.0f} /s")
    print(f"fac(5.0) wasmtime Func directly  {fac['fac_calls_per_s_wasmtime_func']:>10,.0f} /s")
    image = (FX / "aos-2-pure-xs.wasm").read_bytes()
    from hyperbeam_fast.wasm import WasmTranslatorMissing, load_module

    try:
        t = time.perf_counter()
        load_module(image)
        print(f"AOS load (translate/compile or cache) {time.perf_counter() - t:8.3f} s")
    except WasmTranslatorMissing as e:
        print(f"AOS skipped: {e}")
        return 0
    cold = bench_cold_start(image)
    n, reps = 200, 5
    aos = bench_aos(image, n, reps)
    bare_min = bench_aos_min(image)
    stack = aos[("epoch", False)]
    node_min = bench_node()
    print(f"AOS cold start (cached module)   {cold * 1e3:8.2f} ms   (target < 50 ms)")
    print(
        f"AOS Eval bare loop, minimal JSON  {bare_min * 1e3:7.3f} ms/msg"
        f"   ({len(MSG) + len(ENV)} B, no fuel)"
    )
    print(
        f"AOS Eval, {n} messages x {reps} reps, process loop and bare handle() loop interleaved"
        " rep by rep; medians; epoch = the default (no fuel metering, the wasm_timeout"
        " deadline), fuel = wasm_fuel 5e10 (the old default):"
    )
    for genesis, label in ((False, "stack@1.0   "), (True, "genesis-wasm")):
        for mode in ("epoch", "fuel"):
            r = aos[(mode, genesis)]
            print(
                f"  {label} {mode:5}  process {r['comp'] * 1e3:6.3f} ms/msg"
                f" ({1 / r['comp']:5,.0f} msg/s)  bare handle() {r['bare'] * 1e3:6.3f} ms"
                f" ({r['bytes']} B JSON)  process/bare {r['ratio']:.2f}x"
                f"  outside handle() {(r['comp'] - r['bare']) * 1e3:6.3f} ms"
            )
        e = aos[("epoch", genesis)]
        print(
            f"  {label} time with fuel / without: process {e['vs_fuel']:.2f}x (median of"
            f" the reps' ratios), bare handle() {e['bare_vs_fuel']:.2f}x"
            "   (target: genesis epoch >= 650 msg/s quiet)"
        )
    print(f"scheduling (RSA-signed assignment) {stack['sched'] * 1e3:6.3f} ms/msg")
    print(
        f"AOS Eval end to end (sched+compute) {(stack['sched'] + stack['comp']) * 1e3:6.3f} ms/msg"
    )
    if node_min is not None:
        print(
            f"AOS Eval Node.js (legacy EH)     {node_min * 1e3:8.3f} ms/msg (minimal JSON);"
            f" bare wasmtime (no fuel) / node = {bare_min / node_min:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
