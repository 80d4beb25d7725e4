"""Structured fields (RFC 8941/9651): parse + serialise vs the pure-Python ``http_sf`` package.

One operation = parse the header bytes then serialise the parsed value back, for each of four
representative AO-Core headers:

* ``ao-types``: a dictionary of 10 string members;
* ``body-keys``: a list of strings;
* an item with parameters of every bare type (string, integer, decimal, boolean, token, bytes);
* ``signature-input``: a dictionary of two inner lists of strings with parameters.

``hyperbeam_fast.sf`` and ``http_sf`` (``http_sf.parse(..., tltype=...)`` + ``http_sf.ser``) are
timed in the same run. Both must parse to equivalent values and serialise to the same bytes (all
inputs are in canonical form, so serialising reproduces the input).
"""

from __future__ import annotations

from decimal import Decimal

import http_sf
from _common import Result, check, main, rate
from hyperbeam_fast import sf

TARGET_VS_HTTP_SF = 20.0
LOOPS = 2000  # operations per timed call

HEADERS: list[tuple[str, str, bytes]] = [
    (
        "ao-types dict (10)",
        "dictionary",
        b'quantity="integer", fee="integer", price="float", ratio="float", enabled="atom", '
        b'disabled="atom", nothing="atom", mode="atom", tags="list", meta="empty-message"',
    ),
    (
        "list of strings",
        "list",
        b'"body", "meta", "meta/inner", "data", "items/1", "items/2", "(ao-type-integer) 3"',
    ),
    (
        "item with params",
        "item",
        b'"hello world";a=1;b=?0;c=tok;d=:aGVsbG8gd29ybGQ=:;e=1.5;f="x y"',
    ),
    (
        "signature-input dict",
        "dictionary",
        b'sig1=("@method" "@path" "content-digest" "ao-types" "action" "target");'
        b'created=1618884473;keyid="test-key-rsa-pss";alg="rsa-pss-sha512";tag="ao", '
        b'hmac=("ao-types" "body-keys" "content-digest");alg="hmac-sha256";keyid="ao"',
    ),
]

_PARSE = {"item": sf.parse_item, "list": sf.parse_list, "dictionary": sf.parse_dictionary}
_SER = {
    "item": sf.serialize_item,
    "list": sf.serialize_list,
    "dictionary": sf.serialize_dictionary,
}


# --- normalisation of both libraries' shapes to one comparable form ------------------------


def _bare(v):
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, (float, Decimal)):
        return ("dec", float(v))
    if isinstance(v, bytes):
        return ("bytes", v)
    if isinstance(v, (sf.Token, http_sf.Token)):
        return ("token", str(v))
    if isinstance(v, str):
        return ("str", v)
    raise TypeError(f"unexpected bare value {v!r}")


def _params(p):
    items = p.items() if isinstance(p, dict) else p
    return [(k, _bare(v)) for k, v in items]


def _member(m):
    value, params = m
    if isinstance(value, list):
        return ("inner", [_member(i) for i in value], _params(params))
    return ("item", _bare(value), _params(params))


def _norm(kind, v):
    if kind == "item":
        return _member(v)
    if kind == "list":
        return [_member(m) for m in v]
    items = v.items() if isinstance(v, dict) else v
    return [(k, _member(m)) for k, m in items]


def run() -> list[Result]:
    results = []
    t_ours_total = t_theirs_total = 0.0
    for label, kind, data in HEADERS:
        parse, ser = _PARSE[kind], _SER[kind]
        ours = parse(data)
        theirs = http_sf.parse(data, tltype=kind)
        check(_norm(kind, ours) == _norm(kind, theirs), f"{label}: parsed values differ")
        check(ser(ours) == data, f"{label}: hyperbeam_fast serialisation != input")
        check(http_sf.ser(theirs).encode() == data, f"{label}: http_sf serialisation != input")

        def ours_op(parse=parse, ser=ser, data=data):
            for _ in range(LOOPS):
                ser(parse(data))

        def theirs_op(kind=kind, data=data):
            for _ in range(LOOPS // 4):
                http_sf.ser(http_sf.parse(data, tltype=kind))

        r_ours = rate(ours_op, LOOPS)
        r_theirs = rate(theirs_op, LOOPS // 4)
        t_ours_total += 1 / r_ours
        t_theirs_total += 1 / r_theirs
        results.append(
            Result("sf", f"parse+ser {label}", r_ours, vs=(("http_sf", r_ours / r_theirs),))
        )
        results.append(Result("sf", f"  http_sf parse+ser {label}", r_theirs))
    r_all = 1 / t_ours_total
    r_all_theirs = 1 / t_theirs_total
    results.insert(
        0,
        Result(
            "sf", "parse+ser all 4 headers (sets/s)", r_all, vs=(("http_sf", r_all / r_all_theirs),)
        ),
    )
    results.insert(
        1,
        Result(
            "sf",
            "all 4 headers vs http_sf (same run)",
            r_all / r_all_theirs,
            unit="x",
            target=TARGET_VS_HTTP_SF,
        ),
    )
    return results


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_sf"))
