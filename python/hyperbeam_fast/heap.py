"""The C heap's settings for a node that computes processes (issue 15 item 3: memory levels
off).

A process slot moves multi-megabyte buffers (the AOS memory snapshot is 12 MB, its pages, the
JSON documents). glibc's malloc raises its mmap threshold to the size of each large block it
frees (dynamic threshold, up to 32 MiB), so after the first snapshot these buffers come from the
main heap, whose freed space is kept, fragmented, instead of going back to the OS: RSS grew
from 116 MB after 1,000 AOS slots to 173 MB after 10,000 (1.49x), and ``malloc_trim(0)`` gave
70-100 MB back. Fixing the thresholds (``mallopt``) keeps large blocks mmapped (returned on
free) and trims the heap top sooner. No-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: ``mallopt`` parameters (glibc ``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks from this size up are mmapped (fixed: no dynamic raise).
MMAP_THRESHOLD = 1 << 20
#: Free space above this at the heap's top goes back to the OS.
TRIM_THRESHOLD = 4 << 20

_done = False


def bound_heap() -> bool:
    """Set the thresholds once per process; whether they were set (glibc only)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok: bool = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    _done = ok
    return ok
