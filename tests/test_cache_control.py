"""Cache-control directives (runtime §2.9): settings precedence, lookup and store."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.store import MemoryStore


@pytest.mark.parametrize(
    ("directives", "expected"),
    [
        (None, {"store": False, "lookup": False, "only-if-cached": False}),
        ("always", {"store": True, "lookup": True, "only-if-cached": False}),
        (["no-store", "cache"], {"store": False, "lookup": True, "only-if-cached": False}),
        ("store, no-cache", {"store": True, "lookup": False, "only-if-cached": False}),
        (["only-if-cached"], {"store": False, "lookup": False, "only-if-cached": True}),
        ([b"No-Store", b"Store"], {"store": False, "lookup": False, "only-if-cached": False}),
        (["always", "no-store"], {"store": True, "lookup": True, "only-if-cached": False}),
    ],
)
def test_directives(directives, expected):
    assert cache.lookup_settings({}, {}, {"cache_control": directives}) == expected


def test_precedence():
    # Lookups: Opts > Msg1 > Msg2.
    s = cache.lookup_settings({"cache-control": "cache"}, {"cache-control": "no-cache"})
    assert s["lookup"] is True
    s = cache.lookup_settings({"cache-control": "cache"}, {}, {"cache_control": "no-cache"})
    assert s["lookup"] is False
    # Unset does not override: Msg2 alone decides.
    assert cache.lookup_settings({}, {"cache-control": "cache"})["lookup"] is True
    # Storing: Opts > Msg3 > Msg2; Msg1 is never consulted.
    assert (
        cache.store_settings({"cache-control": "store"}, {"cache-control": "no-store"})["store"]
        is False
    )
    assert (
        cache.store_settings({"cache-control": "no-store"}, {}, {"cache_control": "store"})["store"]
        is True
    )
    # hashpath=ignore forces no store from the Opts source.
    opts = {"cache_control": "always", "hashpath": "ignore"}
    assert cache.store_settings({}, {}, opts)["store"] is False


def test_resolve_flow_serves_repeats_from_cache():
    store = MemoryStore()
    opts = {"cache_control": ["always"]}
    m1, m2 = {"a": "1", "b": "2"}, {"path": "computed"}
    assert cache.lookup(m1, m2, store, opts) == ("miss", None)
    assert cache.store_result(m1, m2, b"result", store, opts)
    assert cache.lookup(m1, m2, store, opts) == ("hit", b"result")
    # A map result is served too (linked from the pair's hashpath).
    m2b = {"path": "other"}
    assert cache.store_result(m1, m2b, {"x": "y"}, store, opts)
    assert cache.lookup(m1, m2b, store, opts) == ("hit", {"x": b"y"})
    # Key lookups work from msg1's own key links (runtime §2.9 note).
    assert cache.lookup(m1, {"path": "a"}, store, opts) == ("hit", b"1")
    # A key of msg1 is never overwritten by a map result.
    cache.store_result(m1, {"path": "a"}, {"not": "a"}, store, opts)
    got = cache.read(hb.id(m1, "none"), store)
    assert got["a"] == b"1"
    # HyperBEAM's layout quirk, kept: hashpath(M1, {path: K}) is "<U1>/K", so results cached for
    # computed keys show up as extra keys when M1's group is read back.
    assert got == {"a": b"1", "b": b"2", "computed": b"result", "other": {"x": b"y"}}


def test_no_store_no_cache_and_defaults():
    store = MemoryStore()
    m1, m2 = {"a": "1"}, {"path": "x"}
    assert not cache.store_result(m1, m2, b"r", store, {"cache_control": ["no-cache", "no-store"]})
    assert not cache.store_result(m1, m2, b"r", store, None)  # default: store=false
    cache.store_result(m1, m2, b"r", store, {"cache_control": "store"})
    assert cache.lookup(m1, m2, store, None) == ("skip", None)  # default: lookup=false
    assert cache.lookup(m1, m2, store, {"cache_control": "no-cache"}) == ("skip", None)
    assert cache.lookup(m1, m2, store, {"cache_control": "cache"}) == ("hit", b"r")
    assert cache.lookup(m1, {"path": "y", "cache-control": "no-cache"}, store)[0] == "skip"


def test_only_if_cached():
    store = MemoryStore()
    m1, m2 = {"a": "1"}, {"path": "x"}
    # Alone it does not switch lookup on: the request simply executes.
    assert cache.lookup(m1, m2, store, {"cache_control": "only-if-cached"}) == ("skip", None)
    status, err = cache.lookup(m1, m2, store, {"cache_control": ["always", "only-if-cached"]})
    assert status == "error" and err["status"] == 504 and err["cache-status"] == "miss"


def test_msg1_as_id():
    store = MemoryStore()
    m1 = {"a": "1"}
    uid = cache.write(m1, store)
    opts = {"cache_control": "always"}
    status, loaded = cache.lookup(uid, {"path": "nothing"}, store, opts)
    assert status == "loaded" and loaded == {"a": b"1"}
    status, err = cache.lookup("Z" * 43, {"path": "x"}, store, opts)
    assert status == "error" and err["status"] == 404


def test_heuristic_skips_plain_key_lookups():
    store = MemoryStore()
    opts = {"cache_control": "always", "cache_lookup_hueristics": True}
    assert cache.lookup({"a": "1"}, {"path": "a"}, store, opts) == ("skip", None)
