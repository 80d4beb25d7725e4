"""Bad input gives a typed error whose message names the problem (spec core §14).

HyperBEAM crashes (``function_clause``, ``badmatch``, ``badarg``) or throws on these inputs; the
Python API turns every one of them into a :class:`HyperbeamError` subclass: ``CodecError`` for
messages and wire forms, ``StructuredFieldError`` (a ``CodecError``) for structured-field text,
``HashPathError`` for IDs and hashpaths. Nothing else (``TypeError``, ``RecursionError``, a
crash) may escape.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hyperbeam_fast import (
    Atom,
    CodecError,
    HashPathError,
    HyperbeamError,
    codecs,
    convert,
    hashpath,
    native_id,
)
from hyperbeam_fast import id as message_id
from hyperbeam_fast._native import hashpath_combine, unsigned_id, unsigned_id_general

CODECS = ("structured@1.0", "httpsig@1.0", "flat@1.0", "json@1.0", "tabm")
ID = "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"  # a valid 43-character ID (core §5.2)


def from_tabm(tabm: dict):
    return convert(tabm, "structured@1.0", "tabm")


def from_http(http: dict):
    return convert(http, "structured@1.0", "httpsig@1.0")


# ---------------------------------------------------------------------------------------------
# ao-types (§3.3, §1.6)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ao_types", "words"),
    [
        (b'a="integer', ["ao-types", "unterminated string"]),
        (b'a="integer", =', ["ao-types"]),
        (b"a=(", ["ao-types"]),
        (b'a/b="integer"', ["ao-types"]),  # `/` is not a dictionary key character (§1.6)
        (b'.a="integer"', ["ao-types"]),  # nor is a leading `.`
        (b'a="integer" junk', ["ao-types"]),
        (b"\xff", ["ao-types"]),
    ],
)
def test_malformed_ao_types_is_a_codec_error(ao_types, words):
    with pytest.raises(CodecError) as err:
        from_tabm({"a": b"1", "ao-types": ao_types})
    for word in words:
        assert word in str(err.value)


def test_ao_types_that_is_not_a_binary():
    with pytest.raises(CodecError, match="ao-types"):
        from_tabm({"a": b"1", "ao-types": 5})


@pytest.mark.parametrize("type_name", ["wibble", "binary", "map-of-things", ""])
def test_unknown_type_name_in_ao_types(type_name):
    """§3.3: a type that is not integer/float/atom/list/empty-* throws ``unexpected_type``."""
    tabm = {"a": b"1", "ao-types": f'a="{type_name}"'.encode()}
    with pytest.raises(CodecError) as err:
        from_tabm(tabm)
    assert '"a"' in str(err.value) and "type" in str(err.value)
    if type_name:
        assert type_name in str(err.value)


def test_unknown_type_name_inside_a_list_element():
    tabm = {"a": b'"(ao-type-wibble) 1"', "ao-types": b'a="list"'}
    with pytest.raises(CodecError, match="wibble"):
        from_tabm(tabm)


@pytest.mark.parametrize("text", [b"1234567890123456", b"-1234567890123456", b"99999999999999999"])
def test_sixteen_digit_integer_in_a_tabm(text):
    """§1.6: the SF parser takes at most 15 digits (a leading ``-`` does not count)."""
    with pytest.raises(CodecError) as err:
        from_tabm({"a": text, "ao-types": b'a="integer"'})
    assert "15 digits" in str(err.value) and '"a"' in str(err.value)
    fifteen = text.lstrip(b"-")[:15]
    assert from_tabm({"a": fifteen, "ao-types": b'a="integer"'}) == {"a": int(fifteen)}


def test_sixteen_digit_integer_inside_a_list():
    tabm = {"l": b'"(ao-type-integer) 1234567890123456"', "ao-types": b'l="list"'}
    with pytest.raises(CodecError, match="15 digits"):
        from_tabm(tabm)


@pytest.mark.parametrize("text", [b"abc", b"", b"nan", b"inf", b"-inf", b"1.0.0"])
def test_bad_float_text(text):
    tabm = {"f": text, "ao-types": b'f="float"'} if text else {"f": b"x", "ao-types": b'f="float'}
    with pytest.raises(CodecError) as err:
        from_tabm(tabm)
    assert "f" in str(err.value)


@pytest.mark.parametrize("value", [b'"x', b"not a string", b'"\xff"', b'"a\nb"'])
def test_bad_atom_text(value):
    """§3.3: an atom is an SF string or token; non-printable strings crash the parser (§1.6)."""
    with pytest.raises(CodecError, match='"a"'):
        from_tabm({"a": value, "ao-types": b'a="atom"'})


def test_non_printable_string_inside_a_list():
    """§3.4: a list string holding non-ASCII or control bytes can be encoded but not decoded."""
    with pytest.raises(CodecError, match="invalid character"):
        from_tabm({"l": b'"caf\xc3\xa9"', "ao-types": b'l="list"'})


@pytest.mark.parametrize(
    "numbered",
    [
        {"1": b"a", "3": b"b"},
        {"2": b"a"},
        {"1": b"a", "x": b"b"},
        {"0": b"a", "1": b"b"},
    ],
)
def test_numbered_map_with_gaps_is_not_a_list(numbered):
    """§3.3 ``message_to_ordered_list``: keys must be exactly ``1..N`` (``missing_key``)."""
    with pytest.raises(CodecError) as err:
        from_tabm({"l": numbered, "ao-types": b'l="list"'})
    assert "missing" in str(err.value) or "index" in str(err.value)


def test_list_type_on_a_gapless_numbered_map_is_fine():
    assert from_tabm({"l": {"2": b"b", "1": b"a"}, "ao-types": b'l="list"'}) == {"l": [b"a", b"b"]}


# ---------------------------------------------------------------------------------------------
# rich messages that HyperBEAM cannot encode (§2.1, §3.1, §3.2)
# ---------------------------------------------------------------------------------------------


def _a_function():
    return 1


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ({1, 2}, "set"),
        (object(), "object"),
        (1 + 2j, "complex"),
        (_a_function, "function"),
        (len, "builtin_function_or_method"),
        (memoryview(b"x"), "memoryview"),
        (frozenset(), "frozenset"),
    ],
)
@pytest.mark.parametrize("codec", CODECS)
def test_unsupported_value_type_names_the_type(value, type_name, codec):
    with pytest.raises(CodecError) as err:
        convert({"a": value}, codec)
    assert type_name in str(err.value)


@pytest.mark.parametrize("value", [{1, 2}, object(), 1j, _a_function])
def test_unsupported_value_type_in_ids_and_nested_positions(value):
    for msg in ({"a": value}, {"n": {"m": value}}, {"l": [1, value]}, {"l": [{"x": value}]}):
        for fn in (message_id, unsigned_id, unsigned_id_general):
            with pytest.raises(CodecError, match="unsupported value"):
                fn(msg)


@pytest.mark.parametrize("key", [None, 1.5, (1, 2), object()])
def test_unsupported_key_type(key):
    with pytest.raises(CodecError, match="key"):
        convert({key: b"1"}, "httpsig@1.0")


@pytest.mark.parametrize("msg", [[1, 2], 5, 1.5, None, {1, 2}, object()])
@pytest.mark.parametrize("codec", ["httpsig@1.0", "flat@1.0", "tabm", "structured@1.0"])
def test_non_dict_message(msg, codec):
    with pytest.raises(CodecError) as err:
        convert(msg, codec)
    assert type(msg).__name__ in str(err.value)


@pytest.mark.parametrize("msg", [[1, 2], 5, None, object()])
def test_id_of_a_non_message(msg):
    with pytest.raises(CodecError) as err:
        message_id(msg)
    assert type(msg).__name__ in str(err.value)


@pytest.mark.parametrize("name", ["ans104@2.0", "HTTPSIG@1.0", "json", "", "structured"])
def test_unknown_codec_name(name):
    """§14: ``message_codec_not_viable``."""
    with pytest.raises(CodecError, match="unknown codec") as err:
        convert({"a": b"1"}, name)
    assert repr(name) in str(err.value)
    with pytest.raises(CodecError, match="unknown codec"):
        convert({"a": b"1"}, "tabm", name)


@pytest.mark.parametrize(
    "value", [[1, {"a": 1}], [b"x", {}], [1, [{"a": 1}]], [Atom("x"), {"a": b"1"}]]
)
@pytest.mark.parametrize("codec", CODECS)
def test_map_after_a_scalar_in_a_list(value, codec):
    """§3.1: a map in a non-first position of a scalar-first list crashes (``badmatch``)."""
    with pytest.raises(CodecError) as err:
        convert({"l": value}, codec)
    assert "map" in str(err.value) and "list" in str(err.value)


@pytest.mark.parametrize(("value", "word"), [(float("nan"), "NaN"), (float("inf"), "inf")])
@pytest.mark.parametrize("where", ["top", "nested", "list"])
def test_non_finite_floats(value, word, where):
    msg = {"top": {"f": value}, "nested": {"n": {"f": value}}, "list": {"l": [1.5, value]}}[where]
    for codec in CODECS:
        with pytest.raises(CodecError, match=word):
            convert(msg, codec)
    with pytest.raises(CodecError, match=word):
        message_id(msg)
    with pytest.raises(CodecError, match=word):
        convert({"f": -value}, "tabm")


def test_bad_committers_mode():
    msg = {"a": b"1", "commitments": {ID: {"committer": b"x" * 32}}}
    with pytest.raises(CodecError, match="committers"):
        message_id(msg, "bogus")
    with pytest.raises(HyperbeamError, match="not found"):
        message_id(msg, ["y" * 43])


# ---------------------------------------------------------------------------------------------
# flat@1.0 (§9) and json@1.0 (§10)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flat",
    [
        {"a": b"1", "a/b": b"2"},
        {"a/b": b"2", "a": b"1"},
        {"a/b": b"1", "a/b/c": b"2"},
        {"x/a": b"1", "x/a/b": b"2", "y": b"3"},
    ],
)
def test_flat_path_collision(flat):
    """§9: ``path_collision`` (or ``badmap``), whatever the key order."""
    with pytest.raises(CodecError, match="collision"):
        convert(flat, "structured@1.0", "flat@1.0")


def test_flat_text_path_collision():
    with pytest.raises(CodecError, match="collision"):
        codecs.flat.deserialize(b"a: 1\na/b: 2\n")


@pytest.mark.parametrize("key", ["", "/", "//"])
def test_flat_key_without_segments(key):
    with pytest.raises(CodecError, match="segment"):
        convert({key: b"1"}, "structured@1.0", "flat@1.0")


@pytest.mark.parametrize("value", [5, 1.5, None, [b"x"], {1, 2}])
def test_flat_value_that_is_not_a_binary(value):
    with pytest.raises(CodecError):
        convert({"a/b": value, "c": {1}}, "structured@1.0", "flat@1.0")


@pytest.mark.parametrize(
    "data", [b"{nope", b"", b'{"a": }', b"[1, 2", b'{"a": "\xff"}', b"\xff\xfe", b"NaN"]
)
def test_invalid_json(data):
    with pytest.raises(CodecError, match="invalid JSON"):
        convert(data, "structured@1.0", "json@1.0")


def test_json_of_non_utf8_values():
    """§10, §15 item 14: only UTF-8 values can be written as JSON."""
    with pytest.raises(CodecError, match="UTF-8") as err:
        convert({"n": {"k": b"\xff"}}, "json@1.0")
    assert "n/k" in str(err.value)


def test_json_with_a_bad_ao_types():
    with pytest.raises(CodecError, match="ao-types"):
        convert(b'{"a": "1", "ao-types": "a=\\"integer"}', "structured@1.0", "json@1.0")


# ---------------------------------------------------------------------------------------------
# httpsig@1.0 decoding (§6.4)
# ---------------------------------------------------------------------------------------------

MP = b'multipart/form-data; boundary="abc"'


def test_multipart_body_without_its_boundary():
    with pytest.raises(CodecError, match="boundary"):
        from_http({"content-type": MP, "body": b"hello, no parts here"})


def test_multipart_body_without_closing_boundary():
    body = b'--abc\r\ncontent-disposition: form-data;name="k"\r\n\r\nv\r\n'
    with pytest.raises(CodecError, match="boundary"):
        from_http({"content-type": MP, "body": body})


def test_multipart_part_without_content_disposition():
    """§14: ``no_content_disposition_in_multipart``."""
    body = b"--abc\r\nfoo: bar\r\n\r\nx\r\n--abc--"
    with pytest.raises(CodecError, match="content-disposition"):
        from_http({"content-type": MP, "body": body})


@pytest.mark.parametrize(
    "disposition", [b"form-data", b'form-data;filename="x"', b"attachment;name=1"]
)
def test_multipart_part_without_a_name(disposition):
    """§14: a non-inline part with no ``name`` parameter crashes (``badmatch``)."""
    body = b"--abc\r\ncontent-disposition: " + disposition + b"\r\n\r\nx\r\n--abc--"
    with pytest.raises(CodecError, match="name"):
        from_http({"content-type": MP, "body": body})


def test_multipart_part_with_a_malformed_content_disposition():
    body = b'--abc\r\ncontent-disposition: form-data;name="unterminated\r\n\r\nx\r\n--abc--'
    with pytest.raises(CodecError, match="content-disposition"):
        from_http({"content-type": MP, "body": body})


@pytest.mark.parametrize(
    "content_type",
    [b'multipart/form-data; boundary="abc', b"(((", b"multipart/form-data; boundary=\xff", b""],
)
def test_content_type_that_is_not_a_structured_field_item(content_type):
    with pytest.raises(CodecError, match="content-type"):
        from_http({"content-type": content_type, "body": b"--abc\r\n\r\n--abc--"})


def test_multipart_decoded_parts_that_collide():
    body = (
        b'--abc\r\ncontent-disposition: form-data;name="a"\r\n\r\n1\r\n'
        b'--abc\r\ncontent-disposition: form-data;name="a/b"\r\n\r\n2\r\n--abc--'
    )
    with pytest.raises(CodecError, match="collision"):
        from_http({"content-type": MP, "body": body})


@pytest.mark.parametrize("value", [5, None, {"x": b"1"}, [b"x"]])
def test_http_field_that_is_not_a_binary(value):
    with pytest.raises(CodecError) as err:
        from_http({"a": value})
    assert '"a"' in str(err.value)


def test_ao_ids_that_cannot_be_parsed():
    """§6.2: an ``ao-ids`` value that is not an SF dictionary of strings."""
    with pytest.raises(CodecError, match="ao-ids"):
        from_http({"ao-ids": b'x="unterminated'})


# ---------------------------------------------------------------------------------------------
# IDs and hashpaths (§1.2, §1.3, §5.1)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["short", b"short", "", "x" * 44, "x" * 31, b"\x00" * 33])
def test_native_id_of_a_non_id(value):
    with pytest.raises(HashPathError, match="not an ID") as err:
        native_id(value)
    assert str(len(value)) in str(err.value)


def test_native_id_of_bad_base64url():
    with pytest.raises(HashPathError, match="base64url"):
        native_id("!" * 43)


def test_hashpath_whose_stored_parts_are_not_ids():
    """``combine`` of ``x/y`` calls ``native_id("x")``, which crashes (§1.2, §5.1)."""
    with pytest.raises(HashPathError, match="not an ID"):
        hashpath({"priv": {"hashpath": "x/y"}}, {"a": "1"})


def test_hashpath_with_a_43_byte_second_part_that_is_not_base64url():
    with pytest.raises(HashPathError, match="base64url"):
        hashpath({"priv": {"hashpath": ID + "/" + "!" * 43}}, "key")


@pytest.mark.parametrize("stored", [f"{ID}/{ID}/{ID}", f"{ID}/b/c", "a/b/c/d"])
def test_three_part_hashpath(stored):
    """§5.1, §14: a stored hashpath with 3+ parts crashes (``case_clause``)."""
    with pytest.raises(HashPathError, match="two parts"):
        hashpath({"priv": {"hashpath": stored}}, {"a": "1"})
    with pytest.raises(HashPathError, match="two parts"):
        hashpath_combine(stored.encode(), b"k", "sha-256-chain")


@pytest.mark.parametrize("alg", ["md5", "sha256", "SHA-256-CHAIN", ""])
def test_unknown_hashpath_alg(alg):
    """§5.1: ``hashpath_alg`` crashes (``case_clause``) on anything but the two names."""
    with pytest.raises(HashPathError, match="hashpath-alg") as err:
        hashpath({"a": b"1", "hashpath-alg": alg}, {"b": b"2"})
    assert repr(alg) in str(err.value)
    with pytest.raises(HashPathError, match="hashpath-alg"):
        hashpath({"a": b"1"}, {"b": b"2"}, alg=alg or "nope")


@pytest.mark.parametrize("msg1", [5, None, [1], object()])
def test_hashpath_of_a_non_message(msg1):
    """§14: ``hashpath_not_viable``."""
    with pytest.raises(HashPathError, match="message"):
        hashpath(msg1, {"a": b"1"})


@pytest.mark.parametrize("msg2", [5, [1], {"a": {1, 2}}, {"a": float("nan")}])
def test_hashpath_whose_msg2_has_no_id(msg2):
    """§14: ``{badarg, {unsupported_type, Msg}}``."""
    with pytest.raises(HyperbeamError):
        hashpath({"a": b"1"}, msg2)


@pytest.mark.parametrize("path", [1.5, [1.5], [[0.0]], {"x": b"1"}])
def test_hashpath_request_with_an_unusable_path(path):
    """A path-only msg2 whose path has no ``term_to_path_parts`` clause (§5.1; Erlang crashes
    with ``function_clause``): a HashPathError, not a TypeError."""
    with pytest.raises(HashPathError, match="path"):
        hashpath({"a": b"1"}, {"path": path})


@pytest.mark.parametrize("msg2", [b"\x80", {"path": b"\xff/x"}])
def test_non_utf8_key_name_in_a_hashpath_is_not_silently_replaced(msg2):
    """A key-name part is hashed as raw bytes (§5.1); a ``str`` result cannot hold non-UTF-8
    bytes, so it must be an error rather than U+FFFD (which a later step would hash instead)."""
    try:
        out = hashpath({"a": b"1"}, msg2)
    except HashPathError:
        return
    assert "\ufffd" not in out


def test_hashpath_with_an_empty_part():
    with pytest.raises(HashPathError, match="empty"):
        hashpath_combine(ID.encode(), b"", "sha-256-chain")


@pytest.mark.parametrize("stored", [5, 1.5, [b"a"], {"x": b"1"}])
def test_stored_hashpath_that_is_not_text(stored):
    """A ``priv.hashpath`` that is not a binary cannot be split into parts (Erlang: badarg).

    It must not be coerced: ``bytes(5)`` is five zero bytes, which would silently make the
    hashpath ``"\\x00\\x00\\x00\\x00\\x00/key"``.
    """
    with pytest.raises(HashPathError, match="hashpath"):
        hashpath({"priv": {"hashpath": stored}}, "key")


# ---------------------------------------------------------------------------------------------
# very deep nesting: a CodecError, never a RecursionError or a crash
# ---------------------------------------------------------------------------------------------

DEPTH = 10_000


def _deep_map(depth: int) -> dict:
    msg: dict = {"x": b"1"}
    for _ in range(depth):
        msg = {"a": msg}
    return msg


def _deep_list(depth: int) -> list:
    value: list = [b"x"]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("codec", CODECS)
def test_very_deep_map(codec):
    with pytest.raises(CodecError, match="deeper"):
        convert(_deep_map(DEPTH), codec)


@pytest.mark.parametrize("codec", ["structured@1.0", "tabm"])
def test_very_deep_map_as_source(codec):
    with pytest.raises(CodecError, match="deeper"):
        convert(_deep_map(DEPTH), "httpsig@1.0", codec)


@pytest.mark.parametrize("codec", CODECS)
def test_very_deep_list(codec):
    with pytest.raises(CodecError, match="deeper"):
        convert({"l": _deep_list(DEPTH)}, codec)


@pytest.mark.parametrize("fn", [message_id, unsigned_id, unsigned_id_general])
def test_very_deep_id(fn):
    with pytest.raises(CodecError, match="deeper"):
        fn(_deep_map(DEPTH))
    with pytest.raises(CodecError, match="deeper"):
        fn({"l": _deep_list(DEPTH)})


def test_very_deep_hashpath():
    with pytest.raises(HyperbeamError):
        hashpath({"a": b"1"}, _deep_map(DEPTH))


@pytest.mark.parametrize(
    "data", [b"[" * DEPTH + b"]" * DEPTH, b'{"a":' * DEPTH + b"1" + b"}" * DEPTH]
)
def test_very_deep_json(data):
    with pytest.raises(CodecError):
        convert(data, "structured@1.0", "json@1.0")


# Wire forms that *describe* deep nesting through `/`-separated paths (flat@1.0 keys, flat text
# lines, multipart part names): decoding them builds the nesting, so it must stop at the same
# depth limit as everything else. Run in a subprocess so that a native stack overflow shows up as
# a failed test instead of killing the test run.
_DEEP_PATH_SCRIPT = textwrap.dedent(
    """
    import sys
    from hyperbeam_fast import CodecError, codecs, convert
    depth, form = int(sys.argv[1]), sys.argv[2]
    path = "a/" * depth + "x"
    try:
        if form == "flat":
            convert({path: b"1"}, "structured@1.0", "flat@1.0")
        elif form == "flat-text":
            codecs.flat.deserialize(path.encode() + b": 1\\n")
        elif form == "flat-to-httpsig":
            convert({path: b"1"}, "httpsig@1.0", "flat@1.0")
        elif form == "multipart":
            body = (b'--B\\r\\ncontent-disposition: form-data;name="' + path.encode()
                    + b'"\\r\\n\\r\\nv\\r\\n--B--')
            convert({"content-type": b'multipart/form-data; boundary="B"', "body": body},
                    "structured@1.0", "httpsig@1.0")
    except CodecError as exc:
        print("CodecError:", exc)
    else:
        print("no error")
    """
)


@pytest.mark.parametrize("depth", [DEPTH, 100_000])
@pytest.mark.parametrize("form", ["flat", "flat-text", "flat-to-httpsig", "multipart"])
def test_very_deep_paths_in_wire_forms(form, depth):
    proc = subprocess.run(
        [sys.executable, "-c", _DEEP_PATH_SCRIPT, str(depth), form],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"crashed with exit code {proc.returncode}: {proc.stderr[-500:]}"
    assert "CodecError" in proc.stdout and "deeper" in proc.stdout, proc.stdout


# ---------------------------------------------------------------------------------------------
# regressions found by the robustness properties (test_properties.py)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msg", "source"),
    [
        ({"l": [b"x"]}, "tabm"),  # a list left in a TABM reaches the JSON writer as bytes
        (b'{"l": ["x"]}', "json@1.0"),  # JSON arrays become lists (§10), then written again
    ],
)
def test_json_of_lists_left_in_a_tabm(msg, source):
    try:
        out = convert(msg, "json@1.0", source)
    except HyperbeamError:
        return
    assert isinstance(out, bytes)


def test_json_of_a_non_utf8_key():
    with pytest.raises(CodecError, match="UTF-8"):
        convert({b"\x80": b"1"}, "json@1.0", "flat@1.0")


def test_id_with_commitment_ids_of_mixed_types():
    with pytest.raises(HyperbeamError):
        message_id({"a": b"1", "commitments": {"": {}, b"": {}}}, "uncommitted")


# ---------------------------------------------------------------------------------------------
# issue 13, item 7: typed errors where Python's own exceptions escaped
# ---------------------------------------------------------------------------------------------


def _deep(depth: int) -> dict:
    msg: dict = {}
    cur = msg
    for _ in range(depth):
        cur["a"] = {}
        cur = cur["a"]
    return msg


@pytest.mark.parametrize("depth", [300, 5000])
def test_match_of_deep_messages_is_a_codec_error(depth):
    from hyperbeam_fast.match import match

    deep = _deep(depth)
    with pytest.raises(CodecError, match="deeper"):
        match(deep, deep)
    assert match(_deep(200), _deep(200))


def test_match_of_unmatchable_values_is_a_codec_error():
    from hyperbeam_fast.match import match

    with pytest.raises(CodecError, match="surrogate"):
        match({"\ud800": b"1"}, {"a": b"1"})
    with pytest.raises(CodecError, match="surrogate"):
        match({"a": "\ud800"}, {"a": b"1"})
    with pytest.raises(CodecError, match="not a message value"):
        match({"a": object()}, {"a": b"1"})
    with pytest.raises(CodecError, match="not a message key"):
        match({1.5: b"1"}, {"a": b"1"})
    # non-UTF-8 bytes read with surrogateescape are those bytes
    assert match({"\udcff": b"1"}, {b"\xff": b"1"})


@pytest.mark.parametrize(
    "msg", [{"a": "\ud800"}, {"\ud800": "x"}, {"n": {"k": "x\udfff"}}, {"a": Atom("\ud800")}]
)
def test_id_of_a_lone_surrogate_is_a_codec_error(msg):
    with pytest.raises(CodecError, match="surrogate"):
        message_id(msg)
    with pytest.raises(CodecError, match="surrogate"):
        convert(msg, "httpsig@1.0")


def test_id_of_surrogate_escaped_bytes_is_the_id_of_those_bytes():
    assert message_id({"\udcff": "x"}) == message_id({b"\xff": "x"})


def test_ids_of_binaries_and_integer_keys_are_hyperbeams():
    """Judged against HyperBEAM (b2743e4a): ``dev_message:id`` of a non-map is
    ``hb_path:hashpath(Bin)``, the SHA-256 of the binary, and ``hb_ao:normalize_key`` turns an
    integer key into its decimal text; both are defined there, so they stay IDs here."""
    import hashlib

    from hyperbeam_fast import human_id

    assert message_id("x") == human_id(hashlib.sha256(b"x").digest())
    assert message_id({1: 2}) == message_id({"1": 2})


def _signed_item(shared_dir, tags):
    from hyperbeam_fast import Wallet, _native
    from hyperbeam_fast.codecs import ans104

    w = Wallet.from_file(str(shared_dir / "fixtures" / "hyperbeam" / "key-1.json"))
    tx = dict(ans104.to_tx(convert({"x": "1"}, "tabm")))
    tx["tags"] = tags
    return w, _native.ans104_serialize(_native.ans104_sign(tx, w._key))


def test_ans104_verify_of_text_that_is_not_utf8(shared_dir):
    from hyperbeam_fast import commit, verify
    from hyperbeam_fast.codecs import ans104

    w, item = _signed_item(shared_dir, [(b"\xff\xfe", b"v"), (b"Name\xff", b"w")])
    assert ans104.verify_item(item)
    msg = ans104.decode(item)
    assert verify(msg)
    assert ans104.encode(msg) == item
    # a tx dict holding a lone surrogate, and a commitment whose fields are one
    tx = {**dict(ans104.to_tx(convert({"x": "1"}, "tabm"))), "tags": [("\ud800", "v")]}
    with pytest.raises(CodecError, match="UTF-8"):
        ans104.verify_item(tx)
    signed = commit({"x": "1"}, w, "ans104@1.0")
    cid, c = next(iter(signed["commitments"].items()))
    for field in ("signature", "committer"):
        with pytest.raises(CodecError, match="surrogate"):
            ans104.verify_commitment(signed, cid, {**c, field: "\ud800"})
