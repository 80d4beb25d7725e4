"""Checkpoints of a Lua state (docs/lua.md "Restart"): the heap reachable from ``_G``,
``package.loaded`` and the string metatable, written by the prelude's ``save`` (objects that
existed right after init are named by their place in a deterministic walk, :func:`mark`; tables
by content; later functions as bytecode; upvalues with their sharing) and read back by
``restore`` into a fresh state initialised from the same modules."""

from __future__ import annotations

from typing import Any

from ..exceptions import HyperbeamError
from .vm import LuaError, LuaVM


class CheckpointError(HyperbeamError):
    """A state that cannot be checkpointed, or a checkpoint that does not fit the state."""


def mark(vm: LuaVM) -> None:
    """Record the objects of a freshly initialised state (call once, after init)."""
    vm.run(vm.ctl[b"mark"])


def save(vm: LuaVM) -> bytes:
    """The state ``vm`` as a checkpoint binary (its globals, as the prelude serialises them)."""
    try:
        (out,) = vm.run(vm.ctl[b"save"])
    except LuaError as e:
        raise CheckpointError(f"cannot checkpoint the Lua state: {e}") from e
    if not isinstance(out, bytes):
        raise CheckpointError("checkpoint is not a binary")
    return out


def restore(vm: LuaVM, body: Any) -> None:
    """Load the checkpoint ``body`` (from :func:`save`) into the state ``vm``."""
    if not isinstance(body, (bytes, bytearray)):
        raise CheckpointError("checkpoint is not a binary")
    try:
        vm.run(vm.ctl[b"restore"], bytes(body))
    except LuaError as e:
        vm.broken = f"checkpoint restore failed: {e}"
        raise CheckpointError(f"Lua checkpoint does not restore: {e}") from e
