"""Prometheus metrics of a node (``GET /metrics``), on ``prometheus_client``.

Each :class:`Metrics` has its own registry, so several nodes in one process (tests) do not clash.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The node's Prometheus metrics (requests, latency, signatures, cache, resolution steps)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "hb_http_requests", "HTTP requests handled", ["method", "status"], registry=r
        )
        self.latency = Histogram(
            "hb_http_request_duration_seconds",
            "Time from a complete request to its response",
            buckets=_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("hb_http_in_flight", "Requests being handled", registry=r)
        #: the requests being handled, counted by the event loop (read when scraped: no lock
        #: taken per request)
        self.in_flight_now = 0
        self.in_flight.set_function(lambda: self.in_flight_now)
        self.steps = Counter("hb_resolve_steps", "AO-Core resolution steps", registry=r)
        self.cache = Counter(
            "hb_cache_lookups", "Messages loaded by ID from the store", ["result"], registry=r
        )
        self.signatures = Counter("hb_signatures", "Response commitments made", ["alg"], registry=r)
        self.verifications = Counter(
            "hb_request_verifications", "Signed requests checked", ["result"], registry=r
        )
        # label children bound once (``labels()`` takes a lock and builds a key every call)
        self.cache_hit = self.cache.labels("hit")
        self.cache_miss = self.cache.labels("miss")
        self.cache_error = self.cache.labels("error")
        self.sig_rsa = self.signatures.labels("rsa-pss-sha512")
        self.sig_ans104 = self.signatures.labels("rsa-pss-sha256")
        self.sig_hmac = self.signatures.labels("hmac-sha256")
        self._req_children: dict[tuple[str, int], object] = {}
        self.state = _StateCollector()
        r.register(self.state)

    def request_done(self, method: str, status: int, seconds: float) -> None:
        """Count one finished request (method, status) and observe its latency."""
        child = self._req_children.get((method, status))
        if child is None:
            child = self.requests.labels(method, str(status))
            if len(self._req_children) < 256:
                self._req_children[(method, status)] = child
        child.inc()  # type: ignore[attr-defined]
        self.latency.observe(seconds)

    def watch(
        self,
        processes: Callable[[], int],
        slots: Callable[[], int],
        store_bytes: Callable[[], int | None],
    ) -> None:
        """The node's state, read when ``/metrics`` is scraped: live processes, slots computed
        since start-up and the store's size (measuring an on-disk store walks its directory: see
        :data:`STORE_SIZE_SHARE`)."""
        self.state.processes, self.state.slots, self.state.store_bytes = (
            processes,
            slots,
            store_bytes,
        )

    def render(self) -> tuple[bytes, str]:
        """``(body, content type)`` of the ``/metrics`` reply."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


#: Measuring the store's size (``hb_store_bytes``) takes at most this share of the time: after a
#: walk of ``t`` seconds the next one waits ``t / STORE_SIZE_SHARE`` (at least 0.5 s).
STORE_SIZE_SHARE = 0.05


class _StateCollector:
    """``hb_processes_live``, ``hb_process_slots_computed_total`` and ``hb_store_bytes``, from
    the callbacks :meth:`Metrics.watch` set (absent until then)."""

    def __init__(self) -> None:
        self.processes: Callable[[], int] | None = None
        self.slots: Callable[[], int] | None = None
        self.store_bytes: Callable[[], int | None] | None = None
        self._size: tuple[float, int | None] = (float("-inf"), None)  # (next walk, bytes)
        self._lock = threading.Lock()

    def _store_size(self) -> int | None:
        if self.store_bytes is None:
            return None
        with self._lock:  # one walk at a time; scrapes in between get the last value
            due, size = self._size
            now = time.monotonic()
            if now >= due:
                try:
                    size = self.store_bytes()
                except Exception:  # noqa: BLE001 - a closed or failing store: no value
                    size = None
                took = time.monotonic() - now
                self._size = (now + max(0.5, took / STORE_SIZE_SHARE), size)
            return size

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        if self.processes is not None:
            yield GaugeMetricFamily(
                "hb_processes_live", "Processes with a live state in memory", self.processes()
            )
        if self.slots is not None:
            yield CounterMetricFamily(
                "hb_process_slots_computed", "Process slots computed since start", self.slots()
            )
        size = self._store_size()
        if size is not None:
            yield GaugeMetricFamily("hb_store_bytes", "Bytes held by the node's store", size)
