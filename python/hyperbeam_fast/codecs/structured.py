"""`structured@1.0`: rich message <-> TABM with `ao-types` (spec core §3)."""

from __future__ import annotations

from typing import Any, cast

from ..message import convert


def to_tabm(msg: dict[str, Any]) -> dict[str, Any]:
    """Rich message -> TABM (every leaf a binary, types in ``ao-types``)."""
    return cast("dict[str, Any]", convert(msg, "tabm"))


def from_tabm(tabm: dict[str, Any]) -> dict[str, Any]:
    """TABM -> rich message."""
    return cast("dict[str, Any]", convert(tabm, "structured@1.0", "tabm"))
