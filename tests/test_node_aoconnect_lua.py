"""aoconnect 0.0.98 (npm, mainnet mode) spawns and messages a hyper-aos (``lua@5.3a``) process on
a node this test starts, through ``request()`` with hand-built process and message fields
(issue 14 item 5), with keys that are not the operator's, in both of aoconnect's signing
formats. The module is uploaded as a signed ANS-104 data item (``Content-Type:
application/lua``); results are read through ``request()`` (``compute/results=N``, JSON).

What hyper-aos (the fixture, as HyperBEAM runs it) makes of them: it recognises the signer of
an httpsig ``rsa-pss-sha512`` commitment only, so ANS-104 messages (commitment ``alg:
rsa-pss``, as dev_codec_ans104 writes it) are "not trusted", and directly signed httpsig
messages are trusted (a message without a handler lands in the Inbox).

An httpsig message with a short ``data`` (aoconnect sends it as a signed ``data`` header) is
verified over the header as sent and evaluated. A ``data`` over 4 KiB cannot arrive through
aoconnect 0.0.98: it signs the body's ``content-digest`` but sends no body, which the node
refuses (400); tests/test_node_httpsig_data.py checks such a body sent as signed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import hyperbeam_fast as hb
import pytest
from node_util import NodeProc
from test_node_aoconnect import HERE, _ensure_npm


def _flow(tmp: Path, url: str, args: dict) -> dict:
    (tmp / "args.json").write_text(json.dumps(args))
    r = subprocess.run(
        ["node", str(HERE / "ao_lua.mjs"), url, str(tmp / "args.json")],
        capture_output=True,
        timeout=300,
        cwd=HERE,
    )
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("fmt", ["ans104", "httpsig"])
def test_aoconnect_request_spawns_and_messages_hyper_aos(fmt, fxdir, wallets, tmp_path):
    _ensure_npm()
    _, w1, w2 = wallets
    opkey = tmp_path / "operator.json"
    hb.Wallet.generate().save(opkey)
    k1, k2 = tmp_path / "k1.json", tmp_path / "k2.json"
    w1.save(k1)
    w2.save(k2)
    node = NodeProc(tmp_path / "node", key=opkey, store=str(tmp_path / "db"))
    try:
        lua = str(fxdir / "hyper-aos.lua")
        out = _flow(
            tmp_path, node.url, {"key": str(k1), "other": str(k2), "lua": lua, "format": fmt}
        )
    finally:
        assert node.stop() == 0
    assert out["upload"]["status"] == 200, out
    pid = out["spawn"]
    assert isinstance(pid, str) and len(pid) == 43, out
    if fmt == "ans104":
        assert out["two"] == {"slot": 1, "output": "Message is not trusted.", "outbox": []}, out
        assert out["ping"] == {"slot": 2, "output": "Message is not trusted.", "outbox": []}, out
    else:
        assert out["hello"] == {"slot": 1, "output": "New Message", "outbox": []}, out
        assert out["hello2"] == {"slot": 2, "output": "New Message", "outbox": []}, out
        # a short `data` is a signed `data` header: verified as sent, and the process sees it
        assert out["two"] == {"slot": 3, "output": "2", "outbox": []}, out
        # aoconnect 0.0.98 signs a long `data`'s content-digest but sends no body (its signed
        # request() passes only the headers to fetch): the node refuses it
        assert "push: 400" in out["long"]["error"], out
        assert "does not match its content-digest: 0 bytes" in out["long"]["error"], out
