"""The resolver's step hook slot (spec runtime §2.4 stage 7, §6).

When ``opts["on"]["step"]`` is set, each step's ``(status, value)`` goes through the function
registered here; :mod:`hyperbeam_fast.devices.hook` registers ``dev_hook``'s runner when the
devices are imported, so the resolver itself imports no device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

StepHook = Callable[
    [dict[str, Any], dict[str, Any], str, Any, dict[str, Any]], "tuple[str, Any] | None"
]

_step_hook: list[StepHook] = []


def register_step_hook(fn: StepHook) -> None:
    """Set the step hook runner: ``fn(base, request, status, value, opts)`` returns the
    replacement ``(status, value)``, or ``None`` to keep the step's own result."""
    _step_hook[:] = [fn]


def run_step_hook(
    base: dict[str, Any], request: dict[str, Any], status: str, value: Any, opts: dict[str, Any]
) -> tuple[str, Any] | None:
    """The registered runner's answer (``None`` when none is registered)."""
    return _step_hook[0](base, request, status, value, opts) if _step_hook else None
