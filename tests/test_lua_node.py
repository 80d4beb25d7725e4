"""hyper-aos over the real node (issue 14 item 5): a `hyperbeam-fast serve` subprocess driven over
HTTP only. The hyper-aos module is stored as a signed message, a signed process with
``execution-device: lua@5.3a`` is spawned through the scheduler, Eval/handler messages are
scheduled (``/<pid>/schedule``) and computed (``/<pid>/compute``, ``/<pid>/now``), an outbox
message is pushed (``/<pid>/push``) to a second Lua process; after a node restart on the same
store the process answers from its Lua checkpoint."""

from __future__ import annotations

import hyperbeam_fast as hb
from hyperbeam_fast.node import client
from node_util import NodeProc

TIMEOUT = 120.0
PING = (
    "Handlers.add('ping', function(m) return m.body.action == 'Ping' end, function(msg)"
    " Pings = (Pings or 0) + 1; print('ping ' .. Pings); msg.reply({data = 'pong'}) end)"
)


def _t(v):
    return v.decode() if isinstance(v, bytes) else v


def _upload(url, code, w):
    mod = hb.commit({"path": "/content-type", "content-type": "application/lua", "body": code}, w)
    assert client.request("POST", url, mod, timeout=TIMEOUT) == ("ok", b"application/lua")
    return hb.id(hb.with_only_committed(mod), "all")


def _spawn(url, w, mod, **extra):
    proc = hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "scheduler": w.address,
            "execution-device": "lua@5.3a",
            "module": mod,
            "authority": w.address,
            **extra,
        },
        w,
    )
    pid = hb.id(proc, "all")
    st, a = client.post(
        url, "/~scheduler@1.0/schedule", {"method": "POST", "body": proc}, timeout=TIMEOUT
    )
    assert st == "ok" and a["slot"] == 0 and _t(a["process"]) == pid, a
    return pid


def _schedule(url, pid, w, **fields):
    m = hb.commit({"target": pid, "type": "Message", **fields}, w)
    st, a = client.post(url, f"/{pid}/schedule", {"method": "POST", "body": m}, timeout=TIMEOUT)
    assert st == "ok", a
    return a["slot"]


def _data(url, pid, slot=None):
    q = (
        f"/{pid}/compute/results/output/data?slot={slot}"
        if slot is not None
        else (f"/{pid}/now/results/output/data")
    )
    return client.get(url, q, timeout=TIMEOUT)


def test_hyper_aos_over_http_push_and_restart(fxdir, wallets, tmp_path):
    keyfile, w, guest = wallets
    code = (fxdir / "hyper-aos.lua").read_text()
    store = str(tmp_path / "db")
    cfg = "process_snapshot_interval: 5\n"
    node = NodeProc(tmp_path / "node", config=cfg, key=keyfile, store=store)
    try:
        url = node.url
        mod = _upload(url, code, w)
        pid = _spawn(url, w, mod)
        s = _schedule(url, pid, w, action="Eval", data="1 + 1")
        assert _data(url, pid, s) == ("ok", b"2")
        _schedule(url, pid, w, action="Eval", data=PING)
        s = _schedule(url, pid, guest, action="Ping")
        st, res = client.get(url, f"/{pid}/compute/results?slot={s}", timeout=TIMEOUT)
        assert st == "ok" and _t(res["output"]["data"]) == "ping 1"
        (reply,) = res["outbox"].values()
        assert _t(reply["data"]) == "pong" and _t(reply["target"]) == guest.address
        # the guest's Eval is not run: it goes to the Inbox
        s = _schedule(url, pid, guest, action="Eval", data="Pings = 100")
        assert _data(url, pid, s) == ("ok", b"New Message")
        for _ in range(8):
            _schedule(url, pid, guest, action="Ping")
        _schedule(
            url,
            pid,
            w,
            action="Eval",
            data="return Pings .. ' ' .. #Inbox .. ' ' .. "
            "Inbox[1].body.type .. ' ' .. Inbox[2].body.action",
        )
        # the Inbox: the process message itself (slot 0 of a spawn) and the guest's Eval
        assert _data(url, pid) == ("ok", b"9 2 Process Eval")
        # push: the outbox of the pushed slot is scheduled on the target process
        bid = _spawn(url, w, mod, name="B")
        m = hb.commit(
            {
                "target": pid,
                "type": "Message",
                "action": "Eval",
                "data": f"Send({{target = '{bid}', action = 'Note', data = 'hello'}}); return 1",
            },
            w,
        )
        st, r = client.post(url, f"/{pid}/push", {"method": "POST", "body": m}, timeout=TIMEOUT)
        assert st == "ok" and _t(r["1"]["status"]) == "ok", (
            r
        )  # push@1.0: deliveries at the top level
        # the pushed message is slot 1 of B, from A, signed by the node (dev_push); B's
        # hyper-aos computes it (not a failed slot) and, as it trusts only its owner, says so
        st, a1 = client.get(url, f"/{bid}/schedule?from=1", timeout=TIMEOUT)
        assert st == "ok", a1
        body = a1["assignments"]["1"]["body"]
        assert _t(body["action"]) == "Note" and _t(body["data"]) == "hello", body
        assert _t(body["from-process"]) == pid and hb.verify(body)
        assert hb.committers(body) == [w.address]  # the node's key (key-1)
        st, res = client.get(url, f"/{bid}/compute/results?slot=1", timeout=TIMEOUT)
        assert st == "ok" and _t(res.get("type")) != "error", res
        assert _t(res["output"]["data"]) == "Message is not trusted."
        at = client.get(url, f"/{pid}/now/at-slot", timeout=TIMEOUT)
    finally:
        assert node.stop() == 0

    node = NodeProc(tmp_path / "node2", config=cfg, key=keyfile, store=store)
    try:
        url = node.url
        assert client.get(url, f"/{pid}/now/at-slot", timeout=TIMEOUT) == at
        s = _schedule(url, pid, w, action="Eval", data="return Pings .. ' ' .. #Inbox")
        assert _data(url, pid, s) == ("ok", b"9 2")
    finally:
        assert node.stop() == 0
