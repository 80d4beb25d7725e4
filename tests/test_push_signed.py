"""push@1.0 commits what it delivers with the node's wallet (``dev_push:schedule_result``), so
AOS trusts a message from another process on the node: its owner is the node, one of the
process's ``authority`` (what the aos console spawns with). Found driving the aos console: an
unsigned delivery reached the handler as ``Message is not trusted! ... Owner:`` (empty)."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.commitments import signers
from hyperbeam_fast.devices.process import forget_live
from hyperbeam_fast.node import pipeline

pytest.importorskip("wasmtime")
ANS = [(b"content-type", b"application/ans104"), (b"codec-device", b"ans104@1.0")]
AOC = {"data-protocol": "ao", "variant": "ao.N.1"}


def _t(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _post(node, path, msg, w):
    st, h, body = node.handle("POST", path, ANS, ans104.encode(hb.commit(msg, w, "ans104@1.0")))
    assert st == 200, body[:500]
    return dict(h)


def _eval(node, pid, w, code):
    m = {**AOC, "type": "Message", "action": "Eval", "data": code, "target": hb.native_id(pid)}
    _post(node, f"/{pid}~process@1.0/push", m, w)
    st, _, body = node.handle("GET", f"/{pid}/now/results/data", [], b"")
    assert st == 200, body[:300]
    return body.decode()


@pytest.fixture()
def node_and_procs(aos_wasm, wallets):
    _, w1, w2 = wallets
    op = hb.Wallet.generate()
    node = pipeline.Node({"store": "memory"}, wallet=op)
    limits = {"memory-limit": "1-gb", "compute-limit": "9000000000000"}
    mod = hb.commit(
        {"content-type": "application/wasm", "data": aos_wasm, **limits}, w1, "ans104@1.0"
    )
    assert node.handle("POST", "/content-type", ANS, ans104.encode(mod))[0] == 200
    pids = []
    for w in (w1, w2):
        p = {**AOC, "device": "process@1.0", "type": "Process", "data": "1984"}
        p |= {"scheduler": op.address, "authority": op.address, "module": hb.id(mod, "all")}
        p["execution-device"] = "genesis-wasm@1.0"
        pids.append(_post(node, "/push", p, w)[b"process"].decode())
    yield node, op, pids, (w1, w2)
    forget_live()


def test_a_process_message_is_trusted_and_answered(node_and_procs):
    node, op, (p1, p2), (w1, w2) = node_and_procs
    handler = (
        'Handlers.add("Ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function(msg) '
        'Pinged = msg.From; msg.reply({ Data = "Pong to " .. msg.From }) end)'
    )
    _eval(node, p1, w1, handler)
    _eval(node, p2, w2, f'Send({{ Target = "{p1}", Action = "Ping", Data = "hi" }})')
    # the delivery on p1 was committed by the node, with dev_push's keys
    st, _, body = node.handle("GET", f"/{p1}/slot/current", [], b"")
    a = cache.read(f"assignments/{p1}/{int(body.decode())}", node.store)
    got = a["body"] if isinstance(a.get("body"), dict) else cache.read(a["message"], node.store)
    assert op.address in signers(got)
    assert (_t(got["from-process"]), _t(got["type"]), _t(got["variant"])) == (
        p2,
        "Message",
        "ao.N.1",
    )
    # AOS on p1 trusted it (the handler ran: not "Message is not trusted!"), and p2 got the reply
    assert _eval(node, p1, w1, "return Pinged") == p2
    assert _eval(node, p2, w2, "return Inbox[#Inbox].Data") == f"Pong to {p2}"


def test_a_module_cannot_make_the_node_sign_a_process(node_and_procs):
    node, op, (p1, p2), (w1, w2) = node_and_procs
    code = f'Send({{ Target = "{p1}", Type = "Process", Scheduler = "x", Data = "spawn?" }})'
    _eval(node, p2, w2, code)
    st, _, body = node.handle("GET", f"/{p1}/slot/current", [], b"")
    a = cache.read(f"assignments/{p1}/{int(body.decode())}", node.store)
    got = a["body"] if isinstance(a.get("body"), dict) else cache.read(a["message"], node.store)
    assert _t(got["type"]) == "Message" and _t(got["data"]) == "spawn?"  # not a definition


def test_a_pushed_message_replayed_to_the_node_is_no_operator_order(node_and_procs):
    """The node signs what push@1.0 delivers; fed back to it as a request (anyone can read it
    from the cache), it is not the operator's: a meta@1.0 update from it changes nothing."""
    from hyperbeam_fast.node import client

    node, op, (p1, p2), (w1, w2) = node_and_procs
    node.node_msg["operator"] = op.address
    code = f'Send({{ Target = "{p1}", Action = "Note", ["Evil-Setting"] = "pwned" }})'
    _eval(node, p2, w2, code)
    st, _, body = node.handle("GET", f"/{p1}/slot/current", [], b"")
    a = cache.read(f"assignments/{p1}/{int(body.decode())}", node.store)
    pushed = a["body"] if isinstance(a.get("body"), dict) else cache.read(a["message"], node.store)
    assert op.address in signers(pushed) and _t(pushed["evil-setting"]) == "pwned"
    req = {**pushed, "path": "/~meta@1.0/info", "method": "POST"}
    method, path, headers, body = client.encode_request(req, None)
    hdrs = [
        (k.encode(), v if isinstance(v, bytes) else str(v).encode()) for k, v in headers.items()
    ]
    st, _, reply = node.handle(method, path, hdrs, body)
    assert st >= 400, reply[:300]
    st, _, got = node.handle("GET", "/~meta@1.0/info/evil-setting", [], b"")
    assert st == 404 or b"pwned" not in got, got[:200]
