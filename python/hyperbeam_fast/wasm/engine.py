"""The shared wasmtime engine and the compiled-module cache (spec runtime §14.1, §14.5).

Two wasmtime engines per process, both with memory64, exceptions and epoch
interruption on (a daemon thread advances their epoch every :data:`EPOCH_TICK` seconds: a store's
epoch deadline is its wall-clock limit, see :mod:`.instance`): the *metered* one also counts fuel
(``wasm_fuel``: a deterministic bound, at about a quarter of AOS's ``handle()`` time), the other
does not (the default: only the deadline bounds a call, issue 15 item 4). A module is compiled for
one of them (``load_module(..., metered=)``; :func:`is_metered` says which); ``gc_support`` and
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
import weakref
from collections import OrderedDict
from pathlib import Path

import wasmtime

from .errors import WasmCompileError
from .translate import atomic_write, needs_translation, to_exnref

_lock = threading.Lock()
_engines: dict[bool, wasmtime.Engine] = {}  # metered -> engine
#: Compiled modules kept in memory (least recently used first; live instances keep their own).
MODULE_CACHE_MAX = 32
_modules: OrderedDict[tuple[str, bool], wasmtime.Module] = OrderedDict()
_unmetered: weakref.WeakSet[wasmtime.Module] = weakref.WeakSet()
_FINGERPRINT = {True: "wt50-m64-exn-fuel-epoch-v1", False: "wt50-m64-exn-epoch-v1"}
#: Seconds per epoch tick: the resolution of a WASM call's wall-clock deadline.
EPOCH_TICK = 0.05


def engine(metered: bool = True) -> wasmtime.Engine:
    """The process-wide engine (memory64, exceptions, epochs; ``metered``: fuel too)."""
    eng = _engines.get(metered)
    if eng is None:
        with _lock:
            eng = _engines.get(metered)
            if eng is None:
                cfg = wasmtime.Config()
                cfg.wasm_memory64 = True
                cfg.wasm_exceptions = True
                cfg.consume_fuel = metered
                cfg.epoch_interruption = True
                eng = _engines[metered] = wasmtime.Engine(cfg)
                name = "hb-wasm-epoch" + ("-fuel" if metered else "")
                threading.Thread(target=_tick, args=(eng,), name=name, daemon=True).start()
    return eng


def is_metered(module: wasmtime.Module) -> bool:
    """Whether ``module`` was compiled for the fuel-metered engine."""
    return module not in _unmetered


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


def compile_module(data: bytes, key: str | None = None, metered: bool = True) -> wasmtime.Module:
    """Compile (translating legacy EH when needed) without any cache."""
    eng = engine(metered)
    try:
        return _mark(wasmtime.Module(eng, data), metered)
    except wasmtime.WasmtimeError as e:
        if not needs_translation(e):
            raise WasmCompileError(f"cannot compile the WASM image: {_short(e)}") from e
    translated = to_exnref(data, key or image_key(data), cache_dir())
    try:
        return _mark(wasmtime.Module(eng, translated), metered)
    except wasmtime.WasmtimeError as e:
        raise WasmCompileError(f"cannot compile the translated image: {_short(e)}") from e


def _mark(mod: wasmtime.Module, metered: bool) -> wasmtime.Module:
    if not metered:
        _unmetered.add(mod)
    return mod


def load_module(data: bytes, key: str | None = None, metered: bool = True) -> wasmtime.Module:
    """The compiled module for an image, from the memory cache, the disk cache or a compile,
    for the fuel-metered engine or (``metered=False``) the deadline-only one."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WasmCompileError(f"a WASM image must be bytes, not {type(data).__name__}")
    data = bytes(data)
    key = key or image_key(data)
    ck = (key, metered)
    mod = _modules.get(ck)
    if mod is not None:
        with _lock:
            if ck in _modules:
                _modules.move_to_end(ck)
        return mod
    d = cache_dir()
    path = d / f"{key}.{_FINGERPRINT[metered]}.cwasm" if d is not None else None
    if path is not None and path.exists():
        try:
            mod = _mark(wasmtime.Module.deserialize_file(engine(metered), str(path)), metered)
        except wasmtime.WasmtimeError:
            mod = None  # stale or foreign artifact: recompile and overwrite
    if mod is None:
        mod = compile_module(data, key, metered)
        if path is not None:
            atomic_write(path, mod.serialize())
    with _lock:
        _modules[ck] = mod
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
    "is_metered",
    "load_module",
]
