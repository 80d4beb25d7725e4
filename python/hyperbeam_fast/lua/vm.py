"""One Lua 5.3 state for ``lua@5.3a``: C Lua 5.3 from lupa (``lupa.lua53``), the Luerl prelude
(``prelude.lua``), the instruction and memory limits, and nothing of Python reachable from Lua.

Why lupa, and what still differs from Luerl: docs/lua.md.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import lupa.lua53 as _lupa

from ..exceptions import HyperbeamError
from .convert import ConvertError, Reader, lua_value, pack, unpack

#: Instructions one call may run (in units of 1,000 VM instructions: the count hook's period).
DEFAULT_INSTRUCTIONS = 200_000  # 2e8 VM instructions
#: Bytes one Lua state may hold.
DEFAULT_MEMORY = 256 << 20

_PRELUDE = resources.files(__package__).joinpath("prelude.lua").read_bytes()


class LuaError(HyperbeamError):
    """A Lua call failed: ``value`` is the Lua error value (converted), ``fatal`` a limit."""

    def __init__(self, message: str, value: Any = None, fatal: str | None = None) -> None:
        super().__init__(message)
        self.value = message if value is None else value
        self.fatal = fatal


def _no_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("lua@5.3a: Python objects are not reachable from Lua")


class LuaVM:
    """A Lua state. ``call`` runs a global function under the limits; after an error that
    stopped Lua mid-update (a limit, or any error escaping the call) :attr:`broken` says why:
    Luerl states are values, so HyperBEAM keeps the state from before a failed call; a C Lua
    state has moved on, so its owner rebuilds it (process@1.0 rolls the slot back)."""

    #: The Lua helper functions devices/lua.py loads into the state (``install_helpers``).
    helpers: Any

    def __init__(self, memory: int = DEFAULT_MEMORY, instructions: int = DEFAULT_INSTRUCTIONS):
        self.rt = _lupa.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_no_attributes,
            max_memory=int(memory),
        )
        self.instructions = int(instructions)
        self.broken: str | None = None
        self.ctl = self.rt.execute(_PRELUDE)
        self.globals = self.rt.globals()
        self._begin = self.ctl[b"begin"]
        self._tripped = self.ctl[b"tripped"]
        self._invoke = self.ctl[b"invoke_t"]
        self.reader = Reader(_lupa.lua_type, self.ctl[b"encode"])
        self.table = self.rt.table
        self.lua_type = _lupa.lua_type

    # ---- running code ----------------------------------------------------------------------

    def _run(self, fn: Any, *args: Any) -> tuple[Any, ...]:
        self._begin(self.instructions)
        try:
            out = fn(*args)
        except _lupa.LuaMemoryError as e:
            self.broken = "lua@5.3a: memory limit exceeded"
            raise LuaError(self.broken, fatal=self.broken) from e
        except _lupa.LuaError as e:
            why = self._tripped()
            if why is not None:
                why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
                if why == "not enough memory":
                    why = "lua@5.3a: memory limit exceeded"
                self.broken = why
                raise LuaError(why, fatal=why) from e
            val = _text(e.args[0] if e.args else e)
            self.broken = f"lua@5.3a: {val}"
            raise LuaError(val) from e
        return out if isinstance(out, tuple) else (out,)

    def load(self, code: bytes, name: str) -> None:
        """Run a module's code (text only: binary chunks are refused)."""
        if not isinstance(code, (bytes, bytearray)):
            raise LuaError("Lua module code must be a binary")
        loader = self.globals[b"load"]
        fn, err = _pair(loader(bytes(code), ("@" + name if name else "=module").encode()))
        if fn is None:
            raise LuaError(f"Lua module {name or ''} does not load: {_text(err)}".strip())
        self._run(fn)

    def call(self, name: bytes, *args: Any) -> tuple[Any, ...]:
        """Call the global function ``name`` with ``args`` under the limits: its results."""
        fn = self.globals[name]
        if fn is None:
            raise LuaError(f"attempt to call a nil value (global '{_text(name)}')")
        return self._run(fn, *args)

    def invoke(self, name: bytes, args: list[Any]) -> tuple[bool, Any]:
        """Call global ``name`` with message values ``args``: ``(True, [results])``, or
        ``(False, error value)`` for a Lua error (the state has moved on: see :attr:`broken`)."""
        try:
            tbl = self.rt.table_from(lua_value(args), recursive=True)
        except _lupa.LuaMemoryError as e:
            self.broken = "lua@5.3a: memory limit exceeded"
            raise LuaError(self.broken, fatal=self.broken) from e
        out = self._run(self._invoke, name, tbl)
        if out[0] is not True:
            return False, unpack(out[1])
        res = out[2]
        try:
            return True, [self.reader.value(res[q]) for q in range(1, int(out[1]) + 1)]
        except _lupa.LuaMemoryError as e:
            self.broken = "lua@5.3a: memory limit exceeded"
            raise LuaError(self.broken, fatal=self.broken) from e
        except _lupa.LuaError as e:
            raise ConvertError(_text(e.args[0] if e.args else e)) from e

    def host(self, fn: Any) -> Any:
        """A Lua function calling ``fn(args) -> (True, results) | (False, message)`` on
        message values (both sides packed); its Lua errors carry only text."""

        def call(packed: bytes) -> tuple[bool, bytes]:
            try:
                ok, res = fn(unpack(packed))
            except Exception as e:  # noqa: BLE001 - a Lua error, never a Python object
                ok, res = False, f"{type(e).__name__}: {e}"
            if ok:
                try:
                    return True, pack(list(res))
                except HyperbeamError as e:
                    return False, str(e).encode()
            return False, (res if isinstance(res, bytes) else str(res).encode())

        return self.ctl[b"host"](call)

    def run(self, fn: Any, *args: Any) -> tuple[Any, ...]:
        """Call the Lua function ``fn`` with ``args`` under the limits: its results."""
        return self._run(fn, *args)

    def memory_used(self) -> int:
        """The bytes of memory the state holds."""
        return int(self.rt.get_memory_used())

    def close(self) -> None:
        """Mark the state closed: it is not used again."""
        self.broken = self.broken or "closed"


def _pair(out: Any) -> tuple[Any, Any]:
    if isinstance(out, tuple):
        return (out + (None, None))[:2]
    return out, None


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)
