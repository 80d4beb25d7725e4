"""The exact memos of signature checks and committed keys (issue 12 speed, commitments._CHECKED,
_COMMITTED, _MADE) and the cache write they serve: a changed byte in the content or in a
commitment always misses, and only the cache's write takes the node's own fresh commitment
without an RSA check (``commitments.made_here``)."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native, cache, commitments
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.exceptions import UnverifiedCommitment
from hyperbeam_fast.store import MemoryStore
from hypothesis import HealthCheck, given, settings
from strategies import messages


@pytest.fixture(scope="module")
def w1(shared_dir) -> hb.Wallet:
    return hb.Wallet.from_file(shared_dir / "fixtures" / "hyperbeam" / "key-1.json")


@pytest.fixture
def counted(monkeypatch):
    """The number of native RSA checks of httpsig and ans104 commitments made."""
    calls = {"httpsig": 0, "ans104": 0}
    hv, av = _native.httpsig_verify, _native.ans104_verify

    def httpsig_verify(*a):
        calls["httpsig"] += 1
        return hv(*a)

    def ans104_verify(*a):
        calls["ans104"] += 1
        return av(*a)

    monkeypatch.setattr(_native, "httpsig_verify", httpsig_verify)
    monkeypatch.setattr(_native, "ans104_verify", ans104_verify)
    return calls


def _rsa_id(msg):
    return next(cid for cid, c in msg["commitments"].items() if commitments.is_asymmetric(c))


def _other_digit(sig: bytes) -> bytes:
    """``sig`` with one base64 digit changed for another (still well-formed)."""
    b = bytearray(sig)
    colon = b.find(b":")
    i = colon + 20 if colon >= 0 else 40
    b[i] = ord("B") if b[i] == ord("A") else ord("A")
    return bytes(b)


def test_made_here_holds_for_exactly_what_commit_made(w1):
    signed = hb.commit({"a": "1", "body": "hi", "n": "made-1"}, w1)
    cid = _rsa_id(signed)
    assert commitments.made_here(signed, cid)
    assert commitments.made_here({**signed, "priv": {"x": 1}}, cid)  # private keys: no content
    hmac = next(c for c in signed["commitments"] if c != cid)
    assert not commitments.made_here(signed, hmac)  # only asymmetric ones are recorded
    assert not commitments.made_here(dict(signed, a="2"), cid)  # a changed value
    assert not commitments.made_here(dict(signed, A="1"), cid)  # an added key
    comms = {k: dict(v) for k, v in signed["commitments"].items()}
    comms[cid]["signature"] = _other_digit(comms[cid]["signature"])
    assert not commitments.made_here(dict(signed, commitments=comms), cid)
    comms = {k: dict(v) for k, v in signed["commitments"].items()}
    comms[cid]["committer"] = comms[cid]["committer"].decode()  # the same text, as str
    assert not commitments.made_here(dict(signed, commitments=comms), cid)
    unsigned = {k: v for k, v in signed.items() if k != "commitments"}
    assert not commitments.made_here(unsigned, cid)


def test_verify_never_takes_a_made_commitment_on_trust(w1, counted):
    signed = hb.commit({"a": "1", "n": "made-2"}, w1)
    commitments._CHECKED.clear()
    assert hb.verify(signed)
    assert counted["httpsig"] == 1  # checked, although commit made it a moment ago
    assert hb.signers(signed) == [w1.address]  # then remembered (_CHECKED), for this content
    assert counted["httpsig"] == 1


def test_the_cache_write_of_a_fresh_commitment_checks_no_signature(w1, counted):
    signed = hb.commit({"a": "1", "nested": {"b": "2"}, "n": "made-3"}, w1)
    store = MemoryStore()
    uid = cache.write(signed, store)
    assert counted["httpsig"] == 0
    back = cache.read(_rsa_id(signed), store)
    assert hb.id(back, "none") == uid and hb.verify(back) and counted["httpsig"] == 1


def test_the_cache_write_of_a_changed_made_message_is_checked_and_refused(w1, counted):
    signed = hb.commit({"a": "1", "n": "made-4"}, w1)
    store = MemoryStore()
    with pytest.raises(UnverifiedCommitment):
        cache.write(dict(signed, a="2"), store)
    comms = {k: dict(v) for k, v in signed["commitments"].items()}
    cid = _rsa_id(signed)
    comms[cid]["signature"] = _other_digit(comms[cid]["signature"])
    with pytest.raises(UnverifiedCommitment):
        cache.write(dict(signed, commitments=comms), store)
    assert store.read_link(cid) is None and not store.exists(cid)


@pytest.mark.parametrize(
    ("a", "b"),
    [(1, True), ("1", b"1"), (b"1", 1), (1, 1.0)],
    ids=["int-bool", "str-bytes", "b-i", "i-f"],
)
def test_commitment_fields_that_compare_equal_are_different_keys(a, b):
    key_a = commitments._fields_key({"alg": b"rsa-pss", "x": a})
    key_b = commitments._fields_key({"alg": b"rsa-pss", "x": b})
    assert key_a != key_b


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"1": {"name": b"A", "value": b"1"}}, {"1": {"name": b"A", "value": "1"}}),
        ({"1": {"name": b"A"}}, {"1": {"name": b"a"}}),
        ({"1": {"name": b"A"}}, {"1": {"name": b"A", "value": b""}}),
        ({"1": {"name": b"A", "value": 1}}, {"1": {"name": b"A", "value": True}}),
        ({"1": {"name": b"A"}}, {1: {"name": b"A"}}),
        ({"1": {"name": b"A"}}, (("1", (("name", b"A"),)),)),
    ],
    ids=["str-bytes", "case", "extra", "int-bool", "key-type", "tuple"],
)
def test_nested_commitment_fields_that_differ_are_different_keys(a, b):
    """An ans104 commitment's ``original-tags`` (a map of maps) keys the memos exactly."""
    key_a = commitments._fields_key({"alg": b"rsa-pss", "original-tags": a})
    key_b = commitments._fields_key({"alg": b"rsa-pss", "original-tags": b})
    assert key_a != key_b
    assert key_a == commitments._fields_key({"alg": b"rsa-pss", "original-tags": a})


def test_a_checked_ans104_signature_is_not_rechecked_by_committed(w1, counted):
    signed = hb.commit({"a": "1", "data": "hi", "n": "memo-5"}, w1, "ans104@1.0")
    item = ans104.decode(ans104.encode(signed))
    commitments._CHECKED.clear()
    commitments._COMMITTED.clear()
    ans104._CHECKED.clear()
    assert hb.verify(item) and counted["ans104"] == 1
    keys = hb.committed(item)
    assert counted["ans104"] == 1 and {"a", "data", "n"} <= set(keys)
    # a changed signature (same commitment ID) misses every memo: checked, and covers nothing
    comms = {k: dict(v) for k, v in item["commitments"].items()}
    c = next(iter(comms.values()))
    c["signature"] = _other_digit(c["signature"])
    forged = dict(item, commitments=comms)
    assert hb.committed(forged) == [] and counted["ans104"] == 2
    assert not hb.verify(forged)
    assert hb.committed(item) == keys  # the original's answer is still the remembered one


def test_committed_misses_for_a_changed_byte(w1):
    signed = hb.commit({"a": "1", "e": b"", "n": "memo-6"}, w1)
    keys = hb.committed(signed)
    assert "a" in keys and "e" in keys
    comms = {k: dict(v) for k, v in signed["commitments"].items()}
    for c in comms.values():  # both commitments' inputs no longer name `n`
        c["signature-input"] = c["signature-input"].replace(b' "n")', b")")
    fewer = hb.committed(dict(signed, commitments=comms))
    assert "n" in keys and "n" not in fewer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_what_commit_records_as_made_verifies_afresh(w1, msg):
    """made_here(commit(m)) implies a real (memo-less) check of that commitment passes."""
    try:
        signed = hb.commit(msg, w1)
    except hb.HyperbeamError:
        return
    cid = _rsa_id(signed)
    assert commitments.made_here(signed, cid)
    commitments._CHECKED.clear()
    assert hb.verify(signed, [w1.address])


def test_a_plan_writes_nothing_until_applied(w1):
    signed = hb.commit({"a": "1", "n": "plan-1"}, w1)
    store = MemoryStore()
    p = cache.plan(signed, store)
    assert store.read_link(_rsa_id(signed)) is None and not store._d  # nothing written
    uid = cache.apply(p)
    assert uid == hb.id(signed, "none")
    assert hb.verify(cache.read(_rsa_id(signed), store))
    assert cache.apply(p) == uid  # applied again: everything is there, nothing changes
    with pytest.raises(UnverifiedCommitment):
        cache.plan(dict(signed, a="2"), store)


def test_a_plan_applied_after_its_group_went_is_written_whole(w1):
    signed = hb.commit({"a": "1", "n": "plan-2"}, w1)
    store = MemoryStore()
    cache.write(signed, store)
    p = cache.plan(signed, store)  # already there: no operations worked out
    store.reset()
    cache.apply(p)
    assert hb.verify(cache.read(_rsa_id(signed), store))


def test_memory_store_skips_what_is_there_and_stays_atomic():
    """MemoryStore._apply leaves an entry already stored as it is (its parent's index too), and
    a batch that fails writes nothing, also the entries it had in common with the store."""
    from hyperbeam_fast.exceptions import StoreError

    store = MemoryStore()
    uid = cache.write({"a": "1", "nested": {"b": "2"}}, store)
    before = (dict(store._d), {k: set(v) for k, v in store._kids.items()})
    assert cache.write({"a": "1", "nested": {"b": "2"}}, store) == uid
    assert (store._d, store._kids) == before
    assert sorted(store.list(uid)) == ["a", "nested"]
    with pytest.raises(StoreError):
        with store.batch() as b:
            b.write("fresh/x", b"1")
            b.write(uid, b"over a group")
    assert (store._d, store._kids) == before
    cache.write({"a": "1", "nested": {"b": "2"}, "c": "3"}, store)  # shares `a` and `nested`
    assert hb.match(cache.read(uid, store), {"a": "1", "nested": {"b": "2"}})


def test_a_reply_the_node_just_signed_goes_out_unchecked_and_signed_once(w1, counted):
    """A scheduler's assignment (made by the node's ``commit`` a moment before) is a signed
    reply: no second signature, no ``status`` added, and no RSA check of what was just signed;
    a reply whose commitment was not made for exactly its content is still checked."""
    from hyperbeam_fast.node import client, pipeline
    from hyperbeam_fast.node.config import DEFAULTS
    from hyperbeam_fast.node.http import response_to_message

    node = pipeline.Node({**DEFAULTS, "store": "memory"}, wallet=w1)
    try:

        def post(path: str, msg: dict) -> tuple[int, list, bytes]:
            _, p, headers, body = client.encode_request(
                {"method": "POST", "path": path, "body": msg}, None
            )
            hdrs = [
                (k.encode(), v.encode() if isinstance(v, str) else v) for k, v in headers.items()
            ]
            return node.handle("POST", p, hdrs, body)

        proc = hb.commit({"device": "scheduler@1.0", "type": "Process", "n": "reply-1"}, w1)
        assert post("/~scheduler@1.0/schedule", proc)[0] == 200
        pid = hb.id(proc, "all")
        msg = hb.commit({"target": pid, "action": "Ping", "n": "reply-2"}, w1)
        commitments._CHECKED.clear()
        before = counted["httpsig"]
        st, h, out = post(f"/{pid}/schedule", msg)
        # one RSA check, of the client's message; none of the assignment the node signed
        assert st == 200 and counted["httpsig"] - before == 1
        reply = response_to_message(st, {k.decode(): v.decode("latin-1") for k, v in h}, out)[1]
        assert int(reply["slot"]) == 1
        rsa = [c for c in reply["commitments"].values() if commitments.is_asymmetric(c)]
        assert len(rsa) == 1  # signed once: by the scheduler, not again as a reply
        commitments._CHECKED.clear()
        assert hb.signers(reply) == [w1.address]  # what went out is the node's signature
        forged = dict(reply, slot=2)  # the same commitment over other content: checked
        assert not pipeline._already_signed(forged)
        assert pipeline._already_signed(reply)
    finally:
        node.close()
