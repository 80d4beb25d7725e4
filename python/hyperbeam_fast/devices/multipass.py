"""``multipass@1.0`` (spec runtime §14.8): ``pass`` until ``pass >= passes`` (for stacks)."""

from __future__ import annotations

from typing import Any

from ..ao import to_int as _int


class MultipassDevice:
    """``multipass@1.0``: ``pass`` until ``pass >= passes`` (a stack member)."""

    name = "multipass@1.0"
    info: dict[str, Any] = {"excludes": ["keys", "set"]}

    @staticmethod
    def _handle(key: str, base: dict[str, Any]) -> tuple[str, Any]:
        passes = _int(base.get("passes"), 1)
        current = _int(base.get("pass"), 1)
        return ("pass" if current < passes else "ok"), base


MultipassDevice.info = {"handler": MultipassDevice._handle, "excludes": ["keys", "set"]}
DEVICE = MultipassDevice()
