"""Write-behind of computed states (``process_async_cache``, devices/process_writes.py): states
are written after their slot in slot order, readable while queued, and a crash loses only whole
slots, which the next compute recomputes from the schedule with the same results."""

from __future__ import annotations

import threading

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native, ao, cache
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.devices import process_compute
from hyperbeam_fast.devices.process import forget_live, register_process_devices
from hyperbeam_fast.devices.process_writes import WRITER, WriteBehind
from hyperbeam_fast.store import MemoryStore

pytest.importorskip("wasmtime")
register_process_devices()


def test_jobs_run_in_order_and_their_states_are_readable_until_written():
    wb = WriteBehind(max_jobs=1)
    gate, done = threading.Event(), []
    wb.submit("p", {}, gate.wait)  # holds the writer
    wb.submit("p", {1: {"s": 1}}, lambda: done.append(1))
    assert wb.pending("p", 1) == {"s": 1} and wb.pending("p", 2) is None
    t = threading.Thread(target=wb.submit, args=("p", {2: {"s": 2}}, lambda: done.append(2)))
    t.start()  # the queue is full: this waits for the writer
    t.join(0.2)
    assert t.is_alive() and wb.pending("p", 2) is None
    gate.set()
    t.join(5)
    wb.flush()
    assert done == [1, 2] and wb.pending("p", 1) is None and wb.pending("p", 2) is None


def test_a_failed_write_is_counted_and_the_writer_goes_on():
    wb = WriteBehind()
    done = []
    wb.submit("p", {1: {}}, lambda: 1 / 0)
    wb.submit("p", {2: {}}, lambda: done.append(2))
    wb.flush()
    assert wb.failures == 1 and done == [2] and wb.pending("p", 1) is None


def _aos(w, aos_wasm, store):
    tags = [(b"Data-Protocol", b"ao"), (b"Type", b"Module"), (b"Memory-Limit", b"1-gb")]
    tags.append((b"Compute-Limit", b"9000000000000"))  # both required, as in the ao CU
    raw = _native.ans104_serialize(
        _native.ans104_sign({"tags": tags, "data": aos_wasm, "target": b"", "anchor": b""}, w._key)
    )
    mod = ans104.decode(raw)
    cache.write(mod, store)
    proc = hb.commit(
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
    return proc, hb.id(proc, "all")


def _schedule(proc, pid, w, opts, code):
    m = hb.commit({"target": pid, "action": "Eval", "data": code, "type": "Message"}, w)
    s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
    assert s == "ok", a
    return a["slot"]


def _result(proc, slot, opts):
    s, st = ao.resolve(proc, {"path": "compute", "slot": slot}, opts)
    assert s == "ok", st
    hp = st["state-hashpath"]  # (text when live, bytes when read back from the store)
    hp = hp.decode() if isinstance(hp, bytes) else hp
    return hp, hb.id(process_compute.public_state(st)["results"], "all")


def test_a_crash_loses_whole_slots_that_recompute_the_same(wallets, aos_wasm):
    _, w, _ = wallets
    store = MemoryStore()
    opts = {
        "priv_store": store,
        "priv_wallet": w,
        "process_async_cache": True,
        "process_snapshot_interval": 3,
    }
    proc, pid = _aos(w, aos_wasm, store)
    ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
    codes = [f"X = (X or 0) + {i}; return X" for i in range(1, 9)]
    slots = [_schedule(proc, pid, w, opts, c) for c in codes]
    first = {n: _result(proc, n, opts) for n in slots[:4]}  # slots 1-4 computed and written
    WRITER.flush()
    assert cache.list_numbered(f"computed/{pid}/slot", store) == [0, 1, 2, 3, 4]
    gate, holding = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        gate.wait()

    WRITER.submit("hold", {}, hold)  # the writer is busy: the next slots stay queued
    assert holding.wait(30)  # taken off the queue, so discard() below finds only the slots
    try:
        for n in slots[4:]:  # one compute per slot, as pushes do
            first[n] = _result(proc, n, opts)
            # a queued state is read back from memory, not recomputed
            assert _result(proc, n, opts) == first[n]
        assert cache.list_numbered(f"computed/{pid}/slot", store) == [0, 1, 2, 3, 4]
        assert WRITER.discard() == 4  # the crash: slots 5-8 (and snapshot 6) never written
    finally:
        gate.set()
    WRITER.flush()
    # whole slots only: each written slot has its state, no snapshot past the last one written
    assert cache.list_numbered(f"computed/{pid}/slot", store) == [0, 1, 2, 3, 4]
    assert cache.list_numbered(f"computed/{pid}/snapshot", store) == [0, 3]
    forget_live()  # the restart
    computed = []
    real = process_compute._compute_slot

    def counting(state, a, o):
        computed.append(int(a["slot"]))
        return real(state, a, o)

    process_compute._compute_slot = counting
    try:
        sync = {**opts, "process_async_cache": False}  # the other way: written in line
        again = {n: _result(proc, n, sync) for n in reversed(slots)}
    finally:
        process_compute._compute_slot = real
    assert again == first  # the same state hashpaths and results, slot by slot
    assert computed == [4, 5, 6, 7, 8]  # from the snapshot at 3; written slots are read back
    assert cache.list_numbered(f"computed/{pid}/slot", store) == list(range(9))
    forget_live()


def test_busy_computes_push_answers_202_and_computed_slots_need_no_turn(wallets, aos_wasm):
    """With every compute turn taken, a push is still scheduled (once) and answered 202 with its
    slot; a slot already computed is read without a turn; once free, the slot computes."""
    from hyperbeam_fast.devices import push, wasm64

    _, w, _ = wallets
    store = MemoryStore()
    opts = {
        "priv_store": store,
        "priv_wallet": w,
        "process_compute_workers": 1,
        "process_compute_wait": 0,
    }
    proc, pid = _aos(w, aos_wasm, store)
    ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
    one = hb.commit({"target": pid, "action": "Eval", "data": "return 1 + 1"}, w)
    st, r = push.push(proc, {"body": one}, opts)
    assert st == "ok" and r["slot"] == 1 and r["data"] == "2", r
    held, release = threading.Event(), threading.Event()

    def hold():  # another request computing: the one turn is taken
        assert wasm64.GATE.enter(opts)
        held.set()
        release.wait(30)
        wasm64.GATE.leave()

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert held.wait(10)
        two = hb.commit({"target": pid, "action": "Eval", "data": "return 2 + 2"}, w)
        st, r = push.push(proc, {"body": two}, opts)
        assert st == "ok" and r["status"] == 202 and r["slot"] == 2 and "data" not in r, r
        assert ao.resolve(proc, {"path": "slot"}, opts)[1]["current"] == 2  # scheduled once
        st, state = ao.resolve(proc, {"path": "compute", "slot": 1}, opts)  # computed: no turn
        assert st == "ok" and state["results"]["data"] == "2"
        # compute without a slot is the latest computed state (b2743e4a), no turn either: so
        # aoconnect's compute/results=1 is answered while slot 2 waits for one
        st, latest = ao.resolve(proc, {"path": "compute"}, opts)
        assert st == "ok" and latest["at-slot"] == 1, latest
        st, res = ao.resolve(latest, {"path": "results", "results": "1"}, opts)
        assert st == "ok" and res["data"] == "2", res
        st, r = ao.resolve(proc, {"path": "compute", "slot": 2}, opts)
        assert st == "error" and r["status"] == 503, r
    finally:
        release.set()
        t.join(10)
    st, state = ao.resolve(proc, {"path": "compute", "slot": 2}, opts)
    assert st == "ok" and state["results"]["data"] == "4"
    forget_live()


def test_the_newest_computed_states_are_read_from_memory(wallets, aos_wasm, monkeypatch):
    """A slot computed a moment ago is read from memory once the live state has moved on
    (aoconnect's result after its push, other clients' slots computed since), written or not;
    older ones (past ``RECENT_STATES``), and all of them after a restart, from the store."""
    _, w, _ = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w}
    proc, pid = _aos(w, aos_wasm, store)
    ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
    n = process_compute.RECENT_STATES + 3
    slots = [_schedule(proc, pid, w, opts, f"X = (X or 0) + {i}; return X") for i in range(n)]
    first = {s: _result(proc, s, opts) for s in slots}  # one compute per slot, as pushes do
    WRITER.flush()
    reads: list[str] = []
    real = cache.read

    def counting(path, s):
        reads.append(str(path))
        return real(path, s)

    monkeypatch.setattr(cache, "read", counting)
    newest, oldest = slots[-process_compute.RECENT_STATES], slots[0]
    assert _result(proc, newest, opts) == first[newest]
    assert not [p for p in reads if "/slot/" in p]  # from memory
    assert _result(proc, oldest, opts) == first[oldest]
    assert reads == [f"computed/{pid}/slot/{oldest}"]  # evicted from memory: the store's
    forget_live()  # the restart: nothing computed is in memory
    assert _result(proc, newest, opts) == first[newest]
    assert f"computed/{pid}/slot/{newest}" in reads
    forget_live()
