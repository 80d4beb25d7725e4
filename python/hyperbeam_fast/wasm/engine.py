"""The shared wasmtime engine and the compiled-module cache (spec runtime §14.1, §14.5).

One :class:`wasmtime.Engine` per process, with memory64, exceptions, fuel metering and epoch
interruption on (a daemon thread advances the epoch every :data:`EPOCH_TICK` seconds: a store's
epoch deadline is its wall-clock limit, see :mod:`.instance`); ``gc_support`` and
``wasm_reference_types`` stay at their defaults (turning them off aborts the process when the
exnref AOS module compiles). Modules are cached by image key (the SHA-256 of the *original* image
bytes, in base64url) in memory (at most :data:`MODULE_CACHE_MAX`) and, serialized, on disk under
:func:`cache_dir` (``$HYPERBEAM_WASM_CACHE``, default ``~/.cache/hyperbeam_fast/wasm``; set it to
``off`` to disable). A cached module loads in about a millisecond instead of a 0.3-0.8 s compile.
Images that use legacy exception handling are translated first (:mod:`.translate`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import wasmtime

from .errors import WasmCompileError
from .translate import atomic_write, needs_translation, to_exnref

_lock = threading.Lock()
_engine: wasmtime.Engine | None = None
#: Compiled modules kept in memory (least recently used first; live instances keep their own).
MODULE_CACHE_MAX = 32
_modules: OrderedDict[str, wasmtime.Module] = OrderedDict()
_FINGERPRINT = "wt50-m64-exn-fuel-epoch-v1"
#: Seconds per epoch tick: the resolution of a WASM call's wall-clock deadline.
EPOCH_TICK = 0.05


def engine() -> wasmtime.Engine:
    """The process-wide engine (memory64, exceptions, fuel)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                cfg = wasmtime.Config()
                cfg.wasm_memory64 = True
                cfg.wasm_exceptions = True
                cfg.consume_fuel = True
                cfg.epoch_interruption = True
                _engine = wasmtime.Engine(cfg)
                threading.Thread(
                    target=_tick, args=(_engine,), name="hb-wasm-epoch", daemon=True
                ).start()
    return _engine


def _tick(eng: wasmtime.Engine) -> None:
    """Advance the engine's epoch forever (the clock of every store's deadline)."""
    wait = threading.Event().wait
    while True:
        wait(EPOCH_TICK)
        eng.increment_epoch()


def cache_dir() -> Path | None:
    """Where serialized modules and translated images are kept (``None`` when disabled)."""
    d = os.environ.get("HYPERBEAM_WASM_CACHE")
    if d is not None and d.strip().lower() in ("", "off", "0", "none"):
        return None
    if d:
        return Path(d)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hyperbeam_fast" / "wasm"


def image_key(data: bytes) -> str:
    """The cache key of an image: base64url(SHA-256(original bytes))."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def compile_module(data: bytes, key: str | None = None) -> wasmtime.Module:
    """Compile (translating legacy EH when needed) without any cache."""
    eng = engine()
    try:
        return wasmtime.Module(eng, data)
    except wasmtime.WasmtimeError as e:
        if not needs_translation(e):
            raise WasmCompileError(f"cannot compile the WASM image: {_short(e)}") from e
    translated = to_exnref(data, key or image_key(data), cache_dir())
    try:
        return wasmtime.Module(eng, translated)
    except wasmtime.WasmtimeError as e:
        raise WasmCompileError(f"cannot compile the translated image: {_short(e)}") from e


def load_module(data: bytes, key: str | None = None) -> wasmtime.Module:
    """The compiled module for an image, from the memory cache, the disk cache or a compile."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WasmCompileError(f"a WASM image must be bytes, not {type(data).__name__}")
    data = bytes(data)
    key = key or image_key(data)
    mod = _modules.get(key)
    if mod is not None:
        with _lock:
            if key in _modules:
                _modules.move_to_end(key)
        return mod
    d = cache_dir()
    path = d / f"{key}.{_FINGERPRINT}.cwasm" if d is not None else None
    if path is not None and path.exists():
        try:
            mod = wasmtime.Module.deserialize_file(engine(), str(path))
        except wasmtime.WasmtimeError:
            mod = None  # stale or foreign artifact: recompile and overwrite
    if mod is None:
        mod = compile_module(data, key)
        if path is not None:
            atomic_write(path, mod.serialize())
    with _lock:
        _modules[key] = mod
        while len(_modules) > MODULE_CACHE_MAX:
            _modules.popitem(last=False)
    return mod


def clear_memory_cache() -> None:
    """Forget the in-memory modules (the disk cache stays)."""
    with _lock:
        _modules.clear()


def _short(e: BaseException) -> str:
    s = str(e).strip()
    return s if len(s) < 400 else s[:400] + "..."


__all__ = [
    "EPOCH_TICK",
    "cache_dir",
    "clear_memory_cache",
    "compile_module",
    "engine",
    "image_key",
    "load_module",
]
