"""The resolver's values (spec runtime §2): statuses, the atoms it returns, and the
sub-resolution markers ``As`` (``{as, Device, Msg}``) and ``Resolve`` (``{resolve, Messages}``).

Imports nothing of the package but :mod:`hyperbeam_fast.atom`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..atom import Atom

OK = "ok"
ERROR = "error"
SKIP = "skip"
PASS = "pass"
STATUSES = frozenset(
    {"ok", "error", "skip", "pass", "created", "failure", "not_found", "unavailable"}
)

NOT_FOUND = Atom("not_found")
UNSET = Atom("unset")
UNDEFINED = Atom("undefined")

#: the shared empty options (never mutated): ``opts is EMPTY`` marks "no options given"
EMPTY: dict[str, Any] = {}


def err(status: int, body: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """An ``("error", {"status": N, "body": ...})`` result."""
    return ERROR, {"status": status, "body": body, **extra}


@dataclass(slots=True)
class As:
    """HyperBEAM's ``{as, Device, Msg}``: ``msg`` (a message, path or ID) as ``device``."""

    device: Any
    msg: Any


@dataclass(slots=True)
class Resolve:
    """HyperBEAM's ``{resolve, Messages}``: a value that is the result of resolving a list."""

    messages: list[Any]


def marker(x: Any) -> Any:
    """``As``/``Resolve`` for a marker, accepting the Erlang-shaped tuples of the vectors."""
    if isinstance(x, (As, Resolve)):
        return x
    if type(x) is tuple:
        if len(x) == 3 and x[0] == "as":
            return As(x[1], x[2])
        if len(x) == 2 and x[0] == "resolve":
            return Resolve(list(x[1]))
    return None
