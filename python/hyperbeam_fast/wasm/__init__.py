"""The WASM runtime: wasmtime engine, module cache, instances and the memory bridge.

``load_module(bytes)`` compiles an image once (legacy-EH images such as AOS are translated to
exnref first, see :mod:`.translate`) and caches it by image key; ``Instance(module, handler)``
instantiates it with fuel, wall-clock and memory limits. Devices: ``wasm-64@1.0``, ``wasi@1.0``,
``json-iface@1.0`` (see docs/processes.md).
"""

from .engine import cache_dir, clear_memory_cache, compile_module, engine, image_key, load_module
from .errors import (
    WasmCompileError,
    WasmError,
    WasmFuelExhausted,
    WasmImportError,
    WasmLimit,
    WasmMemoryError,
    WasmMemoryLimit,
    WasmTimeout,
    WasmTranslatorMissing,
    WasmTrap,
)
from .instance import DEFAULT_FUEL, DEFAULT_MEMORY_LIMIT, DEFAULT_TIMEOUT, Instance, signature
from .translate import find_translator

__all__ = [
    "DEFAULT_FUEL",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT",
    "Instance",
    "WasmCompileError",
    "WasmError",
    "WasmFuelExhausted",
    "WasmImportError",
    "WasmLimit",
    "WasmMemoryError",
    "WasmMemoryLimit",
    "WasmTimeout",
    "WasmTranslatorMissing",
    "WasmTrap",
    "cache_dir",
    "clear_memory_cache",
    "compile_module",
    "engine",
    "find_translator",
    "image_key",
    "load_module",
    "signature",
]
