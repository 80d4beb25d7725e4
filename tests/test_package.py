"""The package as a library and a distribution (issue 17 items 5, 6): one version, --version,
LICENSE and CHANGELOG, an ``__all__`` that shadows no builtin, docstrings, a native stub that
matches the module."""

from __future__ import annotations

import ast
import builtins
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import hyperbeam_fast as hb
from hyperbeam_fast import _native
from installed import missing

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "python" / "hyperbeam_fast"


def test_one_version_from_cargo_toml():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    version = cargo["workspace"]["package"]["version"]
    assert hb.__version__ == _native.__version__ == version
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in py["project"]["dynamic"] and "version" not in py["project"]
    # no other module spells the version out
    literal = re.compile(r"""__version__\s*=\s*["']""")
    assert [p for p in PKG.rglob("*.py") if literal.search(p.read_text())] == []


def test_version_flag():
    r = subprocess.run(
        [sys.executable, "-m", "hyperbeam_fast", "--version"], capture_output=True, timeout=60
    )
    assert r.returncode == 0 and r.stdout.decode() == f"hyperbeam-fast {hb.__version__}\n"


def test_license_and_changelog():
    lic = (ROOT / "LICENSE").read_text()
    assert lic.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in lic
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert py["project"]["license"] == {"text": "MIT"}
    log = (ROOT / "CHANGELOG.md").read_text()
    assert "Keep a Changelog" in log and "## [Unreleased]" in log
    assert f"## [{hb.__version__}]" in log


def test_star_import_shadows_no_builtin():
    assert set(hb.__all__) & set(dir(builtins)) == set()
    ns: dict[str, object] = {}
    exec("from hyperbeam_fast import *", ns)
    assert ns.get("id") is None and ns.get("set") is None
    assert hb.id({"a": "1"}) == "N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s"
    assert hb.set({"a": "1"}, {"b": "2"}, {})["b"] == "2"
    assert all(hasattr(hb, n) for n in hb.__all__)


def test_public_api_has_docstrings():
    undocumented = [
        n
        for n in hb.__all__
        if (inspect.isfunction(getattr(hb, n)) or inspect.isbuiltin(getattr(hb, n)))
        and not (getattr(hb, n).__doc__ or "").strip()
    ]
    assert undocumented == []


def test_public_functions_have_docstrings():
    """Every public function, class and method of the package (every module) is documented;
    ``@overload`` signatures are left out (the implementation carries the docstring)."""
    missing_doc = []
    paths = sorted(PKG.rglob("*.py"))
    assert len(paths) > 90 and PKG / "devices" / "lua.py" in paths
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name.startswith("_"):
                continue
            items: list[ast.AST] = [node]
            if isinstance(node, ast.ClassDef):
                items += [
                    m for m in node.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
                ]
            for it in items:
                assert isinstance(it, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                attrs = [d.attr for d in it.decorator_list if isinstance(d, ast.Attribute)]
                names = [d.id for d in it.decorator_list if isinstance(d, ast.Name)]
                if it.name.startswith("_") or "setter" in attrs or "overload" in names + attrs:
                    continue
                if ast.get_docstring(it) is None:
                    missing_doc.append(f"{path.relative_to(PKG)}:{it.lineno} {it.name}")
    assert missing_doc == []


def test_stubtest_on_the_native_module():
    if importlib.util.find_spec("mypy") is None:
        missing("mypy (its stubtest) is not installed")
    # the package the tests import (installed, or the source tree on PYTHONPATH), stub included
    env = {**os.environ, "PYTHONPATH": str(Path(hb.__file__).resolve().parents[1])}
    stubtest = shutil.which("stubtest") or ""
    cmd = [stubtest] if stubtest else [sys.executable, "-m", "mypy.stubtest"]
    r = subprocess.run(
        [*cmd, "hyperbeam_fast._native"], capture_output=True, env=env, timeout=300, cwd=ROOT
    )
    assert r.returncode == 0, r.stdout.decode()[-3000:]
