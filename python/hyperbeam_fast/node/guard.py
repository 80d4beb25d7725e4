"""Which connections the node keeps open (issue 11; docs/node.md, limits): transport-free, driven
by the protocol (:mod:`.uvicorn_protocol`)."""

from __future__ import annotations

from typing import Any


class ConnectionGuard:
    """Which connections the server keeps open (issue 11: 1,100 idle sockets locked everyone
    out). At most ``max_total`` connections, ``max_per_ip`` from one client address; a new
    connection over a cap closes the oldest one that is not running a request (those that never
    finished sending one first, then idle keep-alive ones), of the same address when that
    address is at its cap. Only when every connection is running a request is the newcomer
    refused (503). Idle and slow sockets therefore cost their owner their oldest sockets, never
    another client its turn; the head deadline (from accept) closes the rest."""

    def __init__(self, max_total: int, max_per_ip: int) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.per_ip: dict[str, int] = {}
        # evictable connections, oldest first (dicts keep insertion order)
        self.incomplete: dict[Any, None] = {}  # a request not (yet) fully received
        self.idle: dict[Any, None] = {}  # keep-alive, between requests
        self.ip: dict[Any, str] = {}

    def admit(self, conn: Any, ip: str) -> bool:
        """Register a new connection, evicting one if at a cap; False: refuse it."""
        if self.per_ip.get(ip, 0) >= self.max_per_ip:
            if not self._evict(ip):
                return False
        elif len(self.ip) >= self.max_total and not self._evict(None):
            return False
        self.ip[conn] = ip
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        self.incomplete[conn] = None
        return True

    def receiving(self, conn: Any) -> None:
        """``conn`` started a request (its head or body is on the way)."""
        if conn in self.ip and conn not in self.incomplete:
            self.idle.pop(conn, None)
            self.incomplete[conn] = None

    def busy(self, conn: Any) -> None:
        """``conn``'s request is complete and running: never evicted."""
        self.incomplete.pop(conn, None)
        self.idle.pop(conn, None)

    def done(self, conn: Any) -> None:
        """``conn`` answered its request and waits (keep-alive) for the next."""
        if conn in self.ip:
            self.incomplete.pop(conn, None)
            self.idle[conn] = None

    def lost(self, conn: Any) -> None:
        """Forget a closed connection (its slot and its address's count)."""
        ip = self.ip.pop(conn, None)
        if ip is None:
            return
        self.incomplete.pop(conn, None)
        self.idle.pop(conn, None)
        left = self.per_ip[ip] - 1
        if left:
            self.per_ip[ip] = left
        else:
            del self.per_ip[ip]

    def _evict(self, ip: str | None) -> bool:
        for group in (self.incomplete, self.idle):
            for conn in group:
                if ip is None or self.ip[conn] == ip:
                    self.lost(conn)
                    conn.evict()
                    return True
        return False


__all__ = ["ConnectionGuard"]
