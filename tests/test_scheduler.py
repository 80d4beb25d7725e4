"""scheduler@1.0 (runtime §11): slots, signed assignments, hash chain, persistence."""

from __future__ import annotations

import base64
import hashlib

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.devices import scheduler as sched
from hyperbeam_fast.devices.process import register_process_devices
from hyperbeam_fast.store import FSStore

register_process_devices()


@pytest.fixture(scope="module")
def wallet(shared_dir):
    p = shared_dir / "fixtures" / "hyperbeam" / "key-1.json"
    if not p.exists():
        pytest.skip("key-1.json missing from ../shared/fixtures/hyperbeam")
    return hb.Wallet.from_file(str(p))


def _d(s):
    s = s.decode() if isinstance(s, bytes) else s
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def test_schedule_slots_chain_and_restart(tmp_path, wallet):
    store = FSStore(tmp_path / "store")
    opts = {"priv_store": store, "priv_wallet": wallet}
    proc = hb.commit(
        {"device": "scheduler@1.0", "type": "Process", "scheduler": wallet.address}, wallet
    )
    pid = hb.id(proc, "all")
    s, a0 = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": proc}, opts)
    assert s == "ok" and a0["slot"] == 0 and hb.verify(a0)
    assert hb.signers(a0) == [wallet.address]
    msgs = [
        hb.commit({"inner": f"m{i}", "target": pid, "type": "Message"}, wallet) for i in range(3)
    ]
    for i, m in enumerate(msgs, 1):
        s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
        assert s == "ok" and a["slot"] == i and _t(a["process"]) == pid
    s, info = ao.resolve(proc, {"path": "slot"}, opts)
    assert info["current"] == 3
    s, st = ao.resolve(proc, "status", opts)
    assert pid in st["processes"]
    # restart: a fresh server reads the store and continues the slots and the chain
    sched.forget_servers()
    store2 = FSStore(tmp_path / "store")
    opts2 = {"priv_store": store2, "priv_wallet": wallet}
    m4 = hb.commit({"inner": "m4", "target": pid}, wallet)
    s, a4 = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m4}, opts2)
    assert a4["slot"] == 4
    s, bundle = ao.resolve(proc, {"path": "schedule", "from": 0, "to": 4}, opts2)
    asg = bundle["assignments"]
    assert sorted(int(k) for k in asg) == [0, 1, 2, 3, 4]
    assert _t(asg["2"]["body"]["inner"]) == "m1"
    chain = b""
    for n in range(5):
        a = asg[str(n)]
        body_id = hb.id(a["body"], "all")
        chain = hashlib.sha256(chain + _d(body_id)).digest()
        assert _d(a["hash-chain"]) == chain, n


def test_tampered_message_is_refused(wallet):
    opts = {"priv_wallet": wallet}
    m = hb.commit({"inner": "x", "target": "A" * 43}, wallet)
    bad = {**m, "inner": "y"}
    s, r = ao.resolve(
        {"device": "scheduler@1.0"}, {"path": "schedule", "method": "POST", "body": bad}, opts
    )
    assert s == "error" and r["status"] == 400


def test_get_schedule_pages(wallet):
    from hyperbeam_fast.store import MemoryStore

    opts = {"priv_store": MemoryStore()}
    proc = hb.commit({"device": "scheduler@1.0", "type": "Process", "pages": "1"}, wallet)
    pid = hb.id(proc, "all")
    for i in range(5):
        body = proc if i == 0 else hb.commit({"n": i, "target": pid}, wallet)
        s, a = ao.resolve(
            {"device": "scheduler@1.0"}, {"path": "schedule", "method": "POST", "body": body}, opts
        )
        assert s == "ok" and a["slot"] == i
    s, b = ao.resolve(
        {"device": "scheduler@1.0"}, {"path": "schedule", "target": pid, "from": 2}, opts
    )
    assert sorted(b["assignments"]) == ["2", "3", "4"] and b["continues"] is False
    s, nxt = ao.resolve(
        {"device": "scheduler@1.0", "at-slot": 1}, {"path": "next", "target": pid}, opts
    )
    assert s == "ok" and nxt["body"]["slot"] == 2
    s, nxt = ao.resolve(
        {"device": "scheduler@1.0", "at-slot": 4}, {"path": "next", "target": pid}, opts
    )
    assert s == "error" and nxt["status"] == 503


def test_only_signed_messages_in_known_processes(wallet):
    """Issue 11 item 7: no slot for an unsigned message, nor in a process the scheduler does
    not know; an unsigned process definition is not stored."""
    from hyperbeam_fast import cache
    from hyperbeam_fast.exceptions import NotFound
    from hyperbeam_fast.store import MemoryStore

    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": wallet}
    dev = {"device": "scheduler@1.0"}
    unsigned_proc = {"device": "scheduler@1.0", "type": "Process", "u": "1"}
    s, r = ao.resolve(dev, {"path": "schedule", "method": "POST", "body": unsigned_proc}, opts)
    assert s == "error" and r["status"] == 400
    with pytest.raises(NotFound):
        cache.read(hb.id(unsigned_proc, "all"), store)
    made_up = hb.commit({"target": "Q" * 43, "type": "Message"}, wallet)
    s, r = ao.resolve(dev, {"path": "schedule", "method": "POST", "body": made_up}, opts)
    assert s == "error" and r["status"] == 404
    proc = hb.commit({**unsigned_proc}, wallet)
    pid = hb.id(proc, "all")
    # the signed definition as the base: the process is known without slot 0
    m = {"target": pid, "type": "Message"}
    s, r = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
    assert s == "error" and r["status"] == 400
    s, a = ao.resolve(
        proc, {"path": "schedule", "method": "POST", "body": hb.commit(m, wallet)}, opts
    )
    assert s == "ok" and a["slot"] == 0


def _t(v):
    return v.decode() if isinstance(v, bytes) else v
