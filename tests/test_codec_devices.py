"""Issue 13, item 6: the codecs are preloaded devices (HyperBEAM's ``dev_codec_*`` in
``hb_opts`` ``preloaded_devices``), answering over HTTP as HyperBEAM does; ``commit`` with the
node's wallet stays the operator's; an unknown device is a 404 naming it."""

from __future__ import annotations

import http.client
import json
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.node import client
from node_util import NodeProc

CODECS = ("json@1.0", "flat@1.0", "httpsig@1.0", "structured@1.0", "ans104@1.0")


@pytest.fixture(scope="module")
def wallets(shared_dir: Path) -> tuple[Path, hb.Wallet, hb.Wallet]:
    fx = shared_dir / "fixtures" / "hyperbeam"
    return (
        fx / "key-1.json",
        hb.Wallet.from_file(str(fx / "key-1.json")),
        hb.Wallet.from_file(str(fx / "key-2.json")),
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory, wallets) -> Iterator[NodeProc]:
    """A node whose wallet and operator is key-1."""
    tmp = tmp_path_factory.mktemp("codec-node")
    shutil.copy(wallets[0], tmp / "key-1.json")
    n = NodeProc(tmp / "n", key=tmp / "key-1.json")
    try:
        yield n
    finally:
        n.stop()


def _raw(node: NodeProc, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    u = urllib.parse.urlsplit(node.url)
    c = http.client.HTTPConnection(u.netloc, timeout=30)
    try:
        c.request(method, path, body=body or None, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_the_codecs_are_preloaded_devices():
    devices = ao.registered_devices()
    for name in CODECS:
        assert name in devices, name


def test_json_serialize_of_the_request(node):
    """``/~json@1.0/serialize``: ``{content-type: application/json, body: JSON of the base}``."""
    st, headers, body = _raw(node, "GET", "/~json@1.0/serialize")
    assert st == 200, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"device": "json@1.0", "method": "GET"}


def test_meta_info_as_json(node, wallets):
    """HyperBEAM's documented ``/~meta@1.0/info/~json@1.0/serialize``: the node's info."""
    st, headers, body = _raw(node, "GET", "/~meta@1.0/info/~json@1.0/serialize")
    assert st == 200, body
    assert headers["content-type"] == "application/json"
    info = json.loads(body)
    assert info["address"] == wallets[1].address
    assert info["device"] == "json@1.0"
    assert "priv_wallet" not in info and not any(k.startswith("priv") for k in info)
    st, plain = client.get(node.url, "/~meta@1.0/info")
    assert st == "ok"
    assert info["operator"].encode() == plain["operator"]


def test_json_deserialize(node):
    st, _, body = _raw(node, "GET", "/~json@1.0/deserialize")
    assert st == 404
    assert body == b"JSON payload not found in the base message.Searched for: body"
    st, headers, body = _raw(
        node, "POST", "/~json@1.0/deserialize", b'{"greeting":"hi","n":3}', {"content-type": "x"}
    )
    assert st == 200, body
    assert headers["greeting"] == "hi"
    assert headers["n"] == "3"


def test_json_device_in_process():
    base = {"device": "json@1.0", "a": 1, "b": [True, None, b"x"], "priv": {"k": "v"}}
    st, out = hb.resolve(base, "serialize")
    assert st == "ok"
    assert out["content-type"] == "application/json"
    assert out["body"] == b'{"a":1,"b":[true,null,"x"],"device":"json@1.0"}'
    st, out = hb.resolve(
        {"device": "json@1.0", "data": '{"x":[1,2]}'}, {"path": "deserialize", "target": "data"}
    )
    assert st == "ok"
    assert {k: v for k, v in out.items() if k != "priv"} == {"x": [1, 2]}
    st, out = hb.resolve({"device": "json@1.0", "body": b"\xff"}, "serialize")
    assert st == "error" and out["status"] == 400 and b"UTF-8" in out["body"].encode()


def test_flat_serialize_and_deserialize(node):
    st, _, body = _raw(node, "GET", "/~flat@1.0/serialize?x=1")
    assert st == 200, body
    assert body == b"device: flat@1.0\nmethod: GET\nx: 1\n"
    dev = ao.load_device("flat@1.0")
    assert dev.deserialize(b"a/b: 1\nc: 2\n") == ("ok", {"a": {"b": b"1"}, "c": b"2"})
    # dev_codec_flat:deserialize/1 takes a binary: a map base is HyperBEAM's crash, a 400 here
    st, _, body = _raw(node, "GET", "/~flat@1.0/deserialize")
    assert st == 400
    assert b"flat@1.0" in body and b"binary" in body


def test_ans104_serialize_and_deserialize(node):
    st, _, body = _raw(node, "GET", "/~ans104@1.0/serialize?x=1")
    assert st == 200, body
    item = ans104.decode(body)
    assert item["x"] in (b"1", "1") and item["device"] in (b"ans104@1.0", "ans104@1.0")
    st, headers, body = _raw(node, "POST", "/~ans104@1.0/deserialize", body)
    assert st == 200, body
    assert headers["x"] == "1"
    st, _, body = _raw(node, "GET", "/~ans104@1.0/deserialize")
    assert st == 400 and b"ans104@1.0" in body


@pytest.mark.parametrize("device", ["httpsig@1.0", "structured@1.0"])
def test_codecs_without_serialize_fall_back_to_message(node, device):
    """dev_codec_httpsig and dev_codec_structured export no ``serialize``: message@1.0's get."""
    st, _, body = _raw(node, "GET", f"/~{device}/serialize")
    assert st == 404, body


@pytest.mark.parametrize("device", CODECS)
def test_codec_commit_with_the_node_wallet_is_operator_only(node, wallets, device):
    _, operator, attacker = wallets
    path = f"/~{device}&operator={attacker.address}&x=1/commit"
    st, _, body = _raw(node, "GET", path)
    assert st == 403, body
    st, v = client.get(node.url, path, wallet=attacker)
    assert st == "error", v
    st, v = client.get(node.url, path, wallet=operator)
    assert st == "ok", v
    assert operator.address in hb.signers(v)  # ans104@1.0's too: it rides an ans104 reply


def test_an_ans104_commitment_rides_the_http_reply(node, wallets):
    """``POST /~message@1.0/commit&commitment-device=ans104@1.0`` by the operator: an httpsig
    reply would strip the data item's signature (dev_codec_httpsig_conv:to carries httpsig
    commitments only), so the reply is the signed item (``codec-device: ans104@1.0``), as
    hb_http:encode_reply sends an ans104-committed message and hb_http:request reads it."""
    _, operator, _ = wallets
    msg = {"path": "/~message@1.0/commit&commitment-device=ans104@1.0", "x": "1", "y": "two"}
    meth, path, headers, body = client.encode_request({**msg, "method": "POST"}, operator)
    st, rheaders, rbody = client.raw(meth, node.url, path, headers, body)
    assert st == 200, rbody
    h = {k.lower(): v for k, v in rheaders}
    assert h["codec-device"] == "ans104@1.0" and h["content-type"] == "application/ans104"
    assert ans104.verify_item(rbody)  # the body is the signed data item itself
    item = ans104.decode(rbody)
    assert item["x"] == b"1" and item["y"] == b"two" and "status" not in item
    ((cid, c),) = item["commitments"].items()
    assert c["commitment-device"] == b"ans104@1.0" and c["committer"] == operator.address.encode()
    assert ans104.verify_commitment(item, cid, c)
    assert hb.signers(item) == [operator.address]
    # our client reads it back by its codec-device, signature and all
    st, v = client.post(node.url, msg["path"], {"x": "1", "y": "two"}, wallet=operator)
    assert st == "ok" and hb.signers(v) == [operator.address]
    assert v["x"] == b"1" and "status" not in v  # the item as signed (the 200 is the status line)
    # an httpsig commit still answers in httpsig, its signature in the headers
    st, rheaders, _ = client.raw(
        *_encoded_post(operator, "/~message@1.0/commit&commitment-device=httpsig@1.0", node.url)
    )
    h = {k.lower(): v for k, v in rheaders}
    assert st == 200 and "signature" in h and "codec-device" not in h


def _encoded_post(wallet, path, url):
    meth, p, headers, body = client.encode_request(
        {"path": path, "x": "1", "method": "POST"}, wallet
    )
    return meth, url, p, headers, body


@pytest.mark.parametrize("device", CODECS)
def test_codec_commit_uses_its_commitment_device(wallets, device):
    """dev_codec_json/flat/structured commit through httpsig@1.0; ans104@1.0 signs a data item."""
    st, v = ao.load_device(device).commit({"x": "1"}, {}, {"priv_wallet": wallets[1]})
    assert st == "ok", v
    assert hb.signers(v) == [wallets[1].address]
    want = "ans104@1.0" if device == "ans104@1.0" else "httpsig@1.0"
    assert {ao.text(c.get("commitment-device")) for c in v["commitments"].values()} == {want}
    # the request cannot pick another scheme
    st, v = ao.load_device(device).commit(
        {"x": "1"}, {"commitment-device": "nope@1.0"}, {"priv_wallet": wallets[1]}
    )
    assert st == "ok"
    assert {ao.text(c.get("commitment-device")) for c in v["commitments"].values()} == {want}


@pytest.mark.parametrize("device", CODECS)
def test_codec_verify(device, wallets):
    signed = hb.commit(
        {"x": "1"}, wallets[1], "ans104@1.0" if device == "ans104@1.0" else "httpsig@1.0"
    )
    st, ok = ao.load_device(device).verify(signed)
    assert (st, ok) == ("ok", True)
    tampered = {**signed, "x": "2"}
    assert ao.load_device(device).verify(tampered) == ("ok", False)


def test_unknown_device_is_a_404_naming_it(node):
    for path in ("/~nope@1.0/x", "/~meta@1.0/info/~nope@1.0/serialize"):
        st, _, body = _raw(node, "GET", path)
        assert st == 404, body
        assert b"nope@1.0" in body


def test_reply_codec_keeps_every_signature(wallets):
    from hyperbeam_fast.node.http import encode_response, reply_codec

    _, a, _ = wallets
    item = hb.commit({"x": "1"}, a, "ans104@1.0")
    assert reply_codec(item, "httpsig@1.0") == "ans104@1.0"
    assert reply_codec(item, "json@1.0") == "json@1.0"  # asked for explicitly: as asked
    assert reply_codec(hb.commit({"x": "1"}, a), "httpsig@1.0") == "httpsig@1.0"
    assert reply_codec({"x": "1"}, "httpsig@1.0") == "httpsig@1.0"
    # a status the node adds after signing does not enter the item (it would void it)
    st, headers, body = encode_response({**item, "status": 200}, "httpsig@1.0")
    assert st == 200 and (b"codec-device", b"ans104@1.0") in headers
    assert ans104.verify_item(body) and "status" not in ans104.decode(body)
    st, headers, body = encode_response({**item, "status": 201}, "ans104@1.0")
    assert st == 201 and ans104.verify_item(body)
