"""Processes over the real node (issue 7 correctness bar): a `hyperbeam-fast serve` subprocess,
driven over HTTP only.

* AOS end to end: upload the image (a signed message the node stores), spawn the process
  (``POST /~scheduler@1.0/schedule`` with the signed process as body: it is stored and takes
  slot 0, as in HyperBEAM), schedule signed ``Eval``/``Increment`` messages from two wallets
  (``POST /<ProcID>/schedule``), compute (``GET /<ProcID>/compute/results/data?slot=N``,
  ``/<ProcID>/now``); stop the node, start it again on the same RocksDB store: ``now`` gives the
  same state and hashpath, and a new slot is computed from the latest snapshot plus a replay;
  the ``state-hashpath`` chain is recomputed here from the schedule the node serves.
* Runaway modules: an infinite loop (fuel), unbounded memory growth (memory limit) and a
  malformed image each end with an error status, while the node keeps answering.

AOS needs Binaryen's translate-to-exnref (tools/binaryen, ``npm ci``) or an already cached
translation; without either the AOS test skips.
"""

from __future__ import annotations

import threading
import time

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.devices.process import AOS_EXECUTION
from hyperbeam_fast.node import client
from node_util import NodeProc

wasmtime = pytest.importorskip("wasmtime")

TIMEOUT = 120.0


def _t(v):
    return v.decode() if isinstance(v, bytes) else v


def upload(url: str, wasm: bytes, w: hb.Wallet) -> str:
    """Store an image on the node: a signed request is stored (``store_all_signed``)."""
    img = hb.commit({"path": "/content-type", "content-type": "application/wasm", "body": wasm}, w)
    st, v = client.request("POST", url, img, timeout=TIMEOUT)
    assert (st, v) == ("ok", b"application/wasm")
    return hb.id(hb.with_only_committed(img), "all")


def spawn(url: str, w: hb.Wallet, image_id: str, **fields) -> str:
    proc = hb.commit({"device": "process@1.0", "type": "Process", "image": image_id, **fields}, w)
    pid = hb.id(proc, "all")
    st, a = client.post(
        url, "/~scheduler@1.0/schedule", {"method": "POST", "body": proc}, timeout=TIMEOUT
    )
    assert st == "ok" and a["slot"] == 0 and _t(a["process"]) == pid, a
    return pid


def schedule(url: str, pid: str, msg: dict) -> int:
    st, a = client.post(url, f"/{pid}/schedule", {"method": "POST", "body": msg}, timeout=TIMEOUT)
    assert st == "ok", a
    assert hb.signers(a)  # the assignment comes back signed by the scheduler
    return a["slot"]


def get(url: str, path: str):
    return client.get(url, path, timeout=TIMEOUT)


def test_aos_over_http_counter_restart_and_hashpath(aos_wasm, wallets, tmp_path):
    keyfile, w1, w2 = wallets
    store = str(tmp_path / "db")
    cfg = "process_snapshot_interval: 40\n"
    node = NodeProc(tmp_path / "node", config=cfg, key=keyfile, store=store)
    try:
        url = node.url
        img = upload(url, aos_wasm, w1)
        pid = spawn(
            url,
            w1,
            img,
            scheduler=w1.address,
            authority=f"{w1.address},{w2.address}",
            **AOS_EXECUTION,
        )

        def ev(code: str, w=w1) -> int:
            return schedule(url, pid, hb.commit({"target": pid, "action": "Eval", "data": code}, w))

        s = ev("return 1 + 1")
        assert get(url, f"/{pid}/compute/results/data?slot={s}") == ("ok", b"2")
        ev(
            'Handlers.add("inc", Handlers.utils.hasMatchingTag("Action", "Increment"), '
            "function(msg) Count = (Count or 0) + 1; Senders = Senders or {}; "
            "Senders[msg.From] = true end)"
        )
        for i in range(100):
            w = (w1, w2)[i % 2]
            schedule(url, pid, hb.commit({"target": pid, "action": "Increment", "n": str(i)}, w))
        last = ev(
            "local n = 0; for _ in pairs(Senders) do n = n + 1 end; "
            "return tostring(Count) .. ' ' .. n"
        )
        assert last == 103
        assert get(url, f"/{pid}/now/results/data") == ("ok", b"100 2")
        st, hp = get(url, f"/{pid}/now/state-hashpath")
        assert st == "ok" and get(url, f"/{pid}/now/at-slot") == ("ok", last)
        assert get(url, f"/{pid}/slot/current") == ("ok", last)
    finally:
        assert node.stop() == 0

    # restart on the same store: the schedule, the results and the snapshots are all there
    node = NodeProc(tmp_path / "node", config=cfg, key=keyfile, store=store)
    try:
        url = node.url
        assert get(url, f"/{pid}/now/results/data") == ("ok", b"100 2")
        assert get(url, f"/{pid}/now/state-hashpath") == ("ok", hp)
        # a new slot: no live state, so the latest snapshot (slot 80) plus a replay of 81..104
        nxt = schedule(
            url, pid, hb.commit({"target": pid, "action": "Eval", "data": "return Count"}, w1)
        )
        assert nxt == last + 1
        assert get(url, f"/{pid}/now/results/data") == ("ok", b"100")
        st, hp2 = get(url, f"/{pid}/now/state-hashpath")
        assert st == "ok"
        # the hashpath chain, recomputed from the schedule the node serves
        asg: dict = {}
        for frm in range(0, nxt + 1, 25):  # pages of 25 (each a signed response)
            st, sch = get(url, f"/{pid}/schedule?from={frm}&to={min(frm + 24, nxt)}")
            assert st == "ok" and _t(sch["process"]) == pid, sch
            asg.update(sch["assignments"])
        assert sorted(int(k) for k in asg) == list(range(nxt + 1))
        chain = pid
        for n in range(nxt + 1):
            a = asg[str(n)]
            assert hb.signers(a) == [w1.address] and a["slot"] == n
            chain = hb.hashpath({"priv": {"hashpath": chain}}, a)
            if n == last:
                assert chain == _t(hp)
        assert chain == _t(hp2)
        # an earlier slot is served from the result cache
        assert get(url, f"/{pid}/compute/results/data?slot=1") == ("ok", b"2")
        # POST /<ProcID>/push: schedules the body, computes it, answers with its results
        m = hb.commit({"target": pid, "action": "Eval", "data": "return 3 * 3"}, w1)
        st, r = client.post(url, f"/{pid}/push", {"method": "POST", "body": m}, timeout=TIMEOUT)
        assert st == "ok" and r["slot"] == nxt + 1 and _t(r["data"]) == "9", r
    finally:
        assert node.stop() == 0


LOOP = """(module (memory (export "memory") 1)
  (func (export "spin") (loop (br 0)))
  (func (export "ok") (result i32) (i32.const 42)))"""
GROW = """(module (memory (export "memory") 1)
  (func (export "grow") (result i32)
    (loop (if (i32.ne (memory.grow (i32.const 16)) (i32.const -1)) (then (br 1))))
    unreachable)
  (func (export "ok") (result i32) (i32.const 7)))"""


@pytest.fixture(scope="module")
def limits_node(tmp_path_factory, wallets):
    keyfile, _, _ = wallets
    cfg = "wasm_fuel: 300000000\nwasm_memory_limit: 67108864\n"
    n = NodeProc(tmp_path_factory.mktemp("limits"), config=cfg, key=keyfile)
    yield n
    n.stop()


def _wasm_process(url: str, w: hb.Wallet, image: bytes) -> str:
    img = upload(url, image, w)
    return spawn(
        url,
        w,
        img,
        scheduler=w.address,
        **{"execution-device": "stack@1.0", "device-stack": ["wasm-64@1.0"]},
    )


def _call(url: str, pid: str, fn: str, w: hb.Wallet) -> int:
    return schedule(url, pid, hb.commit({"target": pid, "type": "Message", "function": fn}, w))


def _info_ok(url: str) -> None:
    st, v = get(url, "/~meta@1.0/info/address")
    assert st == "ok" and v


def test_runaway_loop_memory_and_malformed_modules(limits_node, wallets):
    _, w, _ = wallets
    url = limits_node.url
    # an infinite loop: out of fuel -> an error result; the process moves on
    pid = _wasm_process(url, w, wasmtime.wat2wasm(LOOP))
    s = _call(url, pid, "spin", w)
    ok_slot = _call(url, pid, "ok", w)
    got: dict = {}

    def spin() -> None:
        got["r"] = get(url, f"/{pid}/compute/results?slot={s}")

    th = threading.Thread(target=spin)  # the node answers while a resolver thread spins
    th.start()
    time.sleep(0.05)
    t0 = time.time()
    _info_ok(url)
    assert time.time() - t0 < 10
    th.join(TIMEOUT)
    st, res = got["r"]
    assert st == "ok" and _t(res["type"]) == "error" and "fuel" in _t(res["error"]), res
    st, res = get(url, f"/{pid}/compute/results?slot={ok_slot}")
    assert st == "ok" and _t(res["type"]) == "ok" and res["output"] == [42], res

    # memory growth past wasm_memory_limit (64 MiB here): a trap -> an error result
    pid = _wasm_process(url, w, wasmtime.wat2wasm(GROW))
    s = _call(url, pid, "grow", w)
    ok_slot = _call(url, pid, "ok", w)
    st, res = get(url, f"/{pid}/compute/results?slot={s}")
    assert st == "ok" and _t(res["type"]) == "error" and res.get("error"), res
    st, res = get(url, f"/{pid}/compute/results?slot={ok_slot}")
    assert st == "ok" and res["output"] == [7], res

    # a malformed image: init fails -> the compute request ends with an error status
    pid = _wasm_process(url, w, b"\0asm\x01\0\0\0 this is not a module")
    s = _call(url, pid, "ok", w)
    st, res = get(url, f"/{pid}/compute?slot={s}")
    assert st in ("error", "failure") and res["status"] >= 400, res
    assert "init" in _t(res.get("body", b"")) + _t(res.get("phase", b"")), res

    # and the node keeps answering
    _info_ok(url)
    st, _ = client.post(url, "/k", {"k": "v"})
    assert st == "ok"
