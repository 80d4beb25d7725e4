"""Issue 11, items 1, 3, 4 (expiry), 5 (verify side), 11: only a verified asymmetric signature
names a signer. Attacks over HTTP run against a real node (operator key-1); the trust model is
also checked at library level and as a property over generated messages."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import time

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OPERATOR = "vcaPe4JWnrSOCktDHBgXge-zWUb6JRkqbom5w9t7i-4"  # key-1's address
MSG_PATH = "/~message@1.0"  # a signed request posted here is stored (store_all_signed)
KEY2 = "J-j0jyZ1YWhMBXtJMWHz-dl-mDcksoJSQo_Fq5loHUs"

# The exact forged request of issue 11 item 1: an HMAC commitment claiming key-1 as committer.
FORGED_HMAC = (
    '{"commitments":{"YBBKKl2aAwZjN4TQ41pgoeJMMTP4GLHsBPX3r3eT40o":{"alg":"hmac-sha256",'
    '"commitment-device":"httpsig@1.0","committer":"vcaPe4JWnrSOCktDHBgXge-zWUb6JRkqbom5w9t7i-4",'
    '"signature-input":"x=(\\"f_hmac\\" \\"operator\\" \\"path\\");alg=\\"hmac-sha256\\";'
    'keyid=\\"ao\\""}},"f_hmac":"1","operator":"J-j0jyZ1YWhMBXtJMWHz-dl-mDcksoJSQo_Fq5loHUs",'
    '"path":"/~meta@1.0/info"}'
)


def request(node, method: str, path: str, headers=(), body: bytes = b"") -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            c.putheader(k, v)
        c.putheader("content-length", str(len(body)))
        c.endheaders()
        if body:
            c.send(body)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def node_value(node, key: str) -> bytes | None:
    st_, body = request(node, "GET", f"/~meta@1.0/info/{key}")
    return body if st_ == 200 else None


def label(w: hb.Wallet) -> str:
    """``http-sig-`` + hex of address bytes 1..9 (core §7.1), as ao-core-libs names it too."""
    return "http-sig-" + w.native_address[1:9].hex()


def strict_signed(
    w: hb.Wallet,
    comps: list[str],
    fields: dict[str, bytes],
    method: str = "POST",
    path: str = "/~meta@1.0/info",
    params: str = "",
) -> dict[str, bytes]:
    """A strict RFC 9421 signature (what aoconnect sends): the base over the fields as sent,
    derived components written with their '@'."""
    inner = "(" + " ".join(f'"{c}"' for c in comps) + ")"
    sp = f'{inner};alg="rsa-pss-sha512";keyid="{_native.b64url_encode(w.modulus)}"{params}'
    lines = []
    for c in comps:
        v = {"@method": method.encode(), "@path": path.encode()}.get(c, fields.get(c))
        lines.append(f'"{c}": '.encode() + v)
    lines.append(b'"@signature-params": ' + sp.encode())
    sig = w.sign(b"\n".join(lines), "sha512")
    name = label(w)
    return {
        **fields,
        "signature": f"{name}=:{base64.b64encode(sig).decode()}:".encode(),
        "signature-input": f"{name}={sp}".encode(),
    }


def post(node, fields: dict[str, bytes], body: bytes = b"", path: str = "/~meta@1.0/info"):
    return request(node, "POST", path, list(fields.items()), body)


# --- item 1: a forged HMAC committer names nobody -----------------------------------------------


def test_forged_hmac_committer_does_not_change_the_operator(node):
    assert node_value(node, "operator") == OPERATOR.encode()
    st_, _ = post(node, {"codec-device": b"json@1.0"}, FORGED_HMAC.encode())
    assert st_ >= 400
    assert node_value(node, "operator") == OPERATOR.encode()


def test_forged_hmac_committer_with_recomputed_id_does_not_change_the_operator(node):
    """The same forgery with a correctly recomputed HMAC ID: still nobody's signature."""
    msg = {"f_hmac": "1", "operator": KEY2, "path": "/~meta@1.0/info"}
    hm = _native.httpsig_reset_hmac(msg)
    ((cid, c),) = hm["commitments"].items()
    c = {k: v.decode() for k, v in c.items()} | {"committer": OPERATOR}
    body = json.dumps({**msg, "commitments": {cid: c}}).encode()
    st_, _ = post(node, {"codec-device": b"json@1.0"}, body)
    assert st_ >= 400
    assert node_value(node, "operator") == OPERATOR.encode()


# --- item 5 (verify side): a commitment with no committer is checked, not skipped ---------------


def test_a_commitment_without_committer_cannot_repoint_a_signed_id(node, operator_wallet):
    honest = hb.commit({"x": "honest"}, operator_wallet)
    st_, _ = post(node, {"codec-device": b"json@1.0"}, hb.convert(honest, "json@1.0"), MSG_PATH)
    victim = next(k for k, c in honest["commitments"].items() if c["alg"] == b"rsa-pss-sha512")
    assert request(node, "GET", f"/{victim}/x") == (200, b"honest")
    # an unsigned message carrying the victim's commitment without its committer
    stolen = {k: v for k, v in honest["commitments"][victim].items() if k != "committer"}
    evil = {"x": "evil", "commitments": {victim: stolen}}
    st_, _ = post(node, {"codec-device": b"json@1.0"}, hb.convert(evil, "json@1.0"), MSG_PATH)
    assert st_ == 400
    assert request(node, "GET", f"/{victim}/x") == (200, b"honest")


# --- item 3: strict RFC 9421 requests: the body must match the signed content-digest ----------


def _digest(body: bytes, alg: str = "sha-256") -> bytes:
    h = hashlib.sha256(body) if alg == "sha-256" else hashlib.sha512(body)
    return f"{alg}=:{base64.b64encode(h.digest()).decode()}:".encode()


def _strict_update(w: hb.Wallet, body: bytes, alg: str = "sha-256") -> dict[str, bytes]:
    """An aoconnect-style update: header keys, ``ao-types`` in the token form ao-core-libs
    writes (so only the strict RFC 9421 check can verify it), and the body under a signed
    content-digest."""
    fields = {
        "aoconnect_item": b"hello",
        "ao-types": b"n=integer",
        "n": b"7",
        "content-digest": _digest(body, alg),
    }
    return strict_signed(w, ["ao-types", "aoconnect_item", "content-digest", "n"], fields)


@pytest.mark.parametrize("alg", ["sha-256", "sha-512"])
def test_strict_request_with_a_replaced_body_is_rejected(node, operator_wallet, alg):
    """An operator-signed update whose body is swapped for key-2's address, read as the
    ``operator`` key through an added (unsigned) ``inline-body-key`` header: the body no longer
    hashes to the signed content-digest (RFC 9530), so the request is refused."""
    signed = _strict_update(operator_wallet, b"hello", alg)
    evil = dict(signed, **{"inline-body-key": b"operator"})
    st_, body = post(node, evil, KEY2.encode())
    assert st_ == 400 and b"invalid signature" in body
    assert node_value(node, "operator") == OPERATOR.encode()
    assert node_value(node, "aoconnect_item") is None
    # the control: the request as signed is the operator's update
    st_, body = post(node, signed, b"hello")
    assert st_ == 200, body
    assert node_value(node, "aoconnect_item") == b"hello" and node_value(node, "n") == b"7"
    assert node_value(node, "operator") == OPERATOR.encode()


def test_strict_signature_checks_content_digest_at_library_level(operator_wallet):
    from hyperbeam_fast.node.http import verify_raw

    for alg in ("sha-256", "sha-512"):
        signed = _strict_update(operator_wallet, b"hello", alg)
        assert verify_raw(signed, "POST", "/~meta@1.0/info", b"hello")
        assert not verify_raw(signed, "POST", "/~meta@1.0/info", b"hello ")
        assert not verify_raw(signed, "POST", "/~meta@1.0/info", b"")
    fields = {"aoconnect_item": b"hello", "content-digest": b"md5=:AAAA:"}
    unknown = strict_signed(operator_wallet, ["aoconnect_item", "content-digest"], fields)
    assert not verify_raw(unknown, "POST", "/~meta@1.0/info", b"hello")


# --- item 4 (expiry): expired or future signatures are invalid at HTTP ingress ------------------


def _update(w: hb.Wallet, params: str) -> dict[str, bytes]:
    return strict_signed(w, ["aoconnect_item"], {"aoconnect_item": b"set"}, params=params)


@pytest.mark.parametrize(
    "params",
    [
        ";expires=978307200",  # RFC 9421's name, in 2001
        ";expired=978307200",  # HyperBEAM's name (core §7.2)
        f";created={int(time.time()) + 86400}",  # a day ahead of the node's clock
    ],
)
def test_expired_or_future_signatures_are_rejected(node, operator_wallet, params):
    for _ in range(2):
        st_, body = post(node, _update(operator_wallet, params))
        assert st_ == 400 and b"invalid signature" in body
    assert node_value(node, "aoconnect_item") is None
    # the control: the same update, valid for another hour, changes the node
    now = int(time.time())
    st_, body = post(node, _update(operator_wallet, f";created={now};expires={now + 3600}"))
    assert st_ == 200, body
    assert node_value(node, "aoconnect_item") == b"set"


# --- library level: signers() and verify() on forged commitments -------------------------------


def _rsa_id(msg: dict) -> str:
    algs = (b"rsa-pss-sha512", b"rsa-pss")
    return next(k for k, c in msg["commitments"].items() if c.get("alg") in algs)


def _with_commitment(msg: dict, cid: str, **changes: object) -> dict:
    c = {k: v for k, v in msg["commitments"][cid].items() if k not in changes or changes[k]}
    c.update({k: v for k, v in changes.items() if v})
    return {**msg, "commitments": {**msg["commitments"], cid: c}}


def test_an_hmac_commitment_names_nobody():
    forged = hb.convert(FORGED_HMAC.encode(), "structured@1.0", "json@1.0")
    assert hb.committers(forged) == [OPERATOR]  # the raw, untrusted list
    assert hb.signers(forged) == []
    assert hb.verify(forged) is False
    assert hb.verify_many([forged]) == [False]


@pytest.mark.parametrize("codec", ["httpsig@1.0", "ans104@1.0"])
def test_a_forged_committer_on_a_signature_names_nobody(operator_wallet, attacker_wallet, codec):
    signed = hb.commit({"operator": KEY2, "n": 1}, attacker_wallet, codec)
    assert hb.signers(signed) == [attacker_wallet.address]
    forged = _with_commitment(signed, _rsa_id(signed), committer=OPERATOR.encode())
    assert hb.signers(forged) == []
    assert hb.verify(forged) is False


@pytest.mark.parametrize("codec", ["httpsig@1.0", "ans104@1.0"])
def test_a_commitment_without_committer_is_checked(operator_wallet, codec):
    signed = hb.commit({"x": "a"}, operator_wallet, codec)
    cid = _rsa_id(signed)
    bare = _with_commitment(signed, cid, committer=None)
    assert "committer" not in bare["commitments"][cid]
    other = dict(bare, x=b"b")  # another content under the same commitment
    assert hb.signers(other) == [] and hb.verify(other) is False
    assert hb.verify_many([other]) == [False]


# --- property: signers(commit(m, w)) is exactly w, and no tampering names anyone ---------------

_values = st.one_of(
    st.binary(max_size=24),
    st.text(max_size=12),
    st.integers(-(10**9), 10**9),
    st.booleans(),
    st.lists(st.integers(0, 99), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text(max_size=6), max_size=2),
)
_msgs = st.dictionaries(
    st.text(alphabet="abcdefghijklmnop-", min_size=1, max_size=10).filter(
        lambda k: k[0] != "-" and not k.startswith("priv")
    ),
    _values,
    min_size=1,
    max_size=8,
)


def _tamper(msg: dict, cid: str, how: str, victim: hb.Wallet) -> dict:
    c = msg["commitments"][cid]
    victim_keyid = _native.b64url_encode(victim.modulus).encode()
    if how == "committer":
        return _with_commitment(msg, cid, committer=victim.address.encode())
    if how == "keyid":  # httpsig: the key the signature names
        si = c["signature-input"]
        start = si.index(b'keyid="') + 7
        si = si[:start] + victim_keyid + si[si.index(b'"', start) :]
        return _with_commitment(msg, cid, **{"signature-input": si})
    if how == "keyid+committer":
        t = _tamper(msg, cid, "keyid", victim)
        return _tamper(t, cid, "committer", victim)
    if how == "owner":  # ans104: the key the item names
        return _with_commitment(msg, cid, owner=victim.modulus)
    t = _tamper(msg, cid, "owner", victim)  # owner+committer
    return _tamper(t, cid, "committer", victim)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msg=_msgs, data=st.data())
def test_signers_are_exactly_the_signing_wallet(operator_wallet, attacker_wallet, msg, data):
    codec = data.draw(st.sampled_from(["httpsig@1.0", "ans104@1.0"]))
    signed = hb.commit(msg, attacker_wallet, codec)
    assert hb.signers(signed) == [attacker_wallet.address]
    assert hb.verify(signed)
    hows = ["committer", "keyid", "keyid+committer"]
    if codec == "ans104@1.0":
        hows = ["committer", "owner", "owner+committer"]
    how = data.draw(st.sampled_from(hows))
    forged = _tamper(signed, _rsa_id(signed), how, operator_wallet)
    assert hb.signers(forged) == []
    assert hb.verify(forged) is False


def test_a_verified_signers_proof_holds_only_for_the_content_it_saw(operator_wallet):
    """What lets signers() survive path parsing at ingress: a proof pinned to the verified
    commitments and key values (bar ``path``); any changed key voids it."""
    from hyperbeam_fast.commitments import verified_signers, vouch

    signed = hb.commit({"path": "/~meta@1.0/info", "item": "set"}, operator_wallet)
    proof = vouch(signed, verified_signers(signed))
    assert hb.signers(dict(proof, path="info", method="POST")) == [OPERATOR]
    assert hb.signers(dict(proof, path="info", item="evil")) == []
    forged = hb.convert(FORGED_HMAC.encode(), "structured@1.0", "json@1.0")
    assert hb.signers(dict(forged, priv=proof["priv"])) == []  # a proof does not travel
