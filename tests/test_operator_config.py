"""Config that refuses mistakes (issue 17 item 3): config.flat problems with line numbers, key
files, store specs, and `hyperbeam-fast config check FILE`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hyperbeam_fast.exceptions import HyperbeamError
from hyperbeam_fast.node import config
from hyperbeam_fast.node.pipeline import open_store, wallet_at
from hyperbeam_fast.node.server import build_node, key_may_be_generated

BAD = (
    b"port: 1234\n"  # 1
    b"\n"  # 2: blank lines are fine
    b"port: 99\n"  # 3: duplicate
    b"no separator here\n"  # 4
    b"prot: 8734\n"  # 5: a typo: unknown key (warning)
    b"host: http://a: b\n"  # 6: two ': ' (HyperBEAM drops the line)
    b"max-body-size: lots\n"  # 7: not an integer
    b"gateway: https://arweave.net\n"  # 8: fine
)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hyperbeam_fast", *args], capture_output=True, cwd=cwd, timeout=60
    )


def test_check_flat_reports_each_problem_with_its_line():
    errors, warnings = config.check_flat(BAD, "c.flat")
    assert [config.line_of(e) for e in errors] == [3, 4, 6, 7]
    assert "duplicate key 'port' (first on line 1)" in errors[0]
    assert "not a 'key: value' line" in errors[1]
    assert "more than one ': '" in errors[2]
    assert "max-body-size" in errors[3] and "not an integer" in errors[3]
    assert warnings == ["c.flat:5: unknown option 'prot' (passed through)"]


def test_check_flat_checks_word_options():
    errors, _ = config.check_flat(b"store-sync: sometimes\nlog_level: INFO\nlog-format: xml\n")
    assert [config.line_of(e) for e in errors] == [1, 3]
    assert "store-sync must be one of none, always, got 'sometimes'" in errors[0]


def test_check_flat_accepts_hyperbeams_fixture(fxdir):
    data = (fxdir / "config.flat").read_bytes()
    assert config.check_flat(data) == ([], [])


def test_known_options_include_hyperbeams_and_nested_keys():
    ok = b"scheduling-mode: local_confirmation\nhttp_extra_opts/force_message: true\n"
    assert config.check_flat(ok) == ([], [])


def test_load_refuses_a_bad_file_and_returns_warnings(tmp_path):
    bad = tmp_path / "config.flat"
    bad.write_bytes(BAD)
    with pytest.raises(config.ConfigError) as e:
        config.load(config_path=bad, environ={})
    assert f"{bad}:3: duplicate key" in str(e.value) and f"{bad}:4:" in str(e.value)
    good = tmp_path / "good.flat"
    good.write_bytes(b"port: 1234\nprot: 1\n")
    warnings: list[str] = []
    opts = config.load(config_path=good, environ={}, warnings=warnings)
    assert opts["port"] == 1234 and opts["prot"] == "1"  # passed through, as HyperBEAM
    assert warnings == [f"{good}:2: unknown option 'prot' (passed through)"]


def test_load_refuses_bad_log_settings():
    with pytest.raises(config.ConfigError, match="log_level"):
        config.load({"log_level": "loud"}, environ={})
    with pytest.raises(config.ConfigError, match="log_format"):
        config.load({"log_format": "xml"}, environ={})
    assert config.load({"log_level": "WARNING"}, environ={})["log_level"] == "warning"


def test_config_check_command(tmp_path):
    f = tmp_path / "c.flat"
    f.write_bytes(BAD)
    r = cli("config", "check", str(f))
    assert r.returncode == 1, r.stderr
    lines = r.stdout.decode().splitlines()
    assert [ln.split(":")[1] for ln in lines[:-1]] == ["3", "4", "5", "6", "7"]
    assert lines[2].endswith("[warning]") and lines[0].endswith("[error]")
    assert lines[-1] == f"{f}: 4 error(s), 1 warning(s)"
    f.write_bytes(b"port: 1\n")
    r = cli("config", "check", str(f))
    assert r.returncode == 0 and r.stdout.decode().endswith("0 error(s), 0 warning(s)\n")
    r = cli("config", "check", str(tmp_path / "missing.flat"))
    assert r.returncode == 2 and b"cannot read" in r.stderr


def test_missing_key_file_is_an_error_without_generate_key(tmp_path):
    key = tmp_path / "nodir" / "key.json"
    with pytest.raises(config.ConfigError, match="does not exist.*--generate-key"):
        wallet_at(key, create=False)
    with pytest.raises(config.ConfigError, match="is not a directory"):
        wallet_at(key, create=True)  # nothing is created outside an existing directory
    assert not key.parent.exists()
    w, generated = wallet_at(tmp_path / "key.json", create=True)
    assert generated and (tmp_path / "key.json").stat().st_mode & 0o777 == 0o600
    w2, generated = wallet_at(tmp_path / "key.json", create=False)
    assert not generated and w2.address == w.address


def test_key_generation_policy():
    assert key_may_be_generated({})  # the documented default hyperbeam-key.json
    assert key_may_be_generated({"priv_key_location": "hyperbeam-key.json"})
    assert not key_may_be_generated({"priv_key_location": "/srv/key.json"})
    assert key_may_be_generated({"priv_key_location": "/srv/key.json", "generate_key": True})
    with pytest.raises(config.ConfigError):
        build_node({**config.DEFAULTS, "priv_key_location": "/nonexistent/k.json"})


@pytest.mark.parametrize("spec", ["bogus:thing", "memory+s3:bucket", "fs:", "rocksdb:", "+"])
def test_unknown_store_specs_are_errors(tmp_path, spec, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(config.ConfigError):
        open_store(spec)
    assert list(tmp_path.iterdir()) == []  # no folder named after the spec


def test_known_store_specs_still_open(tmp_path):
    for spec in (
        "memory",
        f"fs:{tmp_path / 'fs'}",
        f"rocksdb:{tmp_path / 'r'}",
        str(tmp_path / "d"),
    ):
        open_store(spec).close()


def test_serve_refuses_missing_key_and_bad_store(tmp_path):
    r = cli("serve", "--port", "0", "--store", "memory", "--key", "/nonexistent/key.json")
    assert r.returncode == 2, r.stderr
    assert b"key file '/nonexistent/key.json' does not exist" in r.stderr
    assert b"Traceback" not in r.stderr and not Path("/nonexistent").exists()
    key = tmp_path / "k.json"
    r = cli("serve", "--port", "0", "--store", "bogus:thing", "--key", str(key), "--generate-key")
    assert r.returncode == 2 and b"unknown store 'bogus:thing'" in r.stderr
    assert not key.exists(), "no wallet is generated for a node that cannot start"
    cfg = tmp_path / "config.flat"
    cfg.write_bytes(b"port 8734\n")
    r = cli("serve", "--config", str(cfg), "--store", "memory", cwd=tmp_path)
    assert r.returncode == 2 and f"{cfg}:1: not a 'key: value' line".encode() in r.stderr


def test_errors_are_typed():
    assert issubclass(config.ConfigError, HyperbeamError)
