"""Golden vectors: hashpaths (hashpaths.json; spec core §1.3 and §5).

* ``hb_path:hashpath/2``  -> ``hashpath(msg)``: the base, ``id(msg, all)``;
* ``hb_path:hashpath/3``  -> ``hashpath(msg1, msg2)`` with a request map or a binary key;
* ``hb_path:hashpath/4``  (a two-part hashpath ``A/B`` plus a part, with sha256_chain): the
  public API has no 4-argument form, so it is expressed as msg1 = ``{"priv": {"hashpath": A/B}}``
  and msg2 = ``{"path": part}`` (a path-only request: its first path element *is* the part), and
  the compression step is also checked through ``sha256_chain`` directly;
* ``hb_crypto:sha256_chain/2`` and ``hb_crypto:accumulate/2`` directly;
* ``hb_ao:resolve`` with ``hashpath => update`` (see ``test_resolve_hashpath``);
* ``ar_deep_hash:hash/1`` vectors are run in tests/test_ans104.py (``test_deep_hash_vectors``).
"""

import hashlib

import hyperbeam_fast
import pytest
from vectors import args, b64url_decode, b64url_encode, output, vector_params

FILE = "hashpaths.json"


def _params(prefix):
    return vector_params(FILE, select=lambda v: v["name"].startswith(prefix))


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _native_part(part):
    """How a hashpath part enters sha256_chain: a 43-byte part is an ID, anything else raw."""
    return hyperbeam_fast.native_id(part) if len(part) == 43 else part.encode()


# --- coverage guard ------------------------------------------------------------------------------

PREFIXES = (
    "hashpath/base/",
    "hashpath/apply/",
    "hashpath/chain/",
    "hashpath/crypto/",
    "hashpath/resolve/",
    "deep_hash/",
)


@pytest.mark.parametrize("vector", vector_params(FILE))
def test_every_vector_is_covered(vector):
    assert vector["name"].startswith(PREFIXES), vector["name"]


# --- hb_path:hashpath/2 --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _params("hashpath/base/"))
def test_hashpath_base(vector):
    msg, opts = args(vector)
    assert opts == {}
    expected = _text(output(vector))
    got = hyperbeam_fast.hashpath(msg)
    assert got == expected, f"{vector['name']}: got {got}, expected {expected}"
    # for an unsigned message the base is its ID (spec core §5.1)
    assert hyperbeam_fast.id(msg, "all") == expected


# --- hb_path:hashpath/3 --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _params("hashpath/apply/"))
def test_hashpath_apply(vector):
    msg1, msg2, opts = args(vector)
    assert opts == {}
    expected = _text(output(vector))
    got = hyperbeam_fast.hashpath(msg1, msg2)
    assert got == expected, f"{vector['name']}: got {got}, expected {expected}"
    base, part = expected.split("/")
    assert base == hyperbeam_fast.hashpath(msg1)
    if isinstance(msg2, bytes):
        # a binary request is a key name: the str form gives the same hashpath
        assert hyperbeam_fast.hashpath(msg1, msg2.decode()) == expected
        assert part == msg2.decode()
    elif set(msg2) - {"path"}:
        # a request with more than a path contributes its ID (path key included)
        assert part == hyperbeam_fast.id(msg2, "all")
    else:
        assert part == _text(msg2["path"]).strip("/").split("/")[0]


# --- hb_path:hashpath/4: compressing a two-part hashpath -----------------------------------------


@pytest.mark.parametrize("vector", _params("hashpath/chain/"))
def test_hashpath_chain_via_priv_hashpath(vector):
    prior, part, alg = args(vector)
    assert alg == "sha256_chain"
    prior, part = _text(prior), _text(part)
    expected = _text(output(vector))
    expected_first, expected_part = expected.split("/")
    assert expected_part == part

    msg1 = {"priv": {"hashpath": prior}}
    # Any request compresses the prior hashpath the same way: check the first part...
    got = hyperbeam_fast.hashpath(msg1, {"path": "x"})
    assert got.split("/")[0] == expected_first, f"compression: got {got}"
    assert got == f"{expected_first}/x"
    # ...and a path-only request whose first element is the part reproduces the whole output.
    assert hyperbeam_fast.hashpath(msg1, {"path": part}) == expected
    assert hyperbeam_fast.hashpath(msg1, part) == expected


@pytest.mark.parametrize("vector", _params("hashpath/chain/"))
def test_hashpath_chain_combine_step(vector):
    """The compression itself: ``sha256_chain(native(A), native_or_raw(B))`` (spec core §5.1)."""
    prior, _part, _alg = (_text(a) for a in args(vector))
    first, second = prior.split("/")
    expected_first = _text(output(vector)).split("/")[0]
    combined = hyperbeam_fast.sha256_chain(hyperbeam_fast.native_id(first), _native_part(second))
    assert isinstance(combined, bytes) and len(combined) == 32
    assert hyperbeam_fast.human_id(combined) == expected_first
    # independent re-computation, so that a wrong sha256_chain cannot hide behind the above
    raw = hashlib.sha256(b64url_decode(first) + _native_part(second)).digest()
    assert b64url_encode(raw) == expected_first


# --- hb_crypto -----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _params("hashpath/crypto/"))
def test_crypto(vector):
    a, b = args(vector)
    expected = output(vector)
    if vector["function"] == "hb_crypto:sha256_chain/2":
        got = hyperbeam_fast.sha256_chain(a, b)
    elif vector["function"] == "hb_crypto:accumulate/2":
        got = hyperbeam_fast.accumulate(a, b)
    else:  # pragma: no cover
        pytest.fail(f"unknown function {vector['function']}")
    assert got == expected, f"{vector['name']}: got {got.hex()}, expected {expected.hex()}"


def test_sha256_chain_definition():
    """Spec core §13: ``sha256_chain(<<1:256>>, <<2:256>>) = sha256(<<1:256, 2:256>>)``."""
    one, two = (1).to_bytes(32, "big"), (2).to_bytes(32, "big")
    assert hyperbeam_fast.sha256_chain(one, two) == hashlib.sha256(one + two).digest()


def test_accumulate_definition():
    """``accumulate(a, b) = (int(a) + int(sha256_chain(a, b))) mod 2^256`` (spec core §1.3)."""
    a, b = bytes(range(32)), bytes(range(32, 64))
    chain = hashlib.sha256(a + b).digest()
    total = (int.from_bytes(a, "big") + int.from_bytes(chain, "big")) % (1 << 256)
    assert hyperbeam_fast.accumulate(a, b) == total.to_bytes(32, "big")
    wrap = b"\xff" * 32
    chain = hashlib.sha256(wrap + b).digest()
    total = (int.from_bytes(wrap, "big") + int.from_bytes(chain, "big")) % (1 << 256)
    assert hyperbeam_fast.accumulate(wrap, b) == total.to_bytes(32, "big")


def test_sha256_chain_rejects_a_non_id():
    with pytest.raises(hyperbeam_fast.HashPathError):
        hyperbeam_fast.sha256_chain(b"short", b"x")


# --- hb_ao:resolve with hashpath => update --------------------------------------------------------
#
# These vectors do not need the resolver. Each resolve step sets the result's priv.hashpath to
# hashpath(Msg1, Msg2) (spec core §5.1, hb_ao stage 9), where Msg1 carries the priv.hashpath of
# the previous step (if any) and Msg2 is the request of that step:
#   * a get of key K                 -> Msg2 = {"path": K} (a path-only request: the part is K);
#   * a get of path "a/b"            -> two steps, {"path": "a"} on the base message, then
#                                       {"path": "b"} on its result (whose priv.hashpath is the
#                                       first step's; only that priv.hashpath matters);
#   * a set request {key3, path=set} -> Msg2 is the request itself (the part is its ID);
#   * two chained sets               -> the second set is applied to the first result.
# So we chain ``hyperbeam_fast.hashpath`` ourselves and compare with the recorded hashpaths.


def _with_hashpath(msg, hashpath):
    return {**msg, "priv": {**msg.get("priv", {}), "hashpath": hashpath}}


def _steps(request):
    """The per-step requests of one resolve call."""
    if isinstance(request, bytes):
        request = {"path": request}
    rest = set(request) - {"path"}
    if rest:
        return [request]
    path = _text(request["path"])
    return [{"path": seg} for seg in path.split("/") if seg]


@pytest.mark.parametrize("vector", _params("hashpath/resolve/"))
def test_resolve_hashpath(vector):
    base, *requests = args(vector)
    recorded = output(vector)
    expected = _text(recorded["hashpath"])
    assert _text(recorded["result"]["priv"]["hashpath"]) == expected

    msg1 = base
    hashpaths = []
    for request in requests:
        for step in _steps(request):
            hp = hyperbeam_fast.hashpath(msg1, step)
            hashpaths.append(hp)
            msg1 = _with_hashpath(msg1, hp)
    assert hashpaths[-1] == expected, f"{vector['name']}: chain {hashpaths}, expected {expected}"
    assert len(expected) == 43 + 1 + len(expected.split("/")[1])
    if "step1-hashpath" in recorded:
        assert hashpaths[0] == _text(recorded["step1-hashpath"])
    # the base of the first step is the message's own hashpath (its ID)
    assert hashpaths[0].split("/")[0] == hyperbeam_fast.hashpath(base)


def test_hashpath_spec_examples():
    """Spec core §5.2 worked examples (VECTOR)."""
    hp = hyperbeam_fast.hashpath
    n0 = "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"
    q5 = "Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4"
    assert hp({"a": b"1"}, {"b": b"2"}) == f"{n0}/{q5}"
    assert hp({"a": "1"}, {"path": "b"}) == f"{n0}/b"
    assert (
        hp({"priv": {"hashpath": f"{n0}/{q5}"}}, {"c": b"3"})
        == "b1UMT_4zBC3UhzT18PUOGd-p5By4FQrCi9YzvAg9Shs/P4K3fjm8dUprHwRLGTXBkwZ0wfuR4V8JkLj3UxN0Bhg"
    )
    assert hp({"priv": {"hashpath": f"{n0}/b"}}, {"path": "c"}) == (
        "_RwvA5z1jX4Xz-A6GedVQBLqmbzhbEkWa6EgOgbuUmQ/c"
    )
    assert hp(b"abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    assert len(hp({"a": b"1"}, {"b": b"2"})) == 87


def test_hashpath_accumulate_alg():
    """``hashpath-alg: accumulate-256`` compresses with accumulate instead of sha256_chain."""
    n0 = "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"
    q5 = "Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4"
    msg1 = {"hashpath-alg": b"accumulate-256", "priv": {"hashpath": f"{n0}/{q5}"}}
    got = hyperbeam_fast.hashpath(msg1, {"path": "c"})
    a, b = b64url_decode(n0), b64url_decode(q5)
    chain = hashlib.sha256(a + b).digest()
    acc = (int.from_bytes(a, "big") + int.from_bytes(chain, "big")) % (1 << 256)
    assert got == f"{b64url_encode(acc.to_bytes(32, 'big'))}/c"


def test_hashpath_with_three_parts_is_an_error():
    n0 = "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"
    msg1 = {"priv": {"hashpath": f"{n0}/{n0}/{n0}"}}
    with pytest.raises(hyperbeam_fast.HyperbeamError):
        hyperbeam_fast.hashpath(msg1, {"path": "x"})
