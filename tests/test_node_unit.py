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


def _stored(node):
    """A signed message POSTed to ``node`` (stored); its ID."""
    signed = hb.commit({"key": "value", "n": 1}, hb.Wallet.generate())
    enc = hb.convert({**signed, "path": "/key"}, "httpsig@1.0")
    body = enc.pop("body", b"")
    st, _, _ = node.handle("POST", "/key", [(k.encode(), v) for k, v in enc.items()], body)
    assert st == 200
    return hb.id(hb.with_only_committed(signed), "all")


def _inline(node, path, headers=()):
    """What the ASGI app serves for a body-less GET: inline, deferred to finish(), or handle()."""
    from hyperbeam_fast.node.inline import Deferred

    out = node.handle_inline("GET", path, list(headers))
    if out is None:
        return "pool", node.handle("GET", path, list(headers), b"")
    if isinstance(out, Deferred):
        return "deferred", node.finish(out)
    return "inline", tuple(out)


def test_inline_fast_path_matches_the_pool():
    """handle_inline (event loop, cached info) answers exactly what handle (the pool) does."""
    node = Node(dict(config.DEFAULTS, force_signed=False), hb.Wallet.generate(), "memory")
    try:
        uid = _stored(node)
        cases = {
            "/~meta@1.0/info": "inline",
            f"/{uid}/key": "inline",
            f"/{uid}": "inline",
            "/~message@1.0&a+integer=5&b=x/a": "inline",
            "/~message@1.0&a=1/commit": "deferred",  # an RSA signature: never on the loop
            "/~relay@1.0/call?relay-path=http://127.0.0.1:1/x": "deferred",
            f"/{'A' * 43}/key": "deferred",  # not stored: the pool reports the miss
            "/a/(b": "inline",  # a path error: answered (400) without resolving
        }
        for path, how in cases.items():
            for hdrs in ((), ((b"host", b"h"), (b"accept", b"application/json"))):
                got_how, got = _inline(node, path, hdrs)
                want = node.handle("GET", path, list(hdrs), b"")
                assert got_how == how, path
                if "relay" in path or "commit" in path:  # a network error; RSA-PSS is salted
                    assert got[0] == want[0], path
                else:
                    assert got == want, path
        assert _inline(node, f"/{uid}/key")[1][2] == b"value"
        # signed requests and other codecs always take the pool
        assert node.handle_inline("GET", "/x", [(b"signature", b"x=:AA==:")]) is None
        assert node.handle_inline("GET", "/x", [(b"codec-device", b"json@1.0")]) is None
        assert node.handle_inline("POST", "/~meta@1.0/info", []) is None
    finally:
        node.close()


def test_info_cache_follows_the_node_message():
    """The cached ~meta@1.0/info response is per node-message version and per headers."""
    op = hb.Wallet.generate()
    node = Node(dict(config.DEFAULTS, force_signed=False), op, "memory")
    try:
        a = node.handle_inline("GET", "/~meta@1.0/info", [(b"host", b"h")])
        b = node.handle_inline("GET", "/~meta@1.0/info", [(b"host", b"other")])
        assert a is b  # transport headers do not split the cache
        j = node.handle_inline("GET", "/~meta@1.0/info", [(b"accept", b"application/json")])
        assert j is not a and (b"content-type", b"application/json") in j[1]
        assert tuple(a) == node.handle("GET", "/~meta@1.0/info", [], b"")
        _, msg = response_to_message(a[0], [(k.decode(), v) for k, v in a[1]], a[2])
        assert hb.verify(msg) and b"new_key" not in a[2] + b"".join(v for _, v in a[1])
        enc = hb.convert(hb.commit({"path": "/~meta@1.0/info", "new_key": "v1"}, op), "httpsig@1.0")
        body = enc.pop("body", b"")
        hdrs = [(k.encode(), v) for k, v in enc.items()]
        st, _, _ = node.handle("POST", "/~meta@1.0/info", hdrs, body)
        assert st == 200
        c = node.handle_inline("GET", "/~meta@1.0/info", [(b"host", b"h")])
        assert c is not a and (b"new_key", b"v1") in c[1]
        assert tuple(c) == node.handle("GET", "/~meta@1.0/info", [], b"")
    finally:
        node.close()


def test_inline_only_for_hmac_and_no_hooks():
    """RSA-signed responses (parallel signing in the pool) and hooks (any device) never run
    on the event loop; a stored message naming another device is deferred."""
    rsa = Node(dict(config.DEFAULTS), hb.Wallet.generate(), "memory")
    hook = {"device": "message@1.0", "path": "keys"}
    hooked = Node(
        dict(config.DEFAULTS, force_signed=False, on={"request": hook}),
        hb.Wallet.generate(),
        "memory",
    )
    node = Node(dict(config.DEFAULTS, force_signed=False), hb.Wallet.generate(), "memory")
    try:
        for n in (rsa, hooked):
            assert n.handle_inline("GET", "/~meta@1.0/info", []) is None
        from hyperbeam_fast import cache
        from hyperbeam_fast.node.inline import plain

        for dev in ("router@1.0", "Router@1.0"):
            ident = cache.write({"device": dev, "a": "1"}, node.store)
            assert _inline(node, f"/{ident}/a")[0] == "deferred"
        ident = cache.write({"a": {"b": {"DEVICE": "relay@1.0"}}}, node.store)
        assert _inline(node, f"/{ident}/a/b")[0] == "deferred"
        ident = cache.write({"a": "x" * 70_000}, node.store)  # big: the pool encodes it
        assert _inline(node, f"/{ident}/a")[0] == "deferred"
        assert plain({"a": [1, 2.5, True, None, b"x", {"device": "message@1.0"}]})
        assert not plain({"a": [{"Device": "relay@1.0"}]})
        assert not plain({"a": object()}) and not plain({"a": ("as", "x", {})})
    finally:
        for n in (rsa, hooked, node):
            n.close()


def test_a_node_process_tunes_its_collector() -> None:
    """``serve`` on a process's main thread freezes what start-up made and collects the young
    generation every GC_THRESHOLD0 allocations; run in a child so this process keeps its own."""
    import subprocess
    import sys

    code = (
        "import gc\n"
        "from hyperbeam_fast.node import server\n"
        "before = gc.get_threshold()\n"
        "server.tune_gc()\n"
        "after = gc.get_threshold()\n"
        "assert after == (server.GC_THRESHOLD0, before[1], before[2]), (before, after)\n"
        "assert server.GC_THRESHOLD0 > before[0] and gc.get_freeze_count() > 1000\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
