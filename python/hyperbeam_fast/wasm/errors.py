"""Typed errors of the WASM runtime (spec runtime §14)."""

from __future__ import annotations

from ..exceptions import HyperbeamError


class WasmError(HyperbeamError):
    """Base class for WASM loading and execution errors."""


class WasmCompileError(WasmError, ValueError):
    """The image is not a module this engine can compile (malformed, or unsupported features)."""


class WasmTranslatorMissing(WasmError, RuntimeError):
    """A legacy-exception-handling image needs Binaryen's ``translate-to-exnref`` and no
    translator is installed (see :mod:`hyperbeam_fast.wasm.translate`)."""


class WasmTrap(WasmError):
    """The guest trapped (unreachable, out-of-bounds access, stack overflow, ...)."""


class WasmLimit(WasmTrap):
    """The guest hit one of the node's resource limits (fuel, time or memory)."""


class WasmFuelExhausted(WasmLimit):
    """The guest ran out of fuel (a runaway or infinite loop): ``wasm_fuel``."""


class WasmTimeout(WasmLimit):
    """The guest ran past its wall-clock deadline (epoch interruption): ``wasm_timeout``."""


class WasmMemoryLimit(WasmLimit):
    """The guest trapped after its memory could not grow past ``wasm_memory_limit``."""


class WasmMemoryError(WasmError, ValueError):
    """A host access to guest memory outside its bounds (raised by the Rust bridge)."""


class WasmImportError(WasmError):
    """An import could not be resolved or its handler failed."""


__all__ = [
    "WasmCompileError",
    "WasmError",
    "WasmFuelExhausted",
    "WasmImportError",
    "WasmLimit",
    "WasmMemoryError",
    "WasmMemoryLimit",
    "WasmTimeout",
    "WasmTrap",
    "WasmTranslatorMissing",
]
