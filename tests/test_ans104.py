"""ans104@1.0: golden vectors (conversions.json, signed.json, hashpaths.json deep hashes), the
spec's worked examples, sign-then-verify properties and bad input (spec core §8, §13, §14).

The ans104 vectors of conversions.json are covered here (tests/test_vectors_conversions.py
still skips them): ``convert/ans104@1.0`` (the ``#tx`` record), ``roundtrip/ans104@1.0``,
``ans104_serialize``, ``ans104_unsigned_id`` and ``ans104_signature_data_unsigned``.
"""

from __future__ import annotations

import base64
import hashlib

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native, commitments
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.exceptions import CodecError
from hyperbeam_fast.match import match
from hyperbeam_fast.wallet import Wallet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vectors import args, decode, find_shared_dir, output, vector_params


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _kind(v):
    return v["name"].split("/", 1)[1]


def _conv(*kinds):
    return vector_params(
        "conversions.json", select=lambda v: "ans104" in v["name"] and _kind(v) in kinds
    )


def _tabm(msg):
    return hb.convert(msg, "tabm")


# --- conversions.json -----------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _conv("convert/ans104@1.0"))
def test_convert_to_tx_record(vector):
    rec = vector["output"]["value"]
    tx = ans104.to_tx(_tabm(args(vector)[0]))
    for f in ("id", "unsigned_id", "last_tx", "owner", "target", "signature", "data"):
        assert tx[f] == decode(rec[f]), f
    assert [tuple(t) for t in tx["tags"]] == [tuple(decode(t)) for t in rec["tags"]["value"]]
    assert len(tx["data"]) == (decode(rec["data_size"]) or len(tx["data"]))


@pytest.mark.parametrize("vector", _conv("ans104_serialize"))
def test_serialize(vector):
    msg = args(vector)[0]
    expected = output(vector)
    assert ans104.encode(msg) == expected
    assert ans104.serialize(msg) == expected
    # parse + re-serialise is the identity, bundles included
    assert _native.ans104_serialize(_native.ans104_parse(expected)) == expected
    assert _native.ans104_serialize(_native.ans104_parse(expected, unbundle=False)) == expected


@pytest.mark.parametrize("vector", _conv("ans104_unsigned_id"))
def test_unsigned_id(vector):
    tx = ans104.to_tx(_tabm(args(vector)[0]))
    assert tx["unsigned_id"] == output(vector)
    assert _native.ans104_ids(ans104.encode(args(vector)[0]))[1] == output(vector)


@pytest.mark.parametrize("vector", _conv("ans104_signature_data_unsigned"))
def test_signature_data_unsigned(vector):
    tx = ans104.to_tx(_tabm(args(vector)[0]))
    assert _native.ans104_signature_data(tx, unsigned=True) == output(vector)


@pytest.mark.parametrize("vector", _conv("roundtrip/ans104@1.0"))
def test_roundtrip(vector):
    msg = args(vector)[0]
    if "error" in vector:  # m16: a 20-digit integer encodes but does not decode
        data = ans104.encode(msg)
        with pytest.raises(hb.CodecError):
            ans104.decode(data)
        return
    rec = output(vector)
    assert rec["match"] is True
    decoded = ans104.decode(ans104.encode(msg))
    assert match(decoded, msg) and match(msg, decoded)
    assert match(decoded, rec["decoded"])


# --- signed.json ----------------------------------------------------------------------------------

_SIGNED = {}
_shared = find_shared_dir()
if _shared is not None:
    from vectors import load_vectors

    _SIGNED = {v["name"]: v for v in load_vectors(_shared, "signed.json")}


def _signed_params():
    return vector_params("signed.json", select=lambda v: "/ans104@1.0/" in v["name"])


def _committed_msg(vector):
    base = vector["name"].rsplit("/", 1)[0]
    return output(_SIGNED[base + "/commit"])


@pytest.fixture(scope="module")
def key1():
    if _shared is None:
        pytest.skip("../shared not found")
    return Wallet.from_file(_shared / "fixtures" / "hyperbeam" / "key-1.json")


@pytest.mark.parametrize("vector", _signed_params())
def test_signed_vectors(vector, key1):
    kind = vector["name"].rsplit("/", 1)[1]
    signed = _committed_msg(vector)
    ((cid, c),) = signed["commitments"].items()
    if kind == "commit":
        msg = args(vector)[0]
        mine = ans104.commit(msg, key1)
        ((mcid, mc),) = mine["commitments"].items()
        assert ans104.verify_commitment(signed, cid, c)
        assert ans104.verify_commitment(mine, mcid, mc)
        assert mcid == _b64(hashlib.sha256(mc["signature"]).digest())
        assert mc["committer"] == c["committer"] == key1.address.encode()
        assert mc["owner"] == c["owner"] == key1.modulus
        assert set(mc) == set(c)
        strip = lambda m: {k: v for k, v in m.items() if k != "commitments"}  # noqa: E731
        assert strip(mine) == strip(signed)
    elif kind == "verify":
        assert commitments.verify(signed) is output(vector)
        assert ans104.verify_commitment(signed, cid, c) is output(vector)
    elif kind in ("id_all", "id_signed"):
        assert hb.id(signed, kind[3:]) == output(vector).decode() == cid
    elif kind == "id_none":
        assert hb.id(signed, "none") == output(vector).decode()
    elif kind == "signers":
        assert commitments.signers(signed) == [a.decode() for a in output(vector)]
    elif kind == "committed_keys":
        expected = [k.decode() for k in output(vector)]
        assert list(reversed(ans104.committed_keys(signed, c))) == expected
        assert commitments.committed(signed) == expected
    elif kind == "tampered_verify":
        tampered = {**signed, "tamper": "yes"}
        assert commitments.verify(tampered) is output(vector) is False
        assert ans104.verify_commitment(tampered, cid, c) is False
    elif kind == "signature_data":
        tabm = _tabm({k: v for k, v in signed.items() if k != "commitments"})
        tabm["owner"] = c["owner"]
        assert _native.ans104_signature_data(ans104.to_tx(tabm)) == output(vector)
    elif kind == "serialized":
        data = output(vector)
        assert ans104.verify_item(data)
        assert ans104.verify_many([data, data[:-1] + bytes([data[-1] ^ 1])]) == [True, False]
        assert ans104.decode(data) == signed
        assert ans104.encode(signed) == data  # byte-exact re-encoding of the signed message
        assert _native.ans104_signature_data(data) == output(
            _SIGNED[vector["name"].rsplit("/", 1)[0] + "/signature_data"]
        )
    else:  # pragma: no cover - a new vector kind
        pytest.fail(f"unknown vector kind {kind}")


# --- hashpaths.json deep hashes and spec examples -------------------------------------------------


@pytest.mark.parametrize(
    "vector", vector_params("hashpaths.json", select=lambda v: v["name"].startswith("deep_hash"))
)
def test_deep_hash_vectors(vector):
    value = args(vector)[0]
    assert _native.deep_hash(value) == output(vector)
    assert _py_deep_hash(value) == output(vector)


def _py_deep_hash(v):
    """An independent pure-Python deep hash (spec core §8.3)."""
    h = lambda b: hashlib.sha384(b).digest()  # noqa: E731
    if isinstance(v, (bytes, str)):
        b = v.encode() if isinstance(v, str) else v
        return h(h(b"blob" + str(len(b)).encode()) + h(b))
    acc = h(b"list" + str(len(v)).encode())
    for e in v:
        acc = h(acc + _py_deep_hash(e))
    return acc


def test_spec_examples():
    assert _b64(_native.deep_hash([b"a", b"bc", [b"d"]])) == (
        "uHrn3Pm23-9ax7MMeUAVJMYcFcKxr0hwrYRNuyp1QBD-dNRL0LBApDcJhQZeFVzM"
    )
    tags = [(b"a", b"1"), (b"caps", b"X")]
    assert _native.ans104_encode_tags(tags) == bytes.fromhex("04026102310863617073025800")
    assert _native.ans104_decode_tags(bytes.fromhex("04026102310863617073025800")) == tags
    data = ans104.encode({"a": "1", "data": "hello", "Caps": "X"})
    assert data == (
        b"\x01\x00"
        + bytes(1024)
        + b"\x00\x00"
        + bytes.fromhex("02000000000000000d00000000000000")
        + bytes.fromhex("04026102310863617073025800")
        + b"hello"
    )
    assert _b64(_native.ans104_ids(data)[1]) == "ssQWGu7dyUQzNHDeMpbWDDMjQb0xDUnn-IZdKDwRjRo"
    # §8.5: typed values become ao-types tags; 43-char target/data are decoded to 32 bytes
    assert ans104.to_tx(_tabm({"n": 5}))["tags"] == [(b"ao-types", b'n="integer"'), (b"n", b"5")]
    tx = ans104.to_tx(
        {"target": _b64((1).to_bytes(32, "big")), "data": _b64((3).to_bytes(32, "big"))}
    )
    assert tx["target"] == (1).to_bytes(32, "big") and tx["data"] == (3).to_bytes(32, "big")


def test_spec_bundle_example():
    # §8.6: outer tags and manifest of #{a=>"1", n=>#{b=>2}, big=><<200 x "z">>}
    tx = ans104.to_tx(_tabm({"a": "1", "n": {"b": 2}, "big": b"z" * 200}))
    assert tx["tags"] == [
        (b"bundle-format", b"binary"),
        (b"bundle-version", b"2.0.0"),
        (b"a", b"1"),
        (b"bundle-map", b"qJSpq4pyoGVnwG_tasKFEtpqFMelm_JEyOjyi8YMh_I"),
    ]
    items = _native.ans104_unbundle(tx["data"])
    assert items[0]["data"] == (
        b'{"big":"JF7KzQOnGah43_Of6TGM4iJmCDnvf8ddpAjrXtaJRIQ",'
        b'"n":"TAHMdLPBRnHn0VJi6XHtU8-seI0PBH1X1ThDmzPMHU8"}'
    )


def test_spec_unsigned_case_tags():
    # §8.7: an unsigned raw TX with non-lowercase tags gets the all-zero commitment ID
    tx = {"tags": [(b"Content-Type", b"text/plain"), (b"dup", b"1"), (b"dup", b"2")], "data": b"d"}
    msg = ans104.decode(_native.ans104_serialize(tx))
    assert msg["content-type"] == b"text/plain" and msg["dup"] == b'"1", "2"'
    assert msg["data"] == b"d"
    ((cid, c),) = msg["commitments"].items()
    assert cid == "A" * 43 and c["alg"] == b"unsigned"
    assert c["original-tags"]["1"] == {"name": b"Content-Type", "value": b"text/plain"}
    assert hb.id(msg, "uncommitted") == "A" * 43
    assert hb.id(msg, "none") == "AM8fRiD1taDLGaFpvSAfR-v8W4Ph3ZbMWdpbwm-1ZdE"
    # and back to the identical item (original-tags restores case and duplicates)
    assert ans104.encode(msg) == _native.ans104_serialize(tx)


def test_multisignature_and_bad_original_tags(key1):
    signed = hb.commit({"a": "1"}, key1) if hasattr(hb, "commit") else None
    if signed is not None and len(signed.get("commitments", {})) > 1:
        with pytest.raises(hb.CodecError):
            ans104.encode(signed)
    bad = {
        "a": "1",
        "commitments": {
            "A" * 43: {
                "alg": "unsigned",
                "commitment-device": "ans104@1.0",
                "original-tags": {"1": {"name": "B", "value": "2"}},
            }
        },
    }
    with pytest.raises(hb.CodecError):
        ans104.encode(bad)


# --- properties -----------------------------------------------------------------------------------

_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda k: (
        not k.startswith("priv")
        and k
        not in (
            "data",
            "target",
            "last_tx",
            "owner",
            "signature",
            "id",
            "unsigned_id",
            "format",
            "tags",
            "commitments",
            "ao-types",
            "body-keys",
        )
    )
)
_values = st.one_of(
    st.text(max_size=40).map(str.encode),
    st.binary(max_size=300),
    st.integers(min_value=-(10**14), max_value=10**14),
)
_msgs = st.dictionaries(_keys, _values, max_size=6)


@pytest.fixture(scope="module")
def wallet():
    return Wallet.generate(4096)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msg=_msgs, data=st.data())
def test_sign_then_verify_and_single_byte_changes(wallet, msg, data):
    signed = ans104.commit(msg, wallet)
    ((cid, c),) = signed["commitments"].items()
    assert ans104.verify_commitment(signed, cid, c)
    assert commitments.verify(signed)
    raw = ans104.encode(signed)
    assert ans104.verify_item(raw)
    assert match(ans104.decode(raw), signed)
    # one flipped byte anywhere in the signed item -> False, never an exception
    pos = data.draw(st.integers(min_value=2, max_value=len(raw) - 1))
    bad = bytearray(raw)
    bad[pos] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    assert ans104.verify_many([bytes(bad)]) == [False]
    # a changed signature or owner byte in the commitment -> False
    for field in ("signature", "owner"):
        v = bytearray(c[field])
        v[data.draw(st.integers(min_value=0, max_value=511))] ^= 1
        assert ans104.verify_commitment(signed, cid, {**c, field: bytes(v)}) is False
    # a changed signed value -> False
    if msg:
        k = sorted(signed)[0] if sorted(signed)[0] != "commitments" else sorted(signed)[-1]
        if k != "commitments":
            assert ans104.verify_commitment({**signed, k: b"\x00changed"}, cid, c) is False


def test_tag_header_must_match_the_tag_block(wallet):
    # The 16-byte header before the Avro tags (count, byte length) is not covered by the deep
    # hash: a changed count or length must still make the item invalid (hypothesis found it).
    raw = ans104.encode(ans104.commit({"a": b""}, wallet))
    at = 2 + 512 + 512 + 2  # signature type, signature, owner, no target, no anchor
    assert ans104.verify_many([raw]) == [True]
    for off in (0, 7, 8, 15):
        bad = bytearray(raw)
        bad[at + off] ^= 1
        assert ans104.verify_many([bytes(bad)]) == [False], off
        with pytest.raises(CodecError, match="tag header"):
            ans104.decode(bytes(bad))


def test_verify_many_threads(wallet):
    items = [
        _native.ans104_serialize(_native.ans104_sign({"data": bytes([i])}, wallet._key))
        for i in range(8)
    ]
    items[3] = items[3][:-1] + b"\xff"
    want = [i != 3 for i in range(8)]
    for t in (0, 1, 2, 3, 16):
        assert ans104.verify_many(items, threads=t) == want
    assert ans104.verify_many([]) == []


# --- bad input ------------------------------------------------------------------------------------


def test_bad_items_are_typed_errors(wallet):
    good = _native.ans104_serialize(
        _native.ans104_sign({"tags": [(b"a", b"1")], "data": b"x"}, wallet._key)
    )
    for n in (0, 1, 2, 513, 1025, 1026, 1027, 1030, 1044, len(good) - 2):
        with pytest.raises(hb.HyperbeamError):
            _native.ans104_parse(good[:n])
    assert ans104.verify_many([good[:n] for n in (0, 100, 1030)]) == [False] * 3
    with pytest.raises(hb.SignatureError):
        _native.ans104_parse(b"\x02\x00" + good[2:])  # signature type 2
    with pytest.raises(hb.CodecError):
        _native.ans104_parse(good[:1026] + b"\x07" + good[1027:])  # presence byte
    with pytest.raises(hb.CodecError):
        _native.ans104_serialize({"target": b"short"})
    with pytest.raises(hb.CodecError):
        _native.ans104_serialize({"owner": b"o" * 100})
    with pytest.raises(hb.SignatureError):
        _native.ans104_serialize({"signature": b"s" * 65})  # only RSA (512-byte) signatures
    with pytest.raises(hb.SignatureError):
        _native.ans104_serialize({"signature_type": 2})
    with pytest.raises(hb.CodecError):
        _native.ans104_serialize({"tags": [(b"a" * 3073, b"1")]})
    with pytest.raises(hb.CodecError):
        _native.ans104_serialize({"tags": [b"not-a-pair"]})
    with pytest.raises(hb.CodecError):
        _native.ans104_serialize({"data": 5})
    with pytest.raises(hb.CodecError):
        _native.ans104_parse("text, not bytes")
    with pytest.raises(hb.CodecError):
        ans104.decode("text")
    with pytest.raises(hb.CodecError):
        _native.ans104_unbundle(b"\xff" * 40)
    # oversized tag count / hostile varints
    with pytest.raises(hb.CodecError):
        _native.ans104_decode_tags(b"\xff" * 12)
    with pytest.raises(hb.CodecError):
        _native.ans104_decode_tags(b"\x7e\x02a\x021\x00")
    # a bundle whose manifest is garbage
    tx = {
        "tags": [
            (b"bundle-format", b"binary"),
            (b"bundle-version", b"2.0.0"),
            (b"bundle-map", b"A" * 43),
        ],
        "data": b"\x00" * 32,
    }
    with pytest.raises(hb.CodecError):
        _native.ans104_parse(_native.ans104_serialize({**tx, "tags": tx["tags"]}) + b"")
    # bad base64 in a commitment-borne field or bad key sizes never verify, never raise
    msg = ans104.commit({"a": "1"}, wallet)
    ((cid, c),) = msg["commitments"].items()
    assert ans104.verify_commitment(msg, cid, {**c, "owner": b"!!not base64!!"}) is False
    assert ans104.verify_commitment(msg, cid, {**c, "signature": c["signature"][:100]}) is False
    assert ans104.verify_commitment(msg, "not-the-id", c) is False


def test_wrong_key_size():
    small = Wallet.generate(2048)
    with pytest.raises(hb.SignatureError):
        ans104.commit({"a": "1"}, small)
    with pytest.raises(hb.SignatureError):
        ans104.commit({"a": "1"}, object())


# --- the decode fast path (issue 15 item 5) against the normalisation it replaced -------------


def _old_normalize_key(k):
    """``hb_ao:normalize_key`` as ans104 wrote it before the ASCII fast path."""
    if isinstance(k, bytes):
        k = k.decode("utf-8", errors="surrogateescape")
    return k if len(k.encode("utf-8", "surrogateescape")) in (32, 42, 43) else k.lower()


_BUNDLE_TAGS = ("bundle-format", "bundle-map", "bundle-version")  # `from` drops them
_TAG_NAME = st.one_of(
    st.binary(min_size=1, max_size=44),
    st.text(min_size=1, max_size=44).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"Priv-x", b"PRIV", b"data", b"Target", b"commitments", b"A" * 43]),
    st.integers(30, 44).map(lambda n: b"K" * n),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_TAG_NAME, st.binary(min_size=1, max_size=8)), max_size=12))
def test_from_tx_keys_match_the_old_normalisation(tags):
    """Every tag lands under the key the old normalisation gives it (or stays out: fields,
    commitments, private keys), ASCII or not, ID-length or not."""
    try:
        msg = ans104.from_tx({"tags": tags, "data": b""})
    except (CodecError, UnicodeError):
        return  # e.g. a lone surrogate; the old path refused the same names
    fields = {"format", "id", "unsigned_id", "last_tx", "owner", "tags", "target", "data"}
    fields |= {"signature", "commitments", "original-tags", "content-digest"}  # `_SHADOWED`
    want = {}
    for n, v in tags:
        k = _old_normalize_key(n)
        if k in fields or k.lower().startswith("priv") or k in _BUNDLE_TAGS:
            continue
        want.setdefault(k, []).append(v)
    got = {k: v for k, v in msg.items() if k not in ("commitments", "id")}
    assert set(got) == set(want)
    for k, vs in want.items():
        if len(vs) == 1:
            assert got[k] == vs[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_TAG_NAME, st.binary(min_size=1, max_size=8)), max_size=12))
def test_item_with_random_tags_reencodes_byte_for_byte(tags):
    """Whether the tags are reproducible (``original-tags`` recorded or not) is decided right on
    the fast path too: the message encodes back to the same item. Values are not empty: an
    empty value under a name like ``b"\\x00"`` fails to re-encode (invalid_original_tags), on the
    path before the fast one as well (open)."""
    raw = _native.ans104_serialize({"tags": tags, "data": b"x"})
    try:
        msg = ans104.decode(raw)
    except (CodecError, UnicodeError):
        return
    assert ans104.encode(msg) == raw


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize(
    "tags",
    [
        [(b"bundle-format", b"binary")],
        [(b"bundle-format", b"\xff")],
        [(b"Bundle-Version", b"2.0.0"), (b"a", b"b")],
        [(b"bundle-map", b"m"), (b"bundle-format", b"binary")],
    ],
)
def test_bundle_tags_of_an_item_that_is_no_bundle_survive(tags, signed, fxdir):
    """``from`` drops the bundle tags (dev_codec_ans104's FILTERED_TAGS); on an item whose data
    is no bundle they are the signer's own, so they stay in original-tags and the item encodes
    back byte for byte (and verifies), on the native and the general path."""
    item = {"tags": tags, "data": b"x", "target": b"", "anchor": b""}
    if signed:
        item = _native.ans104_sign(item, hb.Wallet.from_file(str(fxdir / "key-1.json"))._key)
    raw = _native.ans104_serialize(item)
    for msg in (ans104.decode(raw), ans104.decode_general(raw)):
        assert "bundle-format" not in msg and "bundle-version" not in msg
        assert ans104.encode(msg) == raw
        assert not signed or hb.verify(msg)
