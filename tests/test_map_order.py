"""Erlang map order above 32 keys (issue 13 item 1, docs/map-order.md).

* the 300 maps of ../shared/vectors/erlang-map-order/ ordered exactly as OTP 25.2.3 and OTP 27
  order them (``to_list`` and ``fold``), natively and by the pure-Python reference;
* HyperBEAM's IDs, httpsig, flat and ANS-104 bytes of 15 messages of 33-121 keys on OTP 27 and
  OTP 25 (../shared/vectors/hyperbeam-otp27/map-order-ids.json), each in its mode;
* a hypothesis property: the native ``id`` of messages of up to 300 keys equals the reference's
  with the same map-order model, in both modes;
* an ANS-104 item with more than 32 tags in HyperBEAM's order verifies as a message and
  re-encodes byte for byte;
* the mode: ``map_order`` option, ``HB_MAP_ORDER`` read at start-up.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import _native, commitments
from hyperbeam_fast import reference as ref
from hyperbeam_fast.codecs import ans104, flat
from hyperbeam_fast.exceptions import ConfigError
from hyperbeam_fast.map_order import FOLD, TO_LIST, map_order, ordered, set_map_order
from hyperbeam_fast.node import config
from hyperbeam_fast.wallet import Wallet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vectors import decode, find_shared_dir, typed_equal

SHARED = find_shared_dir()
ORDER_FILE = Path("vectors") / "erlang-map-order" / "erlang-map-order.json"
IDS_FILE = Path("vectors") / "hyperbeam-otp27" / "map-order-ids.json"


def _load(rel: Path):
    if SHARED is None or not (SHARED / rel).is_file():
        pytest.skip(f"reference material {rel} not found (set HYPERBEAM_SHARED)")
    with open(SHARED / rel, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture
def mode():
    """Restores the process-wide map order after the test."""
    before = map_order()
    yield set_map_order
    set_map_order(before)


# --- the 300 VM-ordered maps ---------------------------------------------------------------------

FIELDS = (
    ("order_b64", TO_LIST, "otp25"),
    ("fold_order_b64", FOLD, "otp25"),
    ("otp27_order_b64", TO_LIST, "otp27"),
    ("otp27_fold_order_b64", FOLD, "otp27"),
)


def _cases():
    return [
        ([base64.b64decode(k) for k in c["keys_b64"]], c)
        for c in _load(ORDER_FILE)  # a list of 300 cases
    ]


@pytest.mark.shared
def test_native_orders_the_300_vm_maps_exactly():
    cases = _cases()
    assert len(cases) == 300
    for i, (keys, case) in enumerate(cases):
        for field, walk, m in FIELDS:
            want = [base64.b64decode(k) for k in case[field]]
            got = [keys[j] for j in _native.map_walk_order(keys, walk, m)]
            assert got == want, f"case {i} {field}"


@pytest.mark.shared
def test_reference_orders_the_300_vm_maps_exactly():
    for i, (keys, case) in enumerate(_cases()):
        for field, walk, m in FIELDS:
            want = [base64.b64decode(k) for k in case[field]]
            assert ref.key_order(keys, walk, m) == want, f"case {i} {field}"


@pytest.mark.shared
def test_the_vectors_hold_otp25_hash_ties():
    """Cases 288..299 hold keys with equal 32-bit hashes: OTP 25.2.3 rehashes them."""
    ties = [(keys, c) for keys, c in _cases() if c["has_32bit_hash_collision"]]
    assert len(ties) == 12
    for keys, _ in ties:
        hashes = [ref.otp25_hash(k) for k in keys]
        assert len(set(hashes)) < len(hashes)


def test_small_maps_keep_sorted_order_in_both_modes():
    keys = [f"k{i}".encode() for i in range(32)]
    for m in ("otp25", "otp27"):
        for walk in (TO_LIST, FOLD):
            assert [keys[j] for j in _native.map_walk_order(keys, walk, m)] == sorted(keys)
    big = [*keys, b"k32"]
    for m in ("otp25", "otp27"):
        fold = [big[j] for j in _native.map_walk_order(big, FOLD, m)]
        assert fold != sorted(big)
        assert [big[j] for j in _native.map_walk_order(big, TO_LIST, m)] == fold[::-1]


def test_walk_order_rejects_bad_input():
    with pytest.raises(ValueError, match="distinct"):
        _native.map_walk_order([b"a", b"a"], TO_LIST)
    with pytest.raises(ValueError, match="walk"):
        _native.map_walk_order([b"a"], "sideways")
    with pytest.raises(ValueError, match="otp27"):
        _native.map_walk_order([b"a"], TO_LIST, "otp26")
    with pytest.raises(ConfigError, match="otp27"):
        set_map_order("otp99")


# --- HyperBEAM's encoders on OTP 27 and OTP 25 ---------------------------------------------------


def _id_vectors():
    if SHARED is None or not (SHARED / IDS_FILE).is_file():
        return [pytest.param(None, id="no-shared-material", marks=pytest.mark.skip("no vectors"))]
    with open(SHARED / IDS_FILE, encoding="utf-8") as fh:
        data = json.load(fh)
    msgs = {name: term for name, term in data["messages"]}
    out = []
    for v in data["vectors"]:
        name = decode(v["args"][0]).decode()[len("<message ") : -1]
        out.append(pytest.param(v, msgs[name], id=v["name"], marks=pytest.mark.shared))
    return out


@pytest.mark.parametrize(("vector", "msg_term"), _id_vectors())
def test_hyperbeam_map_order_vectors(vector, msg_term, mode):
    mode("otp" + vector["otp"])
    msg = decode(msg_term)
    want = decode(vector["output"])
    f = vector["function"]
    if f == "hb_message:id/2":
        assert hb.id(msg, "none") == want.decode()
    elif f == "hb_message:convert/3":
        assert typed_equal(hb.convert(msg, "httpsig@1.0"), want)
    elif f == "dev_codec_flat:serialize/1":
        assert want[0] is not None and flat.serialize(msg) == want[1]
    else:
        assert f.startswith("ar_bundles:serialize")
        item = ans104.encode(msg)
        assert item == want
        # and the bytes read back into the message they came from
        assert hb.id(ans104.decode(item), "none") == hb.id(ans104.decode(want), "none")


@pytest.mark.shared
def test_the_orders_differ_between_otp_releases(mode):
    """Where the vectors say OTP 25 and OTP 27 bytes differ, ours differ too."""
    data = _load(IDS_FILE)
    msgs = {name: decode(term) for name, term in data["messages"]}
    msg = msgs["m003-id-115keys-nested33plus"]
    ids = {}
    for m in ("otp25", "otp27"):
        mode(m)
        ids[m] = (hb.id(msg, "none"), flat.serialize(msg), ans104.encode(msg))
    assert all(a != b for a, b in zip(ids["otp25"], ids["otp27"], strict=True))


# --- the golden vectors (made on OTP 25) ---------------------------------------------------------


def _has_big_map(t) -> bool:
    kind = t.get("type") if isinstance(t, dict) else None
    if kind == "map":
        return len(t["value"]) > 32 or any(
            _has_big_map(a) or _has_big_map(b) for a, b in t["value"]
        )
    if kind in ("list", "tuple"):
        return len(t["value"]) > 32 or any(_has_big_map(x) for x in t["value"])
    return False


@pytest.mark.shared
def test_golden_ids_are_the_same_in_both_modes(mode):
    """No golden vector holds a map (or list) of more than 32 entries, so each passes in both
    modes; its IDs are checked here in OTP 25 mode too (the suites run in the default)."""
    if SHARED is None:
        pytest.skip("no shared material")
    for f in sorted((SHARED / "vectors" / "hyperbeam").glob("*.json")):
        for v in json.loads(f.read_text())["vectors"]:
            assert not any(_has_big_map(a) for a in v.get("args", [])), v["name"]
    vectors = json.loads((SHARED / "vectors" / "hyperbeam" / "message-ids.json").read_text())
    checked = 0
    for m in ("otp25", "otp27"):
        mode(m)
        for v in vectors["vectors"]:
            if v["function"] != "hb_message:id/1" or "output" not in v:
                continue
            assert hb.id(decode(v["args"][0])) == decode(v["output"]).decode(), v["name"]
            checked += 1
    assert checked > 10


# --- native id == reference id, both modes -------------------------------------------------------

_ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789-"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _key(rnd, id_share: float) -> str:
    if rnd.random() < id_share:
        return "".join(rnd.choice(_B64) for _ in range(43))
    k = "".join(rnd.choice(_ALPHA) for _ in range(rnd.randint(1, 14)))
    return "k" + k  # never private, never ID-sized


def _leaf(rnd):
    r = rnd.random()
    if r < 0.5:
        return "".join(rnd.choice(_ALPHA + " ") for _ in range(rnd.randint(0, 20)))
    if r < 0.9:
        return rnd.randint(-(10**12), 10**12)
    if r < 0.95:
        return [rnd.randint(0, 9) for _ in range(rnd.randint(0, 3))]
    return bytes(rnd.getrandbits(8) for _ in range(4097))  # a body part of its own


def _map(rnd, size: int, id_share: float, nested: float) -> dict:
    out: dict = {}
    while len(out) < size:
        k = _key(rnd, id_share)
        if rnd.random() < nested:
            out[k] = _map(rnd, rnd.choice([rnd.randint(0, 8), rnd.randint(30, 300)]), id_share, 0)
        else:
            out[k] = _leaf(rnd)
    return out


@st.composite
def _big_messages(draw):
    """Messages of 0..300 keys (plain and 43-byte ID keys, so `ao-ids` of more than 32), some
    holding nested maps of up to 300 keys (part maps of more than 32 lines)."""
    size = draw(st.one_of(st.integers(0, 40), st.integers(25, 300)))
    id_share = draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]))
    nested = draw(st.sampled_from([0.0, 0.05, 0.3]))
    return _map(random.Random(draw(st.integers(0, 2**32))), size, id_share, nested)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msg=_big_messages())
def test_native_id_equals_reference_with_the_same_map_order(msg, mode):
    for m in ("otp25", "otp27"):
        mode(m)
        want = ref.unsigned_id(msg, m)
        assert hb.id(msg) == want
        assert _native.unsigned_id_general(msg) == want  # the path without the single pass


def test_large_id_keyed_maps_in_both_modes(mode):
    """33 and more ID keys (top-level `ao-ids`) and nested ID-keyed parts, fixed examples."""
    ids = [base64.urlsafe_b64encode(bytes([i]) * 32).rstrip(b"=").decode() for i in range(40)]
    msg = {**{k: f"v{i}" for i, k in enumerate(ids)}, "nested": {k: "x" for k in ids}}
    got = {}
    for m in ("otp25", "otp27"):
        mode(m)
        got[m] = hb.id(msg)
        assert got[m] == ref.unsigned_id(msg, m) == _native.unsigned_id_general(msg)
    assert got["otp25"] != got["otp27"]
    small = {k: "v" for k in ids[:32]}
    for m in ("otp25", "otp27"):
        mode(m)
        got[m] = hb.id(small)
    assert got["otp25"] == got["otp27"] == ref.unsigned_id(small)


# --- ANS-104: more than 32 tags ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wallet():
    if SHARED is None:
        return Wallet.generate(4096)
    return Wallet.from_file(SHARED / "fixtures" / "hyperbeam" / "key-1.json")


@pytest.mark.parametrize("otp", ["otp27", "otp25"])
def test_item_with_40_tags_in_hyperbeam_order_verifies_as_a_message(otp, wallet, mode):
    mode(otp)
    names = [f"tag-{i:02d}".encode() for i in range(40)]
    order = ordered(names, bytes, TO_LIST)  # maps:to_list of the tag map
    assert order != sorted(names)
    tags = [(n, b"value-" + n) for n in order]
    item = _native.ans104_serialize(_native.ans104_sign({"tags": tags, "data": b"hi"}, wallet._key))
    msg = ans104.decode(item)
    assert commitments.verify(msg)
    (c,) = msg["commitments"].values()
    assert "original-tags" not in c  # HyperBEAM's own order needs no record of it
    assert ans104.encode(msg) == item
    # the same tags sorted are not HyperBEAM's order: kept as original-tags, still verifying
    sorted_item = _native.ans104_serialize(
        _native.ans104_sign({"tags": sorted(tags), "data": b"hi"}, wallet._key)
    )
    msg2 = ans104.decode(sorted_item)
    assert commitments.verify(msg2)
    assert "original-tags" in next(iter(msg2["commitments"].values()))
    assert ans104.encode(msg2) == sorted_item


def test_bundle_of_40_items_follows_the_map_order(mode):
    """`serialize_bundle_data`: the items in `maps:values` order, the manifest written by
    `json:encode` (a fold): opposite orders above 32 items."""
    msg = {f"item-{i:02d}": {"n": str(i)} for i in range(40)}
    keys = [k.encode() for k in msg]
    seen = set()
    for m in ("otp25", "otp27"):
        mode(m)
        tx = _native.ans104_parse(ans104.encode(msg), unbundle=False)
        manifest, *items = ans104.unbundle(tx["data"])
        index = json.loads(manifest["data"])  # key -> unsigned item ID, in the file's order
        assert [k.encode() for k in index] == ordered(keys, bytes, FOLD)
        by_id = {v: k for k, v in index.items()}
        item_keys = [by_id[_native.b64url_encode(_native.ans104_ids(it)[1])] for it in items]
        assert [k.encode() for k in item_keys] == ordered(keys, bytes, TO_LIST)
        seen.add(tuple(item_keys))
        # and it reads back into the same message
        assert hb.id(ans104.decode(ans104.encode(msg))) == hb.id(ans104.decode(ans104.encode(msg)))
        assert set(ans104.decode(ans104.encode(msg))) >= set(msg)
    assert len(seen) == 2


# --- the mode ------------------------------------------------------------------------------------


def test_map_order_option_and_environment():
    assert config.load(environ={})["map_order"] == "otp27"
    assert config.load(environ={"HB_MAP_ORDER": "otp25"})["map_order"] == "otp25"
    assert config.load(overrides={"map_order": "otp25"}, environ={})["map_order"] == "otp25"
    with pytest.raises(ConfigError, match="map_order"):
        config.load(overrides={"map_order": "otp26"}, environ={})
    with pytest.raises(ConfigError, match="map_order"):
        config.load(environ={"HB_MAP_ORDER": "erlang"})


@pytest.mark.shared
def test_hb_map_order_is_read_at_start_up():
    """`hyperbeam-fast id` in a fresh process gives the OTP 25 ID under HB_MAP_ORDER=otp25."""
    data = _load(IDS_FILE)
    name = "m006-header-36keys-nested33plus"
    term = dict(data["messages"])[name]
    want = {
        v["otp"]: decode(v["output"]).decode()
        for v in data["vectors"]
        if v["function"] == "hb_message:id/2" and v["name"].startswith(name)
    }
    assert want["25"] != want["27"]
    code = (
        "import pickle, sys; import hyperbeam_fast as hb; "
        "print(hb.id(pickle.loads(sys.stdin.buffer.read()), 'none'))"
    )
    msg = pickle.dumps(decode(term))
    for env_mode, otp in (("otp25", "25"), ("otp27", "27"), ("", "27")):
        # the package this process runs (PYTHONPATH, cwd and all), only HB_MAP_ORDER set
        env = {**os.environ, "HB_MAP_ORDER": env_mode}
        out = subprocess.run(
            [sys.executable, "-c", code], input=msg, capture_output=True, env=env, check=True
        )
        assert out.stdout.decode().strip() == want[otp], (env_mode, out.stderr[-500:])


def test_json_objects_follow_json_encode_order(mode):
    """`json:encode` iterates maps: sorted up to 32 keys, the fold order above."""
    from hyperbeam_fast.codecs import json as json_codec

    big = {f"key-{i}": str(i) for i in range(40)}
    small = {f"key-{i}": str(i) for i in range(32)}
    for m in ("otp25", "otp27"):
        mode(m)
        text = json_codec.encode({"big": big, "small": small})
        parsed = json.loads(text)
        assert list(parsed) == ["big", "small"]
        assert [k.encode() for k in parsed["big"]] == ordered(
            [k.encode() for k in big], bytes, FOLD
        )
        assert list(parsed["small"]) == sorted(small)


def test_node_applies_its_map_order_option(tmp_path):
    """`serve` sets the process-wide order from `map_order` at start-up: a 40-key message
    serialised by json@1.0 (a fold) comes back in that release's order."""
    import urllib.request

    from node_util import NodeProc

    keys = [f"key-{i:02d}" for i in range(40)]
    path = "/~message@1.0&" + "&".join(f"{k}=v" for k in keys) + "/~json@1.0/serialize"
    got = {}
    for otp in ("otp25", "otp27"):
        node = NodeProc(tmp_path / otp, config=f"map_order: {otp}\n")
        try:
            with urllib.request.urlopen(node.url + path, timeout=30) as r:
                body = json.loads(r.read())
        finally:
            node.stop()
        got[otp] = [k for k in body if k in keys]
        assert [k.encode() for k in got[otp]] == ref.key_order(
            [k.encode() for k in keys], FOLD, otp
        )
    assert got["otp25"] != got["otp27"]


def test_an_id_sized_key_that_starts_with_priv_in_another_case_is_public(mode):
    """Found by the property above: `normalize_key` keeps an ID-sized key's case, so a
    43-byte `PrIV...` key is not private (core §2.3) and counts in the ID, nested or not."""
    k = "PrIVlzud59PtwPoCMle4GeIHbG9DlGeL505Aeht6lLZ"
    for m in ("otp25", "otp27"):
        mode(m)
        for msg in ({"a": {k: 1}}, {k: 1}, {"a": {"b": 1, k: "x"}}):
            want = ref.unsigned_id(msg, m)
            assert hb.id(msg) == want and _native.unsigned_id_general(msg) == want
        assert hb.id({k: 1}) != hb.id({})
        assert hb.id({"a": {"Privx": 1}}) == hb.id({"a": {"privx": 1}})
