"""Prometheus metrics of a node (``GET /metrics``), on ``prometheus_client``.

Each :class:`Metrics` has its own registry, so several nodes in one process (tests) do not clash.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
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
        self.steps = Counter("hb_resolve_steps", "AO-Core resolution steps", registry=r)
        self.cache = Counter(
            "hb_cache_lookups", "Messages loaded by ID from the store", ["result"], registry=r
        )
        self.signatures = Counter("hb_signatures", "Response commitments made", ["alg"], registry=r)
        self.verifications = Counter(
            "hb_request_verifications", "Signed requests checked", ["result"], registry=r
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
