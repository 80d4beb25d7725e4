"""The hyperbeam-fast command line (run as a real subprocess)."""

import subprocess
import sys

import pytest


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hyperbeam_fast", *args], input=stdin, capture_output=True
    )


def test_id_from_stdin():
    r = run("id", stdin=b'{"a": "1"}')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == b"N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"


def test_id_from_file(tmp_path):
    f = tmp_path / "m.json"
    f.write_bytes(b'{"b": "2"}')
    r = run("id", str(f))
    assert r.stdout.strip() == b"Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4"


def test_convert_httpsig_and_flat_round_trip():
    r = run("convert", "--to", "httpsig@1.0", stdin=b'{"a": "1", "count": 42}')
    assert r.returncode == 0, r.stderr
    assert b'"ao-types": "count=\\"integer\\""' in r.stdout
    flat = run("convert", "--to", "flat@1.0", stdin=b'{"a": {"b": "1"}, "e": 3}')
    assert flat.stdout == b'a/b: 1\nao-types: e="integer"\ne: 3\n'
    back = run("convert", "--from", "flat@1.0", "--to", "json@1.0", stdin=flat.stdout)
    assert back.stdout.strip() == b'{"a":{"b":"1"},"ao-types":"e=\\"integer\\"","e":"3"}'


def test_hashpath_with_key():
    r = run("hashpath", "--apply", "b", stdin=b'{"a": "1"}')
    assert r.stdout.strip() == b"N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s/b"


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (("id",), b"not json", b"not valid JSON"),
        (("id",), b"[1, 2]", b"must be a JSON object"),
        (("id", "/nonexistent/file.json"), b"", b"cannot read"),
        (("convert", "--to", "flat@1.0"), b'{"a": [1, {"b": 1}]}', b"map after"),
    ],
)
def test_bad_input_is_a_clear_error(args, stdin, needle):
    r = run(*args, stdin=stdin)
    assert r.returncode == 2
    assert needle in r.stderr, r.stderr
    assert b"Traceback" not in r.stderr
