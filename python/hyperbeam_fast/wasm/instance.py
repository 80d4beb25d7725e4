"""A live WASM instance on wasmtime (spec runtime §14.2-§14.4) with host imports.

:class:`Instance` owns one wasmtime ``Store``: a wall-clock deadline per outermost call (epoch
interruption: a runaway module ends in :class:`WasmTimeout`, the host lives on), fuel metering
only when a fuel limit is given (:class:`WasmFuelExhausted`; the module is then compiled for the
metered engine, see :mod:`.engine`: metering costs about a quarter of AOS's ``handle()``),
a memory limit (growth past it fails inside the guest;
emscripten's ``emscripten_resize_heap`` reports it; a trap at the limit is
:class:`WasmMemoryLimit`), re-entrant imports (an import handler
may call back into the instance), guest-memory access through the Rust bridge
(``_native.wasm_mem_*``: bounds-checked, no per-byte Python work, the base pointer re-fetched on
every access so memory growth is safe), ``malloc``/C strings, and memory snapshots.

Every function import is routed to ``import_handler(instance, module, name, args, sig)``, which
returns a list of numbers (missing results are 0), except the emscripten runtime helpers, which
are implemented here: ``invoke_*`` trampolines (call the table entry; on a trap or a longjmp
restore the stack pointer and call ``setThrew(1, 0)``, as emscripten's JS glue does),
``_emscripten_memcpy_js``, ``emscripten_resize_heap``, ``_emscripten_throw_longjmp``,
``setTempRet0``/``getTempRet0`` and ``emscripten_notify_memory_growth``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any, cast

import wasmtime

from .. import _native
from .engine import EPOCH_TICK, engine, is_metered, load_module
from .errors import (
    WasmCompileError,
    WasmError,
    WasmFuelExhausted,
    WasmMemoryError,
    WasmMemoryLimit,
    WasmTimeout,
    WasmTrap,
)

#: Fuel per outermost call: none by default (the deadline bounds a call; 5e10 is about a minute
#: of guest work, far past :data:`DEFAULT_TIMEOUT`, so fuel never decided anything by default).
DEFAULT_FUEL: int | None = None
DEFAULT_MEMORY_LIMIT = 4 << 30  # bytes
DEFAULT_TIMEOUT = 10.0  # seconds of wall clock per outermost call
_NO_DEADLINE = 1 << 62  # epoch ticks: never

_VOIDP = ctypes.c_void_p
_mem_read = _native.wasm_mem_read
_mem_write = _native.wasm_mem_write
_mem_write_cstr = _native.wasm_mem_write_cstr
_mem_cstr = _native.wasm_mem_cstr
#: Emscripten's stack functions: (save, restore, alloc), as 3.1.50+ and older builds export them.
_STACK_EXPORTS = (
    ("emscripten_stack_get_current", "_emscripten_stack_restore", "_emscripten_stack_alloc"),
    ("stackSave", "stackRestore", "stackAlloc"),
)

ImportHandler = Callable[["Instance", str, str, list[Any], str], Sequence[Any] | None]

_SIG = {
    "i32": "i",
    "i64": "I",
    "f32": "f",
    "f64": "F",
    "v128": "v",
    "externref": "e",
    "funcref": "f",
}


def _sig_char(t: wasmtime.ValType) -> str:
    return _SIG.get(str(t), "u")


def signature(ty: wasmtime.FuncType) -> str:
    """HyperBEAM's signature string (runtime §14.3): ``(iIII)i``, ``(II)I``."""
    return (
        "("
        + "".join(_sig_char(t) for t in ty.params)
        + ")"
        + "".join(_sig_char(t) for t in ty.results)
    )


def _converter(t: wasmtime.ValType) -> Callable[[Any], Any]:
    s = str(t)
    if s == "i32":
        return lambda v: ((int(v) + 0x80000000) & 0xFFFFFFFF) - 0x80000000
    if s == "i64":
        return lambda v: ((int(v) + (1 << 63)) & 0xFFFFFFFFFFFFFFFF) - (1 << 63)
    if s in ("f32", "f64"):
        return float
    return lambda v: v


# ---- the raw call path ----------------------------------------------------------------------
#
# wasmtime-py's ``Func.__call__`` re-reads the function type, builds ``wasmtime_val_t`` arrays,
# converts every value through ``Val`` and un-roots them: ~25 us for ``fac(5.0)``. A numeric-only
# export (i32/i64/f32/f64 in and out) can instead be called through the C API's
# ``wasmtime_func_call_unchecked`` with one preallocated ``wasmtime_val_raw_t`` buffer (arguments
# in, results out, in place), pre-bound to the store context and the function. Traps and errors
# are raised exactly as wasmtime-py raises them (a Python exception raised by a host import comes
# back first, then the ``Trap``), so the fuel/trap handling in :meth:`Instance.call_func` is the
# same for both paths. Any export with another type, or a wasmtime-py without these internals,
# uses the default path.

try:
    from wasmtime import _ffi as _wffi
    from wasmtime._func import maybe_raise_last_exn as _raise_last_exn

    _raw_call = _wffi.wasmtime_func_call_unchecked
    _RAW_T = _wffi.wasmtime_val_raw_t
    _TRAP_PTR = ctypes.POINTER(_wffi.wasm_trap_t)
    _RAW_OK = True
except (ImportError, AttributeError):  # pragma: no cover - other wasmtime-py layouts
    _RAW_OK = False

_RAW_FIELD = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}

# ---- host-side calls that keep the GIL ------------------------------------------------------
#
# A ``ctypes.CDLL`` call releases the GIL and takes it back after: under load another thread
# takes it meanwhile, and the caller waits for its turn (up to the 5 ms switch interval) after a
# call of a microsecond. A slot of a process is computed under its lock, so each such wait
# stretches that serial section. The wasmtime calls that run no guest code and return at once
# (the memory's base and size, the epoch deadline) are therefore bound a second time through
# ``ctypes.PyDLL`` (the same library, calls that keep the GIL). Guest code never runs that way:
# the epoch thread that ends a runaway call needs the GIL.


def _held_calls() -> tuple[Any, Any, Any] | None:
    try:
        from wasmtime import _bindings as _wb
        from wasmtime import _ffi as _wf

        lib = ctypes.PyDLL(_wf.dll._name)
        data = lib.wasmtime_memory_data
        data.argtypes = _wb._wasmtime_memory_data.argtypes
        data.restype = _VOIDP  # the address as an int
        size = lib.wasmtime_memory_data_size
        size.argtypes = _wb._wasmtime_memory_data_size.argtypes
        size.restype = ctypes.c_size_t
        deadline = lib.wasmtime_context_set_epoch_deadline
        deadline.argtypes = _wb._wasmtime_context_set_epoch_deadline.argtypes
        deadline.restype = None
        return data, size, deadline
    except (ImportError, AttributeError, OSError):  # pragma: no cover - other layouts
        return None


_HELD = _held_calls()


class _RawFunc:
    """A pre-bound numeric export called through ``wasmtime_func_call_unchecked``."""

    __slots__ = ("func", "store", "_ctx", "_fref", "_buf", "_n", "_setters", "_getters", "_keep")

    def __init__(self, store: wasmtime.Store, func: wasmtime.Func, ty: wasmtime.FuncType) -> None:
        params = [_RAW_FIELD[str(t)] for t in ty.params]
        results = [_RAW_FIELD[str(t)] for t in ty.results]
        self.func = func
        self.store = store
        self._ctx = store._context()
        self._fref = ctypes.byref(func._func)
        self._n = max(len(params), len(results), 1)
        self._buf = (_RAW_T * self._n)()
        self._setters = [(i, f) for i, f in enumerate(params)]
        self._getters = [(i, f) for i, f in enumerate(results)]
        self._keep = (func,)

    def __call__(self, args: Sequence[Any]) -> list[Any]:
        buf = self._buf
        for (i, f), v in zip(self._setters, args, strict=True):
            setattr(buf[i], f, v)
        trap = _TRAP_PTR()
        err = _raw_call(self._ctx, self._fref, buf, self._n, ctypes.byref(trap))
        if err:
            _raise_last_exn()
            raise wasmtime.WasmtimeError._from_ptr(err)
        if trap:
            trap_obj = wasmtime.Trap._from_ptr(trap)
            _raise_last_exn()
            raise trap_obj
        return [getattr(buf[i], f) for i, f in self._getters]


def _raw_func(store: wasmtime.Store, func: wasmtime.Func, ty: wasmtime.FuncType) -> Any:
    if not _RAW_OK:
        return None
    if any(str(t) not in _RAW_FIELD for t in (*ty.params, *ty.results)):
        return None
    try:
        return _RawFunc(store, func, ty)
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - unexpected layouts
        return None


def _zero_handler(inst: Instance, module: str, name: str, args: list[Any], sig: str) -> list[Any]:
    return []


class _Longjmp(Exception):
    """emscripten's ``_emscripten_throw_longjmp``: unwinds to the nearest ``invoke_*``."""


def _trap_reason(e: BaseException) -> str:
    """The readable line of a wasmtime trap (the text after "Caused by:", else the first)."""
    msg = (getattr(e, "message", None) or str(e)).strip()
    if "Caused by:" in msg:
        msg = msg.split("Caused by:", 1)[1].strip()
    return msg.splitlines()[0].strip() if msg else repr(e)


_LIMIT_TRAPS = (wasmtime.TrapCode.OUT_OF_FUEL, wasmtime.TrapCode.INTERRUPT)


def _is_limit_trap(e: BaseException) -> bool:
    return getattr(e, "trap_code", None) in _LIMIT_TRAPS


class Instance:
    """One instantiated module. Not thread-safe (one caller at a time, like an HB worker)."""

    def __init__(
        self,
        module: wasmtime.Module | bytes,
        import_handler: ImportHandler | None = None,
        *,
        fuel: int | None = DEFAULT_FUEL,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        timeout: float | None = DEFAULT_TIMEOUT,
        call_ctors: bool = True,
        raw_calls: bool = True,
    ) -> None:
        if not isinstance(module, wasmtime.Module):
            module = load_module(module, metered=fuel is not None)
        self.metered = is_metered(module)
        if fuel is not None and not self.metered:
            raise WasmError(
                "a fuel limit needs a module compiled for the metered engine "
                "(load_module(..., metered=True))"
            )
        self.module = module
        self.handler: ImportHandler = import_handler or _zero_handler
        self.fuel = fuel
        self.memory_limit = None if memory_limit is None else int(memory_limit)
        self.timeout = timeout
        self._ticks = _NO_DEADLINE if timeout is None else max(1, -(-timeout // EPOCH_TICK))
        self.store = wasmtime.Store(engine(self.metered))
        self._cx: Any = self.store._context() if _HELD is not None else None
        self._memref: Any = None  # byref(memory), for the GIL-keeping calls
        if self.memory_limit is not None:
            self.store.set_limits(memory_size=self.memory_limit)
        self._grow_denied = False
        self.memory: wasmtime.Memory | None = None
        self._depth = 0
        self._temp_ret0 = 0
        self.imports: list[tuple[str, str, str]] = []
        linker = wasmtime.Linker(engine(self.metered))
        for imp in module.imports:
            ty = imp.type
            if not isinstance(ty, wasmtime.FuncType):
                raise WasmCompileError(
                    f"unsupported import {imp.module}.{imp.name}: only function imports are "
                    "supported (runtime §14.3)"
                )
            sig = signature(ty)
            self.imports.append((imp.module, imp.name or "", sig))
            linker.define_func(
                imp.module, imp.name or "", ty, self._host(imp.module, imp.name or "", ty, sig)
            )
        self._start_call()
        try:
            self.instance = linker.instantiate(self.store, module)
        except wasmtime.Trap as e:
            raise self._trap_error(e) from e
        except wasmtime.WasmtimeError as e:
            raise WasmError(f"Failed to create WASM instance: {e}") from e
        ex = self.instance.exports(self.store)
        self.exports: dict[str, Any] = {}
        self.export_sigs: list[tuple[str, str, str]] = []
        for et in module.exports:
            ext = ex[et.name]
            self.exports[et.name] = ext
            kind = type(ext).__name__.lower()
            sig = signature(et.type) if isinstance(et.type, wasmtime.FuncType) else ""
            self.export_sigs.append((kind, et.name, sig))
        self._funcs: dict[str, tuple[wasmtime.Func, list[Any], int]] = {}
        self._raw: dict[str, _RawFunc] = {}
        self.raw_calls = raw_calls
        mems = [e for e in self.exports.values() if isinstance(e, wasmtime.Memory)]
        self.memory = mems[0] if mems else None
        if self.memory is not None and self._cx is not None:
            self._memref = ctypes.byref(self.memory._memory)
        table = self.exports.get("__indirect_function_table")
        self.table: wasmtime.Table | None = table if isinstance(table, wasmtime.Table) else None
        if call_ctors and "__wasm_call_ctors" in self.exports:
            self.call("__wasm_call_ctors")

    @classmethod
    def from_image(
        cls, data: bytes, import_handler: ImportHandler | None = None, **kw: Any
    ) -> Instance:
        """Load (compile or take from cache) and instantiate an image."""
        metered = kw.get("fuel", DEFAULT_FUEL) is not None
        return cls(load_module(data, metered=metered), import_handler, **kw)

    # ---- calls ------------------------------------------------------------------------------

    def _start_call(self) -> None:
        """An outermost call starts: full fuel, a fresh deadline, no denied growth yet."""
        if self.metered:
            self.store.set_fuel(int(self.fuel) if self.fuel is not None else 1 << 62)
        cx = self._cx
        if cx is not None and _HELD is not None:
            _HELD[2](cx, int(self._ticks))
        else:
            self.store.set_epoch_deadline(int(self._ticks))
        self._grow_denied = False

    def _trap_error(self, e: BaseException) -> WasmError:
        """The typed error of a trap: a limit (fuel, deadline, memory) or a plain trap."""
        code = getattr(e, "trap_code", None)
        first = _trap_reason(e)
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return WasmFuelExhausted(f"out of fuel (wasm_fuel {self.fuel}): {first}")
        if code == wasmtime.TrapCode.INTERRUPT:
            return WasmTimeout(f"ran past its deadline (wasm_timeout {self.timeout} s): {first}")
        if self._at_memory_limit():
            return WasmMemoryLimit(
                f"memory limit reached (wasm_memory_limit {self.memory_limit} bytes): {first}"
            )
        return WasmTrap(first)

    def _at_memory_limit(self) -> bool:
        """Whether this call was refused a growth, or memory is within 1/16 of the limit (a
        ``memory.grow`` past the limit just returns -1 to the guest, which then traps)."""
        if self.memory_limit is None or self.memory is None:
            return False
        if self._grow_denied:
            return True
        return self.memory_size() > self.memory_limit - self.memory_limit // 16

    def close(self) -> None:
        """Free the store (its linear memory goes back to the OS); the instance is unusable."""
        store = self.__dict__.pop("store", None)
        self._cx = self._memref = None  # (they point into the store)
        self.handler = _zero_handler
        self.exports = {}
        self._funcs = {}
        self._raw = {}
        self.memory = self.table = None
        if store is not None:
            store.close()

    def func(self, name: str) -> tuple[wasmtime.Func, list[Any], int]:
        """The exported function ``name``, its parameter converters and result count (cached)."""
        f = self._funcs.get(name)
        if f is None:
            ext = self.exports.get(name)
            if not isinstance(ext, wasmtime.Func):
                raise WasmError(f"Function not found: {name}")
            ty = ext.type(self.store)
            f = (ext, [_converter(t) for t in ty.params], len(ty.results))
            self._funcs[name] = f
            if self.raw_calls:
                raw = _raw_func(self.store, ext, ty)
                if raw is not None:
                    self._raw[name] = raw
        return f

    def call(self, name: str, *params: Any) -> list[Any]:
        """Call export ``name``; returns its results as a list. Traps raise :class:`WasmTrap`
        (:class:`WasmFuelExhausted` when out of fuel); the instance stays usable for memory
        reads, and (except after a fuel exhaustion mid-way) for further calls.

        Numeric-only exports go through the raw call path (``wasmtime_func_call_unchecked``
        with a preallocated buffer; ``raw_calls=False`` turns it off), others through
        wasmtime-py's ``Func.__call__``."""
        fn, convs, _ = self.func(name)
        if len(params) != len(convs):
            raise WasmError(f"{name} takes {len(convs)} parameters, {len(params)} given")
        try:
            args = [c(p) for c, p in zip(convs, params, strict=True)]
        except (TypeError, ValueError) as e:
            raise WasmError(f"bad parameters for {name}: {e}") from e
        raw = self._raw.get(name)
        if raw is not None:
            return self.call_func(raw, args)
        return self.call_func(fn, args)

    def call_func(self, fn: wasmtime.Func | _RawFunc, args: Sequence[Any]) -> list[Any]:
        """Call ``fn`` (a ``wasmtime.Func`` of this store, or a raw-path function) with fuel
        refilled for an outermost call; wasmtime traps become :class:`WasmError`."""
        outer = self._depth == 0
        if outer:
            self._start_call()
        self._depth += 1
        try:
            r = fn(args) if type(fn) is _RawFunc else fn(self.store, *args)  # type: ignore[arg-type]
        except wasmtime.Trap as e:
            raise self._trap_error(e) from e
        except wasmtime.WasmtimeError as e:
            raise WasmTrap(str(e).strip().splitlines()[0]) from e
        finally:
            self._depth -= 1
        if r is None:
            return []
        if isinstance(r, (list, tuple)):
            return list(r)
        return [r]

    def fuel_consumed(self) -> int:
        """Fuel used since the last outermost call started (0 when not metered, as ao-loader
        reports ``GasUsed`` for a module format it does not meter)."""
        if not self.metered:
            return 0
        if self.fuel is None:
            return (1 << 62) - self.store.get_fuel()
        return int(self.fuel) - self.store.get_fuel()

    # ---- imports ----------------------------------------------------------------------------

    def _host(self, module: str, name: str, ty: wasmtime.FuncType, sig: str) -> Callable[..., Any]:
        rconv = [_converter(t) for t in ty.results]
        n = len(rconv)

        def shape(res: Any) -> Any:
            if n == 0:
                return None
            vals = list(res) if isinstance(res, (list, tuple)) else ([] if res is None else [res])
            vals += [0] * (n - len(vals))
            out = [c(v) for c, v in zip(rconv, vals[:n], strict=True)]
            return out[0] if n == 1 else tuple(out)

        if name.startswith("invoke_"):

            def invoke(index: int, *args: Any) -> Any:
                return shape(self._invoke(index, args))

            return invoke
        special: Any = (
            {
                "_emscripten_memcpy_js": self._memcpy,
                "emscripten_memcpy_big": self._memcpy,
                "emscripten_memcpy_js": self._memcpy,
                "emscripten_resize_heap": self._resize_heap,
                "emscripten_notify_memory_growth": lambda *_: [],
                "_emscripten_throw_longjmp": self._throw_longjmp,
                "setTempRet0": self._set_temp,
                "getTempRet0": lambda: [self._temp_ret0],
            }.get(name)
            if module == "env"
            else None
        )
        if special is not None:
            return lambda *args: shape(special(*args))
        handler_ref = self

        def host(*args: Any) -> Any:
            return shape(handler_ref.handler(handler_ref, module, name, list(args), sig))

        return host

    def _invoke(self, index: int, args: tuple[Any, ...]) -> list[Any]:
        sp = self._stack_save()
        if self.table is None:
            raise WasmError("invoke_* needs an exported __indirect_function_table")
        fn = self.table.get(self.store, index)
        if not isinstance(fn, wasmtime.Func):
            raise WasmTrap(f"invoke_*: table entry {index} is not a function")
        self._depth += 1
        try:
            r = fn(self.store, *args)
        except (wasmtime.Trap, wasmtime.WasmtimeError, _Longjmp) as e:
            if _is_limit_trap(e):
                raise
            if sp is not None:
                self._stack_restore(sp)
            set_threw = self.exports.get("setThrew")
            if isinstance(set_threw, wasmtime.Func):
                set_threw(self.store, 1, 0)
            return []
        finally:
            self._depth -= 1
        if r is None:
            return []
        return list(r) if isinstance(r, (list, tuple)) else [r]

    def _stack_save(self) -> int | None:
        for n in ("stackSave", "emscripten_stack_get_current"):
            f = self.exports.get(n)
            if isinstance(f, wasmtime.Func):
                return cast("int | None", f(self.store))
        return None

    def _stack_restore(self, sp: int) -> None:
        for n in ("stackRestore", "_emscripten_stack_restore"):
            f = self.exports.get(n)
            if isinstance(f, wasmtime.Func):
                f(self.store, sp)
                return

    def _throw_longjmp(self, *_: Any) -> list[Any]:
        raise _Longjmp()

    def _set_temp(self, v: int) -> list[Any]:
        self._temp_ret0 = v
        return []

    def _memcpy(self, dest: int, src: int, num: int) -> list[Any]:
        self.write(dest, self.read(src, num))
        return []

    def _resize_heap(self, requested: int) -> list[Any]:
        if self.memory is None:
            return [0]
        cur = self.memory_size()
        if requested <= cur:
            return [1]
        pages = (requested - cur + 65535) // 65536
        try:
            self.memory.grow(self.store, pages)
        except wasmtime.WasmtimeError:
            self._grow_denied = True
            return [0]
        return [1]

    # ---- memory (through the Rust bridge) ---------------------------------------------------

    def _mem(self) -> tuple[int, int]:
        m = self.memory
        if m is None:
            raise WasmMemoryError("the module exports no memory")
        cx, ref = self._cx, self._memref
        if ref is not None and cx is not None and _HELD is not None:
            return _HELD[0](cx, ref) or 0, _HELD[1](cx, ref)
        ptr = ctypes.cast(m.data_ptr(self.store), _VOIDP).value or 0
        return ptr, m.data_len(self.store)

    def memory_size(self) -> int:
        """Current linear memory size in bytes (0 without a memory)."""
        if self.memory is None:
            return 0
        cx, ref = self._cx, self._memref
        if ref is not None and cx is not None and _HELD is not None:
            return cast("int", _HELD[1](cx, ref))
        return self.memory.data_len(self.store)

    def read(self, offset: int, n: int) -> bytes:
        """``n`` bytes of guest memory at ``offset``."""
        p, ln = self._mem()
        return _mem_read(p, ln, offset, n)

    def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` into guest memory at ``offset``."""
        p, ln = self._mem()
        _mem_write(p, ln, offset, data)

    def read_cstr(self, offset: int, max_len: int | None = None) -> bytes:
        """The NUL-terminated string at ``offset`` (without the NUL), at most ``max_len`` bytes."""
        p, ln = self._mem()
        return _mem_cstr(p, ln, offset, max_len)

    def gather(self, iovs: int, count: int, wide: bool = True) -> bytes:
        """The bytes of ``count`` iovecs at ``iovs`` (16-byte entries when ``wide``, else 8)."""
        p, ln = self._mem()
        return _native.wasm_mem_gather(p, ln, iovs, count, wide)

    def scatter(self, iovs: int, count: int, data: bytes, wide: bool = True) -> int:
        """Fill ``count`` iovec buffers at ``iovs`` from ``data``; the bytes written."""
        p, ln = self._mem()
        return _native.wasm_mem_scatter(p, ln, iovs, count, data, wide)

    def read_uint(self, offset: int, width: int = 8) -> int:
        """The little-endian unsigned integer of ``width`` bytes at ``offset``."""
        p, ln = self._mem()
        return _native.wasm_mem_read_uint(p, ln, offset, width)

    def write_uint(self, offset: int, value: int, width: int = 8) -> None:
        """Write ``value`` as a little-endian unsigned integer of ``width`` bytes at ``offset``."""
        p, ln = self._mem()
        _native.wasm_mem_write_uint(p, ln, offset, value, width)

    def malloc(self, n: int) -> int:
        """``n`` bytes allocated by the guest's ``malloc`` (:class:`WasmMemoryError` when it returns
        0)."""
        (ptr,) = self.call("malloc", n)
        if not ptr:
            raise WasmMemoryError(f"malloc_failed: malloc({n}) returned 0")
        return cast("int", ptr)

    def free(self, ptr: int) -> None:
        """Free guest memory at ``ptr`` with the guest's ``free``."""
        self.call("free", ptr)

    def write_string(self, data: bytes | str) -> int:
        """``malloc(len + 1)`` and write ``data`` + NUL; returns the pointer (runtime §14.4)."""
        b = data.encode() if isinstance(data, str) else bytes(data)
        ptr = self.malloc(len(b) + 1)
        p, ln = self._mem()
        _mem_write_cstr(p, ln, ptr, b)
        return ptr

    def stack_exports(self) -> tuple[str, str, str] | None:
        """The guest's Emscripten stack functions (save, restore, alloc), newest names first;
        ``None`` when it exports none of either set."""
        for names in _STACK_EXPORTS:
            if all(n in self.exports for n in names):
                return names
        return None

    def write_string_on_stack(self, data: bytes, alloc: str) -> int:
        """``data`` + NUL on the guest's stack (``alloc``: its stack-alloc export), as
        Emscripten's ``stringToUTF8OnStack`` does; the pointer. The caller restores the stack."""
        (ptr,) = self.call(alloc, len(data) + 1)
        self.write_cstr(ptr, data)
        return cast("int", ptr)

    def write_cstr(self, offset: int, data: bytes) -> None:
        """Write ``data`` + NUL into guest memory at ``offset``."""
        p, ln = self._mem()
        _mem_write_cstr(p, ln, offset, data)

    def read_string(self, ptr: int) -> bytes:
        """The NUL-terminated string at ``ptr`` (without the NUL)."""
        return self.read_cstr(ptr)

    # ---- snapshots --------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The entire linear memory (HyperBEAM's memory-only snapshot, runtime §14.1)."""
        if self.memory is None:
            return b""
        return self.read(0, self.memory_size())

    def globals_snapshot(self) -> dict[str, Any]:
        """Values of the exported mutable globals (restored by :meth:`restore` when given)."""
        out = {}
        for name, ext in self.exports.items():
            if isinstance(ext, wasmtime.Global) and ext.type(self.store).mutable:
                out[name] = ext.value(self.store)
        return out

    def restore(self, memory: bytes, globals_: dict[str, Any] | None = None) -> None:
        """Write a snapshot back (growing memory to its size first)."""
        if memory:
            if self.memory is None:
                raise WasmMemoryError("snapshot has memory but the module exports none")
            cur = self.memory_size()
            if len(memory) > cur:
                try:
                    self.memory.grow(self.store, (len(memory) - cur + 65535) // 65536)
                except wasmtime.WasmtimeError as e:
                    raise WasmMemoryError(f"cannot grow memory to the snapshot size: {e}") from e
            self.write(0, memory)
        for name, v in (globals_ or {}).items():
            ext = self.exports.get(name)
            if isinstance(ext, wasmtime.Global):
                ext.set_value(self.store, v)


__all__ = [
    "DEFAULT_FUEL",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT",
    "ImportHandler",
    "Instance",
    "signature",
]
