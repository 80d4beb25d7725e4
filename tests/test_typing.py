"""The package type-checks as ``mypy --strict`` (issue 17 item 5; the settings are
``[tool.mypy]`` in pyproject.toml, which also lists the untyped third-party modules)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

from installed import missing

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_config_is_strict():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert conf["strict"] is True and conf["files"] == ["python/hyperbeam_fast"]
    # third-party modules only: no module of the package is exempted
    for o in conf.get("overrides", []):
        mods = o["module"] if isinstance(o["module"], list) else [o["module"]]
        assert not [m for m in mods if m.startswith("hyperbeam_fast")], o


def test_mypy_strict_is_clean(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        missing("mypy is not installed (the test extra)")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        timeout=600,
        cwd=ROOT,
    )
    out = r.stdout.decode()
    assert r.returncode == 0 and out.startswith("Success: no issues found"), out[-5000:]
