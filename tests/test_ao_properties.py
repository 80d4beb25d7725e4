"""Hypothesis properties of resolution (issue 4): get along a path equals direct lookup, set then
get returns what was set, resolution never raises outside the exception hierarchy."""

import string

from hyperbeam_fast import ao
from hyperbeam_fast.exceptions import HyperbeamError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEY = st.text(
    alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=10
).filter(
    lambda k: (
        not k.startswith("priv")
        and k not in ao.MESSAGE_DEVICE_KEYS
        and k not in ("device", "path", "set-mode", "commitments", "hashpath")
    )
)
LEAF = st.one_of(st.binary(max_size=20), st.integers(-(10**12), 10**12), st.booleans())
MSG = st.recursive(
    st.dictionaries(KEY, LEAF, max_size=5),
    lambda children: st.dictionaries(KEY, st.one_of(LEAF, children), max_size=5),
    max_leaves=25,
)
OPTS = st.sampled_from([{}, {"hashpath": "ignore"}, {"hashpath": "reset"}])


def _paths(msg, prefix=()):
    for k, v in msg.items():
        yield (*prefix, k), v
        if isinstance(v, dict):
            yield from _paths(v, (*prefix, k))


def _strip(v):
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items() if k != "priv"}
    return v


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(MSG, OPTS)
def test_get_along_any_path_equals_direct_lookup(msg, opts):
    for path, expected in _paths(msg):
        assert _strip(ao.get(msg, "/".join(path), opts)) == expected
        assert _strip(ao.get(msg, list(path), opts)) == expected
        st_, v = ao.resolve(msg, {"path": "/".join(path)}, opts)
        assert st_ == "ok" and _strip(v) == expected


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(MSG, st.lists(KEY, min_size=1, max_size=4), LEAF, OPTS)
def test_set_then_get(msg, path, value, opts):
    out = ao.set(msg, "/".join(path), value, opts)
    assert ao.get(out, "/".join(path), opts) == value
    out2 = ao.set(msg, {"/".join(path): value}, opts)
    assert ao.get(out2, path, opts) == value


JUNK = st.recursive(
    st.one_of(
        st.text(max_size=12),
        st.binary(max_size=12),
        st.integers(),
        st.floats(allow_nan=False),
        st.none(),
        st.booleans(),
        st.sampled_from(["/", "//a", "~message@1.0", "(", ")", "a&b=1", "+x", "keys", "set"]),
    ),
    lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.text(max_size=6), c, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(JUNK, JUNK, OPTS)
def test_resolution_never_raises_outside_the_hierarchy(base, request, opts):
    try:
        status, _ = ao.resolve(base, request, opts)
        assert isinstance(status, str)
    except HyperbeamError:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet='/~&=+()?.%ab1@"', max_size=30), JUNK)
def test_singletons_never_raise_outside_the_hierarchy(path, extra):
    singleton = {"path": path, "k": extra}
    try:
        ao.resolve(singleton)
    except HyperbeamError:
        pass
