"""Property-based tests (hypothesis) of the codecs, IDs and hashpaths (spec core §3-§6, §9, §10).

The message strategies live in ``strategies.py``, which documents every limit they respect and
its spec reason. Native results are cross-checked against the pure-Python reference
(``hyperbeam_fast.reference``), which is itself checked against the Erlang vectors.
"""

from __future__ import annotations

import functools
import importlib
import os

import pytest
import strategies as S
from hyperbeam_fast import (
    Atom,
    CodecError,
    HashPathError,
    HyperbeamError,
    codecs,
    convert,
    hashpath,
    id_many,
    match,
)
from hyperbeam_fast import id as message_id
from hyperbeam_fast import reference as ref
from hyperbeam_fast._native import hashpath_combine, unsigned_id, unsigned_id_general
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# `hyperbeam_fast.hashpath` is the function (re-exported by the package); the module holds fold.
hp_module = importlib.import_module("hyperbeam_fast.hashpath")

CODECS = ("structured@1.0", "httpsig@1.0", "flat@1.0", "json@1.0", "tabm")
ALGS = ("sha-256-chain", "accumulate-256")


#: Multiplies every example budget (e.g. ``HB_PROPERTY_SCALE=50`` for a long bug hunt).
SCALE = int(os.environ.get("HB_PROPERTY_SCALE", "1"))


def props(n: int = 60):
    """Hypothesis settings for this file: bounded examples, no deadline (native warm-up)."""
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


def roundtrip(msg: dict, codec: str) -> dict:
    return convert(convert(msg, codec), "structured@1.0", codec)


def _bytes_keys(d: dict) -> dict[bytes, bytes]:
    return {(k.encode() if isinstance(k, str) else k): v for k, v in d.items()}


# ---------------------------------------------------------------------------------------------
# round trips (§3.4, §6, §9, §10, §13 "Unsigned round trips")
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
def test_convert_round_trips(codec):
    @props(80)
    @given(S.messages(codec))
    def check(msg):
        back = roundtrip(msg, codec)
        assert match(back, msg), (msg, convert(msg, codec), back)

    check()


@props(60)
@given(S.inline_body_messages(S.PROFILES["httpsig@1.0"]))
def test_httpsig_inline_body_key_round_trips(msg):
    """``data`` / ``body`` / ``inline-body-key`` (§6.1 step 3) survive httpsig."""
    assert match(roundtrip(msg, "httpsig@1.0"), msg)


@props(60)
@given(S.messages("flat-text"))
def test_flat_text_round_trips(msg):
    text = codecs.flat.serialize(msg)
    assert isinstance(text, bytes)
    back = codecs.flat.deserialize(text)
    assert match(back, msg), (msg, text, back)
    # Serialising the decoded message gives the same text again (its keys are sorted).
    assert codecs.flat.serialize(back) == text


@props(40)
@given(S.messages("json@1.0"), S.private_entries())
def test_private_keys_survive_in_memory_but_not_on_the_wire(msg, priv):
    """§2.3: convert keeps the top-level ``priv`` out of the conversion and merges it back into
    map results (structured@1.0, TABM); no private key ever reaches a wire form or the ID."""
    full = {**msg, **priv}
    for codec in ("httpsig@1.0", "flat@1.0"):
        wire = convert(full, codec)
        assert not any(k.lower().startswith("priv") for k in wire), (codec, wire)
        assert wire == convert(msg, codec)
    assert convert(full, "json@1.0") == convert(msg, "json@1.0")
    for codec in ("tabm", "structured@1.0"):
        out = convert(full, codec)
        assert out.get("priv") == full.get("priv")
        assert not any(k.lower().startswith("priv") and k != "priv" for k in out), out
    assert message_id(full) == message_id(msg)
    assert ref.unsigned_id(full) == message_id(msg)


# ---------------------------------------------------------------------------------------------
# IDs (§4.3, §4.4, §13 "IDs")
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
def test_id_stable_through_round_trip(codec):
    """``id(Msg, none) == id(decoded, none)`` for every codec (§13)."""

    @props(50)
    @given(S.messages(codec))
    def check(msg):
        assert message_id(roundtrip(msg, codec)) == message_id(msg)

    check()


@props(40)
@given(S.messages("httpsig@1.0"))
def test_id_of_httpsig_form_equals_id_of_message(msg):
    """The ID is a function of the httpsig encoding: decoding it (with ``body-keys`` and
    ``content-type`` left in, §6.4) and re-encoding gives the same ID."""
    decoded = convert(convert(msg, "httpsig@1.0"), "structured@1.0", "httpsig@1.0")
    assert message_id(decoded) == message_id(msg)


@props(60)
@given(S.messages(S.ANY), st.integers(0, 7))
def test_id_ignores_key_insertion_order(msg, rotation):
    shuffled = S.reorder(msg, rotation)
    assert message_id(shuffled) == message_id(msg)
    assert unsigned_id_general(shuffled) == unsigned_id_general(msg)
    assert _bytes_keys(convert(shuffled, "httpsig@1.0")) == _bytes_keys(convert(msg, "httpsig@1.0"))
    assert codecs.flat.serialize(S.reorder(msg, rotation)) == codecs.flat.serialize(msg)


def _all_ids_agree(msg: dict) -> str:
    fast = unsigned_id(msg)
    general = unsigned_id_general(msg)
    expected = ref.unsigned_id(msg)
    assert fast == general == expected, (msg, fast, general, expected)
    return fast


@props(100)
@given(S.messages(S.ANY))
def test_native_id_paths_agree_with_reference(msg):
    _all_ids_agree(msg)


@props(60)
@given(st.one_of(S.upper_case_messages(), S.inline_body_messages()))
def test_native_id_paths_agree_on_key_case_and_inline_body(msg):
    """Upper-case keys (normalised, possibly colliding: §2.2) and the inline body key."""
    _all_ids_agree(msg)


@props(30)
@given(st.lists(S.messages(S.ANY, depth=1, max_size=4), max_size=6))
def test_id_many_equals_single_ids(msgs):
    assert id_many(msgs) == [ref.unsigned_id(m) for m in msgs]


# ---------------------------------------------------------------------------------------------
# httpsig@1.0 encoding byte for byte (§6.1-§6.3)
# ---------------------------------------------------------------------------------------------


@props(100)
@given(S.messages(S.ANY))
def test_httpsig_encoding_equals_reference(msg):
    native = _bytes_keys(convert(msg, "httpsig@1.0"))
    expected = ref.httpsig_to(ref.structured_from(msg))
    assert native == expected


@props(50)
@given(st.one_of(S.upper_case_messages(), S.inline_body_messages()))
def test_httpsig_encoding_equals_reference_odd_keys(msg):
    native = _bytes_keys(convert(msg, "httpsig@1.0"))
    assert native == ref.httpsig_to(ref.structured_from(msg))


@props(60)
@given(S.messages(S.ANY))
def test_tabm_equals_reference(msg):
    tabm = convert(msg, "tabm")
    expected = ref.structured_from(msg)

    def as_bytes(t):
        return {
            (k.encode() if isinstance(k, str) else k): (as_bytes(v) if isinstance(v, dict) else v)
            for k, v in t.items()
        }

    assert as_bytes(tabm) == expected


# ---------------------------------------------------------------------------------------------
# hashpaths (§5.1)
# ---------------------------------------------------------------------------------------------


def _msg1s():
    """msg1 candidates: a message, possibly with a stored ``priv.hashpath`` and an algorithm."""
    return st.tuples(
        S.messages(S.ANY, depth=1, max_size=4),
        st.one_of(st.none(), S.hashpaths()),
        st.one_of(st.none(), st.sampled_from(ALGS)),
    ).map(
        lambda t: {
            **t[0],
            **({"priv": {"hashpath": t[1]}} if t[1] else {}),
            **({"hashpath-alg": t[2]} if t[2] else {}),
        }
    )


def _msg2s():
    """msg2 candidates: a message (its ID), a key name, or a path-only request.

    Paths are text (``a/b``, ``/a/``) or lists of lower-case key names without ``/``; integer
    paths and lists holding upper case or ``/`` are checked against the spec separately
    (test_hashpath_path_forms_*), because native and reference disagree there.
    """
    name = S.key_names().filter(lambda k: k.strip())
    path = st.one_of(
        st.lists(name, min_size=1, max_size=3).map("/".join),
        name.map(lambda k: "/" + k + "/"),
        st.lists(S.keys(), min_size=1, max_size=3),
    )
    plain = S.messages(S.ANY, depth=1, max_size=4).filter(
        lambda m: isinstance(m.get("path", ""), str)
    )
    return st.one_of(
        plain,
        S.key_names(),
        st.fixed_dictionaries({"path": path}),
        st.fixed_dictionaries({"path": path, "hashpath": S.hashpaths()}),
        st.fixed_dictionaries({"Path": path, "priv": st.just({"x": b"1"})}),
        st.fixed_dictionaries({"path": path, "other": S.binaries(big=False)}),
    )


def _same_outcome(native_call, reference_call):
    """Both return the same value, or both raise HashPathError/CodecError."""
    try:
        expected = reference_call()
    except (HashPathError, CodecError) as exc:
        with pytest.raises(HyperbeamError):
            native_call()
        return exc
    assert native_call() == expected
    return expected


@props(100)
@given(_msg1s(), _msg2s())
def test_hashpath_equals_reference(msg1, msg2):
    _same_outcome(lambda: hashpath(msg1, msg2), lambda: ref.hashpath(msg1, msg2))


@props(40)
@given(_msg1s())
def test_hashpath_of_one_message_equals_reference(msg1):
    assert hashpath(msg1) == ref.hashpath(msg1)


@props(40)
@given(S.messages(S.ANY, depth=1, max_size=4), S.key_names(), st.sampled_from(ALGS))
def test_hashpath_alg_argument_equals_reference(msg1, key, alg):
    # (no `hashpath-alg` key in msg1 here: the reference lets that key override `alg`)
    assert hashpath(msg1, key, alg=alg) == ref.hashpath(msg1, key, alg)


# §5.1 "part = to_binary(first path element)" with `term_to_path_parts` (core §5.1, §13 and
# runtime.md "term_to_path_parts"): a binary is split on `/` (empty segments dropped, case kept);
# a list gives the parts of each element, flattened; an integer its decimal text; an atom itself.
PATH_FORMS = [
    ("B/c", "B"),
    ("//a///b", "a"),
    (Atom("Key"), "Key"),
    (["a", "b"], "a"),
    (["B"], "B"),
    ([b"/a", "b"], "a"),
    ([["/a", ["b", "//b"]], "c"], "a"),
    (5, "5"),
    ([1, "b"], "1"),
]


@pytest.mark.parametrize(("path", "first"), PATH_FORMS)
def test_hashpath_path_forms_native(path, first):
    msg1 = {"a": b"1"}
    assert hashpath(msg1, {"path": path}) == message_id(msg1) + "/" + first


@pytest.mark.parametrize(("path", "first"), PATH_FORMS)
def test_hashpath_path_forms_reference(path, first):
    msg1 = {"a": b"1"}
    assert ref.hashpath(msg1, {"path": path}) == ref.unsigned_id(msg1) + "/" + first


@pytest.mark.parametrize("impl", ["native", "reference"])
@pytest.mark.parametrize("path", [0.0, [[b""], 0.0], {"x": 1}])
def test_hashpath_ignores_the_path_of_a_msg2_with_other_keys(impl, path):
    """§5.1: the path is only looked at when msg2 holds nothing but path/hashpath/priv; otherwise
    the part is msg2's ID, so an unusable path (here: one the ID can still encode or not) must
    not be parsed as a path."""
    msg1, msg2 = {"a": b"1"}, {"k": b"v", "path": path}
    try:
        expected = message_id(msg1) + "/" + message_id(msg2)
    except CodecError:
        expected = None  # msg2 has no ID: an error either way
    fn = hashpath if impl == "native" else ref.hashpath
    if expected is None:
        with pytest.raises(HyperbeamError):
            fn(msg1, msg2)
    else:
        assert fn(msg1, msg2) == expected


@props(60)
@given(
    st.one_of(S.hashpaths()),
    st.lists(st.one_of(S.human_ids(), S.key_names()), max_size=6),
    st.sampled_from(ALGS),
)
def test_hashpath_fold_equals_repeated_combine(base, parts, alg):
    folded = hp_module.fold(base, parts, alg)
    native = functools.reduce(
        lambda b, p: hashpath_combine(b.encode(), p.encode(), alg), parts, base
    )
    reference = functools.reduce(lambda b, p: ref.combine_hashpath(b, p, alg), parts, base)
    assert folded == native == reference
    if parts:
        assert len(folded.split("/")) == 2


@props(30)
@given(st.lists(st.tuples(S.hashpaths(), S.human_ids()), max_size=5), st.sampled_from(ALGS))
def test_hashpath_combine_many_equals_combine(pairs, alg):
    bases = [b for b, _ in pairs]
    parts = [p for _, p in pairs]
    assert hp_module.combine_many(bases, parts, alg) == [
        ref.combine_hashpath(b, p, alg) for b, p in pairs
    ]


# ---------------------------------------------------------------------------------------------
# robustness: nothing escapes the HyperbeamError hierarchy
# ---------------------------------------------------------------------------------------------


def _only_hyperbeam_errors(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except HyperbeamError:
        pass


@props(150)
@given(
    st.one_of(S.weird_messages(), S.weird_values()),
    st.sampled_from(CODECS),
    st.sampled_from(CODECS),
)
def test_convert_of_anything_raises_only_hyperbeam_errors(msg, source, target):
    _only_hyperbeam_errors(convert, msg, target, source)


@props(100)
@given(st.one_of(S.weird_messages(), S.weird_values()), st.one_of(S.weird_values(), st.none()))
def test_ids_and_hashpaths_of_anything_raise_only_hyperbeam_errors(msg, msg2):
    _only_hyperbeam_errors(message_id, msg)
    _only_hyperbeam_errors(unsigned_id, msg)
    _only_hyperbeam_errors(unsigned_id_general, msg)
    _only_hyperbeam_errors(hashpath, msg, msg2)
    _only_hyperbeam_errors(codecs.flat.serialize, msg)


@props(100)
@given(st.binary(max_size=200), st.sampled_from(CODECS))
def test_random_bytes_as_flat_text_or_json(data, target):
    _only_hyperbeam_errors(codecs.flat.deserialize, data)
    _only_hyperbeam_errors(convert, data, target, "flat@1.0")
    _only_hyperbeam_errors(convert, data, target, "json@1.0")


@props(100)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab/: \n", max_size=6),
            st.sampled_from(["1", 'x="integer"', "", ": ", "\xff"]),
        ),
        max_size=6,
    )
)
def test_flat_text_lines_raise_only_hyperbeam_errors(lines):
    text = "\n".join(f"{k}: {v}" for k, v in lines).encode("utf-8", "surrogateescape")
    _only_hyperbeam_errors(codecs.flat.deserialize, text)


@props(100)
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(alphabet="ab/-", max_size=4), inner, max_size=3),
        ),
        max_leaves=10,
    ),
    st.sampled_from(CODECS),
)
def test_random_json_raises_only_hyperbeam_errors(value, target):
    import orjson

    try:
        data = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return
    _only_hyperbeam_errors(convert, data, target, "json@1.0")
    if isinstance(value, dict):
        _only_hyperbeam_errors(convert, value, target, "json@1.0")


@props(150)
@given(S.random_http_messages(), st.sampled_from(CODECS))
def test_random_http_messages_raise_only_hyperbeam_errors(http, target):
    _only_hyperbeam_errors(convert, http, target, "httpsig@1.0")


@props(150)
@given(S.random_tabms(), st.sampled_from(CODECS))
def test_random_tabms_raise_only_hyperbeam_errors(tabm, target):
    _only_hyperbeam_errors(convert, tabm, target, "tabm")
    _only_hyperbeam_errors(convert, tabm, target, "flat@1.0")
    _only_hyperbeam_errors(convert, tabm, "structured@1.0", "tabm")
