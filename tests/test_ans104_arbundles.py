"""Interop: ANS-104 data items against an independent peer, ``@dha-team/arbundles`` (npm).

arbundles must verify the data items we sign, and we must verify the items it signs with the
same RSA-4096 JWK (``../shared/fixtures/hyperbeam/key-1.json``, read at test time). The npm
project is ``tests/interop``; ``npm ci`` (or ``npm install``) runs into its ``node_modules``
the first time and is reused afterwards. Skips only when ``node``/``npm`` or the key are missing.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import installed
import pytest
from hyperbeam_fast import _native
from hyperbeam_fast import verify as hb_verify
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.wallet import Wallet
from vectors import find_shared_dir

INTEROP = Path(__file__).resolve().parent / "interop"
PEER = INTEROP / "arbundles_peer.js"


def _install() -> None:
    if (INTEROP / "node_modules" / "@dha-team" / "arbundles").is_dir():
        return
    cmd = "ci" if (INTEROP / "package-lock.json").is_file() else "install"
    args = ["npm", cmd, "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    res = subprocess.run(args, cwd=INTEROP, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.fail(f"npm {cmd} failed in tests/interop: {res.stderr[-2000:]}")


@pytest.fixture(scope="module")
def peer():
    if shutil.which("node") is None or shutil.which("npm") is None:
        installed.missing("node/npm not installed: the arbundles interop peer cannot run")
    _install()

    def call(request: dict) -> dict:
        res = subprocess.run(
            ["node", str(PEER)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=INTEROP,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr[-2000:]
        return json.loads(res.stdout)

    return call


@pytest.fixture(scope="module")
def jwk():
    shared = find_shared_dir()
    path = shared / "fixtures" / "hyperbeam" / "key-1.json" if shared else None
    if path is None or not path.is_file():
        pytest.skip("../shared/fixtures/hyperbeam/key-1.json not found (set HYPERBEAM_SHARED)")
    return json.loads(path.read_text())


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _items(wallet: Wallet) -> list[bytes]:
    """Data items we sign: plain, tagged, target + anchor, empty, bundles, a signed message."""
    key = wallet._key
    txs = [
        {"data": b"hello"},
        {"tags": [(b"Content-Type", b"text/plain"), (b"a", b"1"), (b"empty", b"")], "data": b"x"},
        {"target": bytes(range(32)), "last_tx": b"A" * 32, "tags": [(b"k", b"v")], "data": b"t"},
        {},
        {"tags": [(b"a", b"1")], "data": {"n": {"tags": [(b"b", b"2")]}, "big": b"z" * 300}},
    ]
    out = [_native.ans104_serialize(_native.ans104_sign(tx, key)) for tx in txs]
    committed = ans104.commit({"a": "1", "Caps": "X", "nested": {"n": 5}}, wallet)
    out.append(ans104.encode(committed))
    return out


def test_arbundles_verifies_our_items(peer, jwk):
    wallet = Wallet.from_jwk(jwk)
    items = _items(wallet)
    res = peer({"verify": [_b64(i) for i in items]})["verify"]
    assert len(res) == len(items)
    for raw, r in zip(items, res, strict=True):
        assert r["valid"] is True, r
        ours = _native.ans104_parse(raw, unbundle=False)
        assert r["id"] == _native.b64url_encode(ours["id"])
        assert [(t["name"].encode(), t["value"].encode()) for t in r["tags"]] == ours["tags"]
        assert base64.b64decode(r["data"]) == ours["data"]
        assert ans104.verify_item(raw)


def test_arbundles_rejects_our_tampered_items(peer, jwk):
    wallet = Wallet.from_jwk(jwk)
    raw = _items(wallet)[1]
    bad = []
    for pos in (10, 600, len(raw) - 1):
        b = bytearray(raw)
        b[pos] ^= 1
        bad.append(bytes(b))
    res = peer({"verify": [_b64(b) for b in bad]})["verify"]
    assert [r["valid"] for r in res] == [False, False, False]
    assert ans104.verify_many(bad) == [False, False, False]


def test_we_verify_arbundles_items(peer, jwk):
    wallet = Wallet.from_jwk(jwk)
    specs = [
        {"data": _b64(b"from arbundles"), "tags": [{"name": "App-Name", "value": "x"}]},
        {
            "data": _b64(b""),
            "tags": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}],
            "target": _native.b64url_encode(bytes(range(32))),
            "anchor": "B" * 32,
        },
        {"data": _b64(bytes(range(256)) * 8), "tags": []},
        {  # a message as aoconnect signs it (with arbundles)
            "data": _b64(b"return 1 + 1"),
            "tags": [
                {"name": n, "value": v}
                for n, v in (
                    ("Data-Protocol", "ao"),
                    ("Variant", "ao.TN.1"),
                    ("Type", "Message"),
                    ("SDK", "aoconnect"),
                    ("Action", "Eval"),
                )
            ],
            "target": _native.b64url_encode(bytes(range(32))),
        },
    ]
    signed = [base64.b64decode(s) for s in peer({"jwk": jwk, "sign": specs})["signed"]]
    assert ans104.verify_many(signed) == [True] * len(signed)
    assert ans104.verify_many(signed, threads=1) == [True] * len(signed)
    for raw, spec in zip(signed, specs, strict=True):
        tx = _native.ans104_parse(raw)
        assert tx["owner"] == wallet.modulus
        assert tx["data"] == base64.b64decode(spec["data"])
        assert [(n.decode(), v.decode()) for n, v in tx["tags"]] == [
            (t["name"], t["value"]) for t in spec["tags"]
        ]
        assert _native.ans104_serialize(tx) == raw  # byte-exact re-serialisation
        # as a message: one ans104 commitment by key-1 that verifies
        msg = ans104.decode(raw)
        ((cid, c),) = msg["commitments"].items()
        assert cid == _native.b64url_encode(tx["id"])
        assert c["committer"].decode() == wallet.address
        # duplicated lowercase names get original-tags here (HyperBEAM records none and the
        # re-encoded message loses its signature), so every client item verifies as a message
        assert ans104.verify_commitment(msg, cid, c)
        assert ans104.encode(msg) == raw
        # the one native pass of the ingress takes these items, with the same message
        fast = ans104.decode_verified(raw)
        assert fast is not None and fast[1] and fast[0] == msg
    first = ans104.decode(signed[0])
    assert first["app-name"] == b"x"
    assert "original-tags" in next(iter(first["commitments"].values()))
    # a changed tag value no longer verifies
    msg = ans104.decode(signed[0])
    ((cid, c),) = msg["commitments"].items()
    msg["app-name"] = b"y"
    assert not ans104.verify_commitment(msg, cid, c)


# --- items and bundles as clients make them (issue 13 item 5) ------------------------------------

_CLIENT_TAGS = [
    [
        {"name": "Empty-Value", "value": ""},
        {"name": "Ünï-Náme", "value": "x"},
        {"name": "App-Name", "value": "y"},
    ],
    [{"name": "empty", "value": ""}, {"name": "a", "value": "1"}],
    [{"name": "ünï", "value": "ß"}, {"name": "", "value": "empty name"}],
    [
        {"name": "E", "value": ""},
        {"name": "ao-types", "value": 'x="integer"'},
        {"name": "x", "value": "5"},
    ],
]


def test_arbundles_items_with_empty_values_and_unicode_names_survive(peer, jwk):
    """parse -> message -> item is byte-exact, and the item verifies in both forms."""
    specs = [{"data": _b64(b"client data"), "tags": tags} for tags in _CLIENT_TAGS]
    signed = [base64.b64decode(s) for s in peer({"jwk": jwk, "sign": specs})["signed"]]
    assert ans104.verify_many(signed) == [True] * len(signed)
    for raw, spec in zip(signed, specs, strict=True):
        tx = ans104.parse(raw)
        assert [(n.decode(), v.decode()) for n, v in tx["tags"]] == [
            (t["name"], t["value"]) for t in spec["tags"]
        ]
        assert ans104.serialize_tx(tx) == raw
        msg = ans104.decode(raw)
        ((cid, c),) = msg["commitments"].items()
        assert ans104.verify_commitment(msg, cid, c)
        assert hb_verify(msg)
        assert ans104.encode(msg) == raw  # byte for byte
        assert ans104.encode(ans104.decode(ans104.encode(msg))) == raw
    # the empty value is a key of the message
    first = ans104.decode(signed[0])
    assert first["empty-value"] == b"" and first["ünï-náme"] == b"x"


def test_arbundles_items_with_field_named_tags_survive(peer, jwk):
    """Tags named like record fields (``Target``, ``owner``, ``data``, ``anchor``,
    ``signature``) next to a real target and anchor: the fields stay the message's keys, the
    tags stay tags, and the item survives byte for byte (issue 13)."""
    target = bytes(range(32))
    tags = [
        {"name": "Target", "value": "not the target"},
        {"name": "owner", "value": "not the owner"},
        {"name": "data", "value": "not the data"},
        {"name": "anchor", "value": "not the anchor"},
        {"name": "Signature", "value": "not the signature"},
        {"name": "App-Name", "value": "x"},
    ]
    specs = [
        {
            "data": _b64(b"the data"),
            "tags": tags,
            "target": _native.b64url_encode(target),
            "anchor": "C" * 32,
        },
        {"data": _b64(b""), "tags": tags[:3]},
    ]
    signed = [base64.b64decode(s) for s in peer({"jwk": jwk, "sign": specs})["signed"]]
    assert ans104.verify_many(signed) == [True] * len(signed)
    for raw, spec in zip(signed, specs, strict=True):
        msg = ans104.decode(raw)
        assert msg.get("data", b"") == base64.b64decode(spec["data"])
        assert msg.get("target") == (target if "target" in spec else None)
        assert msg.get("last_tx") == (b"C" * 32 if "anchor" in spec else None)
        ((cid, c),) = msg["commitments"].items()
        assert ans104.verify_commitment(msg, cid, c) and hb_verify(msg)
        assert ans104.encode(msg) == raw  # byte for byte
    # arbundles reads our re-encoding as the item it made
    back = [ans104.encode(ans104.decode(raw)) for raw in signed]
    got = peer({"verify": [_b64(b) for b in back]})["verify"]
    assert [g["valid"] for g in got] == [True, True]
    assert got[0]["tags"] == tags and got[0]["target"] == _native.b64url_encode(target)


def test_we_read_arbundles_bundles(peer, jwk):
    wallet = Wallet.from_jwk(jwk)
    ours = _items(wallet)[:4]
    theirs = [
        base64.b64decode(s)
        for s in peer({"jwk": jwk, "sign": [{"data": _b64(b"t"), "tags": _CLIENT_TAGS[0]}]})[
            "signed"
        ]
    ]
    items = ours + theirs
    (raw_bundle,) = [
        base64.b64decode(b) for b in peer({"bundle": [[_b64(i) for i in items]]})["bundles"]
    ]
    assert ans104.bundle_layout(raw_bundle) == "standard"
    got = ans104.unbundle(raw_bundle)
    assert [ans104.serialize_tx(t) for t in got] == items
    assert ans104.verify_many([ans104.serialize_tx(t) for t in got]) == [True] * len(items)
    # our standard layout is arbundles' byte for byte; HyperBEAM's layout is the default
    assert ans104.bundle(items, layout="standard") == raw_bundle
    ours_hb = ans104.bundle(items)
    assert ans104.bundle_layout(ours_hb) == "hyperbeam" and ours_hb != raw_bundle
    assert [ans104.serialize_tx(t) for t in ans104.unbundle(ours_hb)] == items


def test_arbundles_reads_our_standard_bundles(peer, jwk):
    wallet = Wallet.from_jwk(jwk)
    items = _items(wallet)
    ours = ans104.bundle(items, layout="standard")
    (res,) = peer({"unbundle": [_b64(ours)]})["unbundled"]
    assert res["valid"] is True, res
    assert [base64.b64decode(i) for i in res["items"]] == items
    assert res["ids"] == [_native.b64url_encode(_native.ans104_parse(i)["id"]) for i in items]
