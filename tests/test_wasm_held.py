"""The wasmtime calls that keep the GIL (``ctypes.PyDLL``: the memory's base and size, the
epoch deadline; wasm/instance.py) give what wasmtime-py's own calls give, still end a runaway
call at its deadline, and fail cleanly on a closed instance."""

from __future__ import annotations

import ctypes

import pytest
from hyperbeam_fast.wasm import Instance, WasmMemoryError, WasmTimeout, load_module
from hyperbeam_fast.wasm import instance as inst_mod

MEM = """(module
  (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "spin") (loop (br 0))))"""


def test_memory_base_and_size_match_wasmtime_py_after_growth():
    if inst_mod._HELD is None:
        pytest.skip("this wasmtime-py has other internals: the GIL-releasing calls are used")
    inst = Instance(load_module(MEM.encode()), timeout=5)
    total = 1
    for pages in (0, 3, 1):
        inst.call("grow", pages)
        total += pages
        m = inst.memory
        assert m is not None
        base = ctypes.cast(m.data_ptr(inst.store), ctypes.c_void_p).value
        assert inst._mem() == (base, m.data_len(inst.store))
        assert inst.memory_size() == m.data_len(inst.store) == 65536 * total
    inst.write(65536 * 5 - 4, b"tail")  # the last bytes of the grown memory
    assert inst.read(65536 * 5 - 4, 4) == b"tail"
    inst.close()
    assert inst.memory_size() == 0
    with pytest.raises(WasmMemoryError):
        inst.read(0, 1)


def test_the_deadline_set_that_way_still_ends_a_runaway_call():
    inst = Instance(load_module(MEM.encode()), timeout=0.2)
    for _ in range(2):  # set again for each outermost call
        with pytest.raises(WasmTimeout):
            inst.call("spin")
    inst.close()
