"""The pure-Python reference (hyperbeam_fast.reference) against the Erlang vectors and the
worked examples of ../shared/spec/core.md (§4.3, §5.2, §6.3, §12).

Vectors live in ../shared/vectors/hyperbeam/*.json (format: ../shared/spec/erlang-reference.md).
Each vector-file test walks the whole file and reports every mismatch at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hyperbeam_fast import reference as ref
from hyperbeam_fast.exceptions import CodecError, HashPathError

pytestmark = pytest.mark.shared


class Atom(str):
    """An Erlang atom other than true/false/null (the reference recognises it by class name)."""

    __slots__ = ()


# ---------------------------------------------------------------------------------------------
# typed-term decoding (erlang-reference.md, "JSON format")
# ---------------------------------------------------------------------------------------------


def _b64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def decode_key(term: dict, atom_keys: bool = True) -> str | bytes:
    if term["type"] == "binary":
        raw = _b64url(term["b64url"])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if term["type"] == "atom":
        return Atom(term["value"]) if atom_keys else term["value"]
    if term["type"] == "int":
        return int(term["value"])
    raise AssertionError(f"unexpected key term {term!r}")


def decode(term: dict, atom_keys: bool = True) -> object:
    """A typed term → the Python message model."""
    t = term["type"]
    if t == "binary":
        return _b64url(term["b64url"])
    if t == "map":
        return {decode_key(k, atom_keys): decode(v, atom_keys) for k, v in term["value"]}
    if t == "atom":
        return {"true": True, "false": False, "null": None}.get(term["value"], Atom(term["value"]))
    if t == "int":
        return int(term["value"])
    if t == "float":
        return float(term["value"])
    if t == "list":
        return [decode(v, atom_keys) for v in term["value"]]
    raise AssertionError(f"unsupported typed term {t!r}")


def _text(term: dict) -> str:
    return _b64url(term["b64url"]).decode("utf-8")


def load(shared_dir: Path, name: str) -> list[dict]:
    path = shared_dir / "vectors" / "hyperbeam" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())["vectors"]


def _report(failures: list[str], checked: int) -> None:
    assert checked > 0, "no vectors were checked"
    assert not failures, f"{len(failures)}/{checked} vectors failed:\n" + "\n".join(failures)


def _has_atom_key(term: dict) -> bool:
    if term["type"] == "map":
        return any(k["type"] == "atom" or _has_atom_key(v) for k, v in term["value"])
    if term["type"] == "list":
        return any(_has_atom_key(v) for v in term["value"])
    return False


# ---------------------------------------------------------------------------------------------
# message-ids.json
# ---------------------------------------------------------------------------------------------


def test_message_ids_none(shared_dir: Path) -> None:
    """Every ``hb_message:id(Msg, none)`` vector (the unsigned HMAC ID, core §4.3)."""
    failures, checked = [], 0
    for v in load(shared_dir, "message-ids.json"):
        if v["function"] != "hb_message:id/2" or v["args"][1]["value"] != "none":
            continue
        expected = _text(v["output"])
        variants = [True, False] if _has_atom_key(v["args"][0]) else [True]
        for atom_keys in variants:
            checked += 1
            msg = decode(v["args"][0], atom_keys)
            got = ref.unsigned_id(msg)
            if got != expected:
                failures.append(f"{v['name']} (atom_keys={atom_keys}): {got} != {expected}")
    _report(failures, checked)


def test_message_ids_default_and_all(shared_dir: Path) -> None:
    """``id/1`` and ``id(all)`` of these unsigned messages equal the unsigned ID (no
    commitments), and so does ``message_id`` (the all-commitments ID hashpaths use)."""
    failures, checked = [], 0
    for v in load(shared_dir, "message-ids.json"):
        if v["function"] == "hb_message:id/2" and v["args"][1]["value"] == "none":
            continue
        checked += 1
        got = ref.message_id(decode(v["args"][0]))
        if got != _text(v["output"]):
            failures.append(f"{v['name']}: {got} != {_text(v['output'])}")
    _report(failures, checked)


def test_big_integer_has_unsigned_id(shared_dir: Path) -> None:
    """m16: a 20-digit integer cannot round-trip (§3.4) but it does have an unsigned ID."""
    msg = {"big": 12345678901234567890, "max32": 4294967295}
    assert ref.unsigned_id(msg) == "ZTzh1e_JG-9nw8AnDJ80tGbttv5PP1CycYMix0Oeaq0"
    assert ref.structured_from(msg)[b"big"] == b"12345678901234567890"


# ---------------------------------------------------------------------------------------------
# conversions.json and signed.json (extra cross-checks of the intermediate forms)
# ---------------------------------------------------------------------------------------------


def test_conversions_httpsig(shared_dir: Path) -> None:
    """``convert(Msg, httpsig@1.0)`` == httpsig_to(structured_from(Msg)), byte for byte
    (headers, multipart body, digest). (``convert(Msg, structured@1.0)`` is the *rich* form,
    not the TABM, so those vectors are not comparable here.)"""
    failures, checked = [], 0
    for v in load(shared_dir, "conversions.json"):
        if v["function"] != "hb_message:convert/3" or "output" not in v:
            continue  # error vectors (m16: the 20-digit integer fails to *decode*) are skipped
        if _text(v["args"][1]) != "httpsig@1.0":
            continue
        checked += 1
        got = ref.httpsig_to(ref.structured_from(decode(v["args"][0])))
        expected = _to_bytes_tree(decode(v["output"]))
        if got != expected:
            failures.append(f"{v['name']}:\n  got      {got!r}\n  expected {expected!r}")
    _report(failures, checked)


def _to_bytes_tree(x: object) -> object:
    if isinstance(x, dict):
        return {
            ref.normalize_key(k) if isinstance(k, Atom) else _kb(k): _to_bytes_tree(v)
            for k, v in x.items()
        }
    return x


def _kb(k: str | bytes) -> bytes:
    return k.encode("utf-8") if isinstance(k, str) else k


def test_signed_id_none_ignores_commitments(shared_dir: Path) -> None:
    """``id(Signed, none)`` is the unsigned ID of the message without its commitments."""
    failures, checked = [], 0
    committed: dict[str, dict] = {}
    for v in load(shared_dir, "signed.json"):
        prefix = v["name"].rsplit("/", 1)[0]
        if v["function"] == "hb_message:commit/3" and "output" in v:
            committed[prefix] = v["output"]
        elif v["function"] == "hb_message:id/2" and v["args"][1]["value"] == "none":
            checked += 1
            got = ref.unsigned_id(decode(committed[prefix]))
            if got != _text(v["output"]):
                failures.append(f"{v['name']}: {got} != {_text(v['output'])}")
    _report(failures, checked)


def test_signed_signature_bases(shared_dir: Path) -> None:
    """The RSA signature bases recorded for httpsig commits (§7.2, §7.3): same encoding as
    the HMAC, components sorted *before* adding "@", params alg + keyid."""
    failures, checked = [], 0
    for v in load(shared_dir, "signed.json"):
        if not v["name"].endswith("/signature_base") or "output" not in v:
            continue
        checked += 1
        out = {k: val for k, val in decode(v["output"]).items()}
        expected_base = out["signature-base"]
        keyid = expected_base.rsplit(b'keyid="', 1)[1].split(b'"', 1)[0]
        enc = ref.httpsig_to(ref.structured_from(decode(v["args"][0])))
        enc.pop(b"body-keys", None)
        if b"body" in enc:
            body = enc.pop(b"body")
            digest = base64.b64encode(hashlib.sha256(body).digest())
            enc[b"content-digest"] = b"sha-256=:" + digest + b":"
        comps = [b"@" + k if k in ref.DERIVED_COMPONENTS else k for k in sorted(enc)]
        params = b';alg="rsa-pss-sha512";keyid="' + keyid + b'"'
        got = ref.signature_base(comps, enc, params)
        if got != expected_base:
            failures.append(f"{v['name']}:\n  got      {got!r}\n  expected {expected_base!r}")
    _report(failures, checked)


# ---------------------------------------------------------------------------------------------
# hashpaths.json
# ---------------------------------------------------------------------------------------------


def test_hashpath_vectors(shared_dir: Path) -> None:
    """``hb_path:hashpath/2,3,4``, ``hb_crypto:sha256_chain/2`` and ``accumulate/2``."""
    failures, checked = [], 0
    for v in load(shared_dir, "hashpaths.json"):
        fn, args = v["function"], v["args"]
        if fn == "hb_path:hashpath/2":
            got = ref.hashpath(decode(args[0]))
        elif fn == "hb_path:hashpath/3":
            got = ref.hashpath(decode(args[0]), decode(args[1]))
        elif fn.startswith("hb_path:hashpath/4"):
            # hashpath(TwoPartHashpath, Part, Alg, Opts): compress the base, append the part.
            alg = args[2]["value"]
            got = ref.combine_hashpath(_text(args[0]), _text(args[1]), alg)
        elif fn == "hb_crypto:sha256_chain/2":
            got = ref.sha256_chain(decode(args[0]), decode(args[1]))
        elif fn == "hb_crypto:accumulate/2":
            got = ref.accumulate(decode(args[0]), decode(args[1]))
        else:
            continue  # deep-hash vectors (ans104) and hb_ao:resolve runs are covered below
        checked += 1
        expected = decode(v["output"])
        if isinstance(got, str):
            got = got.encode("utf-8")
        if got != expected:
            failures.append(f"{v['name']}: {got!r} != {expected!r}")
    assert checked == 10
    _report(failures, checked)


def test_hashpath_resolve_vectors(shared_dir: Path) -> None:
    """The ``priv.hashpath`` left by ``hb_ao:resolve`` (hashpath=update), rebuilt by hand:
    each resolution step appends one part (§5.1)."""
    vectors = {v["name"]: v for v in load(shared_dir, "hashpaths.json")}

    def expected(name: str) -> str:
        out = decode(vectors[name]["output"])
        return out["hashpath"].decode("utf-8")

    m2_get_a = vectors["hashpath/resolve/m2_get_a"]["args"]
    assert ref.hashpath(decode(m2_get_a[0]), decode(m2_get_a[1])) == expected(
        "hashpath/resolve/m2_get_a"
    )
    # Path a/b: step 1 applies {path: "a/b"} (only a path: the part is "a"), step 2 key "b".
    a_b = vectors["hashpath/resolve/m2_get_a_b"]["args"]
    step1 = ref.hashpath(decode(a_b[0]), decode(a_b[1]))
    assert ref.combine_hashpath(step1, "b") == expected("hashpath/resolve/m2_get_a_b")
    m3_set = vectors["hashpath/resolve/m3_set"]["args"]
    assert ref.hashpath(decode(m3_set[0]), decode(m3_set[1])) == expected("hashpath/resolve/m3_set")
    two = vectors["hashpath/resolve/m3_set_then_set"]["args"]
    step1 = ref.hashpath(decode(two[0]), decode(two[1]))
    step2 = ref.hashpath({"priv": {"hashpath": step1}}, decode(two[2]))
    assert step2 == expected("hashpath/resolve/m3_set_then_set")


# ---------------------------------------------------------------------------------------------
# worked examples in core.md
# ---------------------------------------------------------------------------------------------

ID_43 = "LXEWQrcmsEQBYnyp-6wy9chTD7GQPMTbAiWHF5IaSIE"


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ({}, "VnYnaoOvankqXk13s502zpiq9PIaqFHDRcIrTNhyqKQ"),
        ({"a": "1"}, "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"),
        ({"b": "2"}, "Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4"),
        ({"a": " x\ny "}, "bCaNsXTJM5Dxr3_67g-mJA17XUvRJcwIN0bTF1cxLXM"),
        (
            {"path": "/x", "a": "1", "zebra": "z", "status": 200},
            "XT1eqPg5hHkZ1cdrkdacdtH0IXsbf-CUYlbRpKVKWtw",
        ),
        ({"a": "1", "body": "hello"}, "WR0UpWofpN0BdtDzYysCjsqr1R25I2gH2F1KAl5OjU0"),
        (
            {"data": "some data", ID_43: "id-keyed value", "Mixed-Case": "V"},
            "rf7gDiEorj2uuuexJsv3YezjUm0uYJ-nkXi1AUzNjIo",
        ),
    ],
)
def test_core_4_3_unsigned_ids(msg: dict, expected: str) -> None:
    assert ref.unsigned_id(msg) == expected


def test_core_4_3_signature_bases() -> None:
    base = ref.unsigned_signature_base

    assert base({}) == b'\n"@signature-params": ();alg="hmac-sha256";keyid="ao"'
    assert base({"a": "1"}) == b'"a": 1\n"@signature-params": ("a");alg="hmac-sha256";keyid="ao"'
    assert base({"a": " x\ny "}).startswith(b'"a": x y\n')
    assert base({"path": "/x", "a": "1", "zebra": "z", "status": 200}) == (
        b'"path": /x\n"status": 200\n"a": 1\n"ao-types": status="integer"\n"zebra": z\n'
        b'"@signature-params": ("@path" "@status" "a" "ao-types" "zebra");'
        b'alg="hmac-sha256";keyid="ao"'
    )
    assert base({"a": "1", "body": "hello"}) == (
        b'"a": 1\n"content-digest": sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:\n'
        b'"@signature-params": ("a" "content-digest");alg="hmac-sha256";keyid="ao"'
    )
    enc = ref.httpsig_to(
        ref.structured_from({"data": "some data", ID_43: "id-keyed value", "Mixed-Case": "V"})
    )
    assert enc[b"ao-ids"] == ID_43.encode() + b'="id-keyed value"'
    assert enc[b"inline-body-key"] == b"data"
    assert sorted(k for k in enc if k != b"body") == [
        b"ao-ids",
        b"content-digest",
        b"inline-body-key",
        b"mixed-case",
    ]


def test_core_3_1_structured_examples() -> None:
    tabm = ref.structured_from(
        {"a": 1, "b": "hello", "c": [1, 2, 3], "d": True, "e": b"", "f": {}, "g": 1.5}
    )
    assert tabm == {
        b"a": b"1",
        b"b": b"hello",
        b"c": b'"(ao-type-integer) 1", "(ao-type-integer) 2", "(ao-type-integer) 3"',
        b"d": b'"true"',
        b"g": b"1.50000000000000000000e+00",
        b"ao-types": b'a="integer", c="list", d="atom", e="empty-binary", '
        b'f="empty-message", g="float"',
    }
    assert ref.structured_from({"l": [[1, 2], [3]]}) == {
        b"l": {
            b"1": b'"(ao-type-integer) 1", "(ao-type-integer) 2"',
            b"2": b'"(ao-type-integer) 3"',
            b"ao-types": b'1="list", 2="list"',
        },
        b"ao-types": b'l="list"',
    }
    assert ref.structured_from({"x": [1, [4, 5]]})[b"x"] == (
        b'"(ao-type-integer) 1", '
        b'"(ao-type-list) \\"(ao-type-integer) 4\\", \\"(ao-type-integer) 5\\""'
    )
    # private keys are dropped at every level, REGEN keys too
    assert ref.structured_from(
        {"priv": {"x": "1"}, "Private-K": "1", "k": {"privacy": "1", "v": "2"}, "unsigned_id": "u"}
    ) == {b"k": {b"v": b"2"}}


def test_core_3_1_errors() -> None:
    with pytest.raises(CodecError):
        ref.structured_from({"l": [1, {"a": 1}]})
    with pytest.raises(CodecError):
        ref.structured_from({"s": {1, 2}})
    with pytest.raises(CodecError):
        ref.structured_from({"o": object()})


M2 = {"a": "1", "nested": {"b": "2", "deeper": {"c": 3}}, "body": {"x": "y"}}
M2_BOUNDARY = b"NkhAd7uF8xa6SUTlUT8w4WRpdfKTJnBp_Qu2oU0_fEA"


def test_core_6_3_multipart_m2() -> None:
    enc = ref.httpsig_to(ref.structured_from(M2))
    b = M2_BOUNDARY
    body = b"\r\n".join(
        [
            b"--" + b,
            b"content-disposition: inline",
            b"x: y",
            b"--" + b,
            b"b: 2",
            b'content-disposition: form-data;name="nested"',
            b"--" + b,
            b'ao-types: c="integer"',
            b"c: 3",
            b'content-disposition: form-data;name="nested/deeper"',
            b"--" + b + b"--",
        ]
    )
    assert enc == {
        b"a": b"1",
        b"body-keys": b'"body", "nested", "nested/deeper"',
        b"content-type": b'multipart/form-data; boundary="' + b + b'"',
        b"content-digest": b"sha-256=:Ed4TrwwtyvfNcC2Sv9dwXczXKQUDQbXfcB5PkrWAKuw=:",
        b"body": body,
    }
    assert ref.unsigned_id(M2) == "iQu3xMHzDq-irStZiYT1wsoYo-IVK8wVGTvwR8H1vyw"


def test_core_6_3_other_examples() -> None:
    enc = ref.httpsig_to(ref.structured_from({"items": [{"k": "v1"}, {"k": "v2"}]}))
    assert enc[b"ao-types"] == b'items="list"'
    assert enc[b"body-keys"] == b'"items/1", "items/2"'
    assert b'content-disposition: form-data;name="items/1"\r\nk: v1' in enc[b"body"]

    big = b"x" * 4097
    enc = ref.httpsig_to(ref.structured_from({"big": big, "ok": b"y" * 4096}))
    assert enc[b"ok"] == b"y" * 4096
    assert b'content-disposition: form-data;name="big"\r\n\r\n' + big in enc[b"body"]
    assert enc[b"body-keys"] == b'"big"'

    enc = ref.httpsig_to(ref.structured_from({"k": {"body": "inner"}, "z": "1"}))
    assert enc[b"body-keys"] == b'"k"'
    assert b'\r\ncontent-disposition: form-data;name="k/body"\r\n\r\ninner\r\n--' in enc[b"body"]

    enc = ref.httpsig_to(ref.structured_from({"data": "D", "body": "B"}))
    assert enc[b"data"] == b"D" and enc[b"body"] == b"B" and b"inline-body-key" not in enc

    # One part, named body/body/body in its disposition; body-keys lists the PartList key.
    enc = ref.httpsig_to(ref.structured_from({"body": {"body": {"body": "deep"}}}))
    assert enc[b"body-keys"] == b'"body/body"'
    assert enc[b"body"].count(b"content-disposition") == 1
    assert b'content-disposition: form-data;name="body/body/body"\r\n\r\ndeep\r\n' in enc[b"body"]


M1 = {
    "Key-A": "value",
    Atom("count"): 42,
    Atom("neg"): -7,
    Atom("flt"): 1.5,
    Atom("flag"): True,
    Atom("nothing"): b"",
    "empty-map": {},
    "empty-list": [],
    Atom("ints"): [1, 2, 3],
    Atom("strs"): ["x", "y"],
    Atom("mixed"): [1, "two", 3.0, Atom("atom_val"), [4, 5]],
    Atom("body"): "hello body",
}


def test_core_12_m1_headers() -> None:
    enc = ref.httpsig_to(ref.structured_from(M1))
    assert enc == {
        b"ao-types": b'count="integer", empty-list="empty-list", empty-map="empty-message", '
        b'flag="atom", flt="float", ints="list", mixed="list", neg="integer", '
        b'nothing="empty-binary", strs="list"',
        b"count": b"42",
        b"flag": b'"true"',
        b"flt": b"1.50000000000000000000e+00",
        b"ints": b'"(ao-type-integer) 1", "(ao-type-integer) 2", "(ao-type-integer) 3"',
        b"key-a": b"value",
        b"mixed": b'"(ao-type-integer) 1", "two", "(ao-type-float) 3.00000000000000000000e+00", '
        b'"(ao-type-atom) \\"atom_val\\"", '
        b'"(ao-type-list) \\"(ao-type-integer) 4\\", \\"(ao-type-integer) 5\\""',
        b"neg": b"-7",
        b"strs": b'"x", "y"',
        b"body": b"hello body",
        b"content-digest": b"sha-256=:bZh29tVxZ264b3NbqUdtqR7F0MUqafZDTJP1yeaAIQ4=:",
    }


@pytest.mark.parametrize(
    ("name", "msg", "expected"),
    [
        ("V1", {}, "VnYnaoOvankqXk13s502zpiq9PIaqFHDRcIrTNhyqKQ"),
        ("V2", {"a": "1"}, "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"),
        ("V3", {"b": "2"}, "Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4"),
        ("V4", {"a": "1", "body": "hello"}, "WR0UpWofpN0BdtDzYysCjsqr1R25I2gH2F1KAl5OjU0"),
        ("V5", M1, "pU74ynFGcGhGps2ePb1sDWsPY3jJXztTPMJM95BFS_M"),
        ("V6", M2, "iQu3xMHzDq-irStZiYT1wsoYo-IVK8wVGTvwR8H1vyw"),
        (
            "V7",
            {"items": [{"k": "v1"}, {"k": "v2"}]},
            "txRXHvV_lscUneksl370EQRKg4u_MvIIhvYOSkMDeBw",
        ),
        (
            "V8",
            {"path": "/x", "a": "1", "zebra": "z", "status": 200},
            "XT1eqPg5hHkZ1cdrkdacdtH0IXsbf-CUYlbRpKVKWtw",
        ),
        ("V9a", {"signature-input": "x", "a": "1"}, "WssdmxYD54n2F6dZHmFcx2145sbQbTlVCYlRYfkjxv4"),
        (
            "V9b",
            {"x-signature-input": "x", "a": "1"},
            "WssdmxYD54n2F6dZHmFcx2145sbQbTlVCYlRYfkjxv4",
        ),
    ],
)
def test_core_12_consolidated(name: str, msg: dict, expected: str) -> None:
    assert ref.unsigned_id(msg) == expected, name


N0NI = "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"
Q53T = "Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4"


def test_core_5_2_hashpaths() -> None:
    assert ref.hashpath({"a": "1"}, {"b": "2"}) == f"{N0NI}/{Q53T}"
    assert ref.hashpath({"a": "1"}, {"path": "b"}) == f"{N0NI}/b"
    assert ref.hashpath({"priv": {"hashpath": f"{N0NI}/{Q53T}"}}, {"c": "3"}) == (
        "b1UMT_4zBC3UhzT18PUOGd-p5By4FQrCi9YzvAg9Shs/P4K3fjm8dUprHwRLGTXBkwZ0wfuR4V8JkLj3UxN0Bhg"
    )
    assert ref.hashpath({"priv": {"hashpath": f"{N0NI}/b"}}, {"path": "c"}) == (
        "_RwvA5z1jX4Xz-A6GedVQBLqmbzhbEkWa6EgOgbuUmQ/c"
    )
    assert ref.hashpath(b"abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    assert len(ref.hashpath({"priv": {"hashpath": f"{N0NI}/{Q53T}"}}, {"c": "3"})) == 87


def test_hashpath_alg_and_errors() -> None:
    hp = f"{N0NI}/{Q53T}"
    acc = ref.hashpath({"priv": {"hashpath": hp}, "hashpath-alg": "accumulate-256"}, "k")
    compressed = ref.accumulate(ref.native_id(N0NI), ref.native_id(Q53T))
    assert acc == ref.human_id(compressed) + "/k"
    with pytest.raises(HashPathError):
        ref.hashpath({"priv": {"hashpath": hp}, "hashpath-alg": "md5"}, "k")
    with pytest.raises(HashPathError):
        ref.combine_hashpath(f"{hp}/extra", "k")
    with pytest.raises(HashPathError):
        ref.hashpath(b"not a map", "k")


def test_primitives() -> None:
    assert ref.b64url_encode(b"\xfb\xff") == "-_8"
    assert ref.b64url_decode("-_8") == b"\xfb\xff"
    assert ref.b64url_decode("+/8=") == b"\xfb\xff"  # standard alphabet, padded
    with pytest.raises(CodecError):
        ref.b64url_decode("a")
    raw = bytes(range(32))
    assert ref.native_id(ref.human_id(raw)) == raw
    assert ref.human_id("0x" + "a" * 40) == "0x" + "a" * 40
    for bad in (b"", b"x" * 31, b"x" * 44):
        with pytest.raises(HashPathError):
            ref.native_id(bad)
        with pytest.raises(HashPathError):
            ref.human_id(bad)
    assert ref.normalize_key("Content-Type") == b"content-type"
    assert ref.normalize_key(Atom("Key-Two")) == b"Key-Two"
    assert ref.normalize_key(ID_43) == ID_43.encode()
    assert ref.normalize_key(1) == b"1"
    assert ref.normalize_key(["a", "B", 3]) == b"a/b/3"
    assert ref.hb_escape(b"Odd Key") == b"%4fdd%20%4bey"
    assert ref.hb_escape("café".encode()) == b"caf%c3%a9"
    assert ref.sf_string(b'a"b\\c') == b'"a\\"b\\\\c"'
