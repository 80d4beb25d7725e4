"""scheduler@1.0 signs assignments outside the per-process lock (issue 15 item 1), and still:
slots in order with no gap, an assignment visible only once written, and a failed write or
signature leaving its slot (and the slots reserved after it) reusable, never two messages on one
slot, also across a restart."""

from __future__ import annotations

import base64
import hashlib
import threading

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import ao, cache
from hyperbeam_fast.devices import scheduler as sched
from hyperbeam_fast.devices.process import register_process_devices
from hyperbeam_fast.exceptions import SignatureError, StoreError
from hyperbeam_fast.store import FSStore

register_process_devices()


@pytest.fixture(scope="module")
def wallet(fxdir):
    return hb.Wallet.from_file(str(fxdir / "key-1.json"))


def _d(s):
    s = s.decode() if isinstance(s, bytes) else s
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _process(wallet, note):
    proc = hb.commit(
        {"device": "scheduler@1.0", "type": "Process", "scheduler": wallet.address, "n": note},
        wallet,
    )
    return proc, hb.id(proc, "all")


def _wait_for(cond, seconds=10.0):
    import time

    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


def _post(proc, m, opts):
    return ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)


def _check_schedule(proc, pid, store, wallet, n):
    """Slots 0..n-1 are in the store, each once, chained, signed; nothing after them."""
    assert cache.list_numbered(f"assignments/{pid}", store) == list(range(n))
    s, got = ao.resolve(proc, {"path": "schedule", "from": 0, "to": n + 5}, {"priv_store": store})
    asg = got["assignments"]
    assert sorted(int(k) for k in asg) == list(range(n))
    chain, ids = b"", []
    for i in range(n):
        a = asg[str(i)]
        assert int(a["slot"]) == i and hb.verify(a) and hb.signers(a) == [wallet.address]
        ids.append(hb.id(a["body"], "all"))
        chain = hashlib.sha256(chain + _d(ids[-1])).digest()
        assert _d(a["hash-chain"]) == chain, i
    return ids


def test_concurrent_schedules_get_distinct_ordered_slots(tmp_path, wallet):
    store = FSStore(tmp_path / "s")
    opts = {"priv_store": store, "priv_wallet": wallet}
    proc, pid = _process(wallet, "concurrent")
    assert _post(proc, proc, opts)[0] == "ok"
    msgs = [hb.commit({"target": pid, "i": i}, wallet) for i in range(24)]
    slots: dict[int, int] = {}

    def send(batch):
        for m in batch:
            s, a = _post(proc, m, opts)
            assert s == "ok", a
            slots[int(a["slot"])] = int(m["i"])

    ts = [threading.Thread(target=send, args=(msgs[k::4],)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(slots) == list(range(1, 25)) and sorted(slots.values()) == list(range(24))
    ids = _check_schedule(proc, pid, store, wallet, 25)
    assert sorted(ids[1:]) == sorted(hb.id(m, "all") for m in msgs)


def test_failed_write_leaves_the_slot_reusable(tmp_path, wallet, monkeypatch):
    store = FSStore(tmp_path / "s")
    opts = {"priv_store": store, "priv_wallet": wallet}
    proc, pid = _process(wallet, "failed-write")
    assert _post(proc, proc, opts)[0] == "ok"
    m1, m2, m3 = (hb.commit({"target": pid, "i": i}, wallet) for i in range(3))
    assert _post(proc, m1, opts)[1]["slot"] == 1
    real = sched._Server.write

    def failing(self, slot, assignment, planned=None):
        raise StoreError("disk full (simulated)")

    monkeypatch.setattr(sched._Server, "write", failing)
    s, err = _post(proc, m2, opts)
    assert s == "error" and err["status"] == 503 and "retry" in err["body"]
    srv = sched.server(pid, opts)
    assert srv.current == 1 and srv.read(2) is None  # nothing visible, nothing stored
    assert cache.list_numbered(f"assignments/{pid}", store) == [0, 1]
    monkeypatch.setattr(sched._Server, "write", real)
    # the slot is handed out again, its chain built on slot 1, not on the failed message
    s, a = _post(proc, m3, opts)
    assert s == "ok" and a["slot"] == 2
    ids = _check_schedule(proc, pid, store, wallet, 3)
    assert ids[2] == hb.id(m3, "all")
    # and after a restart the schedule goes on from there
    sched.forget_servers()
    store2 = FSStore(tmp_path / "s")
    s, a = _post(proc, m2, {"priv_store": store2, "priv_wallet": wallet})
    assert s == "ok" and a["slot"] == 3
    _check_schedule(proc, pid, store2, wallet, 4)


def test_crash_between_writing_and_linking(tmp_path, wallet, monkeypatch):
    """The assignment message stored, the process killed before its slot link: after the
    restart the slot is free (the link is what makes an assignment the slot's)."""
    store = FSStore(tmp_path / "s")
    opts = {"priv_store": store, "priv_wallet": wallet}
    proc, pid = _process(wallet, "crash")
    assert _post(proc, proc, opts)[0] == "ok"
    real_link = cache.link

    def crash(uid, path, st):
        if path.startswith(f"assignments/{pid}/1"):
            raise StoreError("killed (simulated)")
        return real_link(uid, path, st)

    monkeypatch.setattr(sched.cache, "link", crash)
    assert _post(proc, hb.commit({"target": pid, "i": 1}, wallet), opts)[0] == "error"
    monkeypatch.setattr(sched.cache, "link", real_link)
    sched.forget_servers()
    store2 = FSStore(tmp_path / "s")
    m = hb.commit({"target": pid, "i": 2}, wallet)
    s, a = _post(proc, m, {"priv_store": store2, "priv_wallet": wallet})
    assert s == "ok" and a["slot"] == 1
    assert _check_schedule(proc, pid, store2, wallet, 2)[1] == hb.id(m, "all")


def test_failed_signature_drops_the_slots_reserved_after_it(tmp_path, wallet, monkeypatch):
    """Slot n's signature fails while slot n+1 (chained on n's message) waits to be written:
    both are dropped, neither is stored, and both slots are handed out again."""
    store = FSStore(tmp_path / "s")
    opts = {"priv_store": store, "priv_wallet": wallet}
    proc, pid = _process(wallet, "failed-sign")
    assert _post(proc, proc, opts)[0] == "ok"
    import hyperbeam_fast.commitments as commitments

    real_commit = commitments.commit
    second_reserved = threading.Event()
    srv = sched.server(pid, opts)

    def slow_failing_commit(msg, w, *a, **k):
        if int(msg.get("slot", -1)) == 1:
            assert second_reserved.wait(10)
            raise SignatureError("signer failed (simulated)")
        return real_commit(msg, w, *a, **k)

    monkeypatch.setattr(commitments, "commit", slow_failing_commit)
    results = {}

    def send(i):
        results[i] = _post(proc, hb.commit({"target": pid, "i": i}, wallet), opts)

    t1 = threading.Thread(target=send, args=(1,))
    t1.start()
    _wait_for(lambda: srv.reserved >= 1)
    t2 = threading.Thread(target=send, args=(2,))
    t2.start()
    _wait_for(lambda: srv.reserved >= 2)
    second_reserved.set()
    t1.join()
    t2.join()
    assert results[1][0] == "error" and results[2][0] == "error", results
    assert srv.current == 0 and srv.reserved == 0
    assert cache.list_numbered(f"assignments/{pid}", store) == [0]
    monkeypatch.setattr(commitments, "commit", real_commit)
    s, a = _post(proc, hb.commit({"target": pid, "i": 3}, wallet), opts)
    assert s == "ok" and a["slot"] == 1
    _check_schedule(proc, pid, store, wallet, 2)
