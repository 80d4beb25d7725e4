"""Message-level commitments: commit/verify/id modes/committed/with_only_committed (core §4, §7)."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import SignatureError, Wallet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def w1(shared_dir) -> Wallet:
    return Wallet.from_file(shared_dir / "fixtures" / "hyperbeam" / "key-1.json")


@pytest.fixture(scope="module")
def w2(shared_dir) -> Wallet:
    return Wallet.from_file(shared_dir / "fixtures" / "hyperbeam" / "key-2.json")


MSG = {"a": "1", "count": 42, "nested": {"b": [1, 2.5, True]}, "body": "hello"}


def test_commit_then_verify_and_ids(w1):
    signed = hb.commit(MSG, w1)
    assert hb.verify(signed)
    assert hb.signers(signed) == [w1.address]
    none, all_ = hb.id(signed, "none"), hb.id(signed, "all")
    assert none == hb.id(MSG) != all_
    assert hb.id(signed, "signed") == all_ == hb.id(signed, [w1.address])
    # hb_message:id/1 selects every commitment: sha256 of the sorted, comma-joined IDs.
    assert hb.id(signed, "uncommitted") not in (none, all_)


def test_tampering(w1):
    signed = hb.commit(MSG, w1)
    extra = dict(signed, stray=b"x")
    assert hb.verify(extra)  # an uncommitted key does not break httpsig (spec core §4.6)
    assert not hb.verify(dict(signed, a=b"2"))
    nested = dict(signed, nested={"b": [1, 2.5, False]})
    assert not hb.verify(nested)
    comms = {k: dict(v) for k, v in signed["commitments"].items()}
    rsa = next(c for c in comms.values() if c["alg"] == b"rsa-pss-sha512")
    sig = bytearray(rsa["signature"])
    sig[40] = ord("A") if sig[40] != ord("A") else ord("B")
    rsa["signature"] = bytes(sig)
    assert not hb.verify(dict(signed, commitments=comms))


@pytest.mark.parametrize("codec", ["httpsig@1.0", "ans104@1.0"])
def test_a_remembered_check_holds_for_the_same_content_only(w1, codec):
    """Signature checks are remembered by content address (commitments._CHECKED): a changed
    value or signature is checked afresh and fails, the original still verifies."""
    from hyperbeam_fast import commitments

    signed = hb.commit({"a": "1", "body": "hello", "n": str(id(codec))}, w1, codec)
    assert hb.verify(signed) and hb.verify(signed)
    assert any(k[0] in signed["commitments"] for k in commitments._CHECKED)
    assert not hb.verify(dict(signed, a="2"))
    comms = {k: dict(v) for k, v in signed["commitments"].items()}
    c = next(c for c in comms.values() if c.get("committer"))
    sig = bytearray(c["signature"])
    # one base64 digit changed for another (a flipped bit could leave the alphabet, which is
    # a malformed signature, not a wrong one); httpsig's value is `label=:<base64>:`
    colon = sig.find(b":")
    i = colon + 20 if colon >= 0 else 40
    sig[i] = ord("B") if sig[i] == ord("A") else ord("A")
    c["signature"] = bytes(sig)
    assert not hb.verify(dict(signed, commitments=comms))
    assert hb.verify(signed)


def test_two_signers(w1, w2):
    signed = hb.commit(hb.commit(MSG, w1), w2)
    assert sorted(hb.signers(signed)) == sorted([w1.address, w2.address])
    for who in ([], [w1.address], [w2.address], [w1.address, w2.address], "all"):
        assert hb.verify(signed, who)
    assert hb.id(signed, "none") == hb.id(MSG)
    assert len(signed["commitments"]) == 3  # two RSA + one combined HMAC
    hmac = next(c for c in signed["commitments"].values() if c["alg"] == b"hmac-sha256")
    assert hmac["signature"].count(b"http-sig-") == 2
    with pytest.raises(hb.HyperbeamError, match="not found"):
        hb.id(signed, ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])


def test_hashpath_is_signed_as_tag(w1):
    hp = hb.hashpath({"a": "1"}, {"b": "2"})
    signed = hb.commit(dict(MSG, priv={"hashpath": hp}), w1)
    rsa = next(c for c in signed["commitments"].values() if c["alg"] == b"rsa-pss-sha512")
    assert rsa["signature-input"].endswith(f';tag="{hp}"'.encode())
    assert signed["priv"] == {"hashpath": hp}
    assert hb.verify(signed)
    assert hb.id(signed, "none") == hb.id(MSG)


def test_round_trip_through_httpsig_keeps_commitments(w1):
    signed = hb.commit(MSG, w1)
    http = hb.convert(signed, "httpsig@1.0")
    assert http["signature"].startswith(b"http-sig-")
    back = hb.convert(http, "structured@1.0", "httpsig@1.0")
    assert hb.verify(back)
    assert hb.id(back, "all") == hb.id(signed, "all")
    assert hb.match(back, signed)


def test_committed_and_with_only_committed(w1):
    signed = hb.commit({"a": "1", "e": b"", "body": "hi"}, w1)
    keys = hb.committed(signed)
    assert {"a", "e", "body", "ao-types"} <= set(keys)  # empty values via implicit keys
    extra = dict(signed, added=b"later")
    assert "added" not in hb.committed(extra)
    only = hb.with_only_committed(extra)
    assert "added" not in only and hb.verify(only)


def test_unsigned_message_verifies_vacuously_and_unknown_devices_raise():
    assert hb.verify({"a": "1"})
    bad = {"a": "1", "commitments": {"X" * 43: {"commitment-device": "nope@1.0", "committer": "y"}}}
    with pytest.raises(SignatureError, match="unknown commitment-device"):
        hb.verify(bad)


def test_verify_many_matches_verify(w1, w2):
    good = [hb.commit({"i": i}, w1 if i % 2 else w2) for i in range(6)]
    bad = dict(good[0], i=99)
    results = hb.verify_many([*good, bad, {"plain": "msg"}], threads=2)
    assert results == [True] * 6 + [False, True]


msgs = st.dictionaries(
    st.text(alphabet="abcdefghij-", min_size=1, max_size=8).filter(lambda k: k[0] != "-"),
    st.one_of(
        st.binary(max_size=40).filter(bool),
        st.integers(-(10**12), 10**12),
        st.booleans(),
        st.lists(st.integers(0, 99), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=6,
).filter(lambda m: not any(k.startswith("priv") for k in m))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msg=msgs, data=st.data())
def test_sign_then_verify_and_any_committed_change_fails(w1, msg, data):
    signed = hb.commit(msg, w1)
    assert hb.verify(signed)
    key = data.draw(st.sampled_from(sorted(msg)))
    changed = dict(signed)
    value = changed[key]
    changed[key] = (value + b"!") if isinstance(value, bytes) else b"changed"
    assert hb.verify(changed) is False
