"""cache@1.0 and lookup@1.0 over running nodes, and RemoteStore writes between two nodes
(HyperBEAM ``dev_cache`` ``cache_write_message_test``/``cache_write_binary_test``,
``dev_lookup`` ``message_lookup_test``/``aos2_message_lookup_test``/``http_lookup_test``,
``hb_store_remote_node``): the operator and a second listed key write and read back; a
non-writer, an unsigned request and a bad signature get a 4xx and store nothing; links follow
the rules of docs/security.md (never repointed, no names); the aos-2 JSON; a restart."""

from __future__ import annotations

import base64
import hashlib
import json

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.exceptions import NotFound, StoreError
from hyperbeam_fast.node import client
from hyperbeam_fast.store import RemoteStore
from node_util import NodeProc

AOS2 = "application/aos-2"


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _data(b: bytes) -> str:
    return "data/" + _b64(hashlib.sha256(b).digest())


def _fresh_id(tag: str) -> str:
    """An ID-shaped key nothing names (a hashpath segment), never starting with '-'."""
    return "A" + _b64(hashlib.sha256(tag.encode()).digest())[1:]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    ws = [hb.Wallet.generate() for _ in range(3)]
    ws[0].save(d / "a.json")
    ws[1].save(d / "b.json")
    return d / "a.json", d / "b.json", ws[0], ws[1], ws[2]


def _write(url, body, wallet, **extra):
    return client.post(url, "/~cache@1.0/write", {"body": body, **extra}, wallet=wallet)


def _link(url, source, destination, wallet):
    msg = {"source": source, "destination": destination}
    return client.post(url, "/~cache@1.0/link", msg, wallet=wallet)


def _read(url, target):
    return client.get(url, f"/~cache@1.0/read?target={target}")


def _missing(url, target):
    return client.raw("GET", url, f"/~cache@1.0/read?target={target}")[0] == 404


def _call(node, msg, wallet=None, method="POST", codec="httpsig@1.0"):
    """One request through an in-process node's pipeline (no HTTP server)."""
    meth, path, headers, body = client.encode_request({**msg, "method": method}, wallet, codec)
    st, hdrs, out = node.handle(meth, path, [(k.encode(), v) for k, v in headers.items()], body)
    return client.response_to_message(st, [(k.decode(), v) for k, v in hdrs], out)


def test_a_writer_cannot_repoint_or_alter_a_victim_id(keys):
    """Attacks by a listed writer: a message carrying the victim's commitment over other
    content, a link of the victim's ID to other content, a key added under the victim's
    group, an alias over the victim's unsigned ID: all 400, the victim reads the same."""
    from hyperbeam_fast.node.pipeline import Node

    _, _, op, writer, victim_key = keys
    node = Node({"force_signed": False, "cache_writers": [writer.address]}, wallet=op)
    try:
        victim = hb.commit({"v": "victim", "n": "1"}, victim_key)
        assert _call(node, {"path": "/~cache@1.0/write", "body": victim}, writer)[0] == "ok"
        vid, vuid = hb.id(victim, "all"), hb.id(victim)
        st, res = _call(node, {"path": "/~cache@1.0/write", "body": {"x": "1"}}, op)
        assert st == "error" and res["status"] == 403  # the operator is not listed here
        forged = {**victim, "v": "attacker"}
        st, res = _call(node, {"path": "/~cache@1.0/write", "body": forged}, writer)
        assert st == "error" and res["status"] == 400
        other = _call(node, {"path": "/~cache@1.0/write", "body": {"v": "attacker"}}, writer)
        oid = other[1]["path"].decode()
        for dst in (vid, vuid, f"{vid}/{_fresh_id('k')}", f"{vuid}/v"):
            link = {"path": "/~cache@1.0/link", "source": oid, "destination": dst}
            st, res = _call(node, link, writer)
            assert st == "error" and res["status"] == 400, (dst, res)
        batch = {"1": {"operation": "link", "source": oid, "destination": vid}}
        st, res = _call(node, {"path": "/~cache@1.0/write", "type": "batch", "body": batch}, writer)
        assert st == "error" and res["status"] == 400
        # an ans104-signed write: its signature is credited with no covered keys (authority)
        item = {"path": "/~cache@1.0/write", "body": "by ans104"}
        st, res = _call(node, item, writer, codec="ans104@1.0")
        assert st == "error" and res["status"] == 403
        assert node.store.read(_data(b"by ans104")) is None
        for target in (vid, vuid):
            got = cache.read(target, node.store)
            assert got["v"] == b"victim" and sorted(got) == ["commitments", "n", "v"]
            assert hb.signers(got) == [victim_key.address]
    finally:
        node.close()


def test_cache_write_read_link_and_restart(tmp_path, keys):
    akey, _, op, second, stranger = keys
    config = f"cache_writers/1: {op.address}\ncache_writers/2: {second.address}\n"
    store = f"rocksdb:{tmp_path / 'db'}"
    node = NodeProc(tmp_path / "n1", config=config, key=akey, store=store)
    url = node.url
    try:
        # the operator writes a message (cache_write_message_test) and reads it back
        msg = {"test_key": "test_value", "n": 7}
        st, res = _write(url, msg, op)
        assert st == "ok" and res["status"] == 200, res
        uid = res["path"].decode()
        assert uid == hb.id(msg)
        st, got = _read(url, uid)
        assert st == "ok" and hb.match(msg, got, "only_present")
        # the second listed key writes a binary (cache_write_binary_test)
        st, res = _write(url, b"test_binary", second)
        assert st == "ok" and res["path"] == _data(b"test_binary").encode()
        assert _read(url, _data(b"test_binary")) == ("ok", b"test_binary")
        # a message signed by someone else, written by a writer, keeps its signature
        signed = hb.commit({"x": "signed by the stranger"}, stranger)
        assert _write(url, signed, op)[0] == "ok"
        st, got = _read(url, hb.id(signed, "all"))
        assert st == "ok" and hb.verify(got) and hb.signers(got) == [stranger.address]

        # refused: a non-writer, an unsigned request, a bad signature; nothing is stored
        evil = {"evil": "content"}
        st, res = _write(url, evil, stranger)
        assert st == "error" and res["status"] == 403 and b"cache_writers" in res["body"]
        st, res = _write(url, evil, None)
        assert st == "error" and res["status"] == 403 and b"signed" in res["body"]
        assert _missing(url, hb.id(evil))
        meth, path, headers, body = client.encode_request(
            {"method": "POST", "path": "/~cache@1.0/write", "body": b"good"}, op
        )
        status, _, text = client.raw(meth, url, path, headers, b"evil")
        assert 400 <= status < 500 and (b"signature" in text.lower() or b"digest" in text.lower())
        assert _missing(url, _data(b"evil")) and _missing(url, _data(b"good"))
        # a commitment that does not verify: refused, nothing stored
        forged = {**signed, "x": "altered"}
        st, res = _write(url, forged, op)
        assert st == "error" and res["status"] == 400
        assert _missing(url, hb.id({"x": "altered"}))
        # only signed keys count: a `type` added to a signed request is dropped (a single write)
        meth, path, headers, body = client.encode_request(
            {"method": "POST", "path": "/~cache@1.0/write", "body": b"typed"}, op
        )
        headers = {**headers, "type": b"batch"}
        status, _, text = client.raw(meth, url, path, headers, body)
        assert status == 200, text
        assert _read(url, _data(b"typed")) == ("ok", b"typed")
        st, res = _write(url, b"x", op, location="local-name@1.0/mine")
        assert st == "error" and res["status"] == 400

        # links: a binary's ID (its hash) to it; idempotent; an ID never repointed
        bid = _data(b"test_binary")[5:]
        st, res = _link(url, _data(b"test_binary"), bid, second)
        assert st == "ok" and res["path"] == bid.encode() and res["status"] == 200
        assert _read(url, bid) == ("ok", b"test_binary")
        assert _link(url, _data(b"test_binary"), bid, op)[0] == "ok"
        st, res = _link(url, uid, bid, op)  # bid is no ID of uid's message
        assert st == "error" and res["status"] == 400
        assert _read(url, bid) == ("ok", b"test_binary")
        st, res = _link(url, uid, hb.id(signed, "all"), op)  # the stranger's ID
        assert st == "error" and res["status"] == 400
        st, got = _read(url, hb.id(signed, "all"))
        assert st == "ok" and got["x"] == b"signed by the stranger"
        st, res = _link(url, uid, _fresh_id("not-its-id"), op)
        assert st == "error" and res["status"] == 400
        assert _missing(url, _fresh_id("not-its-id"))
        # no other destination: names, node records, data/, hashpaths (they would add a key
        # to the message their first segment names, or make its group before it arrives)
        fresh_hp = f"{_fresh_id('base')}/{_fresh_id('step')}"
        for dst in ("local-name@1.0/evil", _data(b"other"), "node-updates/x", fresh_hp):
            st, res = _link(url, _data(b"test_binary"), dst, op)
            assert st == "error" and res["status"] == 400, (dst, res)
            assert _missing(url, dst)
        st, res = _link(url, _data(b"test_binary"), f"{uid}/{_fresh_id('step')}", op)
        assert st == "error" and res["status"] == 400
        st, got = _read(url, uid)
        assert st == "ok" and sorted(k for k in got if k != "status") == ["n", "test_key"]
        st, res = _link(url, "nothing-here", _fresh_id("a"), op)
        assert st == "error" and res["status"] == 404
        st, res = _link(url, _data(b"typed"), _data(b"typed")[5:], stranger)
        assert st == "error" and res["status"] == 403
        assert _missing(url, _data(b"typed")[5:])
        # a signed message's unsigned ID already names it: linking it again is idempotent
        assert _link(url, hb.id(signed, "all"), hb.id(signed), op)[0] == "ok"

        # batch (dev_cache write type=batch): items in order, a link to an earlier write
        hp2 = _data(b"batch one")[5:]
        batch = {
            "1": {"body": b"batch one"},
            "2": {"body": {"k": "v"}},
            "3": {"operation": "link", "source": _data(b"batch one"), "destination": hp2},
        }
        st, res = _write(url, batch, op, type="batch")
        assert st == "ok" and res["status"] == 200, res
        assert res["2"]["path"] == hb.id({"k": "v"}).encode()
        assert _read(url, hp2) == ("ok", b"batch one")
        bad = {"1": {"body": b"batch two"}, "2": {"operation": "link", "source": "x"}}
        st, res = _write(url, bad, op, type="batch")
        assert st == "error" and res["status"] == 400 and b"'2'" in res["body"]
        st, res = _write(url, b"x", op, type="nonsense")
        assert st == "error" and res["status"] == 400

        # aos-2 (dev_lookup aos2_message_lookup_test) through cache@1.0 and lookup@1.0
        item = {"test-key": "test-value", "data": "test-data"}
        iid = _write(url, item, op)[1]["path"].decode()
        for dev in ("cache", "lookup"):
            req = {"path": f"/~{dev}@1.0/read?target={iid}", "accept": "application/aos-2"}
            st, res = client.request("GET", url, req)
            assert st == "ok" and res["content-type"] == b"application/aos-2", res
            js = json.loads(res["body"])
            assert js["Data"] == "test-data" and js["Id"] == iid and js["Signature"] == ""
            assert {"name": "Test-Key", "value": "test-value"} in js["Tags"]
        st, res = client.get(url, f"/~cache@1.0/read?target={iid}&accept=application/aos-2")
        assert st == "ok" and json.loads(res["body"])["Data"] == "test-data"
        st, res = client.request(
            "GET",
            url,
            {"path": f"/~lookup@1.0/read?target={hb.id(signed, 'all')}", "accept": AOS2},
        )
        js = json.loads(res["body"])
        assert js["Owner"] == js["From"] == stranger.address and js["Signature"] == ""
        assert js["Id"] == hb.id(signed, "all")
        # http_lookup_test: a signed POST
        req = {"path": f"/~lookup@1.0/read?target={iid}", "accept": "application/aos-2"}
        st, res = client.request("POST", url, req, wallet=op)
        assert st == "ok" and json.loads(res["body"])["Data"] == "test-data"
        st, got = client.get(url, f"/~lookup@1.0/read?target={iid}")
        assert st == "ok" and hb.match(item, got, "only_present")
        st, res = client.get(url, f"/~lookup@1.0/read?target={_fresh_id('none')}")
        assert st == "error" and res["status"] == 404
        assert client.raw("GET", url, "/~cache@1.0/read?target=..%2Fetc")[0] == 400
    finally:
        node.stop()
    node = NodeProc(tmp_path / "n2", config=config, key=akey, store=store)
    try:  # everything lives in the store
        st, got = _read(node.url, uid)
        assert st == "ok" and hb.match(msg, got, "only_present")
        assert _read(node.url, bid) == ("ok", b"test_binary")
        assert _read(node.url, hp2) == ("ok", b"batch one")
    finally:
        node.stop()


def test_remote_store_writes_and_links_between_nodes(tmp_path, keys):
    akey, bkey, op, b_wallet, stranger = keys
    config = f"cache_writers: {op.address},{b_wallet.address}\n"
    store = f"rocksdb:{tmp_path / 'db'}"
    a = NodeProc(tmp_path / "a1", config=config, key=akey, store=store)
    b = None
    try:
        # node B keeps its cache on A: what it stores goes to A, signed with B's wallet
        b = NodeProc(tmp_path / "b", key=bkey, store=a.url)
        target = hb.commit({"path": "/deep", "deep": "PING"}, stranger)
        assert client.request("POST", b.url, target) == ("ok", b"PING")
        tid = hb.id(target, "all")
        st, got = _read(a.url, tid)  # B stored the signed request (store_all_signed) on A
        assert st == "ok" and got["deep"] == b"PING" and hb.signers(got) == [stranger.address]
        assert client.get(b.url, f"/{tid}/deep") == ("ok", b"PING")  # B reads it from A
        # the store API with B's wallet: a message, a binary at a hashpath, a link
        rs = RemoteStore(a.url, wallet=b_wallet)
        assert rs.writable
        msg = {"pushed": "by B", "nested": {"k": "v"}}
        assert cache.write(msg, rs) == hb.id(msg)
        assert cache.write(b"result bytes", rs) == _data(b"result bytes")
        rid = _data(b"result bytes")[5:]
        cache.link(_data(b"result bytes"), rid, rs)  # a binary's ID names it on A
        with pytest.raises(StoreError, match="400"):
            cache.link(_data(b"result bytes"), hb.id(msg), rs)  # an ID of something else
        with pytest.raises(StoreError, match="400"):  # a hashpath result: refused (security §3)
            cache.write_binary(f"{_fresh_id('rb')}/{_fresh_id('rs')}", b"result", rs)
        # a non-writer's store, and one without a wallet, write nothing
        with pytest.raises(StoreError, match="403"):
            cache.write({"pushed": "by a stranger"}, RemoteStore(a.url, wallet=stranger))
        with pytest.raises(StoreError, match="read-only"):
            cache.write({"pushed": "without a key"}, RemoteStore(a.url))
        assert _missing(a.url, hb.id({"pushed": "by a stranger"}))
        assert _missing(a.url, hb.id({"pushed": "without a key"}))
    finally:
        if b is not None:
            b.stop()
        a.stop()
    a = NodeProc(tmp_path / "a2", config=config, key=akey, store=store)
    try:  # A restarted: what B pushed is still there
        r = RemoteStore(a.url)
        assert hb.match(cache.read(hb.id(msg), r), msg)
        assert cache.read(rid, r) == b"result bytes"
        assert cache.read(f"{hb.id(msg)}/nested/k", r) == b"v"
        assert cache.read(tid, r)["deep"] == b"PING"
        with pytest.raises(NotFound):
            cache.read(hb.id({"pushed": "by a stranger"}), r)
    finally:
        a.stop()
