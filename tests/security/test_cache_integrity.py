"""Issue 11 items 5, 6 and 12: what the cache stores stays what was signed.

* item 5: an ID is linked to content only for a commitment that verifies against it, and no
  later write repoints an ID (over HTTP too: ``GET /<victim ID>/x``);
* item 6: every commitment keeps its own signature (commitments that differ only in
  ``signature`` no longer share a store group), the same content signed twice keeps both,
  ans104 binaries survive byte for byte, ``data/<h>`` blobs are checked when read;
* item 12: ``store_sync`` reaches the stores.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.exceptions import StoreCorrupt, UnverifiedCommitment
from hyperbeam_fast.node import config
from hyperbeam_fast.node.server import open_store
from hyperbeam_fast.store import FSStore, MemoryStore, RocksDBStore

KINDS = ["memory", "rocksdb", "fs"]


def make(kind: str, path: Path):
    if kind == "memory":
        return MemoryStore()
    if kind == "rocksdb":
        return RocksDBStore(str(path / "rocks"))
    return FSStore(str(path / "fs"))


@pytest.fixture(params=KINDS)
def store(request, tmp_path):
    s = make(request.param, tmp_path)
    yield s
    s.close()


def signed_id(msg: dict) -> str:
    """The ID of the (first) commitment of ``msg`` that names a committer."""
    return next(cid for cid, c in msg["commitments"].items() if c.get("committer"))


def same_bytes(a: dict, b: dict, codec: str) -> bool:
    return hb.convert(a, codec) == hb.convert(b, codec)


# ---- item 6: stored signatures stay their own ------------------------------------------------


def test_two_messages_signed_over_the_same_keys_keep_their_signatures(store, operator_wallet):
    a = hb.commit({"x": "a"}, operator_wallet)
    b = hb.commit({"x": "b"}, operator_wallet)
    cache.write(a, store)
    cache.write(b, store)
    for m in (a, b):
        for ref in (hb.id(m, "all"), *m["commitments"]):
            got = cache.read(ref, store)
            assert hb.verify(got), ref
            assert got["commitments"] == hb.convert(m, "structured@1.0")["commitments"]
            assert same_bytes(got, m, "httpsig@1.0")


def test_the_same_content_signed_by_two_keys_keeps_both(store, operator_wallet, attacker_wallet):
    m = {"q": "1", "n": {"deep": "v"}}
    one = hb.commit(m, operator_wallet)
    two = hb.commit(m, attacker_wallet)
    cache.write(one, store)
    cache.write(two, store)
    for signed, wallet in ((one, operator_wallet), (two, attacker_wallet)):
        got = cache.read(signed_id(signed), store)
        assert hb.verify(got)
        assert hb.signers(got) == [wallet.address]
        assert same_bytes(got, signed, "httpsig@1.0")


def test_httpsig_and_ans104_commitments_of_one_content_are_both_kept(store, operator_wallet):
    m = {"t": "x", "k": "v"}
    h = hb.commit(m, operator_wallet)
    a = hb.commit(m, operator_wallet, "ans104@1.0")
    cache.write(h, store)
    cache.write(a, store)
    got = cache.read(signed_id(h), store)
    assert hb.verify(got) and same_bytes(got, h, "httpsig@1.0")
    got = cache.read(signed_id(a), store)
    assert hb.verify(got) and same_bytes(got, a, "ans104@1.0")


def test_an_ans104_binary_that_is_not_utf8_survives(store, operator_wallet):
    e = hb.commit({"a": b"\xcc\x18n\xe2", "t": "x"}, operator_wallet, "ans104@1.0")
    cache.write(e, store)
    got = cache.read(hb.id(e, "all"), store)
    assert got["a"] == b"\xcc\x18n\xe2"
    assert hb.verify(got) and hb.signers(got) == [operator_wallet.address]
    assert same_bytes(got, e, "ans104@1.0")


def test_messages_that_differ_only_in_keys_the_unsigned_id_ignores_stay_apart(store):
    # The unsigned ID leaves `signature` out (core §4.3): both have one unsigned ID.
    first = {"x": "a"}
    second = {"x": "a", "signature": "attacker"}
    assert hb.id(first, "none") == hb.id(second, "none")
    uid = cache.write(first, store)
    cache.write(second, store)
    assert cache.read(uid, store) == {"x": b"a"}
    # As sub-messages: each parent keeps its own child.
    p1 = cache.write({"c": {"x": "a", "signature": "1"}}, store)
    p2 = cache.write({"c": {"x": "a", "signature": "2"}}, store)
    assert cache.read([p1, "c", "signature"], store) == b"1"
    assert cache.read([p2, "c", "signature"], store) == b"2"


def _blob_path(store, uid: str, key: str) -> str:
    """The ``data/<h>`` path that the stored key ``uid/key`` links to."""
    target = store.resolve(f"{uid}/{key}")
    assert target.startswith("data/"), target
    return target


def test_a_tampered_data_blob_is_never_served(store):
    value = b"v" * 2000  # over RocksDB's inline limit: a data/<h> blob in every store
    uid = cache.write({"big": value, "small": "s"}, store)
    path = _blob_path(store, uid, "big")
    assert path == "data/" + hb.b64url_encode(hashlib.sha256(value).digest())
    if isinstance(store, FSStore):
        with open(os.path.join(store.root, path), "wb") as f:
            f.write(b"tampered")
    else:
        store._apply([("write", path, b"tampered")])
    with pytest.raises(StoreCorrupt):
        cache.read(uid, store)
    with pytest.raises(StoreCorrupt):
        cache.read([uid, "big"], store)
    with pytest.raises(StoreCorrupt):
        cache.read(path, store)


# ---- item 5: only verified commitments name content; IDs are never repointed ----------------


def test_a_commitment_that_does_not_verify_is_refused(store, operator_wallet, attacker_wallet):
    victim = hb.commit({"x": "victim"}, operator_wallet)
    cache.write(victim, store)
    vid = signed_id(victim)
    attack = hb.commit({"x": "evil"}, attacker_wallet)
    forged = dict(victim["commitments"][vid])
    forged.pop("committer")  # a commitment with no committer was never checked
    attack["commitments"][vid] = forged
    with pytest.raises(UnverifiedCommitment):
        cache.write(attack, store)
    assert cache.read([vid, "x"], store) == b"victim"
    # An HMAC commitment under another message's ID: its ID is not the recomputed unsigned ID.
    hmac = {"commitment-device": "httpsig@1.0", "alg": "hmac-sha256"}
    with pytest.raises(UnverifiedCommitment):
        cache.write({"x": "evil", "commitments": {hb.id(victim, "all"): hmac}}, store)
    assert cache.read([hb.id(victim, "all"), "x"], store) == b"victim"
    with pytest.raises(UnverifiedCommitment):
        cache.write({"x": "evil", "commitments": {hb.id(victim, "none"): hmac}}, store)
    assert cache.read([hb.id(victim, "none"), "x"], store) == b"victim"


def test_a_verified_rewrite_never_repoints_an_id(store, operator_wallet, attacker_wallet):
    m = {"x": "shared"}
    mine = hb.commit(m, operator_wallet)
    cache.write(mine, store)
    # The attacker signs the very same content and adds the victim's (valid) commitment.
    both = hb.commit(mine, attacker_wallet)
    cache.write(both, store)
    got = cache.read(signed_id(mine), store)
    assert hb.signers(got) == [operator_wallet.address]
    assert same_bytes(got, mine, "httpsig@1.0")


def _post_json(node, msg: dict) -> int:
    req = urllib.request.Request(
        node.url + "/~message@1.0",
        data=hb.convert(msg, "json@1.0"),
        method="POST",
        headers={"codec-device": "json@1.0"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _get(node, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(node.url + path, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_http_a_signed_post_cannot_repoint_a_victim_id(node, operator_wallet, attacker_wallet):
    victim = hb.commit({"x": "victim-content"}, operator_wallet)
    vid = signed_id(victim)
    assert _post_json(node, victim) < 500
    assert _get(node, f"/{vid}/x") == (200, b"victim-content")
    attack = hb.commit({"x": "evil"}, attacker_wallet)
    forged = dict(victim["commitments"][vid])
    forged.pop("committer")
    attack["commitments"][vid] = forged
    assert _post_json(node, attack) < 500
    assert _get(node, f"/{vid}/x") == (200, b"victim-content")


def test_http_posted_messages_keep_their_own_signatures(node, operator_wallet):
    a = hb.commit({"x": "a"}, operator_wallet)
    b = hb.commit({"x": "b"}, operator_wallet)
    for m in (a, b):
        assert _post_json(node, m) < 500
    for m in (a, b):
        cid = signed_id(m)
        sig = hb.convert(m, "structured@1.0")["commitments"][cid]["signature"]
        assert _get(node, f"/{cid}/commitments/{cid}/signature") == (200, sig)


# ---- item 12: store_sync reaches the stores -------------------------------------------------


def test_store_sync_defaults_to_none_as_hyperbeam(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./config.flat
    opts = config.load({}, environ={})
    assert opts["store_sync"] == "none" and config.store_sync(opts) is False
    s = open_store(f"fs:{tmp_path / 'fs'}", config.store_sync(opts))
    assert s.sync is False
    r = open_store(str(tmp_path / "rocks"), config.store_sync(opts))
    assert r.sync is False
    r.close()


def test_store_sync_always_from_config_flat_reaches_every_local_store(tmp_path, monkeypatch):
    cfg = tmp_path / "config.flat"
    cfg.write_text("store_sync: always\n")
    opts = config.load({}, str(cfg), environ={})
    assert config.store_sync(opts) is True
    fs = open_store(f"fs:{tmp_path / 'fs'}", True)
    rocks = open_store(str(tmp_path / "rocks"), True)
    assert fs.sync is True and rocks.sync is True
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    cache.write({"a": "1", "n": {"b": "2"}}, fs)
    # The staged group's directories and files, the data blobs, the root directory.
    assert os.path.join(fs.root, "data") in synced
    assert str(fs.root) in synced
    assert len(synced) >= 5
    rocks.close()


def test_rocksdb_sync_writes_every_batch_with_a_synced_wal(tmp_path, monkeypatch):
    rocks = RocksDBStore(str(tmp_path / "rocks"), sync=True)
    seen: list[bool] = []
    db_write = rocks._db.write

    class Spy:
        def __getattr__(self, name):
            return getattr(rocks._db, name)

        def write(self, wb, wo=None):
            seen.append(bool(wo is not None and wo.sync))
            return db_write(wb, wo) if wo is not None else db_write(wb)

    monkeypatch.setattr(rocks, "_db", Spy())
    cache.write({"a": "1"}, rocks)
    rocks.make_group("g")
    n = len(seen)
    rocks.write("g/v", b"raw")  # a known group's child: no unsynced one-put fast path
    assert len(seen) == n + 1 and all(seen)
    monkeypatch.undo()
    rocks.close()


def test_serve_store_sync_flag_and_bad_values(tmp_path):
    from hyperbeam_fast import cli

    args = cli._parser().parse_args(["serve", "--store-sync", "always"])
    assert args.store_sync == "always"
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["serve", "--store-sync", "sometimes"])
    with pytest.raises(config.ConfigError):
        config.load({"store_sync": "sometimes"}, environ={})
    assert json.loads(json.dumps(config.STORE_SYNC)) == ["none", "always"]


def test_a_resolution_with_an_unverifiable_message_is_simply_not_cached(store):
    forged = {
        "x": "1",
        "commitments": {"F" * 43: {"commitment-device": "httpsig@1.0", "alg": "hmac-sha256"}},
    }
    opts = {"cache_control": ["always"]}
    assert cache.store_result(forged, {"path": "x"}, b"1", store, opts) is False
    assert cache.store_result({"a": "1"}, {"path": "a"}, forged, store, opts) is False
    with pytest.raises(hb.NotFound):
        cache.read("F" * 43, store)
    assert cache.store_result({"a": "1"}, {"path": "a"}, b"1", store, opts) is True


class LyingPeer(MemoryStore):
    """A remote store (another node) that answers every ID with the message it likes."""

    scope = "remote"

    def __init__(self, answer: dict | bytes) -> None:
        super().__init__()
        self.answer = answer

    def read_message(self, key):
        return self.answer


def test_a_peer_cannot_answer_an_id_with_another_message(operator_wallet, attacker_wallet):
    from hyperbeam_fast.store import StoreChain

    victim = hb.commit({"x": "victim"}, operator_wallet)
    other = hb.commit({"x": "evil"}, attacker_wallet)
    local = MemoryStore()
    chain = StoreChain([local, LyingPeer(other)], write_through=True)
    for ref in (signed_id(victim), hb.id(victim, "none")):
        with pytest.raises(hb.NotFound):
            cache.read(ref, chain)
    with pytest.raises(hb.NotFound):
        cache.read(signed_id(victim), local)  # nothing was written through either
    honest = StoreChain([MemoryStore(), LyingPeer(victim)], write_through=True)
    assert cache.read([signed_id(victim)], honest)["x"] == b"victim"
    blob = "data/" + hb.b64url_encode(hashlib.sha256(b"real").digest())
    with pytest.raises(hb.NotFound):
        cache.read(blob, StoreChain([MemoryStore(), LyingPeer(b"fake")]))


def test_keys_a_signature_does_not_cover_are_never_stored_with_it(store, operator_wallet):
    victim = hb.commit({"x": "v"}, operator_wallet)
    vid = signed_id(victim)
    rsa_only = {"x": "v", "evil": "1", "commitments": {vid: victim["commitments"][vid]}}
    # ... and with a made-up HMAC commitment whose ID is the unsigned ID of the whole message.
    hmac = {"commitment-device": "httpsig@1.0", "alg": "hmac-sha256"}
    with_hmac = {**rsa_only, "commitments": {**rsa_only["commitments"]}}
    with_hmac["commitments"][hb.id(with_hmac, "none")] = hmac
    for attempt in (with_hmac, rsa_only):
        try:
            cache.write(attempt, store)
        except UnverifiedCommitment:
            continue
        got = cache.read(vid, store)
        assert "evil" not in got and hb.verify(got)
