"""The native unsigned ID reads a message three ways (borrowed without reference counting,
borrowed with strong references, owned conversion); every way must give the reference ID.
These messages sit on the borders between them."""

from __future__ import annotations

import pytest
from hyperbeam_fast import Atom
from hyperbeam_fast import reference as ref
from hyperbeam_fast._native import unsigned_id, unsigned_id_general


class MyStr(str):
    pass


class MyInt(int):
    pass


class MyFloat(float):
    pass


class MyAtom(Atom):
    pass


class MyDict(dict):
    pass


CASES = [
    {"a": "1", "b": b"2", "c": 3, "d": 1.5, "e": None, "f": True, "g": False, "h": Atom("x")},
    {"big": 2**70, "neg": -(2**63), "edge": 2**63 - 1, "over": 2**63},
    {"nested": {"big": 2**70, "s": MyStr("v"), "i": MyInt(4), "f": MyFloat(2.5)}},
    {"s": MyStr("v"), "i": MyInt(4), "f": MyFloat(0.25)},
    {"l": ["a", 1, [2, 3.5], None], "m": [{"k": "v"}, {"x": None}], "ba": bytearray(b"ba")},
    {b"bytes-key": "v", "str-key": b"v"},
    {"d": MyDict(a="1"), "e": {}, "l": [], "b": b""},
    {"body": b"x" * (70 * 1024), "k": "v"},
    {"nested": {"body": b"y" * (70 * 1024)}, "n": 1},
    {"Upper": "v", "lower": "w"},
    {"ao-types": 'x="integer"', "x": "1"},
    {"aaaaaaaa1": 1, "aaaaaaaa0": 2, "aaaaaaaa": 3, "aaaaaaa": 4},
    {"x" * 43: "id-size key", "y" * 32: 5},
    {'a"b': 1, "c\\d": "x", "n": {'q"': 1}, "plain": "v"},
    {"ünï": "v", "ÜNÏ-upper-is-not-normalised": 1},
]


@pytest.mark.parametrize("msg", CASES, ids=range(len(CASES)))
def test_every_native_reading_agrees_with_the_reference(msg):
    expected = ref.unsigned_id(msg)
    assert unsigned_id(msg) == expected
    assert unsigned_id_general(msg) == expected


def test_surrogate_escaped_text_takes_the_owned_reading():
    # Not valid UTF-8: read through `surrogateescape` (the reference does not do that).
    msg = {"sur\udcff": "v", "k": "sur\udcfe", "n": {"sur\udcfd": "w"}}
    assert unsigned_id(msg) == unsigned_id_general(msg)


@pytest.mark.parametrize(
    "msg",
    [
        {"a": "1", b"a": "2"},
        {"n": {"a": "1", b"a": "2"}, "m": {"k": 1}},
        {"n": {"b": 1, "a": 2.5, "c": None, "priv": "x"}, "e": {"priv": "p"}, "z": {}},
        {"n": {"Upper": 1, "ao-types": "x"}, "m": {"l": [1]}},
    ],
)
def test_nested_and_duplicate_keys_agree_with_the_general_path(msg):
    assert unsigned_id(msg) == unsigned_id_general(msg)


def test_tuples_are_lists():
    assert unsigned_id({"t": ("a", 1)}) == unsigned_id({"t": ["a", 1]})


@pytest.mark.parametrize("bad", [[1, {"k": "v"}], float("nan"), object()])
def test_unencodable_values_raise_codec_errors(bad):
    from hyperbeam_fast import CodecError

    with pytest.raises(CodecError):
        unsigned_id({"k": bad})
    with pytest.raises(CodecError):
        unsigned_id({"n": {"k": bad}})


def test_int_keys_are_their_decimal_text():
    assert unsigned_id({1: "a", "b": 2}) == unsigned_id({"1": "a", "b": 2})


def test_atom_subclasses_are_atoms():
    # (The reference recognises atoms by the class name `Atom`, so it is not asked here.)
    msg = {"at": MyAtom("y"), "nested": {"at": MyAtom("z")}}
    assert unsigned_id(msg) == unsigned_id_general(msg)
    assert unsigned_id(msg) == unsigned_id({"at": Atom("y"), "nested": {"at": Atom("z")}})
