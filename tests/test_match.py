"""Unit tests of hyperbeam_fast.match (spec core §2.6): the round-trip oracle of the suite."""

import importlib.util
from pathlib import Path

import pytest

try:
    from hyperbeam_fast import Atom
    from hyperbeam_fast.match import match, normalize_key
except ImportError:  # the native extension is not built: match.py is pure Python, load it alone
    _path = Path(__file__).resolve().parents[1] / "python" / "hyperbeam_fast" / "match.py"
    _spec = importlib.util.spec_from_file_location("_hyperbeam_fast_match", _path)
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    match, normalize_key = _module.match, _module.normalize_key

    class Atom(str):
        """Stand-in for hyperbeam_fast.Atom (match only needs "a str subclass")."""


ZERO32 = bytes(32)
ZERO512 = bytes(512)


def both_ways(a, b, mode="strict"):
    return match(a, b, mode), match(b, a, mode)


# --- equality and types ------------------------------------------------------------------------


def test_identical_messages_match():
    msg = {"a": b"1", "n": {"x": 2, "y": [1, 2.5, b"z"]}, "t": True}
    assert match(msg, msg)
    assert match(msg, {"a": b"1", "n": {"x": 2, "y": [1, 2.5, b"z"]}, "t": True})


def test_different_binary_values_do_not_match():
    assert both_ways({"a": b"1"}, {"a": b"2"}) == (False, False)


def test_str_value_equals_its_utf8_bytes():
    assert both_ways({"a": "héllo"}, {"a": "héllo".encode()}) == (True, True)
    assert not match({"a": "héllo"}, {"a": "héllo".encode("latin-1")})


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (1, 1.0),  # integer vs float (Python: 1 == 1.0)
        (b"1", 1),  # binary vs integer
        ("1", 1),  # text (= binary) vs integer
        (True, 1),  # atom true vs integer (Python: True == 1)
        (False, 0),  # atom false vs integer (Python: False == 0)
        (None, b""),  # atom null vs empty binary
        (None, False),
        (0, 0.0),
        (b"true", True),  # binary "true" vs atom true
        ("x", "ATOM:x"),  # text vs atom of the same name (ATOM: prefix -> Atom)
        (b"x", "ATOM:x"),
        (2, 3),
        (1.5, 1.25),
    ],
)
def test_values_compare_with_their_type(left, right):
    left = Atom(left[5:]) if isinstance(left, str) and left.startswith("ATOM:") else left
    right = Atom(right[5:]) if isinstance(right, str) and right.startswith("ATOM:") else right
    assert both_ways({"k": left}, {"k": right}) == (False, False)


def test_atoms_compare_by_name():
    assert match({"k": Atom("some_atom")}, {"k": Atom("some_atom")})
    assert not match({"k": Atom("some_atom")}, {"k": Atom("other")})


def test_true_false_null_atoms_are_the_python_singletons():
    assert match({"k": Atom("true")}, {"k": True})
    assert match({"k": Atom("false")}, {"k": False})
    assert match({"k": Atom("null")}, {"k": None})
    assert not match({"k": Atom("true")}, {"k": False})


def test_large_and_negative_integers():
    assert match({"k": 12345678901234567890}, {"k": 12345678901234567890})
    assert not match({"k": 12345678901234567890}, {"k": 12345678901234567891})
    assert match({"k": -7}, {"k": -7})
    assert not match({"k": -7}, {"k": 7})


# --- keys ----------------------------------------------------------------------------------------


def test_keys_are_normalised_to_lower_case():
    assert both_ways({"Content-Type-X": b"v", "KEY": 1}, {"content-type-x": b"v", "key": 1}) == (
        True,
        True,
    )


@pytest.mark.parametrize("length", [32, 42, 43])
def test_id_length_keys_keep_their_case(length):
    upper, lower = "A" * length, "a" * length
    assert not match({upper: b"v"}, {lower: b"v"})
    assert match({upper: b"v"}, {upper: b"v"})


@pytest.mark.parametrize("length", [31, 33, 41, 44])
def test_other_length_keys_are_lowercased(length):
    assert match({"A" * length: b"v"}, {"a" * length: b"v"})


def test_id_length_is_measured_in_utf8_bytes():
    # 41 ASCII characters + "é" (2 bytes) = 43 bytes: an ID-like key, so its case is kept.
    key = "A" * 41 + "é"
    assert len(key.encode()) == 43
    assert not match({key: b"v"}, {key.lower(): b"v"})
    # 40 ASCII + "é" = 42 bytes, also kept; 39 + "é" = 41 bytes is lower-cased.
    assert not match({"A" * 40 + "é": b"v"}, {"a" * 40 + "é": b"v"})
    assert match({"A" * 39 + "É": b"v"}, {"a" * 39 + "é": b"v"})


def test_colliding_keys_last_in_term_order_wins():
    # "A" sorts before "a", so the value of "a" survives normalisation (spec core §2.2).
    assert match({"A": b"1", "a": b"2"}, {"a": b"2"})
    assert not match({"A": b"1", "a": b"2"}, {"a": b"1"})


def test_normalize_key():
    assert normalize_key("Key-A") == b"key-a"
    assert normalize_key(7) == b"7"
    assert normalize_key(Atom("Key-Two")) == b"Key-Two"  # atoms keep their case
    assert normalize_key("X" * 43) == b"X" * 43
    assert normalize_key(b"ABC") == b"abc"


# --- dropped keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"content-type": b"text/plain"},
        {"Content-Type": b'multipart/form-data; boundary="x"'},
        {"body-keys": b'"a", "a"'},
        {"inline-body-key": b"data"},
        {"content-digest": b"sha-256=:abc=:"},
        {"unsigned_id": b"anything"},
        {"priv": {"hashpath": b"x/y"}},
        {"private": b"x"},
        {"Priv-Thing": 1},
        {"privacy": b"p"},
    ],
)
def test_ignored_keys(extra):
    base = {"a": b"1"}
    assert both_ways(base, {**base, **extra}) == (True, True)
    # ...also inside nested maps
    assert match({"n": base}, {"n": {**base, **extra}})


def test_non_private_prefix_is_not_ignored():
    assert not match({"a": b"1"}, {"a": b"1", "pri": b"x"})
    assert not match({"a": b"1"}, {"a": b"1", "xpriv": b"x"})


@pytest.mark.parametrize(
    "extra",
    [
        {"data": b""},
        {"data": ""},
        {"last_tx": b""},
        {"target": b""},
        {"data_root": b""},
        {"quantity": 0},
        {"reward": 0},
        {"data_size": 0},
        {"denomination": 0},
        {"tags": []},
        {"data_tree": []},
        {"owner": ZERO512},
        {"signature": ZERO512},
        {"id": ZERO32},
        {"unsigned_id": ZERO32},
        {"manifest": "ATOM:undefined"},
        {"format": "ATOM:ans104"},
        {"Format": "ATOM:ans104"},
    ],
)
def test_default_tx_values_are_dropped(extra):
    extra = {
        k: (Atom(v[5:]) if isinstance(v, str) and v.startswith("ATOM:") else v)
        for k, v in extra.items()
    }
    assert both_ways({"a": b"1"}, {"a": b"1", **extra}) == (True, True)


@pytest.mark.parametrize(
    "extra",
    [
        {"data": b"x"},
        {"quantity": 0.0},  # a float zero is not the integer default
        {"quantity": False},
        {"quantity": 1},
        {"tags": {}},  # the default is the empty list, not the empty map
        {"tags": [b"x"]},
        {"owner": bytes(511)},
        {"owner": ZERO32},
        {"id": bytes(31)},
        {"manifest": None},
        {"format": b"ans104"},  # a binary, not the atom
        {"format": "ans104"},
        {"other": b""},  # empty binaries are only dropped for the #tx keys
        {"other": 0},
    ],
)
def test_non_default_values_are_kept(extra):
    assert both_ways({"a": b"1"}, {"a": b"1", **extra}) == (False, False)


def test_default_tx_values_dropped_in_nested_maps():
    assert match({"n": {"a": b"1"}}, {"n": {"a": b"1", "data": b"", "quantity": 0}})


# --- nesting and lists ---------------------------------------------------------------------------


def test_nested_difference_is_detected():
    assert not match({"n": {"m": {"a": b"1"}}}, {"n": {"m": {"a": b"2"}}})
    assert not match({"n": {"m": {"a": b"1"}}}, {"n": {"m": {"a": b"1", "b": b"2"}}})
    assert not match({"n": {"a": b"1"}}, {"n": b"a"})


def test_lists_compare_elementwise_in_order():
    assert match({"l": [1, b"two", 3.5, True]}, {"l": [1, b"two", 3.5, True]})
    assert not match({"l": [1, 2]}, {"l": [2, 1]})
    assert not match({"l": [1, 2]}, {"l": [1, 2, 3]})
    assert not match({"l": [1, 2]}, {"l": [1, 2.0]})


def test_lists_of_maps_and_nested_lists():
    msg = {"msgs": [{"a": b"1"}, {"b": 2}], "ll": [[1, 2], [3]]}
    assert match(msg, {"msgs": [{"a": b"1"}, {"b": 2}], "ll": [[1, 2], [3]]})
    assert not match(msg, {"msgs": [{"a": b"1"}, {"b": 3}], "ll": [[1, 2], [3]]})
    assert not match(msg, {"msgs": [{"a": b"1"}, {"b": 2}], "ll": [[1, 2], [4]]})
    # list elements are messages too: their ignored keys are dropped
    assert match(msg, {"msgs": [{"a": b"1", "content-type": b"x"}, {"b": 2}], "ll": [[1, 2], [3]]})


def test_lists_are_numbered_maps():
    assert match({"l": [b"a", b"b"]}, {"l": {"1": b"a", "2": b"b"}})
    assert not match({"l": [b"a", b"b"]}, {"l": {"1": b"b", "2": b"a"}})
    assert match({"l": []}, {"l": {}})
    assert not match({"l": []}, {"l": b""})


def test_empty_values():
    msg = {"e-bin": b"", "e-list": [], "e-map": {}}
    assert match(msg, {"e-bin": b"", "e-list": [], "e-map": {}})
    assert not match(msg, {"e-bin": b"", "e-list": []})
    assert not match({"e-bin": b""}, {"e-bin": None})
    assert match({}, {})


# --- modes ---------------------------------------------------------------------------------------


def test_strict_requires_the_same_keys():
    assert not match({"a": 1}, {"a": 1, "b": 2})
    assert not match({"a": 1, "b": 2}, {"a": 1})


def test_only_present_compares_common_keys():
    assert match({"a": 1, "b": 2}, {"a": 1, "c": 3}, "only_present")
    assert match({"a": 1}, {"b": 2}, "only_present")
    assert not match({"a": 1, "b": 2}, {"a": 2}, "only_present")


def test_primary_requires_a_subset_of_b():
    assert match({"a": 1}, {"a": 1, "b": 2}, "primary")
    assert not match({"a": 1, "b": 2}, {"a": 1}, "primary")
    assert not match({"a": 1}, {"a": 2, "b": 2}, "primary")


def test_nested_maps_are_matched_strictly_in_every_mode():
    a, b = {"n": {"a": 1, "b": 2}}, {"n": {"a": 1}}
    assert not match(a, b, "only_present")
    assert not match(b, a, "primary")


def test_unknown_mode_raises():
    with pytest.raises(ValueError):
        match({}, {}, "loose")


def test_bare_values():
    assert match(b"abc", b"abc")
    assert match("abc", b"abc")
    assert not match(b"abc", b"abd")
    assert not match(b"abc", {"a": b"abc"})
    assert not match(1, 1.0)
