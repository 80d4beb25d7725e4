"""The documentation site (issue 17 item 5): ``mkdocs build --strict`` over docs/ and the API
pages that mkdocstrings generates from the package's docstrings."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from installed import missing

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_builds_strict_with_api_pages(tmp_path):
    for mod in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(mod.split(".")[0]) is None or (
            "." in mod and importlib.util.find_spec(mod) is None
        ):
            missing(f"{mod} is not installed (the docs extra)")
    site = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        capture_output=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, (r.stdout + r.stderr).decode()[-5000:]
    # every guide in docs/ is a page of the site
    for md in (ROOT / "docs").glob("*.md"):
        page = site / ("index.html" if md.stem == "index" else f"{md.stem}/index.html")
        assert page.is_file(), md.name
    # the API pages carry the docstrings themselves, not only the names
    api = (site / "api" / "package" / "index.html").read_text()
    first_line = "Convert <code>msg</code> from the <code>source</code> codec"
    assert "hyperbeam_fast.message.convert" in api and first_line in api
    devices = (site / "api" / "devices" / "index.html").read_text()
    assert "hyperbeam_fast.devices.scheduler" in devices
    # every guide is in the nav
    nav = (ROOT / "mkdocs.yml").read_text()
    assert sorted(re.findall(r":\s*(\w[\w-]*\.md)\s*$", nav, re.M)) == sorted(
        p.name for p in (ROOT / "docs").glob("*.md")
    )
