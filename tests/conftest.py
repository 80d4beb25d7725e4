"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The reference material (specs, vectors) in ../shared, or $HYPERBEAM_SHARED."""
    env = os.environ.get("HYPERBEAM_SHARED")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"
    if not path.is_dir():
        pytest.skip("reference material ../shared not found (set HYPERBEAM_SHARED)")
    return path
