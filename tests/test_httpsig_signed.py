"""httpsig@1.0 commitments against the Erlang vectors in signed.json (spec core §4, §7).

Signed outputs use a random PSS salt, so signatures are checked by verifying them, and the
deterministic parts (bases, keyids, committers, id(none), committed keys) by comparison.
"""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native
from hyperbeam_fast.wallet import Wallet, verify_signature
from vectors import args, find_shared_dir, load_vectors, output, vector_params


def _is(kind: str):
    return lambda v: v["name"].endswith(f"signed/httpsig@1.0/{kind}")


def _signed_by_name() -> dict[str, dict]:
    shared = find_shared_dir()
    if shared is None:
        return {}
    return {
        v["name"].split("/")[0]: output(v)
        for v in load_vectors(shared, "signed.json")
        if _is("commit")(v)
    }


SIGNED = _signed_by_name()


@pytest.fixture(scope="module")
def wallet(shared_dir) -> Wallet:
    return Wallet.from_file(shared_dir / "fixtures" / "hyperbeam" / "key-1.json")


def _signed(vec) -> dict:
    return SIGNED[vec["name"].split("/")[0]]


@pytest.mark.parametrize("vec", vector_params("signed.json", select=_is("verify")))
def test_erlang_signed_messages_verify(vec):
    assert output(vec) is True
    assert hb.verify(_signed(vec)) is True


@pytest.mark.parametrize("vec", vector_params("signed.json", select=_is("tampered_verify")))
def test_tampered_copies_behave_as_recorded(vec):
    msg = dict(_signed(vec))
    msg["tamper"] = b"yes"
    assert hb.verify(msg) is output(vec)


@pytest.mark.parametrize("kind", ["id_all", "id_signed", "id_none"])
def test_ids_of_erlang_signed_messages(kind):
    shared = find_shared_dir()
    if shared is None:
        pytest.skip("reference material ../shared not found")
    for vec in load_vectors(shared, "signed.json"):
        if _is(kind)(vec):
            mode = kind.split("_")[1]
            assert hb.id(_signed(vec), mode) == output(vec).decode(), vec["name"]


@pytest.mark.parametrize("vec", vector_params("signed.json", select=_is("signers")))
def test_signers(vec):
    assert hb.signers(_signed(vec)) == [a.decode() for a in output(vec)]


@pytest.mark.parametrize("vec", vector_params("signed.json", select=_is("committed_keys")))
def test_committed_keys_in_hyperbeam_order(vec):
    assert hb.committed(_signed(vec)) == [k.decode() for k in output(vec)]


@pytest.mark.parametrize("vec", vector_params("signed.json", select=_is("signature_base")))
def test_signature_base_is_byte_exact(vec, wallet):
    msg = args(vec)[0]
    base, inputs = _native.httpsig_signing_base(msg, wallet.modulus)
    assert base == output(vec)["signature-base"]
    assert inputs == output(vec)["signature-params"]


@pytest.mark.parametrize("vec", vector_params("signed.json", select=_is("converted_httpsig")))
def test_erlang_signed_message_encodes_byte_exact_and_decodes_verified(vec):
    signed = _signed(vec)
    assert hb.convert(signed, "httpsig@1.0") == output(vec)
    back = hb.convert(output(vec), "structured@1.0", "httpsig@1.0")
    assert hb.verify(back) is True
    assert hb.id(back, "all") == hb.id(signed, "all")
    assert hb.id(back, "none") == hb.id(signed, "none")


@pytest.mark.parametrize("vec", vector_params("signed.json", select=_is("commit")))
def test_our_signature_matches_the_erlang_shape_and_verifies(vec, wallet):
    msg = args(vec)[0]
    ours = hb.commit(msg, wallet)
    theirs = output(vec)
    assert hb.verify(ours) is True
    assert hb.id(ours, "none") == hb.id(theirs, "none")
    assert hb.committed(ours) == hb.committed(theirs)
    # Same commitment fields; signature-input (deterministic) byte for byte.
    ours_c = {c["alg"]: c for c in ours["commitments"].values()}
    theirs_c = {c["alg"]: c for c in theirs["commitments"].values()}
    assert ours_c.keys() == theirs_c.keys() == {b"rsa-pss-sha512", b"hmac-sha256"}
    for alg in ours_c:
        assert ours_c[alg].keys() == theirs_c[alg].keys()
        assert ours_c[alg]["signature-input"] == theirs_c[alg]["signature-input"]
    assert ours_c[b"rsa-pss-sha512"]["committer"] == wallet.address.encode()
    # Their RSA signature verifies under our primitive over our base.
    base, _ = _native.httpsig_signing_base(msg, wallet.modulus)
    sig_item = theirs_c[b"rsa-pss-sha512"]["signature"].split(b"=", 1)[1]
    sig = _b64std(sig_item.strip(b":"))
    assert verify_signature(wallet.modulus, base, sig)


def _b64std(text: bytes) -> bytes:
    import base64

    return base64.b64decode(text)
