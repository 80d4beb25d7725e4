"""Where the installed package finds Binaryen's exnref translator, and
``hyperbeam-fast install-translator`` (issue 13 item 8)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import installed
import pytest
from hyperbeam_fast.wasm import translate


def _fake_binaryen(d: Path) -> Path:
    js = d / "node_modules" / "binaryen" / "bin" / "wasm-opt"
    js.parent.mkdir(parents=True)
    js.write_text("// stand-in\n")
    return js


@pytest.fixture()
def installed_package(monkeypatch, tmp_path):
    """The module as if installed in site-packages (no source checkout three folders up)."""
    fake = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "hyperbeam_fast"
    monkeypatch.setattr(translate, "__file__", str(fake / "wasm" / "translate.py"))
    for var in ("HYPERBEAM_WASM_OPT", "HYPERBEAM_BINARYEN_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    if shutil.which("node") is None:
        installed.missing("Node.js is not installed")
    return tmp_path


def test_an_installed_package_finds_nothing_without_a_translator(installed_package):
    assert translate.find_translator() is None


def test_an_installed_package_finds_tools_binaryen_of_the_current_directory(installed_package):
    js = _fake_binaryen(installed_package / "tools" / "binaryen")
    assert translate.find_translator() == [shutil.which("node"), str(js)]


def test_an_installed_package_finds_the_user_cache(installed_package):
    js = _fake_binaryen(installed_package / "cache" / "hyperbeam_fast" / "binaryen")
    assert translate.user_dir() == installed_package / "cache" / "hyperbeam_fast" / "binaryen"
    assert translate.find_translator() == [shutil.which("node"), str(js)]


def test_the_environment_comes_first(installed_package, monkeypatch):
    _fake_binaryen(installed_package / "tools" / "binaryen")
    js = _fake_binaryen(installed_package / "elsewhere")
    monkeypatch.setenv("HYPERBEAM_BINARYEN_DIR", str(installed_package / "elsewhere"))
    assert translate.find_translator() == [shutil.which("node"), str(js)]


def test_install_translator_installs_a_working_wasm_opt(tmp_path, monkeypatch):
    """The CLI installs npm binaryen@132 where it is told; the translator found there runs."""
    if shutil.which("npm") is None:
        installed.missing("npm is not installed")
    target = tmp_path / "binaryen"
    r = subprocess.run(
        [sys.executable, "-m", "hyperbeam_fast", "install-translator", "--dir", str(target)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("HYPERBEAM_BINARYEN_DIR", str(target))
    monkeypatch.delenv("HYPERBEAM_WASM_OPT", raising=False)
    cmd = translate.find_translator()
    assert cmd is not None and cmd[1].startswith(str(target))
    out = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "132" in out.stdout, out
