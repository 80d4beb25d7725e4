"""What a test does when a capability the package installs is missing (issue 13 item 8).

Outside CI such a test skips with the reason; under ``CI=true`` (``.ci/run`` sets it) the same
test fails: CI installs everything the README names, so a skip there would hide a claim of the
package that was never checked."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def missing(reason: str) -> None:
    """Skip (or, under CI, fail) the running test: ``reason`` names what is missing."""
    if in_ci():
        pytest.fail(f"installed capability missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)
