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
from _common import check  # noqa: E402

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


def bench_aos_bare(
    image: bytes, msg: bytes = MSG, env: bytes = ENV, n: int = 300, boot: bytes | None = None
) -> float:
    """``handle(msg, env)`` in a loop on one instance: the WASM work alone (``boot``: a first
    message, e.g. the process message the legacy CU sends before any other)."""
    import orjson
    from hyperbeam_fast.wasm import Instance, load_module

    inst = Instance(load_module(image))
    inst.call("handle", inst.write_string(boot or msg), inst.write_string(env))
    t = time.perf_counter()
    for _ in range(n):
        (p,) = inst.call("handle", inst.write_string(msg), inst.write_string(env))
        out = orjson.loads(inst.read_string(p))
    dt = (time.perf_counter() - t) / n
    check(out["response"]["Output"]["data"] == "2", "AOS bare 1+1 == 2")
    return dt


def _genesis_process(image: bytes, w, store) -> dict:
    """A genesis-wasm@1.0 AOS process whose ``Module`` is a signed data item in ``store``."""
    import hyperbeam_fast as hb
    from hyperbeam_fast import _native, cache
    from hyperbeam_fast.codecs import ans104

    tags = [(b"Data-Protocol", b"ao"), (b"Type", b"Module"), (b"Memory-Limit", b"1-gb")]
    tags.append((b"Compute-Limit", b"9000000000000"))  # both required, as in the ao CU
    item = {"tags": tags, "data": image, "target": b"", "anchor": b""}
    mod = ans104.decode(_native.ans104_serialize(_native.ans104_sign(item, w._key)))
    cache.write(mod, store)
    return hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "module": hb.id(mod, "all"),
            "scheduler": w.address,
            "authority": w.address,
            "execution-device": "genesis-wasm@1.0",
            "data": "1984",
        },
        w,
    )


def bench_aos_process(image: bytes, n: int = 300, genesis: bool = False) -> tuple:
    """Schedule ``n`` signed ``Eval`` messages, then one ``now``: every slot through
    process@1.0 (stack fast path, json-iface, WASM, state written to RocksDB, snapshots at the
    default interval; ``genesis``: a genesis-wasm@1.0 process instead, the legacy CU's JSON).
    Also returns the exact message/env JSON the process sent to ``handle`` (genesis: the
    message is a pair, the last Eval's JSON and the process message's, which boots AOS)."""
    import tempfile

    import hyperbeam_fast as hb
    from hyperbeam_fast import ao, cache
    from hyperbeam_fast.devices import genesis_wasm, json_iface
    from hyperbeam_fast.devices import scheduler as sched
    from hyperbeam_fast.devices.process import aos_process, register_process_devices
    from hyperbeam_fast.store import RocksDBStore

    register_process_devices()
    w = hb.Wallet.from_file(str(FX / "key-1.json"))
    tmp = tempfile.mkdtemp(prefix="bench-aos-")
    store = RocksDBStore(tmp)  # the node's default store
    try:
        opts = {"priv_store": store, "priv_wallet": w}
        if genesis:
            proc = _genesis_process(image, w, store)
            ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
        else:
            proc = aos_process(cache.write({"body": image}, store), w)
        pid = hb.id(proc, "all")
        m = hb.commit({"target": pid, "action": "Eval", "data": "return 1 + 1"}, w)
        ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
        ao.resolve(proc, "now", opts)  # init + first message (lazy Lua init) outside the timing
        t = time.perf_counter()
        for _ in range(n):
            ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
        t_sched = (time.perf_counter() - t) / n
        t = time.perf_counter()
        s, st = ao.resolve(proc, "now", opts)
        t_comp = (time.perf_counter() - t) / n
        top = n + 1 if genesis else n  # (slot 0 is the process message itself there)
        check(
            s == "ok" and st["at-slot"] == top and st["results"]["data"] in ("2", b"2"),
            "process AOS result",
        )
        last = sched.server(pid, opts).read(top)
        if genesis:
            mid = genesis_wasm.scheduler_formats.id_text(proc["module"])
            mj = json.dumps(genesis_wasm.cu_message(last)).encode()
            ej = genesis_wasm.env_json(proc, mid, cache.read(mid, store))
            first = sched.server(pid, opts).read(0)
            mj = (mj, json.dumps(genesis_wasm.cu_message(first)).encode())
        else:
            mj, ej = json_iface.message_json(proc, last), json_iface.env_json(proc)
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return t_sched, t_comp, mj, ej


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
    sched, comp, mj, ej = bench_aos_process(image)
    _, gcomp, gmj, gej = bench_aos_process(image, genesis=True)
    bare_min = bench_aos_bare(image)
    bare = bench_aos_bare(image, mj, ej)
    gbare = bench_aos_bare(image, gmj[0], gej, boot=gmj[1])
    gmj = gmj[0]
    node_min, node = bench_node(), bench_node(msg=mj, env=ej)
    print(f"AOS cold start (cached module)   {cold * 1e3:8.2f} ms   (target < 50 ms)")
    print(
        f"AOS Eval bare loop, minimal JSON  {bare_min * 1e3:7.3f} ms/msg"
        f"   ({len(MSG) + len(ENV)} B)"
    )
    print(
        f"AOS Eval bare loop, process JSON  {bare * 1e3:7.3f} ms/msg   ({len(mj) + len(ej)} B:"
        " the signed message and process exactly as process@1.0 sends them)"
    )
    print(
        f"AOS Eval process@1.0 compute     {comp * 1e3:8.3f} ms/msg  = {comp / bare:.2f}x the bare"
        f" loop on the same JSON, {comp / bare_min:.1f}x the minimal one"
        f"  ({1 / comp:,.0f} msg/s; target >= 1000/s, <= 2x bare)"
    )
    print(f"  of which outside handle()      {(comp - bare) * 1e3:8.3f} ms/msg")
    print(
        f"AOS Eval genesis-wasm@1.0 compute {gcomp * 1e3:7.3f} ms/msg  = {gcomp / comp:.2f}x the"
        f" stack@1.0 process above, {gcomp / gbare:.2f}x its bare loop on the CU's JSON"
        f" ({len(gmj) + len(gej)} B, bare {gbare * 1e3:.3f} ms)"
    )
    print(f"scheduling (RSA-signed assignment) {sched * 1e3:6.3f} ms/msg")
    print(f"AOS Eval end to end (sched+compute) {(sched + comp) * 1e3:6.3f} ms/msg")
    if node is not None and node_min is not None:
        print(
            f"AOS Eval Node.js (legacy EH)     {node_min * 1e3:8.3f} / {node * 1e3:.3f} ms/msg"
            f" (minimal / process JSON); bare wasmtime / node = {bare / node:.2f}x,"
            f" process / node = {comp / node:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
