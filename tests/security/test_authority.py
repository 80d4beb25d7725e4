"""Issue 11, items 2, 4, 7, 8: who may change the node, what the node signs, what it schedules
and where it relays. Every attack runs over HTTP against a real node (operator key-1, which
is also the node's wallet; attacker key-2 or no key)."""

from __future__ import annotations

import http.client
import http.server
import threading
import urllib.parse
from collections.abc import Iterator

import hyperbeam_fast as hb
import pytest
from conftest import start_node
from hyperbeam_fast.node import client

META = "/~meta@1.0/info"


def _info(node) -> dict:
    st, info = client.get(node.url, META)
    assert st == "ok", info
    return info


def _operator(node) -> bytes:
    return _info(node)["operator"]


def _raw(node, method: str, path: str, headers: dict | None = None, body: bytes = b""):
    """One request with exactly these headers: ``(status, headers, body)``."""
    u = urllib.parse.urlsplit(node.url)
    c = http.client.HTTPConnection(u.netloc, timeout=30)
    try:
        c.request(method, path, body=body or None, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def _post_signed(node, path: str, signed: dict):
    """POST an already committed message (httpsig@1.0) to ``path``."""
    enc = hb.convert(signed, "httpsig@1.0")
    body = enc.pop("body", b"")
    return _raw(node, "POST", path, {k: v.decode("latin-1") for k, v in enc.items()}, body)


def _post_back(node, headers: list, body: bytes):
    """A reply of the node's (its headers and body as received) posted to meta@1.0/info."""
    skip = {"content-length", "date", "server", "connection"}
    back = {k: v for k, v in headers if k.lower() not in skip and "access-control" not in k}
    return _raw(node, "POST", META, back, body)


# --- item 2: the node signs only on its operator's behalf ---------------------------------------


def test_relay_get_cannot_sign_an_operator_change(node, attacker_wallet):
    """One anonymous GET asking relay@1.0 to sign (node wallet) a POST to the node's own
    meta@1.0/info used to make key-2 the operator."""
    q = (
        f"relay-path={node.url}{META}&relay-method=POST&requires-sign=true"
        f"&operator={attacker_wallet.address}"
    )
    st, _, body = _raw(node, "GET", f"/~relay@1.0/call?{q}")
    assert st == 403, body
    assert b"operator" in body
    # the same through a configured route (no full URL): signing is still the operator's
    q = f"relay-path={META}&relay-method=POST&requires-sign=true"
    st, _, body = _raw(node, "GET", f"/~relay@1.0/call?{q}&operator={attacker_wallet.address}")
    assert st == 403, body
    assert _operator(node) != attacker_wallet.address.encode()


def test_commit_with_the_node_wallet_is_operator_only(node, operator_wallet, attacker_wallet):
    path = f"/~message@1.0&operator={attacker_wallet.address}/commit"
    st, _, body = _raw(node, "GET", path)
    assert st == 403, body
    st, v = client.get(node.url, path, wallet=attacker_wallet)
    assert st == "error", v
    # an operator signature that does not cover the path does not choose what is signed
    st, _, out = _post_signed(node, path, hb.commit({"x": "1"}, operator_wallet))
    assert st == 403, out
    # the operator may have the node sign for it
    st, v = client.get(node.url, path, wallet=operator_wallet)
    assert st == "ok", v
    assert operator_wallet.address in hb.signers(v)


def test_a_node_signed_reply_is_not_a_request(node, attacker_wallet):
    """The node's signed reply to an anonymous GET, posted back as an update, is refused."""
    path = f"/~message@1.0&operator={attacker_wallet.address}&x=1/remove&item=device"
    st, headers, body = _raw(node, "GET", path)
    assert st == 200
    assert "signature" in {k.lower() for k, _ in headers}
    st, _, out = _post_back(node, headers, body)
    assert st == 400, out
    assert _operator(node) != attacker_wallet.address.encode()


def test_a_strict_node_takes_updates_signed_over_their_path(
    tmp_path, key1_path, operator_wallet, attacker_wallet
):
    """With ``operator_signs_path: true`` an operator signature that does not cover ``path``
    (one made for another purpose) changes nothing when posted to meta@1.0/info."""
    n = start_node(tmp_path / "n", key1_path, config="operator_signs_path: true\n")
    try:
        signed = hb.commit({"operator": attacker_wallet.address, "x": "1"}, operator_wallet)
        st, _, out = _post_signed(n, META, signed)
        assert st == 400, out
        assert b"operator" in out
        assert _operator(n) == operator_wallet.address.encode()
        assert _post_signed(n, META, _signed_update(operator_wallet, x="2"))[0] == 200
        assert _info(n)["x"] == b"2"
    finally:
        n.stop()


def test_a_node_signed_assignment_is_not_a_request(node, operator_wallet, attacker_wallet):
    """An assignment (signed by the node's wallet, its ``path`` the scheduled message's) posted
    back to meta@1.0/info changes nothing."""
    proc = hb.commit({"type": "Process", "device": "process@1.0", "z": "1"}, operator_wallet)
    pid = hb.id(proc, "all")
    assert _schedule(node, proc)[0] == "ok"
    msg = hb.commit({"path": META, "target": pid, "type": "Message"}, attacker_wallet)
    enc = hb.convert(
        {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": msg}, "httpsig@1.0"
    )
    body = enc.pop("body", b"")
    hdrs = {k: v.decode("latin-1") for k, v in enc.items()}
    st, headers, reply = _raw(node, "POST", "/~scheduler@1.0/schedule", hdrs, body)
    assert st == 200, reply
    st, _, out = _post_back(node, headers, reply)
    assert st == 400, out
    assert "hash-chain" not in _info(node)


# --- item 4: an operator update applies once ----------------------------------------------------


def _signed_update(wallet, **keys) -> dict:
    return hb.commit({"path": META, "method": "POST", **keys}, wallet)


def test_a_replayed_update_cannot_roll_the_node_back(node, operator_wallet):
    a = _signed_update(operator_wallet, setting="A")
    b = _signed_update(operator_wallet, setting="B")
    assert _post_signed(node, META, a)[0] == 200
    assert _post_signed(node, META, b)[0] == 200
    assert _info(node)["setting"] == b"B"
    st, _, out = _post_signed(node, META, a)  # the attacker replays the older update
    assert st == 409, out
    assert _info(node)["setting"] == b"B"
    assert _post_signed(node, META, b)[0] == 409


def _post_item(node, path: str, wallet, tags: list[tuple[bytes, bytes]]):
    """POST a signed ANS-104 data item (as clients send one) to ``path``."""
    from hyperbeam_fast import _native

    item = {"tags": tags, "data": b"", "target": b"", "anchor": b""}
    raw = _native.ans104_serialize(_native.ans104_sign(item, wallet._key))
    hdrs = {"codec-device": "ans104@1.0", "content-type": "application/ans104"}
    return _raw(node, "POST", path, hdrs, raw)


def test_an_operators_data_item_is_not_an_update(node, operator_wallet):
    """A data item is a public document (it may be on Arweave) and its signature does not
    cover the path it is posted to: one the operator signed for something else (a process, a
    module) posted to meta@1.0/info changes nothing, with or without a ``Path`` tag."""
    st, _, out = _post_item(node, META, operator_wallet, [(b"Type", b"Process"), (b"Ds", b"X")])
    assert st == 400 and b"ANS-104" in out, out
    st, _, out = _post_item(node, META, operator_wallet, [(b"Path", META.encode()), (b"Ds", b"Z")])
    assert st == 400, out
    assert "ds" not in _info(node)
    route = [(b"Template", b"/evil"), (b"Node", b"http://127.0.0.1:1"), (b"Priority", b"1")]
    st, _, out = _post_item(node, "/~router@1.0/routes", operator_wallet, route)
    assert st == 400, out  # nor a route of the operator's
    st, rs = client.get(node.url, "/~router@1.0/routes")
    assert b"/evil" not in repr(rs).encode()
    st, _, out = _post_signed(node, META, _signed_update(operator_wallet, ds="W"))
    assert st == 200, out  # the same key, signed over httpsig@1.0 by the operator
    assert _info(node)["ds"] == b"W"


def test_applied_updates_are_remembered_across_restarts(tmp_path, key1_path, operator_wallet):
    store = f"rocksdb:{tmp_path / 'db'}"
    a = _signed_update(operator_wallet, setting="A")
    n = start_node(tmp_path / "n", key1_path, store=store)
    try:
        assert _post_signed(n, META, a)[0] == 200
    finally:
        n.stop()
    n = start_node(tmp_path / "n", key1_path, store=store)
    try:
        assert "setting" not in _info(n)  # the node message comes from config.flat again
        st, _, out = _post_signed(n, META, a)
        assert st == 409, out
        assert "setting" not in _info(n)
    finally:
        n.stop()


# --- item 7: the scheduler assigns slots to signed messages only --------------------------------


def _schedule(node, body: dict, wallet=None, path: str = "/~scheduler@1.0/schedule"):
    return client.post(node.url, path, {"method": "POST", "body": body}, wallet=wallet)


def _slot(node, pid: str) -> int:
    st, v = client.get(node.url, f"/~scheduler@1.0/slot?target={pid}")
    assert st == "ok", v
    return int(v["current"])


def test_unsigned_messages_get_no_slot(node, operator_wallet):
    proc = hb.commit({"type": "Process", "device": "process@1.0", "x": "1"}, operator_wallet)
    pid = hb.id(proc, "all")
    st, a = _schedule(node, proc)
    assert st == "ok", a
    assert _slot(node, pid) == 0
    st, v = _schedule(node, {"type": "Message", "target": pid, "action": "Eval"})
    assert st == "error", v
    assert _slot(node, pid) == 0
    st, v = _schedule(node, hb.commit({"type": "Message", "target": pid}, operator_wallet))
    assert st == "ok", v
    assert _slot(node, pid) == 1


def test_unsigned_process_definitions_are_not_stored(node):
    proc = {"type": "Process", "device": "process@1.0", "nonce": "unsigned"}
    pid = hb.id(proc, "all")
    st, v = _schedule(node, proc)
    assert st == "error", v
    st, v = client.get(node.url, f"/{pid}/nonce")
    assert st == "error", v
    assert _slot(node, pid) == -1


def test_no_slots_in_made_up_processes(node, attacker_wallet):
    pid = hb.id({"type": "Process", "made": "up"}, "all")
    st, v = _schedule(node, hb.commit({"type": "Message", "target": pid}, attacker_wallet))
    assert st == "error", v
    assert _slot(node, pid) == -1


def test_a_signed_reply_is_not_schedulable(node, operator_wallet):
    """A reply signed by the node's wallet (key-1, status covered, as the node signs every
    reply) does not speak for its signer: scheduled into a process that key owns, its Owner
    would be the node. It gets no slot."""
    proc = hb.commit({"type": "Process", "device": "process@1.0", "y": "1"}, operator_wallet)
    pid = hb.id(proc, "all")
    assert _schedule(node, proc)[0] == "ok"
    reply = hb.commit({"target": pid, "action": "Eval", "status": 200}, operator_wallet)
    st, v = _schedule(node, reply)
    assert st == "error", v
    assert _slot(node, pid) == 0


# --- item 8: no requests to arbitrary URLs for strangers -----------------------------------------


class _Listener:
    """A local HTTP server that records the paths it was asked for."""

    def __init__(self) -> None:
        seen = self.seen = []
        signed = self.signed = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                seen.append(self.path)
                signed.append("signature" in {k.lower() for k in self.headers})
                data = b"listener"
                self.send_response(200)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *a: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def listener() -> Iterator[_Listener]:
    s = _Listener()
    try:
        yield s
    finally:
        s.close()


def test_strangers_relay_only_along_the_operators_routes(
    node, listener, operator_wallet, attacker_wallet
):
    route = {"template": "^/routed", "node": listener.url, "priority": 1}
    st, v = client.post(node.url, "/~router@1.0/routes", route, wallet=attacker_wallet)
    assert st == "error", v
    st, v = client.post(node.url, "/~router@1.0/routes", route, wallet=operator_wallet)
    assert st == "ok", v
    attempts = [
        f"/~relay@1.0/call?relay-path={listener.url}/full-url",
        f"/~relay@1.0/call?relay-peer={listener.url}&relay-path=/routed/relay-peer",
        f"/~relay@1.0/call?peer={listener.url}&relay-path=/routed/peer",
        f"/~relay@1.0/cast?relay-path={listener.url}/cast",
        "/~relay@1.0/call?relay-path=/routed/signed&requires-sign=true",
    ]
    for path in attempts:
        st, _, body = _raw(node, "GET", path)
        assert st == 403, (path, st, body)
        st, v = client.get(node.url, path, wallet=attacker_wallet)
        assert st == "error", (path, v)
    # an operator signature that does not cover the path (made for another purpose)
    stray = hb.commit({"x": "1"}, operator_wallet)
    st, _, out = _post_signed(node, "/~relay@1.0&requires-sign=true/call", stray)
    assert st == 403, out
    assert listener.seen == []
    # along a configured route anyone may relay; a full URL is the operator's to ask for
    st, _, body = _raw(node, "GET", "/~relay@1.0/call?relay-path=/routed/x")
    assert st == 200, body
    path = f"/~relay@1.0/call?relay-path={listener.url}/op"
    st, v = client.get(node.url, path, wallet=operator_wallet)
    assert st == "ok", v
    assert listener.seen == ["/routed/x", "/op"]


def test_a_route_of_the_operators_may_sign_relayed_requests(node, listener, operator_wallet):
    """The node signs a stranger's relayed request only along a route whose configuration (the
    operator's) says ``requires-sign``; along other routes it relays unsigned."""
    for template, sign in (("^/signed", True), ("^/plain", False)):
        route = {"template": template, "node": listener.url, "requires-sign": sign}
        st, v = client.post(node.url, "/~router@1.0/routes", route, wallet=operator_wallet)
        assert st == "ok", v
    for path in ("/signed/x", "/plain/y"):
        st, _, body = _raw(node, "GET", f"/~relay@1.0/call?relay-path={path}")
        assert st == 200, body
    assert listener.seen == ["/signed/x", "/plain/y"]
    assert listener.signed == [True, False]


def test_a_signed_method_must_be_the_requests_method(node, operator_wallet):
    """A message signed for a GET (its ``method`` committed) cannot be replayed as a POST: the
    signed method comes from the signer, the HTTP method from whoever sends it."""
    signed = hb.commit({"path": META, "method": "GET", "test_option": "x"}, operator_wallet)
    st, _, body = _post_signed(node, META, signed)
    assert st == 400 and b"signed method" in body, body
    assert "test_option" not in _info(node)
    # the control: signed for a POST and sent as one, the operator's update applies
    signed = hb.commit({"path": META, "method": "POST", "test_option": "x"}, operator_wallet)
    st, _, body = _post_signed(node, META, signed)
    assert st == 200, body
    assert _info(node)["test_option"] == b"x"
