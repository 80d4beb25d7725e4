"""The raw call path (``wasmtime_func_call_unchecked`` with a preallocated buffer) for numeric
exports gives exactly what wasmtime-py's default call path gives: values, traps, fuel, host
import errors, re-entrancy."""

from __future__ import annotations

import pytest
from hyperbeam_fast.wasm import Instance, WasmFuelExhausted, WasmTrap, load_module
from hyperbeam_fast.wasm import instance as inst_mod

NUMS = """(module
  (import "env" "cb" (func $cb (param i32) (result i32)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "add32") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mulf") (param f32 f64) (result f64)
    (f64.mul (f64.promote_f32 (local.get 0)) (local.get 1)))
  (func (export "two") (param i32) (result i32 i64)
    (local.get 0) (i64.extend_i32_s (local.get 0)))
  (func (export "viacb") (param i32) (result i32) (call $cb (local.get 0)))
  (func (export "boom") (result i32) unreachable)
  (func (export "spin") (loop (br 0))))"""


def _pair(handler=None, **kw):
    mod = load_module(NUMS.encode())
    return Instance(mod, handler, **kw), Instance(mod, handler, raw_calls=False, **kw)


def test_values_match_default_path():
    if not inst_mod._RAW_OK:
        pytest.skip("this wasmtime-py has no raw call internals")
    raw, slow = _pair(lambda i, m, n, a, s: [a[0] + 1])
    cases = [
        ("add64", (2**63 - 1, 1)),
        ("add64", (-5, 3)),
        ("add32", (2**31 - 1, 1)),
        ("add32", (-(2**31), -1)),
        ("mulf", (1.5, 2.25)),
        ("mulf", (0.1, 3.0)),
        ("two", (-7,)),
        ("viacb", (41,)),
    ]
    for name, args in cases:
        assert raw.call(name, *args) == slow.call(name, *args), name
    assert set(raw._raw) >= {"add64", "add32", "mulf", "two", "viacb"}
    assert not slow._raw


def test_traps_fuel_and_import_errors_match():
    def bad(i, m, n, a, s):
        raise ValueError("host failed")

    raw, slow = _pair(bad, fuel=1_000_000)
    seen = []
    for inst in (raw, slow):
        with pytest.raises(WasmTrap) as e:
            inst.call("boom")
        cause = e.value.__cause__
        seen.append((str(e.value), type(cause), getattr(cause, "trap_code", None)))
        assert "unreachable" in str(cause)
        with pytest.raises(WasmFuelExhausted):
            inst.call("spin")
        with pytest.raises(WasmFuelExhausted):  # refilled, still usable
            inst.call("spin")
        with pytest.raises(ValueError, match="host failed"):
            inst.call("viacb", 1)
        assert inst.call("add32", 1, 2) == [3]  # usable after all of that
    assert seen[0] == seen[1]


def test_reentrant_calls_share_nothing_wrong():
    def cb(inst, m, n, a, s):
        x = a[0]
        return [x if x <= 0 else inst.call("viacb", x - 1)[0] + 10]

    raw, slow = _pair(cb)
    assert raw.call("viacb", 5) == slow.call("viacb", 5) == [50]
