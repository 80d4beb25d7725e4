"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

# The AOS image needs Binaryen's exnref translator, which scripts/test.sh installs into
# tools/binaryen; the installed package cannot find a source checkout's tools/ by itself.
_BINARYEN = Path(__file__).resolve().parents[1] / "tools" / "binaryen"
if _BINARYEN.is_dir():
    os.environ.setdefault("HYPERBEAM_BINARYEN_DIR", str(_BINARYEN))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The reference material (specs, vectors) in ../shared, or $HYPERBEAM_SHARED."""
    env = os.environ.get("HYPERBEAM_SHARED")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"
    if not path.is_dir():
        pytest.skip("reference material ../shared not found (set HYPERBEAM_SHARED)")
    return path


@pytest.fixture(scope="module")
def fxdir(shared_dir: Path) -> Path:
    """HyperBEAM's test fixtures (WASM images, keys) in ../shared/fixtures/hyperbeam."""
    d = shared_dir / "fixtures" / "hyperbeam"
    if not (d / "aos-2-pure-xs.wasm").exists():
        pytest.skip("fixtures missing from ../shared/fixtures/hyperbeam")
    return d
