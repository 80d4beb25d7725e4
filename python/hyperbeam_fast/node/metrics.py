"""Prometheus metrics of a node (``GET /metrics``), on ``prometheus_client``.

Each :class:`Metrics` has its own registry, so several nodes in one process (tests) do not clash.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
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

    def request_done(self, method: str, status: int, seconds: float) -> None:
        """Count one finished request (method, status) and observe its latency."""
        child = self._req_children.get((method, status))
        if child is None:
            child = self.requests.labels(method, str(status))
            if len(self._req_children) < 256:
                self._req_children[(method, status)] = child
        child.inc()  # type: ignore[attr-defined]
        self.latency.observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """``(body, content type)`` of the ``/metrics`` reply."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
