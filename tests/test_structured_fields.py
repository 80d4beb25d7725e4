"""The httpwg structured-field test suite (RFC 8941/9651) against HyperBEAM-compatible parsing.

Spec core §1.6 lists HyperBEAM's deviations from the RFC; the suite cases they affect are listed in
``EXPECTED_DIFFERENCES`` and asserted to behave the HyperBEAM way. Every other case must pass as the
suite says (``can_fail`` cases included: this implementation accepts them all).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hyperbeam_fast import sf
from hyperbeam_fast.exceptions import CodecError, HyperbeamError, StructuredFieldError
from hypothesis import given, settings
from hypothesis import strategies as st

SUITE_SUBDIR = Path("vectors") / "structured-field-tests"

# ---- HyperBEAM deviations (spec core §1.6) ----------------------------------------------------

PARSE_DICT_KEY = (
    "HyperBEAM accepts dictionary keys starting with A-Z a-z 0-9 * % _ - and containing "
    "A-Z a-z 0-9 _ - . * % (upper case for ao-ids, leading digits for list indices); "
    "the RFC allows only lcalpha/* then lcalpha/digit/_-.*"
)
SER_DICT_KEY = (
    "HyperBEAM's dictionary keys are lenient (see PARSE_DICT_KEY), so such keys serialise "
    "(and parse back) instead of failing"
)
SER_INTEGER = (
    "HyperBEAM never range-checks integers on serialisation (only parsing limits them to 15 digits)"
)
SER_STRING = (
    'HyperBEAM serialises strings without validating them (escaping only \\ and "); '
    "its own parser then rejects the result"
)

EXPECTED_DIFFERENCES: dict[str, str] = {
    "dictionary.json::numeric key dictionary": PARSE_DICT_KEY,
    "dictionary.json::uppercase key dictionary": PARSE_DICT_KEY,
    "key-generated.json::0x25 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x25 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x25 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x2d as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x2d starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x30 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x30 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x31 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x31 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x32 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x32 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x33 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x33 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x34 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x34 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x35 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x35 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x36 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x36 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x37 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x37 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x38 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x38 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x39 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x39 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x41 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x41 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x41 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x42 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x42 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x42 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x43 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x43 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x43 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x44 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x44 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x44 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x45 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x45 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x45 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x46 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x46 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x46 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x47 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x47 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x47 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x48 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x48 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x48 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x49 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x49 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x49 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4a as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4a in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4a starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4b as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4b in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4b starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4c as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4c in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4c starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4d as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4d in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4d starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4e as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4e in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4e starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4f as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4f in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x4f starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x50 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x50 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x50 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x51 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x51 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x51 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x52 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x52 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x52 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x53 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x53 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x53 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x54 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x54 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x54 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x55 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x55 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x55 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x56 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x56 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x56 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x57 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x57 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x57 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x58 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x58 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x58 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x59 as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x59 in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x59 starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x5a as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x5a in dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x5a starting a dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x5f as a single-character dictionary key": PARSE_DICT_KEY,
    "key-generated.json::0x5f starting a dictionary key": PARSE_DICT_KEY,
    "serialisation-tests/key-generated.json::0x25 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x25 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x2d starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x30 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x31 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x32 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x33 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x34 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x35 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x36 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x37 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x38 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x39 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x41 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x41 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x42 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x42 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x43 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x43 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x44 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x44 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x45 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x45 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x46 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x46 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x47 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x47 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x48 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x48 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x49 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x49 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x4a in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x4a starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x4b in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x4b starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x4c in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x4c starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x4d in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x4d starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x4e in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x4e starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x4f in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x4f starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x50 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x50 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x51 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x51 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x52 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x52 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x53 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x53 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x54 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x54 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x55 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x55 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x56 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x56 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x57 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x57 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x58 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x58 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x59 in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x59 starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x5a in dictionary key - serialise only": SER_DICT_KEY,
    "serialisation-tests/key-generated.json::0x5a starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/key-generated.json::0x5f starting a dictionary key - serialise only": SER_DICT_KEY,  # noqa: E501
    "serialisation-tests/number.json::too big negative integer - serialize": SER_INTEGER,
    "serialisation-tests/number.json::too big positive integer - serialize": SER_INTEGER,
    "serialisation-tests/string-generated.json::0x00 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x01 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x02 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x03 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x04 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x05 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x06 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x07 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x08 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x09 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x0a in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x0b in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x0c in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x0d in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x0e in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x0f in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x10 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x11 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x12 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x13 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x14 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x15 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x16 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x17 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x18 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x19 in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x1a in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x1b in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x1c in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x1d in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x1e in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x1f in string - serialise only": SER_STRING,
    "serialisation-tests/string-generated.json::0x7f in string - serialise only": SER_STRING,
}


# ---- Loading the suite -------------------------------------------------------------------------


def _shared_guess() -> Path:
    """Same lookup as the ``shared_dir`` fixture, for collection time only."""
    env = os.environ.get("HYPERBEAM_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


def _case_ids() -> list[str]:
    suite = _shared_guess() / SUITE_SUBDIR
    if not suite.is_dir():
        return ["<structured-field-tests not found>"]
    ids = []
    for path in sorted(suite.glob("*.json")) + sorted(suite.glob("serialisation-tests/*.json")):
        rel = path.relative_to(suite).as_posix()
        ids.extend(f"{rel}::{case['name']}" for case in json.loads(path.read_text()))
    return ids


CASE_IDS = _case_ids()
_CACHE: dict[Path, dict[str, dict[str, Any]]] = {}


def _load_case(shared_dir: Path, case_id: str) -> dict[str, Any]:
    suite = shared_dir / SUITE_SUBDIR
    if not suite.is_dir():
        pytest.skip(f"structured-field test suite not found at {suite}")
    if suite not in _CACHE:
        cases: dict[str, dict[str, Any]] = {}
        for path in sorted(suite.glob("*.json")) + sorted(suite.glob("serialisation-tests/*.json")):
            rel = path.relative_to(suite).as_posix()
            for case in json.loads(path.read_text()):
                cases[f"{rel}::{case['name']}"] = case
        _CACHE[suite] = cases
    if case_id not in _CACHE[suite]:
        pytest.skip(f"case {case_id!r} not in the suite at {suite}")
    return _CACHE[suite][case_id]


# ---- Converting the suite's JSON to this package's Python shapes --------------------------------


def _bare(v: Any) -> Any:
    if isinstance(v, dict):
        kind, value = v["__type"], v["value"]
        if kind == "token":
            return sf.Token(value)
        if kind == "binary":
            return base64.b32decode(value)
        if kind == "date":
            return sf.Date(value)
        if kind == "displaystring":
            return sf.DisplayString(value)
        raise AssertionError(f"unknown __type {kind!r}")
    return v


def _params(ps: list) -> list:
    return [(k, _bare(v)) for k, v in ps]


def _item(x: list) -> tuple:
    return (_bare(x[0]), _params(x[1]))


def _member(x: list) -> tuple:
    if isinstance(x[0], list):
        return ([_item(i) for i in x[0]], _params(x[1]))
    return _item(x)


def from_suite(kind: str, expected: Any) -> Any:
    if kind == "item":
        return _item(expected)
    if kind == "list":
        return [_member(m) for m in expected]
    return [(k, _member(m)) for k, m in expected]


def tagged(v: Any) -> Any:
    """Type-strict form for comparisons (Token("a") == "a" and 1.0 == 1 in plain Python)."""
    if isinstance(v, tuple):
        return tuple(tagged(x) for x in v)
    if isinstance(v, list):
        return [tagged(x) for x in v]
    return (type(v).__name__, v)


PARSE = {"item": sf.parse_item, "list": sf.parse_list, "dictionary": sf.parse_dictionary}
SERIALIZE = {
    "item": sf.serialize_item,
    "list": sf.serialize_list,
    "dictionary": sf.serialize_dictionary,
}


def _first_bare(kind: str, value: Any) -> Any:
    if kind == "item":
        return value[0]
    member = value[0][1] if kind == "dictionary" else value[0]
    return member[0]


# ---- The suite ----------------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_suite_case(shared_dir: Path, case_id: str) -> None:
    case = _load_case(shared_dir, case_id)
    kind = case["header_type"]
    difference = EXPECTED_DIFFERENCES.get(case_id)
    if difference is not None:
        _check_difference(case, kind, difference)
        return

    if "raw" in case:
        raw = ", ".join(case["raw"])
        if case.get("must_fail"):
            with pytest.raises(StructuredFieldError):
                PARSE[kind](raw)
            return
        parsed = PARSE[kind](raw)
        assert tagged(parsed) == tagged(from_suite(kind, case["expected"]))

    value = from_suite(kind, case["expected"])
    if case.get("must_fail"):
        with pytest.raises(StructuredFieldError):
            SERIALIZE[kind](value)
        return
    canonical = case.get("canonical", case.get("raw"))
    assert SERIALIZE[kind](value) == ", ".join(canonical).encode()


def _check_difference(case: dict[str, Any], kind: str, reason: str) -> None:
    """Assert the HyperBEAM behaviour for a case on the EXPECTED_DIFFERENCES list."""
    assert case.get("must_fail"), "every listed difference is a case the RFC says must fail"
    if reason == PARSE_DICT_KEY:
        parsed = PARSE[kind](", ".join(case["raw"]))
        assert parsed, "HyperBEAM accepts the lenient key"
        out = SERIALIZE[kind](parsed)
        assert tagged(PARSE[kind](out)) == tagged(parsed)
        return
    value = from_suite(kind, case["expected"])
    out = SERIALIZE[kind](value)
    if reason == SER_DICT_KEY:
        key = value[0][0]
        assert out == key.encode() + b"=1"
        assert tagged(PARSE[kind](out)) == tagged(value)
    elif reason == SER_INTEGER:
        assert out == str(_first_bare(kind, value)).encode()
        with pytest.raises(StructuredFieldError):
            PARSE[kind](out)
    elif reason == SER_STRING:
        s = _first_bare(kind, value).encode()
        assert out == b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        with pytest.raises(StructuredFieldError):
            PARSE[kind](out)
    else:  # pragma: no cover
        raise AssertionError(f"unknown difference {reason!r}")


def test_expected_differences_are_suite_cases() -> None:
    if CASE_IDS == ["<structured-field-tests not found>"]:
        pytest.skip("structured-field test suite not found")
    missing = sorted(set(EXPECTED_DIFFERENCES) - set(CASE_IDS))
    assert not missing


# ---- Direct tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("item", b""),
        ("item", b'"unterminated'),
        ("item", b"1 2"),
        ("item", b"?2"),
        ("item", b":not base64!:"),
        ("item", b"\xff"),
        ("list", b"1,,2"),
        ("list", b"(1 2"),
        ("dictionary", b"a=1,"),
        ("dictionary", b"a/b=1"),
        ("dictionary", b"a?b=1"),
        ("dictionary", b"a+b=1"),
        ("dictionary", b"a:b=1"),
        ("dictionary", b"a b=1"),
        ("dictionary", b"a=1;B=2"),
    ],
)
def test_malformed_raises(kind: str, data: bytes) -> None:
    with pytest.raises(StructuredFieldError) as info:
        PARSE[kind](data)
    err = info.value
    assert isinstance(err, CodecError)
    assert isinstance(err, ValueError)
    assert isinstance(err, HyperbeamError)
    assert str(err)


def test_integer_limit_is_15_digits() -> None:
    assert sf.parse_item(b"999999999999999") == (999999999999999, [])
    assert sf.parse_item(b"-999999999999999") == (-999999999999999, [])
    for text in (b"1000000000000000", b"-1000000000000000", b"0000000000000001"):
        with pytest.raises(StructuredFieldError, match="15 digits"):
            sf.parse_item(text)
    # Serialising does not check the range (HyperBEAM).
    assert sf.serialize_item((12345678901234567, [])) == b"12345678901234567"


def test_decimal_limits() -> None:
    assert sf.parse_item(b"123456789012.123") == (123456789012.123, [])
    for text in (b"1234567890123.1", b"1.1234", b"1."):
        with pytest.raises(StructuredFieldError):
            sf.parse_item(text)
    assert sf.serialize_item((1.0, [])) == b"1.0"
    assert sf.serialize_item((0.0025, [])) == b"0.002"
    with pytest.raises(StructuredFieldError):
        sf.serialize_item((1e13, []))


def test_hyperbeam_dictionary_key_leniency() -> None:
    parsed = sf.parse_dictionary(b'1="list", Ao-Ids=2, %k=3, _x, -y;p=1, a.b*%=4, 1="again"')
    assert [k for k, _ in parsed] == ["1", "Ao-Ids", "%k", "_x", "-y", "a.b*%"]
    assert parsed[0] == ("1", ("again", []))  # duplicate replaced in place
    assert parsed[3] == ("_x", (True, []))
    assert parsed[4] == ("-y", (True, [("p", 1)]))
    assert sf.serialize_dictionary(parsed) == b'1="again", Ao-Ids=2, %k=3, _x, -y;p=1, a.b*%=4'
    # Parameter keys follow the RFC.
    with pytest.raises(StructuredFieldError):
        sf.parse_dictionary(b"a=1;Up=2")
    with pytest.raises(StructuredFieldError):
        sf.serialize_item((1, [("Up", 2)]))


def test_python_types() -> None:
    bare, params = sf.parse_item(b'tok;s="x";b=:AQ==:;d=@1;t=%"%c3%a9";f=1.5;i=-2;z=?0')
    assert type(bare) is sf.Token and bare == "tok"
    values = dict(params)
    assert type(values["s"]) is str
    assert values["b"] == b"\x01"
    assert type(values["d"]) is sf.Date and values["d"] == 1
    assert type(values["t"]) is sf.DisplayString and values["t"] == "é"
    assert values["f"] == 1.5 and values["i"] == -2 and values["z"] is False
    assert sf.parse_item("  42  ") == (42, [])  # str input, SP trimmed


def test_serialize_rejects_bad_python_input() -> None:
    for bad in [object(), (1,), ([1], []), ((1, []), [])]:
        with pytest.raises(CodecError):
            sf.serialize_item(bad)
    with pytest.raises(CodecError):
        sf.serialize_item((2**70, []))
    with pytest.raises(StructuredFieldError):
        sf.serialize_item((sf.Token("1bad"), []))
    with pytest.raises(CodecError):
        sf._native.sf_parse("nope", b"1")


# ---- Property: serialise then parse round-trips ------------------------------------------------

PARAM_KEY = st.from_regex(r"[a-z*][a-z0-9_.*-]{0,8}", fullmatch=True)
DICT_KEY = st.from_regex(r"[A-Za-z0-9*%_-][A-Za-z0-9_.*%-]{0,8}", fullmatch=True)
MAX_INT = 999_999_999_999_999

BARE = st.one_of(
    st.integers(-MAX_INT, MAX_INT),
    st.builds(
        lambda m, s: m / 10**s,
        st.integers(-999_999_999_999_999, 999_999_999_999_999),
        st.integers(3, 3),
    ),
    st.builds(lambda m: m / 10, st.integers(-9_999, 9_999)),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16),
    st.from_regex(r"[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,10}", fullmatch=True).map(sf.Token),
    st.binary(max_size=24),
    st.booleans(),
    st.integers(-MAX_INT, MAX_INT).map(sf.Date),
    st.text(max_size=12).map(sf.DisplayString),
)
PARAMS = st.lists(st.tuples(PARAM_KEY, BARE), max_size=3, unique_by=lambda kv: kv[0])
ITEM = st.tuples(BARE, PARAMS)
INNER = st.tuples(st.lists(ITEM, max_size=4), PARAMS)
MEMBER = st.one_of(ITEM, INNER)
LIST = st.lists(MEMBER, max_size=5)
DICT = st.lists(st.tuples(DICT_KEY, MEMBER), max_size=5, unique_by=lambda kv: kv[0])


@settings(max_examples=300, deadline=None)
@given(ITEM)
def test_roundtrip_item(value: Any) -> None:
    assert tagged(sf.parse_item(sf.serialize_item(value))) == tagged(value)


@settings(max_examples=300, deadline=None)
@given(LIST)
def test_roundtrip_list(value: Any) -> None:
    assert tagged(sf.parse_list(sf.serialize_list(value))) == tagged(value)


@settings(max_examples=300, deadline=None)
@given(DICT)
def test_roundtrip_dictionary(value: Any) -> None:
    assert tagged(sf.parse_dictionary(sf.serialize_dictionary(value))) == tagged(value)
