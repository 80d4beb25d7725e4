"""Write-behind of computed process states (``process_async_cache``, issue 15 item 4).

HyperBEAM's ``process_async_cache`` (on by default there and on the node here) writes a computed
slot's state after the slot, off the path that answers the request. :data:`WRITER` does that in
one background thread: jobs run in the order they were submitted (so a process's states and
snapshots are written in slot order, each job one whole slot or batch of slots, each state in
one store batch), and until a job is done its states are served from memory
(:meth:`WriteBehind.pending`), so a read never misses a state that was computed.

What a crash can lose is the tail of that queue: whole slots, never part of one, and never a
slot's assignment (the scheduler writes those before it answers). They are recomputed from the
schedule by the next compute, from the newest snapshot that was written. A graceful stop flushes
(:meth:`WriteBehind.flush`: ``forget_live``, the node's ``close``).

At most :data:`MAX_JOBS` jobs wait: past that :meth:`WriteBehind.submit` blocks until the
writer catches up, so memory stays bounded (a job may hold a snapshot's pages).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_JOBS = 64
_log = logging.getLogger("hyperbeam_fast.process")


class WriteBehind:
    """One writer thread; jobs in submission order; their states readable until written."""

    def __init__(self, max_jobs: int = MAX_JOBS) -> None:
        self.max_jobs = max_jobs
        self._cv = threading.Condition()
        self._jobs: deque[tuple[Any, dict[int, dict[str, Any]], Callable[[], None]]] = deque()
        self._pending: dict[Any, dict[int, dict[str, Any]]] = {}
        self._busy = False
        self._thread: threading.Thread | None = None
        self.failures = 0  #: jobs whose write raised (logged; their slots recompute)

    def submit(self, key: Any, states: dict[int, dict[str, Any]], job: Callable[[], None]) -> None:
        """Queue ``job`` (it writes ``states``, ``{slot: public state}`` of process ``key``)."""
        with self._cv:
            while len(self._jobs) >= self.max_jobs:
                self._cv.wait()
            self._pending.setdefault(key, {}).update(states)
            self._jobs.append((key, states, job))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="hb-process-writes", daemon=True
                )
                self._thread.start()
            self._cv.notify_all()

    def pending(self, key: Any, slot: int) -> dict[str, Any] | None:
        """The state of ``slot`` of ``key`` if it is computed but not yet written."""
        got = self._pending.get(key)
        return None if got is None else got.get(slot)

    def flush(self) -> None:
        """Wait until every queued job is written."""
        with self._cv:
            while self._jobs or self._busy:
                self._cv.wait()

    def discard(self) -> int:
        """Drop the queued jobs unwritten (what a crash does; for tests; a job being written
        finishes); returns how many were dropped."""
        with self._cv:
            n = len(self._jobs)
            self._jobs.clear()
            self._pending.clear()
            self._cv.notify_all()
            return n

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._jobs:
                    self._cv.wait()
                key, states, job = self._jobs.popleft()
                self._busy = True
                self._cv.notify_all()  # room in the queue
            try:
                job()
            except Exception:  # noqa: BLE001 - a failed write loses slots that recompute
                self.failures += 1
                _log.exception("writing computed states failed (they will be recomputed)")
            finally:
                with self._cv:
                    self._busy = False
                    got = self._pending.get(key)
                    if got is not None:
                        for slot, st in states.items():
                            if got.get(slot) is st:
                                del got[slot]
                        if not got:
                            del self._pending[key]
                    self._cv.notify_all()


WRITER = WriteBehind()
