"""A plain signed ANS-104 item in one native pass (``ans104.decode_verified``,
``commitments.verified_ans104``) against the general path (``decode_general``, then
``verify_commitment`` and ``committed`` with every memo empty): the same message, the same
verdict, the same committed keys, on generated items, bad signatures and flipped bytes; and
the ingress (``request_to_singleton``) gives the same singleton or the same refusal either way
(spec core §8.7, §8.8; runtime §7.2).
"""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native
from hyperbeam_fast import commitments as cm
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.node import http
from hyperbeam_fast.wallet import Wallet
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from strategies import same_typed

hb_errors = (Exception,)  # `event` outside a hypothesis test
HDRS = [(b"content-type", b"application/ans104"), (b"codec-device", b"ans104@1.0")]
#: the tags aoconnect 0.0.98 puts on a message (benches/_common.py AOC)
AOC = {
    "data-protocol": "ao",
    "type": "Message",
    "variant": "ao.N.1",
    "require-codec": "application/json",
    "signing-format": "ans104",
    "accept-bundle": "true",
}


def _forget() -> None:
    cm._CHECKED.clear()
    cm._COMMITTED.clear()
    ans104._CHECKED.clear()


def _general(raw: bytes):
    """What the general path makes of ``raw``: (message, verdict, committed keys or None)."""
    _forget()
    msg = ans104.decode_general(raw)
    if not isinstance(msg, dict):
        return msg, False, None
    comms = msg.get("commitments") or {}
    if len(comms) != 1:
        return msg, False, None
    ((cid, c),) = comms.items()
    ok = ans104.verify_commitment(msg, cid, c)
    _forget()
    try:
        keys = cm.committed(msg) if ok else None
    except hb.HyperbeamError:
        keys = None
    _forget()
    return msg, ok, keys


def _ingress(raw: bytes, native: bool, monkeypatch):
    _forget()
    with monkeypatch.context() as m:
        if not native:
            m.setattr(http, "verified_ans104", lambda _raw: None)
        try:
            msg, signed = http.request_to_singleton("POST", "/p~process@1.0/push", HDRS, raw)
        except http.BadRequest as e:
            return "refused", e.status, str(e)
        finally:
            _forget()
    msg = {k: v for k, v in msg.items() if k != "priv"}
    return "ok", msg, signed


def _check(raw: bytes, monkeypatch) -> bool:
    """Native and general agree; returns whether the native pass took the item."""
    try:
        general = _general(raw)
    except hb.HyperbeamError:
        general = None
    _forget()
    native = ans104.decode_verified(raw)
    try:  # shown by --hypothesis-show-statistics
        event("general path" if native is None else f"native pass, valid={native[1]}")
    except hb_errors:
        pass
    if native is not None:
        assert general is not None, "the native pass took an item the general one refuses"
        msg, ok, keys = native
        assert same_typed(msg, general[0])
        assert ok == general[1]
        if ok:
            assert keys == general[2]
        # only a real check is recorded: a bad signature leaves the memos empty
        _forget()
        got = cm.verified_ans104(raw)
        assert (got is not None) == ok
        assert (len(cm._CHECKED) == 1) == ok and all(cm._CHECKED.values())
        if ok:
            assert same_typed(got, general[0]) and cm.committed(got) == general[2]
            assert cm.verify(got)
    assert _ingress(raw, True, monkeypatch) == _ingress(raw, False, monkeypatch)
    return native is not None


@pytest.fixture(scope="module")
def wallet():
    return Wallet.generate(4096)


_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# tag names: plain ones (lower and upper case, repeats) and every kind the native pass leaves
# to the general path
_special = st.sampled_from(
    [
        "id",
        "owner",
        "target",
        "data",
        "Data",
        "quantity",
        "commitments",
        "original-tags",
        "committer",
        "alg",
        "priv",
        "Private-x",
        "ao-type",
        "ao-types",
        "trusted-keys",
        "bundle-format",
        "map-format",
        "content-digest",
        "hashpath",
        "a" * 43,
        "X" * 32,
        "Ünï",
        "Action",
        "Data-Protocol",
        "path",
        "method",
    ]
)
_plain = st.text(alphabet="abcdefAB-_+/ 1", min_size=1, max_size=8)
_names = st.one_of(_special, _plain, _plain, _plain)
_values = st.one_of(
    st.sampled_from([b"", b"Eval", b"1", b'q"u\\ote', b"empty-binary", b"POST"]),
    st.text(max_size=12).map(str.encode),
    st.binary(max_size=40),
    st.binary(min_size=129, max_size=140),
)
_data = st.one_of(
    st.sampled_from([b"", b"return 1 + 1"]),
    st.binary(max_size=64),
    st.binary(min_size=42, max_size=43),
    st.text(alphabet="abcAB-_0", min_size=43, max_size=43).map(str.encode),
)
_opt32 = st.one_of(st.just(b""), st.binary(min_size=32, max_size=32))
_items = st.fixed_dictionaries(
    {
        "tags": st.lists(st.tuples(_names.map(str.encode), _values), max_size=12),
        "target": _opt32,
        "last_tx": _opt32,
        "data": _data,
    }
)


def _signed(tx, wallet) -> bytes:
    try:
        return _native.ans104_serialize(_native.ans104_sign(tx, wallet._key))
    except hb.HyperbeamError:
        assume(False)
        raise


@_SETTINGS
@given(tx=_items)
def test_generated_items(wallet, tx, monkeypatch):
    _check(_signed(tx, wallet), monkeypatch)


_plain_items = st.fixed_dictionaries(
    {
        "tags": st.lists(st.tuples(_plain.map(str.encode), _values.filter(bool)), max_size=32),
        "target": _opt32,
        "last_tx": _opt32,
        "data": st.one_of(st.binary(max_size=42), st.binary(min_size=44, max_size=300)),
    }
)


@_SETTINGS
@given(tx=_plain_items)
def test_plain_items_take_the_native_pass(wallet, tx, monkeypatch):
    """Up to 32 tags of plain names (repeated, upper case, long or non-UTF-8 values: original
    tags), any data but 43 bytes: all of them decoded and verified in the one native pass."""
    assert _check(_signed(tx, wallet), monkeypatch)


@settings(_SETTINGS, max_examples=120)
@given(tx=_items, data=st.data())
def test_flipped_bytes(wallet, tx, data, monkeypatch):
    raw = bytearray(_signed(tx, wallet))
    # anywhere, or in the signature, the owner or after them (tags, data)
    lo = data.draw(st.sampled_from([0, 2, 514, 1026]))
    pos = data.draw(st.integers(min_value=min(lo, len(raw) - 1), max_value=len(raw) - 1))
    raw[pos] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    _check(bytes(raw), monkeypatch)


@_SETTINGS
@given(
    msg=st.dictionaries(
        st.text(alphabet="abcdefghij-", min_size=1, max_size=10),
        st.one_of(st.text(min_size=1, max_size=20), st.binary(min_size=1, max_size=200)),
        max_size=20,
    )
)
def test_committed_messages(wallet, msg, monkeypatch):
    """Messages committed with ans104@1.0 (as aoconnect and our client sign them)."""
    try:
        raw = ans104.encode(hb.commit({**AOC, **msg}, wallet, "ans104@1.0"))
    except hb.HyperbeamError:
        assume(False)
    _check(raw, monkeypatch)


def test_aoconnect_shaped_items_take_the_native_pass(wallet, monkeypatch):
    target = _native.b64url_encode(bytes(range(32)))
    for fields in ({"action": "Eval", "data": "return 1 + 1"}, {"n": "7"}):
        raw = ans104.encode(hb.commit({**AOC, **fields, "target": target}, wallet, "ans104@1.0"))
        assert _check(raw, monkeypatch)
    # upper-case names, as aoconnect writes them: original tags (11 of them: the order of
    # `maps:values` of "1".."11" differs from the tags' own)
    tags = [(n.encode(), b"v") for n in ("Data-Protocol", "Variant", "Type", "Action")]
    tags += [(f"X-{i}".encode(), str(i).encode()) for i in range(7)]
    raw = _signed({"tags": tags, "data": b"return 1 + 1", "target": bytes(32)}, wallet)
    assert _check(raw, monkeypatch)


def test_a_bad_signature_is_refused_and_recorded_nowhere(wallet, monkeypatch):
    raw = bytearray(_signed({"tags": [(b"action", b"Eval")], "data": b"1"}, wallet))
    raw[10] ^= 1  # inside the signature
    _forget()
    assert ans104.decode_verified(bytes(raw))[1] is False
    assert cm.verified_ans104(bytes(raw)) is None
    assert not cm._CHECKED and not cm._COMMITTED
    with pytest.raises(http.BadRequest) as e:
        http.request_to_singleton("POST", "/p~process@1.0/push", HDRS, bytes(raw))
    assert e.value.status == 400 and "invalid signature" in str(e.value)
    assert True not in cm._CHECKED.values()
    _forget()


def test_the_memo_is_for_exactly_that_content(wallet):
    raw = _signed({"tags": [(b"action", b"Eval")], "data": b"1"}, wallet)
    _forget()
    msg = cm.verified_ans104(raw)
    assert msg is not None and cm.verify(msg)
    assert len(cm._CHECKED) == 1
    # the same commitment over other content is checked afresh (and fails)
    assert not cm.verify({**msg, "action": b"Transfer"})
    assert not cm.verify({**msg, "data": b"2"})
    # a key written otherwise is other content for the memo: checked afresh (it verifies: the
    # codec normalises the name)
    assert cm.verify({k.title() if k == "action" else k: v for k, v in msg.items()})
    assert len(cm._CHECKED) == 4 and list(cm._CHECKED.values()) == [True, False, False, True]
    assert cm.committed({**msg, "extra": b"x"}) == []  # the signature does not cover it
    _forget()


def test_not_bytes():
    with pytest.raises(hb.CodecError):
        ans104.decode_verified("text")  # type: ignore[arg-type]
    assert ans104.decode_verified(b"") is None
