"""A real AO client against the real node: @permaweb/ao-core-libs (aoconnect's mainnet request
layer) and aoconnect's mainnet mode send signed httpsig requests; our node verifies them and
answers, and npm http-message-signatures verifies the node's signed responses.

Setup: `npm install` in tests/interop/aoconnect (done here when node_modules is missing)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import hyperbeam_fast as hb
import installed
from node_util import NodeProc

HERE = Path(__file__).parent / "interop" / "aoconnect"


def _ensure_npm() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        installed.missing("Node.js/npm are not installed: the aoconnect interop test needs them")
    if not (HERE / "node_modules" / "@permaweb" / "ao-core-libs").exists():
        r = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            timeout=600,
        )
        if r.returncode != 0:
            installed.missing(f"npm install failed: {r.stderr.decode()[-500:]}")


def _jwk(w: hb.Wallet, path: Path) -> Path:
    w.save(path)
    return path


def test_aoconnect_signed_requests(tmp_path):
    _ensure_npm()
    op, other = hb.Wallet.generate(), hb.Wallet.generate()
    opf, otherf = _jwk(op, tmp_path / "op.json"), _jwk(other, tmp_path / "other.json")
    node = NodeProc(tmp_path / "node", key=opf)
    try:
        r = subprocess.run(
            ["node", str(HERE / "ao_client.mjs"), node.url, str(opf), str(otherf)],
            capture_output=True,
            timeout=120,
            cwd=HERE,
        )
        assert r.returncode == 0, r.stderr.decode()[-3000:]
        out = json.loads(r.stdout.decode().strip().splitlines()[-1])
    finally:
        node.stop()
    assert out["info_status"] == 200 and out["info_address"] == op.address
    # the node's response signatures verify in Node's crypto over the received headers, with
    # HyperBEAM's signature base (derived components written without '@'); a strict RFC 9421
    # verifier (npm http-message-signatures) rejects that base: out[...]["rfc"] is False.
    assert out["info_verified"]["hb"] is True
    assert out["update_status"] == 200, out
    assert "Node message updated" in out["update_body"]
    assert out["foreign_update_status"] == 400
    assert out["read_back"] == "set-by-aoconnect"
    assert (out["post_status"], out["post_body"]) == (200, "Value1")
    assert out["post_verified"]["hb"] is True
    assert out["aoconnect_body"] == "hello", out
