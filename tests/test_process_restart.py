"""process@1.0 after a restart (issue 15 item 3): the newest snapshot is restored, so compute
goes on from there instead of replaying the schedule from slot 0 (runtime §12.3, §12.5).

The slots computed are counted with ``process_progress`` (called once per computed slot)."""

from __future__ import annotations

import hyperbeam_fast as hb
import installed
import pytest
from hyperbeam_fast import ao, cache
from hyperbeam_fast.devices import process_compute
from hyperbeam_fast.devices.process import aos_process, forget_live, register_process_devices
from hyperbeam_fast.store import FSStore, MemoryStore
from hyperbeam_fast.wasm import WasmTranslatorMissing, load_module

register_process_devices()


@pytest.fixture(scope="module")
def wallet(fxdir):
    return hb.Wallet.from_file(str(fxdir / "key-1.json"))


@pytest.fixture(scope="module")
def aos_image(fxdir):
    data = (fxdir / "aos-2-pure-xs.wasm").read_bytes()
    try:
        load_module(data)
    except WasmTranslatorMissing as e:
        installed.missing(f"AOS needs the exnref translator: {e}")
    return data


def _send(proc, pid, w, opts, code):
    m = hb.commit({"target": pid, "action": "Eval", "data": code}, w)
    s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
    assert s == "ok", a
    return int(a["slot"])


def _counting(opts):
    computed: list[int] = []
    return {**opts, "process_progress": lambda done, _total: computed.append(done)}, computed


def test_aos_restart_restores_the_newest_snapshot(aos_image, wallet, tmp_path):
    w = wallet
    store = FSStore(tmp_path / "store")
    opts = {"priv_store": store, "priv_wallet": w, "process_snapshot_interval": 10}
    img = cache.write({"body": aos_image}, store)
    proc = aos_process(img, w, authority=w.address)
    pid = hb.id(proc, "all")
    for _ in range(25):
        _send(proc, pid, w, opts, "X = (X or 0) + 1; return X")
    s, st = ao.resolve(proc, "now", opts)
    assert s == "ok" and st["at-slot"] == 24 and st["results"]["data"] == "25"
    assert cache.list_numbered(f"computed/{pid}/snapshot", store) == [0, 10, 20]

    # restart: no live state, no scheduling server, the store reopened
    forget_live()
    store2 = FSStore(tmp_path / "store")
    opts2, computed = _counting({**opts, "priv_store": store2})
    last = _send(proc, pid, w, opts2, "return X")
    s, st2 = ao.resolve(proc, "now", opts2)
    assert s == "ok" and st2["at-slot"] == last == 25
    assert st2["results"]["data"] == "25"  # the Lua state came back from the snapshot
    # slots 21..25 computed, from the snapshot at slot 20: no replay from slot 0
    assert computed == [1, 2, 3, 4, 5]


def test_snapshot_restore_goes_through_every_stack_member(aos_image, wallet):
    """``normalize`` through the AOS stack: wasi@1.0 answers only WASI import calls, so the
    fold passes over it to wasm-64@1.0, which restores the memory (it used to answer every key
    with its import stub, which dropped the state: ``no_valid_device_stack``)."""
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": wallet, "process_snapshot_interval": 2}
    img = cache.write({"body": aos_image}, store)
    proc = aos_process(img, wallet, authority=wallet.address)
    pid = hb.id(proc, "all")
    for i in range(3):
        _send(proc, pid, wallet, opts, f"Y = {i + 40}")
    assert ao.resolve(proc, "now", opts)[0] == "ok"
    forget_live()
    state = process_compute._from_snapshot(pid, 2, opts)
    assert state is not None and state["at-slot"] == 2
    assert [hb_text(d) for d in state["device-stack"]] == [
        "wasi@1.0",
        "json-iface@1.0",
        "wasm-64@1.0",
        "multipass@1.0",
    ]


def test_wasi_answers_import_calls_only():
    assert ao.resolve({"device": "wasi@1.0"}, {"path": "normalize"}, {}) == ("error", ao.NOT_FOUND)
    s, r = ao.resolve(
        {"device": "wasi@1.0", "state": {"a": 1}},
        {"path": "fd_close", "func-sig": "i_i", "args": [1]},
        {"hashpath": "ignore"},
    )
    assert s == "ok" and r["state"] == {"a": 1} and r["results"] == [0]


def hb_text(v):
    return v.decode() if isinstance(v, bytes) else v


def test_snapshot_seconds_bound_the_replay(aos_image, wallet, tmp_path):
    """``process_snapshot_seconds``: a snapshot once the slots since the last one took that
    long, so a restart replays about that much compute whatever the interval (issue 15 item
    3). 0 s: every ``SNAPSHOT_MIN_SLOTS`` (10) slots (slot 10 here); off: only the interval's
    (here 1000: none after slot 0)."""
    w = wallet
    for seconds, replayed in (("0", [1, 2]), ("none", list(range(1, 13)))):
        store = FSStore(tmp_path / f"store-{seconds}")
        opts = {"priv_store": store, "priv_wallet": w, "process_snapshot_interval": 1000}
        opts["process_snapshot_seconds"] = seconds
        img = cache.write({"body": aos_image}, store)
        proc = aos_process(img, w, authority=w.address)
        pid = hb.id(proc, "all")
        for _ in range(12):
            _send(proc, pid, w, opts, "X = (X or 0) + 1; return X")
        assert ao.resolve(proc, "now", opts)[1]["results"]["data"] == "12"
        forget_live()
        opts2, computed = _counting({**opts, "priv_store": FSStore(tmp_path / f"store-{seconds}")})
        _send(proc, pid, w, opts2, "return X")
        s, st = ao.resolve(proc, "now", opts2)
        assert s == "ok" and st["results"]["data"] == "12"
        assert computed == replayed, (seconds, computed)
        forget_live()
