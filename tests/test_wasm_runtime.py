"""wasm-64@1.0 on wasmtime, the Rust memory bridge, WASI and emscripten imports (§14, §15)."""

from __future__ import annotations

import pytest
from hyperbeam_fast import _native, ao
from hyperbeam_fast.devices.process import register_process_devices
from hyperbeam_fast.wasm import (
    Instance,
    WasmCompileError,
    WasmError,
    WasmFuelExhausted,
    WasmMemoryError,
    WasmTimeout,
    WasmTrap,
    load_module,
)
from hyperbeam_fast.wasm.engine import is_metered

register_process_devices()


@pytest.fixture(scope="module")
def fx(shared_dir):
    d = shared_dir / "fixtures" / "hyperbeam"
    if not (d / "test-64.wasm").exists():
        pytest.skip("WASM fixtures missing from ../shared/fixtures/hyperbeam")
    return lambda name: (d / name).read_bytes()


LOOP = '(module (func (export "spin") (loop (br 0))))'
GROW = """(module (memory (export "memory") 1)
  (func (export "grow") (result i32)
    (loop (if (i32.ne (memory.grow (i32.const 16)) (i32.const -1)) (then (br 1))))
    unreachable))"""


# ---- memory bridge ---------------------------------------------------------------------------


def test_bridge_bounds_and_cstrings():
    buf = bytearray(b"hello\0world" + b"\0" * 21)
    import ctypes

    arr = (ctypes.c_ubyte * len(buf)).from_buffer(buf)
    p = ctypes.addressof(arr)
    assert _native.wasm_mem_read(p, len(buf), 0, 5) == b"hello"
    assert _native.wasm_mem_cstr(p, len(buf), 0) == b"hello"
    assert _native.wasm_mem_cstr(p, len(buf), 6) == b"world"
    with pytest.raises(WasmMemoryError):
        _native.wasm_mem_read(p, len(buf), 30, 5)
    with pytest.raises(WasmMemoryError):
        _native.wasm_mem_read(p, len(buf), 2**64 - 1, 2)
    with pytest.raises(WasmMemoryError):
        _native.wasm_mem_cstr(p, len(buf), 0, 3)  # no NUL within 3 bytes
    _native.wasm_mem_write_cstr(p, len(buf), 12, b"abc")
    assert bytes(buf[12:16]) == b"abc\0"
    with pytest.raises(WasmMemoryError):
        _native.wasm_mem_write(p, len(buf), 30, b"xyz")
    assert _native.wasm_mem_read(0, 0, 0, 0) == b""


def test_bridge_iovecs():
    import ctypes

    buf = bytearray(64)
    arr = (ctypes.c_ubyte * 64).from_buffer(buf)
    p = ctypes.addressof(arr)
    buf[40:47] = b"Hello, "
    buf[50:55] = b"World"
    for i, v in enumerate((40, 7, 50, 5)):
        _native.wasm_mem_write_uint(p, 64, i * 8, v, 8)
    assert _native.wasm_mem_gather(p, 64, 0, 2, True) == b"Hello, World"
    assert _native.wasm_mem_scatter(p, 64, 0, 2, b"abcdefghij", True) == 10
    assert bytes(buf[50:53]) == b"hij"
    with pytest.raises(WasmMemoryError):
        _native.wasm_mem_gather(p, 64, 0, 10**18, True)


# ---- engine and instances --------------------------------------------------------------------


def test_fac(fx):
    inst = Instance(load_module(fx("test-64.wasm")))
    assert inst.call("fac", 5.0) == [120.0]
    assert fx("test.wasm") == fx("test-64.wasm")


def test_pow_with_imported_mul(fx):
    calls = []

    def handler(inst, module, name, args, sig):
        calls.append((module, name, tuple(args)))
        return [args[0] * args[1]]

    inst = Instance(load_module(fx("pow_calculator.wasm")), handler)
    assert inst.call("pow", 2, 5) == [32]
    assert calls == [("my_lib", "mul", (a, 2)) for a in (1, 2, 4, 8, 16)]
    calls.clear()
    assert inst.call("pow", 3, 0) == [1] and calls == []


def test_print_module_memory(fx):
    inst = Instance(load_module(fx("test-print.wasm")))
    assert inst.memory_size() == 65536
    assert inst.read(66, 13) == b"Hello, World!"
    inst.write(0, b"Hello, World!")
    assert inst.read(0, 13) == b"Hello, World!"
    with pytest.raises(WasmMemoryError):
        inst.write(1_000_000, b"x")
    with pytest.raises(WasmMemoryError):
        inst.read(1_000_000, 13)


def test_malloc_and_strings(fx):
    inst = Instance(load_module(fx("test-calling.wasm")))
    assert inst.malloc(100) > 0
    with pytest.raises(WasmMemoryError, match="malloc_failed"):
        inst.malloc(128 << 20)
    p = inst.write_string("Hello, World!")
    assert inst.read_string(p) == b"Hello, World!"


def test_runaway_loop_ends_with_fuel_error():
    inst = Instance(load_module(LOOP.encode()), fuel=5_000_000)
    with pytest.raises(WasmFuelExhausted):
        inst.call("spin")
    with pytest.raises(WasmFuelExhausted):  # still usable: the next call gets new fuel
        inst.call("spin")


def test_runaway_loop_without_fuel_ends_at_its_deadline():
    """The default: no fuel metering (the unmetered engine); the epoch deadline ends the loop."""
    import time

    inst = Instance(LOOP.encode(), timeout=0.2)
    assert inst.fuel is None and not inst.metered and not is_metered(inst.module)
    for _ in range(2):  # still usable: the next call gets a fresh deadline
        t = time.monotonic()
        with pytest.raises(WasmTimeout, match="wasm_timeout 0.2"):
            inst.call("spin")
        assert time.monotonic() - t < 5
    assert inst.fuel_consumed() == 0


def test_fuel_needs_the_metered_engine():
    mod = load_module(LOOP.encode(), metered=False)
    assert not is_metered(mod) and is_metered(load_module(LOOP.encode()))
    with pytest.raises(WasmError, match="metered"):
        Instance(mod, fuel=1000)
    # a fuel limit on raw bytes picks the metered engine itself
    inst = Instance(LOOP.encode(), fuel=1_000_000)
    assert inst.metered
    with pytest.raises(WasmFuelExhausted):
        inst.call("spin")


def test_memory_limit():
    inst = Instance(load_module(GROW.encode()), memory_limit=4 << 20)
    with pytest.raises(WasmTrap):
        inst.call("grow")
    assert inst.memory_size() <= 4 << 20


GLOBALS = """(module
  (global $g (export "counter") (mut i32) (i32.const 7))
  (global (export "fixed") i32 (i32.const 1))
  (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1)))))"""


def test_globals_snapshot_has_the_mutable_globals_and_restores():
    inst = Instance(load_module(GLOBALS.encode()))
    assert inst.globals_snapshot() == {"counter": 7}  # the immutable one is left out
    inst.call("bump")
    inst.call("bump")
    assert inst.globals_snapshot() == {"counter": 9}
    inst.restore(b"", {"counter": 7})
    assert inst.globals_snapshot() == {"counter": 7}


def test_malformed_module():
    with pytest.raises(WasmCompileError):
        load_module(b"\0asm\x01\0\0\0garbage")
    with pytest.raises(WasmCompileError):
        load_module(b"not wasm at all")


def test_emscripten_invoke_build(fx):
    """test-aos.wasm needs invoke_vjj (setThrew), memcpy and resize_heap shims."""
    import orjson

    inst = Instance(load_module(fx("test-aos.wasm")))
    msg = b'{"Id":"1","Owner":"x","Tags":[{"name":"Action","value":"Ping"}],"Data":"ping"}'
    env = b'{"Process":{"Id":"AOS","Owner":"x","Tags":[]}}'
    for _ in range(2):
        (ptr,) = inst.call("handle", inst.write_string(msg), inst.write_string(env))
        out = orjson.loads(inst.read_string(ptr))
        assert out["ok"] is True
        assert out["response"]["Output"] == "sent pong reply"


# ---- the wasm-64@1.0 device ------------------------------------------------------------------


def test_device_basic_execution(fx):
    base = {"device": "wasm-64@1.0", "image": fx("test-64.wasm")}
    s, m = ao.resolve(base, {"path": "init"}, {"hashpath": "ignore"})
    assert s == "ok"
    s, m = ao.resolve(
        m, {"path": "compute", "function": "fac", "parameters": [5.0]}, {"hashpath": "ignore"}
    )
    assert s == "ok" and m["results"]["type"] == "ok" and m["results"]["output"] == [120.0]


def test_device_imported_function_and_snapshot(fx):
    base = {
        "device": "wasm-64@1.0",
        "image": fx("pow_calculator.wasm"),
        "stdlib": {"my_lib": {"device": "test-device@1.0"}},
    }
    o = {"hashpath": "ignore"}
    s, m = ao.resolve(base, {"path": "init"}, o)
    s, m = ao.resolve(m, {"path": "compute", "function": "pow", "parameters": [2, 5]}, o)
    assert m["results"]["output"] == [32]
    s, m = ao.resolve(m, {"path": "compute", "function": "pow", "parameters": [2, 2]}, o)
    assert m["results"]["output"] == [4]
    s, snap = ao.resolve(m, {"path": "snapshot"}, o)
    assert s == "ok" and len(snap["body"]) == 17 * 65536
    fresh = {k: v for k, v in base.items()}
    fresh["snapshot"] = snap
    s, m2 = ao.resolve(fresh, {"path": "compute", "function": "pow", "parameters": [2, 2]}, o)
    assert s == "ok" and m2["results"]["output"] == [4] and "snapshot" not in m2


def test_device_undefined_import_is_recorded(fx):
    base = {"device": "wasm-64@1.0", "image": fx("pow_calculator.wasm")}
    o = {"hashpath": "ignore"}
    s, m = ao.resolve(base, {"path": "init"}, o)
    s, m = ao.resolve(m, {"path": "compute", "function": "pow", "parameters": [2, 2]}, o)
    calls = m["results"]["undefined-calls"]
    assert [c["func"] for c in calls] == ["mul", "mul"] and m["results"]["output"] == [0]


def test_device_runaway_and_malformed_give_error_status():
    o = {"hashpath": "ignore", "wasm_fuel": 2_000_000}
    s, m = ao.resolve({"device": "wasm-64@1.0", "image": LOOP.encode()}, {"path": "init"}, o)
    s, m = ao.resolve(m, {"path": "compute", "function": "spin"}, o)
    assert s == "ok" and m["results"]["type"] == "error" and "fuel" in m["results"]["error"]
    s, m = ao.resolve({"device": "wasm-64@1.0", "image": b"\0asm junk"}, {"path": "init"}, o)
    assert s == "error" and "wasm_init_error" in m["body"]
    # the runtime keeps answering
    s, m = ao.resolve({"device": "wasm-64@1.0", "image": LOOP.encode()}, {"path": "init"}, o)
    assert s == "ok"
    # without wasm_fuel (the default) the deadline ends the loop, with the same error status
    o = {"hashpath": "ignore", "wasm_timeout": 0.2}
    s, m = ao.resolve({"device": "wasm-64@1.0", "image": LOOP.encode()}, {"path": "init"}, o)
    s, m = ao.resolve(m, {"path": "compute", "function": "spin"}, o)
    assert s == "ok" and m["results"]["type"] == "error" and "deadline" in m["results"]["error"]


def test_wasi_fd_write_to_virtual_stdout():
    wat = """(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i64 i64 i64) (result i32)))
      (memory (export "memory") i64 1)
      (data (i64.const 100) "hi there\\n")
      (func (export "go") (result i32)
        (i64.store (i64.const 0) (i64.const 100)) (i64.store (i64.const 8) (i64.const 9))
        (call $w (i32.const 1) (i64.const 0) (i64.const 1) (i64.const 32))))"""
    o = {"hashpath": "ignore"}
    base = {
        "device": "stack@1.0",
        "device-stack": ["wasi@1.0", "wasm-64@1.0"],
        "output-prefix": "wasm",
        "image": wat.encode(),
    }
    s, m = ao.resolve(base, {"path": "init"}, o)
    assert s == "ok", m
    s, m = ao.resolve(m, {"path": "compute", "function": "go"}, o)
    assert s == "ok" and m["results"]["wasm"]["output"] == [0]
    assert m["vfs"]["dev"]["stdout"] == b"hi there\n"
    s, m = ao.resolve(m, {"path": "compute", "function": "go"}, o)
    assert m["vfs"]["dev"]["stdout"] == b"hi there\nhi there\n"
