"""process@1.0 over WASM: test-64 fac, and the real AOS image end to end (runtime §12, §14.8).

AOS needs Binaryen's translate-to-exnref (tools/binaryen, `npm ci`); the translated, compiled
module is cached under $HYPERBEAM_WASM_CACHE (default ~/.cache/hyperbeam_fast/wasm), so only the
first run pays for it. Without Node/binaryen and without a cached module the AOS tests skip.
"""

from __future__ import annotations

import hyperbeam_fast as hb
import installed
import pytest
from hyperbeam_fast import ao, cache
from hyperbeam_fast.devices.process import aos_process, forget_live, register_process_devices
from hyperbeam_fast.store import FSStore, MemoryStore
from hyperbeam_fast.wasm import WasmTranslatorMissing, load_module

register_process_devices()


@pytest.fixture(scope="module")
def wallets(fxdir):
    return hb.Wallet.from_file(str(fxdir / "key-1.json")), hb.Wallet.from_file(
        str(fxdir / "key-2.json")
    )


@pytest.fixture(scope="module")
def aos_image(fxdir):
    data = (fxdir / "aos-2-pure-xs.wasm").read_bytes()
    try:
        load_module(data)
    except WasmTranslatorMissing as e:
        installed.missing(f"AOS needs the exnref translator: {e}")
    return data


def _fac_process(fxdir, w, store, opts, xs, **extra):
    """A signed test-64.wasm process with ``fac(x)`` scheduled for each ``x``."""
    img = cache.write({"body": (fxdir / "test-64.wasm").read_bytes()}, store)
    proc = hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "image": img,
            "scheduler": w.address,
            "execution-device": "stack@1.0",
            "device-stack": ["wasm-64@1.0"],
            **extra,
        },
        w,
    )
    pid = hb.id(proc, "all")
    for x in xs:
        m = hb.commit({"type": "Message", "target": pid, "function": "fac", "parameters": [x]}, w)
        assert ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)[0] == "ok"
    return proc, pid


def test_fac_process(fxdir, wallets):
    w, _ = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w}
    proc, _ = _fac_process(fxdir, w, store, opts, (5.0, 6.0))
    s, st = ao.resolve(proc, {"path": "compute", "slot": 0}, opts)
    assert s == "ok" and st["results"]["output"] == [120.0]
    s, st = ao.resolve(proc, {"path": "compute", "slot": 1}, opts)
    assert st["results"]["output"] == [720.0]
    assert ao.resolve(proc, {"path": "compute", "slot": 5}, opts)[1]["status"] == 503


def _spawn(store, w, image_bytes, authorities):
    img = cache.write({"body": image_bytes}, store)
    proc = aos_process(img, w, authority=",".join(authorities))
    return proc, hb.id(proc, "all")


def _send(proc, pid, w, opts, **fields):
    m = hb.commit({"target": pid, **fields}, w)
    s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
    assert s == "ok", a
    return a["slot"]


def test_results_written_in_batches_and_before_an_error(fxdir, wallets, monkeypatch):
    from hyperbeam_fast.devices import process_compute as proc_dev

    monkeypatch.setattr(proc_dev, "WRITE_BATCH", 2)
    w, _ = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w, "process_snapshot_interval": 2}
    proc, pid = _fac_process(fxdir, w, store, opts, (1.0, 2.0, 3.0, 4.0, 5.0), note="batches")
    # slots 0-4 compute, slot 5 has no assignment: every computed slot is written anyway
    assert ao.resolve(proc, {"path": "compute", "slot": 7}, opts)[1]["status"] == 503
    assert cache.list_numbered(f"computed/{pid}/slot", store) == [0, 1, 2, 3, 4]
    assert cache.list_numbered(f"computed/{pid}/snapshot", store) == [0, 2, 4]
    # and they are the states: a fresh compute of slot 3 reads it back
    forget_live()
    s, st = ao.resolve(proc, {"path": "compute", "slot": 3}, opts)
    assert s == "ok" and st["results"]["output"] == [24.0]


def test_aos_eval_and_outbox(aos_image, wallets):
    w, _ = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w}
    proc, pid = _spawn(store, w, aos_image, [w.address])
    codes = [
        "return 1+1",
        "return 2+2",
        "X = 42",
        "X = 1337",
        "return X",
        'table.insert(ao.outbox.Messages, { Target = ao.id, Action = "State", '
        "Data = { Deep = 4, Bool = true } })",
        'error("boom")',
    ]
    for c in codes:
        _send(proc, pid, w, opts, action="Eval", data=c)
    data = [
        ao.resolve(proc, {"path": "compute", "slot": i}, opts)[1]["results"]["data"]
        for i in range(len(codes))
    ]
    data = [_t(d) for d in data]
    assert data[:5] == ["2", "4", "", "", "1337"]
    assert "boom" in data[6]
    s, st = ao.resolve(proc, {"path": "compute", "slot": 5}, opts)
    out = st["results"]["outbox"]["1"]
    data5 = {k.lower(): v for k, v in out["data"].items()}
    assert data5["deep"] == 4 and _t(out["action"]) == "State" and _t(out["from-process"]) == pid
    s, now = ao.resolve(proc, "now", opts)
    assert now["at-slot"] == 6


def test_aos_counter_two_senders_restart_and_hashpath(aos_image, wallets, tmp_path):
    w1, w2 = wallets
    store = FSStore(tmp_path / "store")
    opts = {"priv_store": store, "priv_wallet": w1, "process_snapshot_interval": 40}
    proc, pid = _spawn(store, w1, aos_image, [w1.address, w2.address])
    handler = (
        'Handlers.add("inc", Handlers.utils.hasMatchingTag("Action", "Increment"), '
        "function(msg) Count = (Count or 0) + 1; Senders = Senders or {}; "
        "Senders[msg.From] = true end)"
    )
    _send(proc, pid, w1, opts, action="Eval", data=handler)
    signed = [hb.commit({"target": pid, "action": "Increment"}, w) for w in (w1, w2)]
    for i in range(100):
        m = signed[i % 2]
        s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
        assert s == "ok"
    last = _send(
        proc,
        pid,
        w1,
        opts,
        action="Eval",
        data="local n = 0; for _ in pairs(Senders) do n = n + 1 end; "
        "return tostring(Count) .. ' ' .. n",
    )
    s, st = ao.resolve(proc, "now", opts)
    assert s == "ok" and st["at-slot"] == last and st["results"]["data"] == "100 2"
    hp = st["state-hashpath"]
    # restart: drop every in-memory state and server, reopen the store
    forget_live()
    store2 = FSStore(tmp_path / "store")
    opts2 = {**opts, "priv_store": store2}
    _send(proc, pid, w1, opts2, action="Eval", data="return Count")
    s, st2 = ao.resolve(proc, "now", opts2)
    assert s == "ok" and st2["results"]["data"] == "100" and st2["at-slot"] == last + 1
    # the hashpath chain, recomputed from the schedule
    s, sch = ao.resolve(proc, {"path": "schedule", "from": 0, "to": last + 1}, opts2)
    chain = pid
    for n in range(last + 1):
        chain = hb.hashpath({"priv": {"hashpath": chain}}, sch["assignments"][str(n)])
        if n == last:
            assert chain == (hp.decode() if isinstance(hp, bytes) else hp)
    chain = hb.hashpath({"priv": {"hashpath": chain}}, sch["assignments"][str(last + 1)])
    got = st2["state-hashpath"]
    assert chain == (got.decode() if isinstance(got, bytes) else got)


def test_aos_runaway_message_does_not_kill_process(aos_image, wallets):
    w, _ = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w, "wasm_fuel": 200_000_000}
    proc, pid = _spawn(store, w, aos_image, [w.address])
    _send(proc, pid, w, opts, action="Eval", data="while true do end")
    _send(proc, pid, w, opts, action="Eval", data="return 3*3")
    s, st = ao.resolve(proc, {"path": "compute", "slot": 0}, opts)
    assert s == "ok" and st["results"]["status"] == "error"
    s, st = ao.resolve(proc, {"path": "compute", "slot": 1}, opts)
    assert s == "ok", st


def _t(v):
    return v.decode() if isinstance(v, bytes) else v


def test_push_delivers_outbox_to_target_process(aos_image, wallets):
    from hyperbeam_fast.devices import push

    w, _ = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w}
    a, aid = _spawn(store, w, aos_image, [w.address])
    b = hb.commit({**{k: v for k, v in a.items() if k != "commitments"}, "name": "B"}, w)
    bid = hb.id(b, "all")
    cache.write(b, store)
    code = f'Send({{ Target = "{bid}", Action = "Ping", Data = "hello" }})'
    m = hb.commit({"target": aid, "action": "Eval", "data": code}, w)
    s, r = push.push(a, {"body": m}, opts)
    assert s == "ok" and r["1"]["status"] == "ok" and r["outbox"], r
    s, sch = ao.resolve(b, {"path": "schedule", "from": 0}, opts)
    body = sch["assignments"]["0"]["body"]
    assert _t(body["action"]) == "Ping" and _t(body["from-process"]) == aid
    # the same through process@1.0's `push` key (runtime §12.3), as `POST /<ProcID>/push` does
    m2 = hb.commit({"target": aid, "action": "Eval", "data": code.replace("hello", "again")}, w)
    s, r = ao.resolve(a, {"path": "push", "method": "POST", "body": m2}, opts)
    assert s == "ok" and r["slot"] == 1 and r["1"]["slot"] == 1, r
    s, sch = ao.resolve(b, {"path": "schedule", "from": 0}, opts)
    assert _t(sch["assignments"]["1"]["body"]["data"]) == "again"
