"""Node pieces without a socket: config precedence, request/response mapping, Node.handle."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.node import config
from hyperbeam_fast.node.http import (
    BadRequest,
    accept_to_codec,
    encode_response,
    request_to_singleton,
    response_to_message,
)
from hyperbeam_fast.node.server import Node


def test_config_precedence(tmp_path):
    cfg = tmp_path / "config.flat"
    cfg.write_text("port: 1234\nhost: https://ao.computer\nawait-inprogress: false\n")
    assert config.load(environ={})["port"] == config.DEFAULT_PORT == 8734
    assert config.load(environ={"HB_PORT": "9001"})["port"] == 9001
    o = config.load(config_path=cfg, environ={"HB_PORT": "9001"})
    assert o["port"] == 1234 and o["host"] == "https://ao.computer"
    assert o["await_inprogress"] is False or o["await_inprogress"] == "false"
    assert config.load({"port": 7}, cfg, {"HB_PORT": "9001"})["port"] == 7
    assert config.load(environ={"HB_CONFIG": str(cfg)})["port"] == 1234
    assert config.load(environ={"HB_KEY": "k.json"})["priv_key_location"] == "k.json"
    with pytest.raises(config.ConfigError):
        config.load(config_path=tmp_path / "missing.flat", environ={})
    bad = tmp_path / "bad.flat"
    bad.write_text("port: eighty\n")
    with pytest.raises(config.ConfigError):
        config.load(config_path=bad, environ={})


def test_request_mapping_and_accept():
    msg, signed = request_to_singleton("GET", "/a/b?x=1", [(b"host", b"h"), (b"k", b"v")], b"")
    assert msg == {"k": b"v", "method": "GET", "path": "/a/b?x=1"} and not signed
    w = hb.Wallet.generate()
    enc = hb.convert(hb.commit({"path": "/x", "a": "1"}, w), "httpsig@1.0")
    msg, signed = request_to_singleton("POST", "/x", [(k.encode(), v) for k, v in enc.items()], b"")
    assert signed and hb.signers(msg) == [w.address]
    enc["a"] = b"2"
    with pytest.raises(BadRequest):
        request_to_singleton("POST", "/x", [(k.encode(), v) for k, v in enc.items()], b"")
    with pytest.raises(BadRequest):
        request_to_singleton("POST", "/x", [(b"codec-device", b"json@1.0")], b"{bad")
    with pytest.raises(BadRequest):
        request_to_singleton("POST", "/x", [(b"codec-device", b"nope@9")], b"")
    assert accept_to_codec({"accept": b"application/json"}) == "json@1.0"
    assert accept_to_codec({"accept-codec": b"ans104@1.0"}) == "ans104@1.0"
    assert accept_to_codec({"accept": b"text/html"}) == "httpsig@1.0"


def test_response_roundtrip():
    st, headers, body = encode_response({"status": 201, "a": "1", "body": "hi"})
    assert st == 201 and body == b"hi"
    s, msg = response_to_message(st, [(k.decode(), v.decode()) for k, v in headers], body)
    assert s == "created" and msg["a"] == b"1"


def test_node_handle_in_process():
    node = Node(dict(config.DEFAULTS, force_signed=False), hb.Wallet.generate(), "memory")
    try:
        st, h, body = node.handle("GET", "/~message@1.0&x+integer=3/x", [], b"")
        assert (st, body) == (200, b"3")
        st, h, body = node.handle("GET", "/~meta@1.0/info", [], b"")
        assert st == 200 and b"priv" not in b"".join(v for _, v in h)
        st, _, _ = node.handle("POST", "/~meta@1.0/info", [(b"x", b"1")], b"")
        assert st == 400
        st, _, body = node.handle("GET", "/a/(b", [], b"")
        assert 400 <= st < 500
    finally:
        node.close()
