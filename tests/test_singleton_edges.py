"""HyperPATH edges as ``hb_singleton`` (b2743e4a) has them, and ``to_singleton`` (``to/1``).

Spec runtime §5: keys of a built step pass through ``structured@1.0`` (lower-cased), an empty
path is no message, ``?IS_ID`` is by length only, ``part/2`` never fails on parentheses,
``k+integer=x`` gives a token that the conversion drops, an empty key is a key.
"""

import hyperbeam_fast
import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import ao, parse_path, to_singleton
from hyperbeam_fast.ao import As, Resolve
from hyperbeam_fast.exceptions import PathError
from hyperbeam_fast.node import config
from hyperbeam_fast.node.server import Node
from hyperbeam_fast.path import is_path_id
from hypothesis import assume, given, settings
from hypothesis import strategies as st

ID = "e5ohB7TgMYRoc0BLllkmAqkqLy1SrliEkOPJlNPXBQ8"
XYZ = Resolve([{}, {"path": "x"}, {"path": "y"}, {"path": "z"}])


# --- keys are lower-cased where a step is built (structured@1.0 normalises them) ---


def test_inline_query_and_header_keys_are_lower_cased():
    assert parse_path("/a&Key=V") == [{}, {"path": "a", "key": "V"}]
    assert parse_path("/a&Flag") == [{}, {"path": "a", "flag": True}]
    assert parse_path({"path": "/a?Q=1", "X-Header": "h"}) == [
        {"q": "1", "x-header": "h"},
        {"path": "a", "q": "1", "x-header": "h"},
    ]
    assert parse_path({"path": "/a/b", "1.Scoped": "s"})[1] == {"path": "a", "scoped": "s"}
    assert parse_path("/a&K+Integer=3")[1] == {"path": "a", "k": 3}


def test_device_steps_lower_case_only_when_built():
    # `{as, Dev, #{path => <<>>}}` is converted; one with a path is kept as parsed
    assert parse_path("/~message@1.0&Greeting=hi") == [
        As("message@1.0", {"path": "", "greeting": "hi"})
    ]
    assert parse_path("/a~dev@1.0&Key=V") == [As("dev@1.0", {"path": "a", "Key": "V"})]


def test_id_length_keys_keep_their_case_and_folded_keys_collide_in_key_order():
    k43 = "Ab" * 21 + "C"
    assert parse_path(f"/a&{k43}=1")[1] == {"path": "a", k43: "1"}
    # `KEY` and `key` fold together; in Erlang key order `KEY` < `key`, the later wins
    assert parse_path("/a&key=1&KEY=2")[1] == {"path": "a", "key": "1"}
    assert parse_path("/a&KEY=2&key=1")[1] == {"path": "a", "key": "1"}
    assert ao.resolve({"path": "/~message@1.0&Greeting=hi/greeting"}) == ("ok", "hi")


# --- an empty path is an empty list ---


@pytest.mark.parametrize(
    "singleton", ["", "/", "//", {}, {"path": ""}, {"path": "/", "k": "v"}, "?x=1", "/?x=1"]
)
def test_empty_path_gives_no_messages(singleton):
    assert parse_path(singleton) == []


def test_empty_sub_resolution():
    assert parse_path("/a&k=()")[1] == {"path": "a", "k": Resolve([])}


# --- ?IS_ID: 32, 42 or 43 bytes, any characters ---


@pytest.mark.parametrize("n", [32, 42, 43])
def test_segments_of_id_length_are_ids(n):
    seg = ("a&b=c~d" * 7)[:n]
    assert is_path_id(seg)
    assert parse_path("/" + seg) == [seg]
    assert parse_path(f"/x/{seg}") == [{}, {"path": "x"}, seg]


@pytest.mark.parametrize("n", [31, 33, 41, 44])
def test_other_lengths_are_not_ids(n):
    assert not is_path_id("a" * n)
    assert parse_path("/" + "a" * n) == [{}, {"path": "a" * n}]


def test_id_length_is_in_bytes():
    assert parse_path("/" + "é" * 16) == ["é" * 16]  # 16 characters, 32 bytes
    assert parse_path("/" + "é" * 21) == ["é" * 21]  # 42 bytes
    seg = '~message@1.0&items+list="apple",1,"banana"'  # the docs' example: 42 bytes
    assert parse_path(f"/{seg}/items") == [seg, {"path": "items"}]


# --- unbalanced parentheses stay literal ---


def test_unbalanced_parentheses_are_literal():
    assert parse_path("/a(b") == [{}, {"path": "a(b"}]
    assert parse_path("/a)b/c") == [{}, {"path": "a)b"}, {"path": "c"}]
    assert parse_path("/a&k=(x")[1] == {"path": "a", "k": "(x"}
    assert parse_path("/a&k=x)")[1] == {"path": "a", "k": "x)"}
    # an open '(' keeps the separators after it from splitting: `/` and `?` included
    assert parse_path("/a(b/c") == [{}, {"path": "a(b/c"}]
    assert parse_path("/a(?x=1") == [{}, {"path": "a(?x=1"}]
    assert parse_path("/a)(x/y)")[1] == {"path": "a)(x/y)"}


def test_quotes_are_not_special():
    assert parse_path('/a&k="x&y"')[1] == {"path": "a", "k": '"x', 'y"': True}
    assert parse_path('/a&k="unterminated')[1] == {"path": "a", "k": '"unterminated'}


def test_segments_are_percent_decoded_twice():
    assert parse_path("/a%252Fb") == [{}, {"path": "a"}, {"path": "b"}]
    assert parse_path("/c%2520d") == [{}, {"path": "c d"}]


# --- `+integer` is a structured-field item; what a message cannot hold is dropped ---


@pytest.mark.parametrize("value", ["x", "%22s%22", ":aGk=:", "tok/en"])
def test_integer_type_of_a_token_string_or_bytes_drops_the_key(value):
    assert parse_path(f"/a&k+integer={value}")[1] == {"path": "a"}


def test_integer_type_drops_in_headers_and_over_an_inline_key():
    assert parse_path({"path": "/a", "k+integer": "zz"}) == [{}, {"path": "a"}]
    assert parse_path({"path": "/a&k=1", "k+integer": "zz"})[1] == {"path": "a"}
    assert parse_path("/a&k=1&k+integer=x")[1] == {"path": "a"}


def test_integer_type_keeps_numbers_and_booleans():
    assert parse_path("/a&k+integer=-12")[1]["k"] == -12
    assert parse_path("/a&k+integer=1.5")[1]["k"] == 1.5
    assert parse_path({"path": "/a", "k+integer": "?1"})[1]["k"] is True


@pytest.mark.parametrize("value", ["", "1%202", "1,2"])
def test_integer_type_of_no_item_is_a_path_error(value):
    with pytest.raises(PathError, match="structured-field item"):
        parse_path(f"/a&k+integer={value}")


def test_float_type_is_binary_to_float():
    assert parse_path("/a&f+float=1.0e3")[1]["f"] == 1000.0
    assert parse_path("/a&f+float=-0.5")[1]["f"] == -0.5
    for bad in ["1", "1e3", ".5", "1.", "inf"]:
        with pytest.raises(PathError, match="binary_to_float"):
            parse_path(f"/a&f+float={bad}")


# --- empty keys are keys ---


def test_empty_inline_and_query_keys_are_accepted():
    assert parse_path("/a&=v") == [{}, {"path": "a", "": "v"}]
    assert parse_path("/a&+integer=1")[1] == {"path": "a", "": 1}
    assert parse_path("/a?=q") == [{"": "q"}, {"path": "a", "": "q"}]
    assert parse_path({"path": "/a", "0.": "s"})[0] == {"": "s"}


def test_scopes_are_erlang_integers():
    assert parse_path({"path": "/a/b", "01.k": "v"})[1] == {"path": "a", "k": "v"}
    for bad in ["x.k", " 1.k", "1_0.k", "-1.k", ".k"]:
        with pytest.raises(PathError, match="invalid_scope"):
            parse_path({"path": "/a", bad: "v"})


def test_global_keys_fold_in_key_order():
    # `k` (from the query) comes before `k+integer` (a header): the typed one is applied last
    assert parse_path({"path": "/a?k=2", "k+integer": "1"})[1] == {"path": "a", "k": 1}


# --- to_singleton: hb_singleton:to/1 ---


def test_to_singleton_is_exported():
    assert hyperbeam_fast.to_singleton is to_singleton and "to_singleton" in hyperbeam_fast.__all__
    assert to_singleton.__doc__


TO_CASES = [
    # hb_singleton's own to/1 tests: (messages, the singleton, or None where it is not pinned)
    (
        [{"test-key": "test-value"}, {"path": "a", "test-key": "test-value"}],
        {"path": "/a", "test-key": "test-value"},
    ),
    (
        [{"test-key": "v"}] + [{"path": p, "test-key": "v"} for p in "abc"],
        {"path": "/a/b/c", "test-key": "v"},
    ),
    ([ID, {"method": "GET", "path": "some-other"}], {"path": f"/{ID}/some-other", "method": "GET"}),
    (
        [{}, {"path": "a"}, {"path": "b", "test-key": "test-value"}, {"path": "c"}],
        {"2.test-key": "test-value", "path": "/a/b/c"},
    ),
    (
        [{}, {"path": "a"}, {"path": "b", "test-key": 123}, {"path": "c"}],
        {"2.test-key+integer": "123", "path": "/a/b/c"},
    ),
    (
        [{}, {"path": "a"}, {"path": "b", "test-key": XYZ}, {"path": "c"}],
        {"2.test-key+resolve": "/x/y/z", "path": "/a/b/c"},
    ),
    ([{}, {"path": "a"}, XYZ, {"path": "z"}], {"path": "/a/(x/y/z)/z"}),
    (
        [
            {"method": "POST"},
            {"method": "POST", "path": "a"},
            {"k1": "v1", "method": "POST", "path": "b"},
            {"k2": "v2", "method": "POST", "path": "c"},
        ],
        {"path": "/a/b/c", "method": "POST", "2.k1": "v1", "3.k2": "v2"},
    ),
    (
        [
            {"method": "POST"},
            {"method": "POST", "path": "a"},
            {"k1": "v1", "k2": "v2", "method": "POST", "path": "b"},
        ],
        None,
    ),
    (
        [
            {},
            {"path": "part1"},
            {"b": Resolve([{}, {"path": "x"}, {"path": "y"}]), "path": "part2", "test": "1"},
            {"path": "part3"},
        ],
        {"path": "/part1/part2/part3", "2.b+resolve": "/x/y", "2.test": "1"},
    ),
    ([], {}),
    ([ID], {"path": f"/{ID}"}),
    ([Resolve([ID, {"path": "x"}]), {"path": "a"}], {"path": f"/({ID}/x)/a"}),
]


@pytest.mark.parametrize(("msgs", "singleton"), TO_CASES)
def test_to_singleton_vectors(msgs, singleton):
    out = to_singleton(msgs)
    if singleton is not None:
        assert out == singleton
    assert parse_path(out) == msgs


def test_a_sub_resolution_step_of_id_length_reads_back_as_an_id():
    sub = Resolve([{}, {"path": "a" * 14}, {"path": "b" * 14}])  # `(aaa…/bbb…)`: 31 bytes
    assert parse_path(to_singleton([{}, {"path": "x"}, sub]))[2] == sub
    sub = Resolve([{}, {"path": "a" * 15}, {"path": "b" * 14}])  # 32 bytes: an ID
    assert parse_path(to_singleton([{}, {"path": "x"}, sub]))[2] == f"({'a' * 15}/{'b' * 14})"


def test_to_singleton_keeps_a_shared_key_global_with_the_last_value():
    out = to_singleton([{"k": "1"}, {"path": "a", "k": "2"}])
    assert out == {"path": "/a", "k": "2"}


@pytest.mark.parametrize(
    "bad",
    [
        "not a list",
        [{}, As("message@1.0", {"path": "a"})],
        [{}, {"path": 1}],
        [{}, Resolve([{}])],
        [{}, {"path": "a", "k": Resolve([])}],
        [{}, 5],
        [{1: "x"}],
    ],
)
def test_to_singleton_of_what_to_1_cannot_write_is_a_path_error(bad):
    with pytest.raises(PathError):
        to_singleton(bad)


# --- the property: parse_path(to_singleton(msgs)) == msgs for the shapes parse_path makes ---

_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
_KEY = _NAME.filter(lambda k: k not in ("path", "method", "ao-types") and not k.startswith("priv"))
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ID = st.text(_B64, min_size=43, max_size=43)
_SUB = st.builds(
    lambda base, steps: Resolve([base] + [{"path": s} for s in steps]),
    st.one_of(st.just({}), _ID),
    st.lists(_NAME, min_size=1, max_size=3),
)
_VALUE = st.one_of(
    st.text(max_size=20),
    st.integers(-(10**15) + 1, 10**15 - 1),
    st.booleans(),
    _SUB,
)


@st.composite
def _messages(draw):
    base = draw(st.one_of(st.just({}), _ID, _SUB))
    steps = draw(st.lists(st.one_of(_NAME, _ID, _SUB), min_size=1, max_size=5))
    if base == {}:  # parse_path adds the empty base only before a plain step
        steps[0] = draw(_NAME)
    msgs = [base] + [{"path": s} if isinstance(s, str) and len(s) < 32 else s for s in steps]
    maps = [m for m in msgs if isinstance(m, dict)]
    used: set = set()
    shared = draw(st.dictionaries(_KEY, _VALUE, max_size=3))
    used |= set(shared)
    method = draw(st.one_of(st.none(), st.sampled_from(["GET", "POST"])))
    for m in maps:
        own = draw(
            st.dictionaries(
                _KEY.filter(lambda k, seen=frozenset(used): k not in seen), _VALUE, max_size=3
            )
        )
        used |= set(own)
        m.update(own)
        m.update(shared)
        if method:
            m["method"] = method
    # a `(x/y)` step of 32, 42 or 43 bytes reads back as an ID (parse_part tries ?IS_ID first)
    for m in msgs:
        if isinstance(m, Resolve):
            assume(not is_path_id("(" + to_singleton(m.messages)["path"][1:] + ")"))
    return msgs


@settings(max_examples=300, deadline=None)
@given(_messages())
def test_to_singleton_inverts_parse_path(msgs):
    assert parse_path(to_singleton(msgs)) == msgs


# --- over the resolver and HTTP ---


@pytest.mark.parametrize(
    "seg", ["a" * 32, "." * 42, "é" * 21, "~message@1.0&items+list=" + "x" * 19]
)
def test_an_id_of_any_characters_is_looked_up_not_echoed(seg):
    assert len(seg.encode()) in (32, 42, 43)
    assert ao.resolve({"path": "/" + seg}) == ("error", ao.NOT_FOUND)


def test_edges_over_http():
    node = Node(dict(config.DEFAULTS, force_signed=False), hb.Wallet.generate(), "memory")
    try:
        st, _, body = node.handle("GET", "/~message@1.0&Greeting=hi/greeting", [], b"")
        assert (st, body) == (200, b"hi")
        for seg in ["a" * 32, "." * 42, "b" * 43]:
            st, _, _ = node.handle("GET", "/" + seg, [], b"")
            assert st == 404
        st, _, _ = node.handle("GET", "/~message@1.0&k+integer=x/k", [], b"")
        assert st == 404  # the key was dropped
        st, _, _ = node.handle("GET", "/~message@1.0&k+integer=/k", [], b"")
        assert st == 400  # no structured-field item: HyperBEAM crashes
    finally:
        node.close()
