"""The node's inline fast path (docs/node.md, "Where the time goes"): which requests are cheap
enough to resolve on the event loop instead of hopping to the resolver pool, and the values
that carry a request between the two (:class:`Deferred`, :class:`CachedResponse`).
"""

from __future__ import annotations

from typing import Any

from .. import ao, cache
from ..ao import is_id as _is_id
from ..exceptions import InvalidStorePath, NotFound, StoreError
from .http import TRANSPORT_REQUEST_HEADERS

#: Devices whose keys (other than :data:`HEAVY_KEYS`) are pure, in-memory and cheap: requests
#: that only touch these run on the event loop instead of hopping to the resolver pool.
CHEAP_DEVICES = frozenset({"message@1.0", "meta@1.0"})
#: Keys that may cost an RSA operation (or more): never run inline.
HEAVY_KEYS = frozenset({"commit", "verify"})
#: A message loaded by ID is resolved inline only if its values total at most this many bytes.
INLINE_MAX_BYTES = 64 * 1024
#: Request paths whose (HMAC-committed) response is a pure function of the node message and the
#: request's non-transport headers: their encoded response is cached per node-message version.
CACHEABLE_PATHS = frozenset({"/~meta@1.0/info"})
RESPONSE_CACHE_MAX = 64
#: Request headers that always take the resolver pool (signature checks, other codecs).
POOL_HEADERS = frozenset({b"signature", b"signature-input", b"codec-device"})
#: The transport request headers (runtime §7.2) as the bytes the ASGI scope carries.
TRANSPORT_HEADERS_B = frozenset(h.encode() for h in TRANSPORT_REQUEST_HEADERS)


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def dev_name(v: Any) -> str | None:
    """A ``device`` value, lower-cased, or None when it is not text."""
    if isinstance(v, (str, bytes)):
        return _text(v).lower()
    return None


def plain(value: Any, budget: int = INLINE_MAX_BYTES) -> bool:
    """No sub-resolution markers or unknown objects, no ``device`` key (any case) naming other
    than a cheap device, and at most ``budget`` bytes of text/binary values, at any depth."""
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is dict:
            for k in v:
                if type(k) is str and len(k) == 6 and k.lower() == "device":
                    if dev_name(v[k]) not in CHEAP_DEVICES:
                        return False
            push(v.values())
        elif t is bytes or t is str:
            budget -= len(v)
            if budget < 0:
                return False
        elif t is list:
            push(v)
        elif t is int or t is float or t is bool or v is None:
            continue
        elif isinstance(v, (str, bytes)):  # Atom and other text subclasses
            budget -= len(v)
            if budget < 0:
                return False
        else:
            return False
    return True


def is_local(store: Any) -> bool:
    """Whether every store of ``store`` (a chain's too) is local (no remote reads inline)."""
    stores = getattr(store, "stores", None)
    if stores is not None:
        return all(is_local(s) for s in stores)
    return getattr(store, "scope", "remote") == "local"


def local_part(store: Any) -> Any:
    """The local stores of ``store``: itself when local, a chain's local stores (one store, or
    a chain of them), or None. The event loop reads only these; a miss goes to the pool."""
    if is_local(store):
        return store
    stores = getattr(store, "stores", None)
    if not stores:
        return None
    local = [s for s in stores if is_local(s)]
    if not local:
        return None
    return local[0] if len(local) == 1 else type(store)(local)


def cheap_steps(msgs: list[Any], store: Any, metrics: Any) -> list[Any] | None:
    """``msgs`` (with a leading ID loaded from the local ``store``) when resolving them is
    cheap enough for the event loop: only message@1.0/meta@1.0, no sub-resolutions, no
    RSA keys, small loaded messages. None otherwise."""
    if not msgs:
        return None
    first = msgs[0]
    if _is_id(first):
        try:
            loaded = cache.read(_text(first), store)
        except (NotFound, InvalidStorePath, StoreError):
            return None  # the pool's resolution loads it again and reports the miss
        if not isinstance(loaded, dict) or not plain(loaded):
            return None
        metrics.cache_hit.inc()
        msgs = [loaded, *msgs[1:]]
    elif isinstance(first, ao.As):
        if dev_name(first.device) not in CHEAP_DEVICES or not isinstance(first.msg, dict):
            return None
        if not plain(first.msg):
            return None
    elif not isinstance(first, dict) or not plain(first):
        return None
    for step in msgs[1:]:
        if not isinstance(step, dict) or not plain(step):
            return None
        p = step.get("path")
        if not isinstance(p, str) or "/" in p or p.lower() in HEAVY_KEYS:
            return None
    return msgs


class CachedResponse(tuple[int, list[tuple[bytes, bytes]], bytes]):
    """A cached ``(status, headers, body)``; ``head`` keeps its serialised header block."""

    head: bytes | None = None


class Deferred:
    """A request prepared on the event loop that is not cheap: the resolver pool finishes it
    (:meth:`~hyperbeam_fast.node.pipeline.Node.finish`)."""

    __slots__ = ("codec", "msgs", "req_headers", "singleton")

    def __init__(
        self, singleton: dict[str, Any], codec: str, msgs: list[Any], req_headers: dict[str, Any]
    ) -> None:
        self.singleton = singleton
        self.codec = codec
        self.msgs = msgs
        self.req_headers = req_headers
