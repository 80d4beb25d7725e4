"""The stack@1.0 fast path for the standard AOS stack (devices/stack.py ``fast_fold``) gives
exactly what the generic Fold gives: same states, results, hashpaths and cached messages, slot by
slot (including an error, an outbox and a trap); it declines on any other stack."""

from __future__ import annotations

import hyperbeam_fast as hb
import installed
import pytest
from hyperbeam_fast import ao, cache
from hyperbeam_fast.devices import stack as stack_mod
from hyperbeam_fast.devices.process import AOS_EXECUTION, aos_process, register_process_devices
from hyperbeam_fast.store import MemoryStore
from hyperbeam_fast.wasm import WasmTranslatorMissing, load_module

register_process_devices()


CODES = [
    "return 1+1",
    "X = 42",
    "return X",
    'table.insert(ao.outbox.Messages, { Target = ao.id, Action = "State", Data = "d" })',
    'error("boom")',
    "while true do end",
    "return 3*3",
]


@pytest.fixture(scope="module")
def setup(shared_dir):
    d = shared_dir / "fixtures" / "hyperbeam"
    if not (d / "aos-2-pure-xs.wasm").exists():
        pytest.skip("fixtures missing from ../shared/fixtures/hyperbeam")
    data = (d / "aos-2-pure-xs.wasm").read_bytes()
    try:
        load_module(data)
    except WasmTranslatorMissing as e:
        installed.missing(f"AOS needs the exnref translator: {e}")
    return data, hb.Wallet.from_file(str(d / "key-1.json"))


def _signed(image, w):
    """The process and its messages, signed once (signatures are randomised)."""
    img = cache.write({"body": image}, MemoryStore())
    proc = aos_process(img, w)
    pid = hb.id(proc, "all")
    return proc, [hb.commit({"target": pid, "action": "Eval", "data": c}, w) for c in CODES]


def _run(image, w, signed, fast):
    """Compute every slot of a fresh process; returns the states and the cached slot messages."""
    old = stack_mod._fast_enabled
    stack_mod._fast_enabled = fast
    calls = []
    orig = stack_mod.fast_fold

    def spy(*a):
        r = orig(*a)
        calls.append(r is not None)
        return r

    stack_mod.fast_fold = spy
    try:
        store = MemoryStore()
        opts = {
            "priv_store": store,
            "priv_wallet": w,
            "process_snapshot_interval": 3,
            "wasm_fuel": 300_000_000,
        }
        cache.write({"body": image}, store)
        proc, msgs = signed
        pid = hb.id(proc, "all")
        for m in msgs:
            assert ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)[0]
        states = []
        for i in range(len(CODES)):
            s, st = ao.resolve(proc, {"path": "compute", "slot": i}, opts)
            assert s == "ok", st
            states.append({k: v for k, v in st.items() if not k.startswith("priv")})
        cached = [cache.read(f"computed/{pid}/slot/{i}", store) for i in range(len(CODES))]
        # the assignments are signed afresh (and timestamped) in each run: so is the hashpath
        for x in (*states, *cached):
            x.pop("state-hashpath")
        return states, cached, calls, store
    finally:
        stack_mod.fast_fold = orig
        stack_mod._fast_enabled = old


def test_fast_path_matches_generic_fold(setup):
    image, w = setup
    signed = _signed(image, w)
    fast_states, fast_cached, fast_calls, _s1 = _run(image, w, signed, True)
    slow_states, slow_cached, slow_calls, _s2 = _run(image, w, signed, False)
    assert fast_calls and all(fast_calls)  # every compute took the fast path
    assert slow_calls and not any(slow_calls)
    assert len(fast_states) == len(CODES)
    for i, (a, b) in enumerate(zip(fast_states, slow_states, strict=True)):
        assert a == b, f"slot {i}"
        assert hb.id(a) == hb.id(b)
    assert fast_cached == slow_cached
    assert fast_states[0]["results"]["data"] in ("2", b"2")
    assert fast_states[5]["results"]["status"] == "error"  # the runaway slot
    assert fast_states[6]["results"]["data"] in ("9", b"9")


def test_fast_path_declines_other_stacks():
    base = {"device": "stack@1.0", **AOS_EXECUTION, "input-prefix": "process"}
    base = ao.normalize_keys(base)
    opts = {"hashpath": "ignore"}
    req = {"path": "compute"}
    cases = [
        {**base, "device-stack": ["wasi@1.0", "json-iface@1.0", "wasm-64@1.0"]},
        {**base, "device-stack": ["wasi@1.0", "json-iface@1.0", "patch@1.0", "multipass@1.0"]},
        {**base, "output-prefixes": {"1": "x"}},
        {**base, "mode": "Map"},
    ]
    for c in cases:
        assert stack_mod.fast_fold(c, req, opts) is None
    assert stack_mod.fast_fold(base, {**req, "mode": "Map"}, opts) is None
    assert stack_mod.fast_fold(base, req, {**opts, "on": {"step": {}}}) is None
    assert stack_mod.fast_fold(base, req, {}) is None  # hashpaths not ignored
    reg = {n: ao.load_device(n) for n in stack_mod.FAST_STACK}
    reg["wasi@1.0"] = object()
    assert stack_mod.fast_fold(base, req, {**opts, "preloaded_devices": reg}) is None
