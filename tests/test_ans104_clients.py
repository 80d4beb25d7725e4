"""ANS-104 data items and bundles as clients make them (issue 13 item 5, spec core §8.4, §8.7).

Every data item survives parse -> message -> item byte for byte and verifies in both forms,
whatever its tags: empty values and names, non-ASCII names, unsorted or repeated names, long or
non-UTF-8 values. Bundles are read in HyperBEAM's big-endian layout and in the ANS-104
standard's little-endian one (the one whose sizes fit), and written in either.
"""

from __future__ import annotations

import hashlib
import json

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.wallet import Wallet
from vectors import find_shared_dir

TAG_SETS = {
    "empty-value": [(b"Empty-Value", b""), (b"App-Name", b"x")],
    "lowercase-empty": [(b"empty", b""), (b"a", b"1")],
    "non-ascii-name": ["Ünï-Náme".encode(), b"x"] and [("Ünï-Náme".encode(), b"x")],
    "non-ascii-lower": [("ünï".encode(), "ß".encode())],
    "empty-name": [(b"", b"empty name"), (b"z", b"1")],
    "unsorted": [(b"b", b"2"), (b"a", b"1")],
    "duplicates": [(b"a", b"1"), (b"a", b"2")],
    "long-value": [(b"long", b"v" * 3000)],
    "binary-value": [(b"bin", b"\xff\xfe\x00")],
    "ao-types-tag": [(b"E", b""), (b"ao-types", b'x="integer"'), (b"x", b"5")],
    "forced-field-name": [(b"quantity", b"5"), (b"Reward", b"1")],
}


@pytest.fixture(scope="module")
def wallet():
    shared = find_shared_dir()
    path = shared / "fixtures" / "hyperbeam" / "key-1.json" if shared else None
    if path is None or not path.is_file():
        pytest.skip("../shared/fixtures/hyperbeam/key-1.json not found (set HYPERBEAM_SHARED)")
    return Wallet.from_jwk(json.loads(path.read_text()))


def _signed(wallet, tags, data=b"client data"):
    return _native.ans104_serialize(_native.ans104_sign({"tags": tags, "data": data}, wallet._key))


@pytest.mark.parametrize("name", sorted(TAG_SETS))
def test_signed_client_items_survive(wallet, name):
    raw = _signed(wallet, TAG_SETS[name])
    assert ans104.verify_item(raw)
    tx = ans104.parse(raw)
    assert tx["tags"] == TAG_SETS[name]
    msg = ans104.decode(raw)
    ((cid, c),) = msg["commitments"].items()
    assert ans104.verify_commitment(msg, cid, c)
    assert hb.verify(msg)
    assert ans104.encode(msg) == raw
    assert ans104.encode(ans104.decode(ans104.encode(msg))) == raw


@pytest.mark.parametrize("name", sorted(TAG_SETS))
def test_unsigned_client_items_survive(name):
    raw = _native.ans104_serialize({"tags": TAG_SETS[name], "data": b"d"})
    msg = ans104.decode(raw)
    assert ans104.encode(msg) == raw


def test_empty_values_are_message_keys(wallet):
    msg = ans104.decode(_signed(wallet, TAG_SETS["empty-value"]))
    assert msg["empty-value"] == b"" and msg["app-name"] == b"x"
    (c,) = msg["commitments"].values()
    assert c["original-tags"]["1"] == {"name": b"Empty-Value", "value": b""}


def test_sorted_distinct_lowercase_tags_get_no_original_tags(wallet):
    """HyperBEAM's form where the plain encoding reproduces the tags (`from`, spec core §8.7)."""
    msg = ans104.decode(_signed(wallet, [(b"a", b"1"), (b"b", b"2")]))
    (c,) = msg["commitments"].values()
    assert "original-tags" not in c
    assert hb.verify(msg)


def test_tampered_empty_value_no_longer_verifies(wallet):
    msg = ans104.decode(_signed(wallet, TAG_SETS["empty-value"]))
    ((cid, c),) = msg["commitments"].items()
    msg["empty-value"] = b"now set"
    assert not ans104.verify_commitment(msg, cid, c)


def test_original_tags_without_a_value_are_a_codec_error():
    tabm = {"a": b"1", "original-tags": {"1": {"name": b"a"}}}
    with pytest.raises(hb.CodecError, match="name and a value"):
        ans104.to_tx(tabm)
    tabm = {"a": b"1", "original-tags": {"1": {"name": b"a", "value": {"x": b"1"}}}}
    with pytest.raises(hb.CodecError, match="binaries"):
        ans104.to_tx(tabm)


def test_empty_name_with_empty_value_is_a_codec_error(wallet):
    """``{"": ""}`` has no TABM form (its ``ao-types`` entry would need an empty SF key;
    HyperBEAM's structured-field parser crashes there): a typed error, not a crash."""
    msg = ans104.decode(_signed(wallet, [(b"", b"")]))
    assert msg[""] == b""
    with pytest.raises(hb.CodecError):
        ans104.encode(msg)


# --- tags named like record fields (issue 13) -----------------------------------------------

FIELD_TAGS = {
    "Target": [(b"Target", b"hello"), (b"a", b"1")],
    "target-id-like": [(b"target", b"T" * 43)],
    "owner": [(b"owner", b"me")],
    "data": [(b"data", b"tag data"), (b"Data", b"again")],
    "anchor": [(b"anchor", b"anc")],
    "last_tx": [(b"last_tx", b"lt")],
    "signature": [(b"Signature", b"sig")],
    "id": [(b"id", b"my-id"), (b"unsigned_id", b"u")],
    "format-tags": [(b"format", b"2"), (b"tags", b"t")],
    "commitment-keys": [(b"commitment-device", b"x@1.0"), (b"committer", b"c"), (b"alg", b"a")],
    "commitments": [(b"commitments", b"c"), (b"original-tags", b"o")],
    "private": [(b"priv", b"p"), (b"Priv-Key", b"q")],
}
TARGET, ANCHOR = bytes(range(32)), b"A" * 32


@pytest.mark.parametrize("with_fields", [False, True], ids=["no-fields", "target+anchor"])
@pytest.mark.parametrize("name", sorted(FIELD_TAGS))
def test_tags_named_like_fields_do_not_overwrite_them(wallet, name, with_fields):
    tx = {"tags": FIELD_TAGS[name], "data": b"payload"}
    if with_fields:
        tx.update(target=TARGET, last_tx=ANCHOR)
    raw = _native.ans104_serialize(_native.ans104_sign(tx, wallet._key))
    assert ans104.verify_item(raw)
    msg = ans104.decode(raw)
    # the message keeps the record's fields, not the tags' values
    assert msg["data"] == b"payload"
    assert msg.get("target") == (TARGET if with_fields else None)
    assert msg.get("last_tx") == (ANCHOR if with_fields else None)
    ((cid, c),) = msg["commitments"].items()
    assert c["owner"] == wallet.modulus and c["signature"] == ans104.parse(raw)["signature"]
    if name == "anchor":  # not a field name here (the field is last_tx): a plain key
        assert msg["anchor"] == b"anc" and "original-tags" not in c
    else:  # the tags are kept, in order, in original-tags
        orig = [(t["name"], t["value"]) for _, t in sorted(c["original-tags"].items(), key=_num)]
        assert orig == FIELD_TAGS[name]
    assert ans104.verify_commitment(msg, cid, c) and hb.verify(msg)
    assert ans104.encode(msg) == raw  # byte for byte
    assert ans104.encode(ans104.decode(ans104.encode(msg))) == raw


@pytest.mark.parametrize("name", sorted(FIELD_TAGS))
def test_unsigned_items_with_field_named_tags_survive(name):
    raw = _native.ans104_serialize(
        {"tags": FIELD_TAGS[name], "data": b"payload", "target": TARGET, "last_tx": ANCHOR}
    )
    msg = ans104.decode(raw)
    assert msg["data"] == b"payload" and msg["target"] == TARGET
    assert ans104.encode(msg) == raw


def test_a_changed_field_named_tag_no_longer_verifies(wallet):
    raw = _native.ans104_serialize(_native.ans104_sign({"tags": FIELD_TAGS["Target"]}, wallet._key))
    msg = ans104.decode(raw)
    ((cid, c),) = msg["commitments"].items()
    c["original-tags"]["1"] = {"name": b"Target", "value": b"changed"}
    assert not ans104.verify_commitment(msg, cid, c)
    # and a message key cannot stand in for the tag: it is the field
    msg = ans104.decode(raw)
    msg["target"] = b"hello"
    assert not hb.verify(msg)


def _num(item):
    return int(item[0])


# --- the empty key -----------------------------------------------------------------------------


def test_empty_key_round_trips_through_ans104(wallet):
    msg = {"": "x", "a": "1"}
    raw = ans104.encode(msg)
    assert ans104.parse(raw)["tags"] == [(b"", b"x"), (b"a", b"1")]
    assert ans104.decode(raw) == {"": b"x", "a": b"1"}
    signed = hb.commit(msg, wallet, codec="ans104@1.0")
    assert hb.verify(signed)
    back = ans104.decode(ans104.encode(signed))
    assert back[""] == b"x" and hb.verify(back)
    assert hb.id(back) == hb.id(signed)


def test_empty_key_in_ids_and_httpsig(wallet):
    msg = {"": "x", "a": "1"}
    assert hb.id(msg) != hb.id({"a": "1"})
    assert hb.verify(hb.commit(msg, wallet))
    assert hb.convert(hb.convert(msg, "httpsig@1.0"), "structured@1.0", "httpsig@1.0") == {
        "": b"x",
        "a": b"1",
    }


# --- bundles -----------------------------------------------------------------------------------


def _items(wallet):
    return [
        _signed(wallet, [(b"k", b"v")], b"one"),
        _signed(wallet, TAG_SETS["empty-value"], b"two" * 100),
        _native.ans104_serialize({"tags": [(b"u", b"1")], "data": b"unsigned"}),
    ]


def _u256be(n):
    return n.to_bytes(32, "big")


def _u256le(n):
    return n.to_bytes(32, "little")


def test_bundle_layouts_byte_for_byte(wallet):
    items = _items(wallet)
    body = b"".join(items)
    hb_ids = [_native.ans104_ids(_native.ans104_parse(i))[1] for i in items]  # unsigned IDs
    std_ids = [
        hashlib.sha256(_native.ans104_parse(i)["signature"]).digest() if n < 2 else bytes(32)
        for n, i in enumerate(items)
    ]
    hb_index = b"".join(_u256be(len(i)) + d for i, d in zip(items, hb_ids, strict=True))
    std_index = b"".join(_u256le(len(i)) + d for i, d in zip(items, std_ids, strict=True))
    want_hb = _u256be(3) + hb_index + body
    want_std = _u256le(3) + std_index + body
    assert ans104.bundle(items) == want_hb
    assert ans104.bundle(items, layout="hyperbeam") == want_hb
    assert ans104.bundle(items, layout="standard") == want_std
    for raw, layout in ((want_hb, "hyperbeam"), (want_std, "standard")):
        assert ans104.bundle_layout(raw) == layout
        got = ans104.unbundle(raw)
        assert [ans104.serialize_tx(t) for t in got] == items
        assert all(isinstance(t, ans104.Tx) for t in got)


def test_bundle_accepts_txs_and_messages(wallet):
    items = _items(wallet)
    txs = [ans104.parse(i) for i in items]
    assert ans104.bundle(txs, layout="standard") == ans104.bundle(items, layout="standard")
    msg = hb.commit({"a": "1"}, wallet, codec="ans104@1.0")
    plain = {"data": "x", "b": 2}
    got = ans104.unbundle(ans104.bundle([msg, plain]))
    assert [ans104.serialize_tx(t) for t in got] == [ans104.encode(msg), ans104.encode(plain)]
    with pytest.raises(hb.CodecError):
        ans104.bundle([5])


def test_empty_bundle_reads_alike():
    assert ans104.bundle([]) == ans104.bundle([], layout="standard") == bytes(32)
    assert ans104.unbundle(bytes(32)) == []


def test_bundles_that_fit_no_layout_are_codec_errors(wallet):
    std = ans104.bundle(_items(wallet), layout="standard")
    for bad in (std[:-1], std + b"\x00", b"\xff" * 96, bytes(31), _u256be(1) + bytes(32)):
        with pytest.raises(hb.CodecError):
            ans104.unbundle(bad)
        with pytest.raises(hb.CodecError):
            ans104.bundle_layout(bad)
    with pytest.raises(hb.CodecError):  # the sizes fit, the one item of 0 bytes does not parse
        ans104.unbundle(_u256le(1) + bytes(64))
    with pytest.raises(hb.CodecError, match="layout"):
        ans104.bundle([], layout="little")
    with pytest.raises(hb.CodecError):
        ans104.bundle(b"not a list")
    with pytest.raises(hb.CodecError):
        ans104.unbundle("not bytes")
    with pytest.raises(hb.CodecError):
        ans104.bundle_layout(None)


def test_a_standard_bundle_in_a_data_item_unbundles(wallet):
    """An item whose data is a standard bundle (with HyperBEAM's bundle tags) un-bundles."""
    items = _items(wallet)
    tags = [(b"bundle-format", b"binary"), (b"bundle-version", b"2.0.0")]
    outer = _native.ans104_serialize(
        {"tags": tags, "data": ans104.bundle(items, layout="standard")}
    )
    tx = ans104.parse(outer)
    assert [ans104.serialize_tx(t) for t in tx["data"]] == items
