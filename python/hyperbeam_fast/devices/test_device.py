"""``test-device@1.0`` (``dev_test``, spec runtime §4): the device the conformance vectors use."""

from __future__ import annotations

import time
from typing import Any

from ..ao import to_int as _int


class TestDevice:
    """``test-device@1.0``: HyperBEAM's device for tests of the resolver and processes."""

    name = "test-device@1.0"

    @staticmethod
    def test_func(base: dict[str, Any]) -> tuple[str, Any]:
        """``test_func``: the constant ``GOOD_FUNCTION``."""
        return "ok", "GOOD_FUNCTION"

    @staticmethod
    def init(base: dict[str, Any]) -> tuple[str, Any]:
        """``init``: the state with an empty ``already-seen`` list."""
        return "ok", {**base, "already-seen": []}

    @staticmethod
    def compute(base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """``compute``: add the request's slot to ``already-seen`` and count the results."""
        slot = request.get("slot")
        seen = base.get("already-seen") or []
        if isinstance(seen, dict):
            seen = list(seen.values())
        return "ok", {
            **base,
            "random-key": "random-value",
            "results": {"assignment-slot": slot},
            "already-seen": [slot, *seen],
        }

    @staticmethod
    def restore(base: dict[str, Any]) -> tuple[str, Any]:
        """``restore``: keep the state it started from in its private keys."""
        if "already-seen" not in base:
            return "error", "No viable state to restore."
        priv = dict(base.get("priv") or {})
        priv["test-key"] = {"started-state": base}
        return "ok", {**base, "priv": priv}

    @staticmethod
    def mul(base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """``mul``: the product of the two ``args``."""
        args = request.get("args")
        if isinstance(args, dict):
            args = list(args.values())
        if not isinstance(args, list) or len(args) != 2:
            return "error", {"status": 400, "body": "mul needs args: [a, b]"}
        a, b = (_int(x, 0) for x in args)
        return "ok", {"state": base.get("state"), "results": [a * b]}

    @staticmethod
    def snapshot(base: dict[str, Any]) -> tuple[str, Any]:
        """``snapshot``: an empty snapshot."""
        return "ok", {}

    @staticmethod
    def delay(base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """``delay``: sleep ``duration`` ms (at most 10 s), then return ``return`` or the state."""
        ms = min(_int(request.get("duration", base.get("duration")), 750), 10_000)
        time.sleep(ms / 1000)
        if "return" in base:
            return "ok", base["return"]
        if "body" in request:
            return "ok", request["body"]
        return "ok", {"result": "slept"}


TestDevice.__test__ = False  # type: ignore[attr-defined]  # not a pytest class
DEVICE = TestDevice()
