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


@pytest.fixture(scope="module")
def wallets(fxdir: Path):
    """HyperBEAM's two test wallets: (key-1.json's path, key-1, key-2). A test module that needs
    other keys defines its own ``wallets``."""
    import hyperbeam_fast as hb

    return (
        fxdir / "key-1.json",
        hb.Wallet.from_file(str(fxdir / "key-1.json")),
        hb.Wallet.from_file(str(fxdir / "key-2.json")),
    )


@pytest.fixture(scope="module")
def aos_wasm(fxdir: Path) -> bytes:
    """The AOS image, translated and compiled once (this also fills the disk cache a node
    subprocess reads); a missing translator is an installed capability missing."""
    import installed
    from hyperbeam_fast.wasm import WasmTranslatorMissing, load_module

    data = (fxdir / "aos-2-pure-xs.wasm").read_bytes()
    try:
        load_module(data)
    except WasmTranslatorMissing as e:
        installed.missing(f"AOS needs the exnref translator: {e}")
    return data
