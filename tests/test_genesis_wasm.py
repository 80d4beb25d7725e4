"""genesis-wasm@1.0 run locally (issue 12 item 3): an AOS process whose ``Module`` is a signed
data item stored on the node computes on the node's wasm-64 stack, with the legacy CU's
message/environment JSON and its result JSON under ``results/json``.

AOS needs Binaryen's translate-to-exnref (tools/binaryen) or an already cached translation."""

from __future__ import annotations

import hyperbeam_fast as hb
import orjson
import pytest
from hyperbeam_fast import _native, ao, cache
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.devices import genesis_wasm, wasm64
from hyperbeam_fast.devices.process import forget_live, register_process_devices
from hyperbeam_fast.exceptions import InvalidModule
from hyperbeam_fast.store import MemoryStore

pytest.importorskip("wasmtime")
register_process_devices()

MODULE_TAGS = [
    (b"Data-Protocol", b"ao"),
    (b"Variant", b"ao.TN.1"),
    (b"Type", b"Module"),
    (b"Module-Format", b"wasm64-unknown-emscripten-draft_2024_02_15"),
    (b"Input-Encoding", b"JSON-1"),
    (b"Output-Encoding", b"JSON-1"),
    (b"Memory-Limit", b"1-gb"),
    (b"Compute-Limit", b"9000000000000"),
]


@pytest.fixture(scope="module")
def wallets(fxdir):
    return (
        hb.Wallet.from_file(str(fxdir / "key-1.json")),
        hb.Wallet.from_file(str(fxdir / "key-2.json")),
    )


def data_item(w: hb.Wallet, tags: list, data: bytes) -> dict:
    """A signed ANS-104 data item as a client uploads it, as the node reads it."""
    raw = _native.ans104_serialize(
        _native.ans104_sign({"tags": tags, "data": data, "target": b"", "anchor": b""}, w._key)
    )
    return ans104.decode(raw)


def spawn(w, module_id, store, **extra):
    proc = hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "module": module_id,
            "scheduler": w.address,
            "authority": w.address,
            "execution-device": "genesis-wasm@1.0",
            "data-protocol": "ao",
            "variant": "ao.N.1",
            "name": "genesis-test",
            "data": "1984",
            **extra,
        },
        w,
    )
    opts = {"priv_store": store, "priv_wallet": w}
    st, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
    return proc, st, a, opts


def send(proc, opts, w, code, action="Eval"):
    pid = hb.id(proc, "all")
    m = hb.commit({"target": pid, "action": action, "data": code, "type": "Message"}, w)
    st, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
    assert st == "ok", a
    st, state = ao.resolve(proc, {"path": "compute", "slot": a["slot"]}, opts)
    assert st == "ok", state
    return state["results"]


@pytest.fixture()
def aos(wallets, aos_wasm):
    w, _ = wallets
    store = MemoryStore()
    mod = data_item(w, MODULE_TAGS, aos_wasm)
    mid = cache.write(mod, store)
    assert hb.id(mod, "all") in (mid, hb.id(mod, "all"))
    mid = hb.id(mod, "all")  # the data item's ID, as clients name it
    proc, st, a, opts = spawn(w, mid, store)
    assert st == "ok" and a["slot"] == 0
    yield proc, opts, mid
    forget_live()


def test_eval_and_state(aos, wallets):
    proc, opts, mid = aos
    w, _ = wallets
    r = send(proc, opts, w, "return 1 + 1")
    assert r["data"] == "2"
    cu = orjson.loads(r["json"]["body"])
    assert r["json"]["content-type"] == "application/json"
    assert set(cu) == {"Output", "Messages", "Spawns", "Assignments", "GasUsed"}
    # no fuel metering by default: GasUsed 0, as ao-loader reports for an unmetered format
    assert cu["Output"]["data"] == "2" and cu["GasUsed"] == 0
    assert send(proc, opts, w, "Counter = 41")["data"] == ""
    assert send(proc, opts, w, "return Counter + 1")["data"] == "42"
    # what AOS saw as its environment: the CU's {Process, Module}
    got = send(proc, opts, w, "return ao.env.Process.Id .. ' ' .. ao.env.Module.Id .. ' ' .. Owner")
    assert got["data"] == f"{hb.id(proc, 'all')} {mid} {w.address}"
    # an Eval from a key that is not the owner is not evaluated (AOS's own check on Owner)
    other = send(proc, opts, wallets[1], "Counter = 0; return 'evaluated'")
    assert other["data"] != "evaluated" and "New Message From" in other["data"]
    assert send(proc, opts, w, "return Counter")["data"] == "41"


def test_gas_used_is_the_fuel_when_metered(aos, wallets):
    """With a ``wasm_fuel`` limit the module runs metered and ``GasUsed`` is the fuel used."""
    proc, opts, _ = aos
    forget_live()
    opts = {**opts, "wasm_fuel": 10_000_000_000}
    gas = []
    for code in ("return 1 + 1", "local s = 0 for i = 1, 20000 do s = s + i end return s"):
        r = send(proc, opts, wallets[0], code)
        gas.append(orjson.loads(r["json"]["body"])["GasUsed"])
    assert r["data"] == "200010000"
    assert 0 < gas[0] < gas[1]


def test_message_fields_are_the_cus(wallets):
    """The JSON AOS gets is the legacy CU's mapping of the aos-2 schedule (hb ``mapNode``)."""
    w, w2 = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w}
    pid = "P" * 43
    item = data_item(
        w2,
        [(b"Action", b"Eval"), (b"From", b"spoof"), (b"Ref_", b"7")],
        b"return 1",
    )
    a = ao.resolve(
        {"process": {"type": "Process"}},
        {"path": "schedule", "method": "POST", "body": {**item, "target": pid}},
        opts,
    )
    assert a[0] == "error"  # unknown process: the scheduler refuses it
    proc = hb.commit({"device": "process@1.0", "type": "Process", "module": "M" * 43}, w)
    sched = genesis_wasm.scheduler_formats  # the aos-2 node the CU would read
    asg = {
        "slot": 3,
        "epoch": "0",
        "process": hb.id(proc, "all"),
        "timestamp": 1700000000000,
        "block-height": 5,
        "hash-chain": "HC",
        "body": item,
    }
    msg = genesis_wasm.cu_message(asg)
    assert msg["Id"] == hb.id(item, "all")
    assert msg["Owner"] == msg["From"] == w2.address
    assert msg["Target"] == hb.id(proc, "all")
    assert (msg["Nonce"], msg["Epoch"], msg["Block-Height"]) == (3, 0, 5)
    assert msg["Timestamp"] == 1700000000000 and msg["Hash-Chain"] == "HC"
    assert msg["Cron"] is False and msg["Skip"] == "false" and msg["Data"] == "return 1"
    # the data item's own tags, in order and case, without From or Owner (removeInvalidTags)
    assert msg["Tags"] == [{"name": "Action", "value": "Eval"}, {"name": "Ref_", "value": "7"}]
    assert len(msg["Signature"]) == 683  # the 512-byte RSA signature, base64url
    assert sched.json_struct(item)["Owner"] == w2.address


def test_error_keeps_memory_from_before(aos, wallets):
    """As in the CU, a message whose result has ``Error`` leaves the memory as before it."""
    proc, opts, _ = aos
    w, _ = wallets
    send(proc, opts, w, "Counter = 1")
    r = send(proc, opts, w, "Counter = 100; return Counter +")  # a syntax error: Error
    cu = orjson.loads(r["json"]["body"])
    assert "Error" in cu and "unexpected symbol" in cu["Error"], cu
    assert r["data"] == cu["Error"] and r["outbox"] == {}
    assert send(proc, opts, w, "return Counter")["data"] == "1"


def test_outbox_and_from_process(aos, wallets):
    proc, opts, _ = aos
    w, _ = wallets
    pid = hb.id(proc, "all")
    code = f"Send({{Target = '{pid}', Data = 'hi', Action = 'Ping', ['From-Process'] = 'X'}})"
    r = send(proc, opts, w, code)
    (m,) = r["outbox"].values()
    assert m["target"] == pid and m["data"] == "hi" and m["action"] == "Ping"
    assert m["from-process"] == pid  # the node's, not the module's forged tag
    tags = {t["name"]: t["value"] for t in orjson.loads(r["json"]["body"])["Messages"][0]["Tags"]}
    assert tags.get("From-Process") == "X"  # (what the module wrote, kept in results/json)


def test_patch_outbox_goes_to_state(aos, wallets):
    proc, opts, _ = aos
    w, _ = wallets
    pid = hb.id(proc, "all")
    send(proc, opts, w, "Send({device = 'patch@1.0', method = 'PATCH', greeting = 'hello'})")
    st, state = ao.resolve(proc, {"path": "compute", "slot": 1}, opts)
    assert st == "ok"
    assert state.get("greeting") == "hello", sorted(state)
    assert all(m.get("method") != "PATCH" for m in state["results"]["outbox"].values())
    assert pid


def test_a_patch_cannot_rewrite_the_process(aos, wallets):
    proc, opts, _ = aos
    w, _ = wallets
    pid = hb.id(proc, "all")
    send(
        proc,
        opts,
        w,
        "Send({device = 'patch@1.0', process = 'x', ['at-slot'] = '9', priv = 'p',"
        " vfs = 'v', wasm = 'w', results = 'r', cache = 'kept'})",
    )
    st, state = ao.resolve(proc, {"path": "compute", "slot": 1}, opts)
    assert st == "ok" and state["cache"] == "kept"
    assert hb.id(state["process"], "all") == pid and state["at-slot"] == 1
    assert isinstance(state["wasm"], dict) and state.get("vfs") != "v"
    assert send(proc, opts, w, "return 6 * 7")["data"] == "42"


def test_bad_modules_are_refused_before_scheduling(wallets, aos_wasm):
    w, _ = wallets
    store = MemoryStore()
    not_wasm = data_item(w, MODULE_TAGS, b"print('not wasm')")
    cache.write(not_wasm, store)
    missing = "A" * 43
    for mid, status in ((missing, 404), (hb.id(not_wasm, "all"), 422), ("", 400)):
        proc, st, a, _ = spawn(w, mid, store)
        assert st == "error" and a["status"] == status, (mid, a)
        pid = hb.id(proc, "all")
        assert cache.list_numbered(f"assignments/{pid}", store) == []
        with pytest.raises(Exception):  # noqa: B017 - not stored under any ID
            cache.read(pid, store)
    with pytest.raises(InvalidModule):
        genesis_wasm.module_of({"module": missing}, {"priv_store": store})


# ---- Memory-Limit and Compute-Limit (the CU's setModuleOptions) ------------------------------


def test_limit_tags_parse_as_the_cu_parses_them():
    pb, pi = genesis_wasm.parse_bytes, genesis_wasm.parse_int
    assert pb("1-gb") == 1 << 30 and pb("512-mb") == 512 << 20 and pb("16-MB") == 16 << 20
    assert pb("1.5kb") == 1536 and pb("4096") == 4096 and pb("gb") is None
    assert pi("9000000000000") == 9_000_000_000_000 and pi("12abc") == 12 and pi("x") is None


METERED = b"wasm64-unknown-emscripten-draft_2024_10_16-metering"


def _module(w, store, aos_wasm, memory: bytes | None, compute: bytes | None, fmt=None) -> str:
    tags = [t for t in MODULE_TAGS if t[0] not in (b"Memory-Limit", b"Compute-Limit")]
    if fmt is not None:
        tags = [(b"Module-Format", fmt) if t[0] == b"Module-Format" else t for t in tags]
    tags += [(b"Memory-Limit", memory)] if memory is not None else []
    tags += [(b"Compute-Limit", compute)] if compute is not None else []
    mod = data_item(w, tags, aos_wasm)
    cache.write(mod, store)
    return hb.id(mod, "all")


def test_limits_missing_or_over_the_nodes_are_refused(wallets, aos_wasm):
    w, _ = wallets
    store = MemoryStore()
    cases = [
        ((None, b"9000000000000"), {}, 400, "Memory-Limit"),
        ((b"1-gb", None), {}, 400, "Compute-Limit"),
        ((b"lots", b"9000000000000"), {}, 400, "not a positive number"),
        ((b"2-gb", b"9000000000000"), {}, 413, "Memory-Limit 2147483648 exceeds"),
        ((b"1-gb", b"9000000000001"), {}, 413, "Compute-Limit"),
        ((b"64-mb", b"1000"), {"genesis_wasm_compute_max": 999}, 413, "exceeds"),
    ]
    for (mem, comp), extra, status, why in cases:
        mid = _module(w, store, aos_wasm, mem, comp)
        opts = {"priv_store": store, "priv_wallet": w, **extra}
        proc = hb.commit(
            {
                "device": "process@1.0",
                "type": "Process",
                "module": mid,
                "scheduler": w.address,
                "execution-device": "genesis-wasm@1.0",
            },
            w,
        )
        st, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
        assert st == "error" and a["status"] == status and why in a["body"], (mem, comp, a)
        assert cache.list_numbered(f"assignments/{hb.id(proc, 'all')}", store) == []
    # the process's own tag wins over the module's (the CU's pathOr)
    mid = _module(w, store, aos_wasm, b"2-gb", b"9000000000000")
    proc, st, a, _ = spawn(w, mid, store, **{"memory-limit": "256-mb"})
    assert st == "ok" and a["slot"] == 0, a


def test_memory_limit_bounds_the_instance(wallets, aos_wasm):
    """The same allocation fits under a 1 GiB Memory-Limit and fails under 64 MiB: a failed
    slot with an Error, the memory as before it, the process goes on."""
    w, _ = wallets
    grow = "Big = string.rep('x', 96 * 1024 * 1024); return #Big"
    got = {}
    for mem in (b"64-mb", b"1-gb"):
        store = MemoryStore()
        proc, st, _, opts = spawn(w, _module(w, store, aos_wasm, mem, b"9000000000000"), store)
        assert st == "ok"
        assert send(proc, opts, w, "Counter = 7")["data"] == ""
        r = send(proc, opts, w, grow)
        got[mem] = (r, orjson.loads(r["json"]["body"]))
        assert send(proc, opts, w, "return Counter")["data"] == "7"
        forget_live()
    small, small_cu = got[b"64-mb"]
    assert "Error" in small_cu and "memory" in small_cu["Error"].lower(), small_cu
    big, big_cu = got[b"1-gb"]
    assert "Error" not in big_cu and big["data"] == str(96 * 1024 * 1024), big_cu


def test_compute_limit_bounds_each_message(wallets, aos_wasm):
    """A metered module format: a message past Compute-Limit (fuel per message) fails with
    ao-loader's ``out of gas!``; a cheaper one under the same limit computes, and GasUsed stays
    under the limit. (Unmetered formats count no gas, as in ao-loader.)"""
    w, _ = wallets
    store = MemoryStore()
    mid = _module(w, store, aos_wasm, b"1-gb", b"9000000000000", METERED)
    probe, st, _, opts = spawn(w, mid, store)
    gas = orjson.loads(send(probe, opts, w, "return 1 + 1")["json"]["body"])["GasUsed"]
    forget_live()
    limit = str(gas * 20).encode()
    proc, st, _, opts = spawn(w, _module(w, store, aos_wasm, b"1-gb", limit, METERED), store)
    assert st == "ok"
    r = orjson.loads(send(proc, opts, w, "Counter = 5")["json"]["body"])
    assert "Error" not in r and r["GasUsed"] <= int(limit), r
    loop = send(proc, opts, w, "Counter = 6; local i = 0; while true do i = i + 1 end")
    cu = orjson.loads(loop["json"]["body"])
    assert "out of gas!" in cu["Error"] and loop["data"] == cu["Error"], cu
    assert send(proc, opts, w, "return Counter")["data"] == "5"
    busy = "local s = 0; for i = 1, 1000000 do s = s + i end; return s"
    assert "out of gas!" in send(proc, opts, w, busy)["data"]
    forget_live()
    # the same Compute-Limit on the unmetered format: nothing counted against it
    plain, st, _, opts = spawn(w, _module(w, store, aos_wasm, b"1-gb", limit), store)
    assert send(plain, opts, w, busy)["data"] == str(sum(range(1000001)))


def test_handle_strings_go_on_the_stack_as_ao_loader_puts_them(aos, wallets):
    """ao-loader's ``cwrap("handle", "string", ["string", "string"])`` puts both strings on the
    guest's stack and restores it after the call, so a process's memory does not grow by its
    inputs; strings too large for a stack go to ``malloc`` (what json-iface@1.0 does always)."""
    proc, opts, _ = aos
    w, _ = wallets
    assert send(proc, opts, w, "return 1")["data"] == "1"
    s, st = ao.resolve(proc, "now", opts)
    ctx = wasm64.context(st, genesis_wasm.PREFIX)
    inst = ctx.instance
    save, _, _ = inst.stack_exports()
    (sp,) = inst.call(save)
    assert send(proc, opts, w, "return 2")["data"] == "2"
    assert inst.call(save) == [sp]  # given back after the call
    small, big = b"x" * 100, b"y" * (genesis_wasm.STACK_STRINGS_MAX + 1)
    ptrs, saved = ctx.write_call_strings([small, small], genesis_wasm.STACK_STRINGS_MAX)
    assert saved == sp and all(sp - 1024 < p < sp for p in ptrs)
    assert [inst.read_string(p) for p in ptrs] == [small, small]
    assert inst.call(save) == [ptrs[-1]]  # the stack pointer where stackAlloc leaves it
    ctx.restore_stack(saved)
    assert inst.call(save) == [sp]
    # the layout written without calling stackAlloc (one guest call, not four) is the guest's own
    _, restore, alloc = inst.stack_exports()
    odd = [small, b"z" * 7, b""]
    theirs = [inst.call(alloc, len(d) + 1)[0] for d in odd]
    inst.call(restore, sp)
    assert wasm64.stack_layout(sp, odd) == theirs
    ptrs, saved = ctx.write_call_strings([big, small], genesis_wasm.STACK_STRINGS_MAX)
    assert saved is None and all(p > sp for p in ptrs)  # the heap lies above the stack
