"""Lua 5.3 for ``lua@5.3a`` (docs/lua.md): the VM wrapper (:mod:`.vm`), the Luerl prelude
(``prelude.lua``), message conversion (:mod:`.convert`) and checkpoints (:mod:`.checkpoint`).

:data:`LUERL_DIFFERENCES` lists the probes of ``../shared/vectors/luerl/probes.json`` where this
Lua still answers differently from Luerl 1.3.0, with the reason (tests/test_lua_probes.py)."""

from __future__ import annotations

_ARITH = (
    "float arithmetic follows IEEE 754 (inf, nan) where Luerl raises 'bad arithmetic'; "
    "C Lua's operators cannot be hooked from Lua"
)
_BIGNUM = (
    "integers wrap at 64 bits as Lua 5.3 says; Luerl uses Erlang bignums (a program that "
    "overflows gets a different number)"
)
_BORDER = (
    "'#' of a table with holes: any border is valid Lua 5.3; C Lua and Luerl pick different ones"
)
_MESSAGE = (
    "runtime and syntax error messages are C Lua's (with 'chunk:line:' positions), not Luerl's "
    "wording; the error is raised at the same point"
)

LUERL_DIFFERENCES: dict[int, str] = {
    1: _ARITH,
    2: _ARITH,
    3: _ARITH,
    78: _ARITH,
    125: _ARITH,
    19: _BIGNUM,
    76: _BIGNUM,
    96: _BIGNUM,
    44: _BORDER,
    45: _BORDER,
    106: _BORDER,
    105: _MESSAGE,
    113: _MESSAGE,
    127: _MESSAGE,
    102: (
        "error() with a table value: Luerl hands pcall a string (what string is not in the "
        "vectors), C Lua the table itself; kept as the table"
    ),
}
