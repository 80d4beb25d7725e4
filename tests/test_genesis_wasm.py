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
from hyperbeam_fast.devices import genesis_wasm
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
