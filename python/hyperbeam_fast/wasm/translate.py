"""Legacy WASM exception handling -> exnref, the automatic step that lets wasmtime run AOS.

``aos-2-pure-xs.wasm`` (the image HyperBEAM runs) uses memory64 and the *legacy* exception
instructions (``try``/``catch``), which wasmtime does not accept. Binaryen's
``translate-to-exnref`` pass rewrites them to the standard exnref form with the same behaviour
(measured route: ``../shared/spec/aos-on-wasmtime.md``). :func:`to_exnref` runs it once per image
and caches the result; the image keeps its original ID (the cache key is the SHA-256 of the
*original* bytes), only the compiled module differs.

The translator is npm ``binaryen@132`` run by Node.js. It is found, in order, at
``$HYPERBEAM_WASM_OPT`` (a ``wasm-opt`` executable from Binaryen >= 132), then in
``$HYPERBEAM_BINARYEN_DIR``, ``tools/binaryen`` of the source checkout the package was installed
from or of the current directory (``cd tools/binaryen && npm ci``), and the user cache
``$XDG_CACHE_HOME/hyperbeam_fast/binaryen`` (``~/.cache/...``), where
``hyperbeam-fast install-translator`` puts it (:func:`install`). A missing translator raises
:class:`~hyperbeam_fast.wasm.errors.WasmTranslatorMissing` naming what to install.
(``-all`` must not be used: binaryen 132 then writes "compact imports", which wasmtime
rejects; the features are passed explicitly because the module has no target_features section.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import WasmCompileError, WasmTranslatorMissing

FEATURES = (
    "--enable-memory64",
    "--enable-exception-handling",
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
)

#: The Binaryen release the translation is made with (tools/binaryen/package.json pins it too).
BINARYEN_VERSION = "132.0.0"
INSTALL_HINT = (
    "install Node.js (>= 18), then run `hyperbeam-fast install-translator` (npm binaryen@132 into "
    "the user cache), or `cd tools/binaryen && npm ci` in a source checkout, or set "
    "$HYPERBEAM_BINARYEN_DIR to a folder with npm binaryen@132 installed, or $HYPERBEAM_WASM_OPT "
    "to a Binaryen >= 132 wasm-opt"
)


def user_dir() -> Path:
    """Where ``hyperbeam-fast install-translator`` installs Binaryen."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hyperbeam_fast" / "binaryen"


def _search_dirs() -> list[Path]:
    env = os.environ.get("HYPERBEAM_BINARYEN_DIR")
    checkout = Path(__file__).resolve().parents[3] / "tools" / "binaryen"
    here = Path.cwd() / "tools" / "binaryen"
    return ([Path(env)] if env else []) + [checkout, here, user_dir()]


def find_translator() -> list[str] | None:
    """The command prefix that runs ``wasm-opt``, or ``None`` when none is installed."""
    env = os.environ.get("HYPERBEAM_WASM_OPT")
    if env:
        return [env] if Path(env).exists() else None
    node = shutil.which("node")
    for d in _search_dirs():
        js = d / "node_modules" / "binaryen" / "bin" / "wasm-opt"
        if js.exists():
            if node is None:
                return None
            return [node, str(js)]
    return None


def install(target: Path | None = None) -> Path:
    """Install npm ``binaryen@132`` into ``target`` (default :func:`user_dir`) with the
    machine's npm; the folder is then found by :func:`find_translator`."""
    npm = shutil.which("npm")
    if npm is None:
        raise WasmTranslatorMissing(f"npm is not installed: {INSTALL_HINT}")
    target = target or user_dir()
    target.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(target)]
    r = subprocess.run(
        [*cmd, f"binaryen@{BINARYEN_VERSION}"], capture_output=True, text=True, timeout=600
    )
    if r.returncode != 0:
        raise WasmTranslatorMissing(f"npm install binaryen@{BINARYEN_VERSION} failed: {r.stderr}")
    return target


def needs_translation(err: BaseException) -> bool:
    """Whether a wasmtime compile error is the legacy-exceptions one."""
    return "legacy_exceptions" in str(err) or "legacy exceptions" in str(err)


def to_exnref(data: bytes, key: str, cache_dir: Path | None) -> bytes:
    """Translate a legacy-EH module to exnref (cached at ``<cache_dir>/<key>.exnref.wasm``)."""
    cached = cache_dir / f"{key}.exnref.wasm" if cache_dir is not None else None
    if cached is not None and cached.exists():
        return cached.read_bytes()
    cmd = find_translator()
    if cmd is None:
        raise WasmTranslatorMissing(
            "this image uses legacy WASM exception handling, which needs Binaryen's "
            f"translate-to-exnref before wasmtime can run it: {INSTALL_HINT}"
        )
    with tempfile.TemporaryDirectory(prefix="hb-wasm-") as td:
        src, dst = Path(td) / "in.wasm", Path(td) / "out.wasm"
        src.write_bytes(data)
        try:
            r = subprocess.run(
                [*cmd, str(src), *FEATURES, "--translate-to-exnref", "-o", str(dst)],
                capture_output=True,
                timeout=300,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise WasmTranslatorMissing(f"running wasm-opt failed ({e}): {INSTALL_HINT}") from e
        if r.returncode != 0 or not dst.exists():
            msg = r.stderr.decode("utf-8", "replace")[-500:]
            raise WasmCompileError(f"translate-to-exnref failed: {msg}")
        out = dst.read_bytes()
    if cached is not None:
        atomic_write(cached, out)
    return out


def atomic_write(path: Path, data: bytes | bytearray) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a partial file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache dir only costs a re-translation


__all__ = ["INSTALL_HINT", "find_translator", "needs_translation", "to_exnref"]
