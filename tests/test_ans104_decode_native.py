"""ans104@1.0 decode in one native call (``_native.ans104_decode``) against the general path
(``parse`` -> ``from_tx`` -> structured@1.0 in Python, ``ans104.decode_general``): the same
result, types and key order included, or the same error, on generated data items (spec core
§8.7), on the golden vectors' messages, and on garbage.
"""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.wallet import Wallet
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import same_typed


def _outcome(f, raw):
    try:
        return "ok", f(raw)
    except hb.HyperbeamError as e:
        return type(e).__name__, str(e)


def _check(raw: bytes) -> bool:
    """Native and general decode agree; returns whether the native path took the item."""
    general = _outcome(ans104.decode_general, raw)
    native = _outcome(_native.ans104_decode, raw)
    if native == ("ok", None):  # the native path declines: decode() takes the general one
        assert same_typed(_outcome(ans104.decode, raw), general)
        return False
    assert same_typed(native, general), (native, general)
    assert same_typed(_outcome(ans104.decode, raw), general)
    return True


# tag names: the special ones of `from` (fields, commitment keys, bundle tags, private keys,
# `ao-type`, `ao-types`), upper case, ID-sized names, repeats
_special = st.sampled_from(
    [
        "id",
        "owner",
        "target",
        "last_tx",
        "signature",
        "data",
        "format",
        "tags",
        "unsigned_id",
        "quantity",
        "reward",
        "commitments",
        "original-tags",
        "commitment-device",
        "committer",
        "alg",
        "priv",
        "private-x",
        "ao-type",
        "ao-types",
        "bundle-format",
        "bundle-version",
        "bundle-map",
        "map-format",
        "Content-Type",
        "Action",
        "a" * 43,
        "PrIV" + "x" * 39,
        "X" * 32,
    ]
)
_plain = st.text(alphabet="abcdefgAB-_", min_size=0, max_size=10)
_names = st.one_of(_special, _plain).map(str.encode)
_values = st.one_of(
    st.sampled_from([b"", b"binary", b"2.0.0", b"list", b'q"u\\ote', b"empty-binary"]),
    st.text(max_size=20).map(str.encode),
    st.binary(max_size=40),
    st.binary(min_size=129, max_size=140),
)
_tags = st.lists(st.tuples(_names, _values), max_size=8)
_opt32 = st.one_of(st.just(b""), st.binary(min_size=32, max_size=32))
_bundle_keys = st.one_of(_special, st.text(alphabet="abcXY-1", min_size=1, max_size=6))


def _items(depth: int):
    leaf = st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"hello"]))
    if depth >= 2:
        data = leaf
    else:
        child = _items(depth + 1)
        data = st.one_of(
            leaf,
            st.dictionaries(_bundle_keys, child, max_size=3),
            st.lists(child, max_size=3),
        )
    return st.fixed_dictionaries({"tags": _tags, "target": _opt32, "last_tx": _opt32, "data": data})


@pytest.fixture(scope="module")
def wallet():
    return Wallet.generate(4096)


_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(tx=_items(0))
def test_native_decode_matches_general_unsigned(tx):
    try:
        raw = _native.ans104_serialize(tx)
    except hb.HyperbeamError:
        assume(False)
    _check(raw)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tx=_items(1))
def test_native_decode_matches_general_signed(wallet, tx):
    try:
        raw = _native.ans104_serialize(_native.ans104_sign(tx, wallet._key))
    except hb.HyperbeamError:
        assume(False)
    _check(raw)


_msg_keys = st.text(alphabet="abcdefghij-", min_size=1, max_size=10)
_msg_values = st.recursive(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=30),
        st.integers(min_value=-(10**14), max_value=10**14),
        st.booleans(),
        st.none(),
    ),
    lambda inner: st.dictionaries(_msg_keys, inner, max_size=3),
    max_leaves=8,
)


@_SETTINGS
@given(msg=st.dictionaries(_msg_keys, _msg_values, max_size=8))
def test_native_decode_matches_general_on_messages(msg):
    try:
        raw = ans104.encode(msg)
    except hb.HyperbeamError:
        assume(False)
    assert _check(raw)


def test_signed_message_and_twenty_keys(wallet):
    msg = {f"key-{i}": f"value-{i}" for i in range(17)}
    msg.update({"count": 42, "flag": True, "nested": {"x": "1"}})
    for m in (msg, ans104.commit(msg, wallet)):
        raw = ans104.encode(m)
        assert _check(raw)
        assert hb.match(ans104.decode(raw), m)


def test_non_ascii_names_take_the_general_path():
    tx = {"tags": [("Ünïcode".encode(), b"v"), (b"plain", b"1")], "data": b"x"}
    raw = _native.ans104_serialize(tx)
    assert _native.ans104_decode(raw) is None
    assert "ünïcode" in ans104.decode(raw)
    nested = {"tags": [], "data": {"ключ": {"tags": [(b"a", b"b")], "data": b"1"}}}
    assert _native.ans104_decode(_native.ans104_serialize(nested)) is None
    assert not _check(_native.ans104_serialize(nested))


def test_private_bundle_key_takes_the_general_path():
    tx = {"tags": [], "data": {"priv": {"tags": [(b"a", b"b")], "data": b"1"}}}
    raw = _native.ans104_serialize(tx)
    assert _native.ans104_decode(raw) is None
    assert not _check(raw)


def test_ao_type_binary():
    raw = _native.ans104_serialize({"tags": [(b"ao-type", b"binary")], "data": b"abc"})
    assert _native.ans104_decode(raw) == b"abc"
    assert _check(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1200), st.data())
def test_garbage_gives_the_same_error(blob, data):
    assert _check(blob) in (True, False)
    # a valid item with one byte changed or cut short
    raw = _native.ans104_serialize(
        {"tags": [(b"a", b"b"), (b"c", b"d")], "data": {"k": {"tags": [], "data": b"v"}}}
    )
    pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    bad = bytearray(raw)
    bad[pos] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    _check(bytes(bad))
    _check(raw[:pos])


def test_input_types():
    raw = _native.ans104_serialize({"tags": [(b"a", b"b")], "data": b"x"})
    assert same_typed(_native.ans104_decode(bytearray(raw)), ans104.decode_general(raw))
    with pytest.raises(hb.CodecError):
        _native.ans104_decode("text")


@pytest.mark.parametrize("value", [b"\x00", b"\x80", b"sha-256=:x:"])
def test_content_digest_tag_reencodes(value):
    """A ``content-digest`` tag stays in ``original-tags`` (structured@1.0 drops the key), so
    the item encodes back byte for byte (hypothesis found both ways to lose it)."""
    raw = _native.ans104_serialize({"tags": [(b"content-digest", value)], "data": b"x"})
    assert _check(raw)
    msg = ans104.decode(raw)
    assert "content-digest" not in msg
    assert ans104.encode(msg) == raw
