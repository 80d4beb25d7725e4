"""Resolution limits (spec runtime §2.4): nesting depth and steps per top-level call.

``max_depth`` (default 64) bounds nested resolutions (devices resolving inside devices,
sub-paths); ``max_steps`` (default 100000) bounds the steps of one top-level call, or of one
unit of work run under :class:`step_budget`. Past either, a resolution is a 508 error status,
never a stack overflow or a hang. The counters are per thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from .values import err

MAX_DEPTH = 64
MAX_STEPS = 100_000


def default_resolver_threads() -> int:
    """The node's resolver threads when ``workers`` is not set: four per core, at least 8.
    Computes may hold at most half of them (the compute gate admits a quarter and as many
    waiting), so requests that do not compute always find a thread (docs/security.md §4), and
    a few clients of one process are not answered 503 (docs/node.md)."""
    return max(8, 4 * (os.cpu_count() or 2))


class _Ctx(threading.local):
    depth = 0
    steps = 0


_ctx = _Ctx()


def limit_error(what: str) -> tuple[str, dict[str, Any]]:
    """The 508 status of a limit (``depth``, ``step`` or ``recursion``) reached."""
    return err(508, f"Request creates infinite recursion ({what} limit reached).")


def steps_taken() -> int:
    """Resolution steps this thread has taken in its current top-level call (or budget)."""
    return _ctx.steps


def take_step(opts: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Count one resolution step: the limit's error status once ``max_steps`` is passed."""
    ctx = _ctx
    ctx.steps += 1
    if ctx.steps > opts.get("max_steps", MAX_STEPS):
        return limit_error("step")
    return None


def guarded(fn: Callable[..., tuple[str, Any]], *args: Any) -> tuple[str, Any]:
    """Run a resolution under the depth limit (``opts`` is the last argument): too deep or a
    Python recursion error is a 508 error status, never a crash. A top-level call (depth 0)
    starts a fresh step count."""
    opts = args[-1]
    ctx = _ctx
    if ctx.depth >= opts.get("max_depth", MAX_DEPTH):
        return limit_error("depth")
    if ctx.depth == 0:
        ctx.steps = 0
    ctx.depth += 1
    try:
        return fn(*args)
    except RecursionError:
        return limit_error("recursion")
    finally:
        ctx.depth -= 1


class step_budget:  # noqa: N801 - used as a context manager, like a function
    """``with step_budget():`` runs its resolutions on a fresh ``max_steps`` count and then gives
    the caller back its own: for a loop over independent units of work whose number is bounded
    elsewhere (process@1.0 computing N scheduled slots, runtime §12.3). Each unit keeps the
    runaway protection; the loop is bounded by its own length."""

    __slots__ = ("_saved",)

    def __enter__(self) -> None:
        self._saved = _ctx.steps
        _ctx.steps = 0

    def __exit__(self, *_: object) -> None:
        _ctx.steps = self._saved
