"""Serialising reads exact built-in types without reference counting and everything else
through the general path; parsing lends cached strings. Both readings must give the same
bytes, and the same errors, for the same value."""

from __future__ import annotations

import pytest
from hyperbeam_fast import sf
from hyperbeam_fast.exceptions import HyperbeamError


class S(str):
    pass


class I(int):  # noqa: E742 - a short name for an int subclass
    pass


class F(float):
    pass


class L(list):
    pass


class T(tuple):
    __slots__ = ()


class B(bytes):
    pass


def _gen(x):
    yield from x


ITEM = ("hello world", [("a", 1), ("b", False), ("c", sf.Token("tok")), ("d", b"hi")])
ITEM_WEIRD = (
    S("hello world"),
    L([T(("a", I(1))), ("b", False), ("c", sf.Token("tok")), ("d", B(b"hi"))]),
)


@pytest.mark.parametrize(
    ("kind", "plain", "weird"),
    [
        ("item", ITEM, ITEM_WEIRD),
        ("item", (1.5, [("x", True), ("y", -2.25)]), (F(1.5), [("x", True), ("y", F(-2.25))])),
        ("item", (b"abc", []), (B(b"abc"), ())),
        (
            "list",
            [("a", []), ([("b", []), ("c", [])], [])],
            L([T(("a", [])), T((L([("b", []), ["c", ()]]), _gen([])))]),
        ),
        (
            "list",
            [([("b", []), ("c", [("p", 1)])], [("q", "r")]), (True, [])],
            [([("b", ()), ["c", [["p", 1]]]], (("q", S("r")),)), [True, []]],
        ),
        (
            "dictionary",
            [("k", (1, [])), ("t", (True, [("p", 2)])), ("l", ([("x", [])], []))],
            (T((S("k"), (I(1), []))), ["t", [True, [("p", 2)]]], ("l", (L([("x", [])]), []))),
        ),
    ],
)
def test_fast_and_general_serialisations_agree(kind, plain, weird):
    ser = {
        "item": sf.serialize_item,
        "list": sf.serialize_list,
        "dictionary": sf.serialize_dictionary,
    }
    assert ser[kind](plain) == ser[kind](weird)


@pytest.mark.parametrize(
    "bad",
    [
        ("x", [("Bad", 1)]),  # parameter keys are lowercase
        (2**64, []),  # integers out of range
        ("\udcff", []),  # not UTF-8
        (float("nan"), []),
        ("x", [(1, 1)]),
        ("x", 5),
        (object(), []),
        ("x", [("a", 1, 2)]),
    ],
)
def test_invalid_values_raise_the_general_errors(bad):
    with pytest.raises(HyperbeamError):
        sf.serialize_item(bad)
    with pytest.raises(HyperbeamError):
        sf.serialize_list([bad])
    with pytest.raises(HyperbeamError):
        sf.serialize_dictionary([("k", bad)])


def test_parse_results_are_fresh_and_mutable():
    a = sf.parse_dictionary(b'a="x", b=("y" "z");p="x"')
    b = sf.parse_dictionary(b'a="x", b=("y" "z");p="x"')
    assert a == b
    a[0][1][1].append(("q", 1))
    a[1][1][0].append(("w", []))
    assert b == [("a", ("x", [])), ("b", ([("y", []), ("z", [])], [("p", "x")]))]
    assert a[0][1][1] is not b[0][1][1]


def test_many_distinct_strings_evict_the_cache_safely():
    # More distinct short strings than the cache holds, in one parse and across parses.
    keys = [f"k{i}" for i in range(3000)]
    text = ", ".join(f'{k}="{k}v";{k}p={k}' for k in keys).encode()
    for _ in range(2):
        parsed = sf.parse_dictionary(text)
        assert [k for k, _ in parsed] == keys
        assert all(m == (k + "v", [(k + "p", sf.Token(k))]) for k, m in parsed)
        assert sf.serialize_dictionary(parsed) == text
