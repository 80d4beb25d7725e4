"""hyperbeam_fast.heap: the C heap's thresholds are fixed on glibc (issue 15 item 3; the RSS
effect is measured by benches/bench_restart.py)."""

from __future__ import annotations

import platform
import sys

import pytest
from hyperbeam_fast import heap


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt thresholds are glibc's",
)
def test_bound_heap_sets_the_thresholds_once():
    assert heap.bound_heap() is True
    assert heap.bound_heap() is True  # idempotent
