"""``GatewayStore``: single-ID reads from an Arweave gateway (runtime §10.3, scope ``remote``;
HyperBEAM ``hb_store_gateway`` over ``hb_gateway_client``).

A read of one base64url ID (nothing else: paths, hashpaths and ``data/<h>`` keys are misses)
asks the gateway's GraphQL (``POST <graphql>``, HyperBEAM's ``transactions(ids: [ID], first:
1)`` query, with the ``subindex`` tag filter when set) for the item's header fields, then its
data from ``GET <url>/raw/<ID>`` (``raw_template``). The fields and the data are rebuilt into a
binary ANS-104 data item, which must verify (its signature over its deep hash) and whose ID (the
SHA-256 of its signature) must be the ID asked for; anything else is refused with a
:class:`~hyperbeam_fast.exceptions.StoreCorrupt` naming the ID, so a gateway cannot hand the
node data of its own making. HyperBEAM's ``ans104_trust_gql`` (accepting an unverifiable answer
on the GraphQL service's word) is not offered, and Arweave (layer-1) transactions, whose
signature covers a data root, are refused the same way: only data items are read.

Network failures, timeouts, non-200 replies and oversized answers are
:class:`~hyperbeam_fast.exceptions.StoreError`; an ID the gateway does not know is a miss
(``None``). A :class:`~.chain.StoreChain` with ``write_through`` writes what this store
returns to its local store, so each ID is fetched once.

Misses are remembered (:class:`MissCache`): an ID the gateway said it does not have (GraphQL
answered with no transaction, or a 404) is not asked for again for ``miss_ttl`` seconds
(node option ``gateway_miss_ttl``, default :data:`DEFAULT_MISS_TTL`; 0: never remembered),
at most ``miss_max`` IDs (least recently missed dropped first: fresh IDs cannot grow it). An
error (unreachable, a timeout, a 5xx, a malformed or unverifiable answer) is never remembered:
the next read asks again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from ..codecs import ans104
from ..exceptions import HyperbeamError, StoreCorrupt, StoreError
from .base import GROUP, RAW, Entry, Store, join

#: A base64url ID of 32 bytes (43 characters), the only keys this store answers.
_ID = re.compile(r"[A-Za-z0-9_-]{43}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
#: ``hb_gateway_client:item_spec/0``: the fields an ANS-104 item is rebuilt from.
ITEM_SPEC = (
    "node { id anchor signature recipient owner { key } fee { winston } "
    "quantity { winston } tags { name value } data { size } }"
)
#: Largest GraphQL reply read (bytes).
MAX_GRAPHQL_REPLY = 1 << 20
#: Signature lengths of the item kinds this store rebuilds: RSA-4096 (ANS-104 type 1).
_RSA_SIG = 512
#: Seconds a definite miss is remembered (``gateway_miss_ttl``), and how many IDs at most.
DEFAULT_MISS_TTL = 60.0
DEFAULT_MISS_MAX = 10_000


class MissCache:
    """IDs a gateway said it does not have, each remembered for ``ttl`` seconds of ``clock``,
    at most ``max_size`` of them (least recently missed dropped first). Thread-safe."""

    def __init__(
        self,
        ttl: float = DEFAULT_MISS_TTL,
        max_size: int = DEFAULT_MISS_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0 or max_size < 0:
            raise StoreError("a gateway miss cache needs a TTL and a size >= 0")
        self.ttl = float(ttl)
        self.max_size = int(max_size)
        self.clock = clock
        self._until: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._until)

    def add(self, key: str) -> None:
        """Remember that ``key`` is missing (for ``ttl`` seconds from now)."""
        if self.ttl <= 0 or self.max_size <= 0:
            return
        with self._lock:
            self._until[key] = self.clock() + self.ttl
            self._until.move_to_end(key)
            while len(self._until) > self.max_size:
                self._until.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` was missed less than ``ttl`` seconds ago (an expired entry goes)."""
        if not self._until or not isinstance(key, str):
            return False
        with self._lock:
            until = self._until.get(key)
            if until is None:
                return False
            if self.clock() < until:
                return True
            del self._until[key]
            return False


def _b64url(s: Any, what: str, key: str) -> bytes:
    if not isinstance(s, str):
        raise StoreCorrupt(f"gateway answer for {key!r}: {what} is not a string")
    if not _B64URL.fullmatch(s):
        raise StoreCorrupt(f"gateway answer for {key!r}: {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (ValueError, TypeError):
        raise StoreCorrupt(f"gateway answer for {key!r}: {what} is not base64url") from None


def subindex_tags(subindex: Any) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of a subindex: a list of ``{name, value}`` maps (HyperBEAM's
    form, or a numbered map of them) or a ``{name: value}`` map."""
    if subindex is None:
        return []
    if isinstance(subindex, Mapping):
        vals = list(subindex.values())
        if vals and all(isinstance(v, Mapping) for v in vals):
            subindex = vals  # a numbered map of {name, value}
        else:
            return [(_text(k), _text(v)) for k, v in subindex.items()]
    if not isinstance(subindex, Sequence) or isinstance(subindex, (str, bytes)):
        raise StoreError(f"gateway subindex must be a list of name/value maps, got {subindex!r}")
    out = []
    for spec in subindex:
        if not isinstance(spec, Mapping) or "name" not in spec or "value" not in spec:
            raise StoreError(f"gateway subindex entry needs name and value: {spec!r}")
        out.append((_text(spec["name"]), _text(spec["value"])))
    return out


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def read_query(ident: str, tags: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The GraphQL request for one ID (``hb_gateway_client:read/2``); tag names and values are
    written as JSON strings, which GraphQL reads the same way (no injection)."""
    filt = ""
    if tags:
        inner = ", ".join(
            f"{{ name: {json.dumps(n)}, values: [{json.dumps(v)}] }}" for n, v in tags
        )
        filt = f"tags: [{inner}], "
    q = (
        "query($transactionIds: [ID!]!) { "
        f"transactions(ids: $transactionIds, {filt}first: 1){{ edges {{ {ITEM_SPEC} }} }} }}"
    )
    return {"query": q, "variables": {"transactionIds": [ident]}}


class GatewayStore(Store):
    """Reads verified data items by ID from the Arweave gateway at ``url``; never writes.

    ``graphql``: the GraphQL endpoint (default ``<url>/graphql``); ``raw_template``: where an
    item's data is (default ``{url}/raw/{id}``); ``subindex``: tags every answer must carry
    (:func:`subindex_tags`); ``timeout``: seconds per HTTP request; ``max_size``: the largest
    data read (bytes); ``miss_ttl`` and ``miss_max``: the :class:`MissCache` of IDs the
    gateway does not have (``miss_ttl=0``: none); ``clock``: its clock (tests).
    """

    scope = "remote"
    writable = False

    def __init__(
        self,
        url: str,
        *,
        graphql: str | None = None,
        raw_template: str = "{url}/raw/{id}",
        subindex: Any = None,
        timeout: float = 10.0,
        max_size: int = 64 * 1024 * 1024,
        miss_ttl: float = DEFAULT_MISS_TTL,
        miss_max: int = DEFAULT_MISS_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for u in (url, graphql or url):
            p = urllib.parse.urlsplit(u)
            if p.scheme not in ("http", "https") or not p.netloc:
                raise StoreError(f"GatewayStore needs an http(s) URL, got {u!r}")
        self.url = url.rstrip("/")
        self.graphql = graphql or f"{self.url}/graphql"
        self.raw_template = raw_template
        self.tags = subindex_tags(subindex)
        self.timeout = float(timeout)
        self.max_size = int(max_size)
        self.misses = MissCache(miss_ttl, miss_max, clock)

    def __repr__(self) -> str:
        sub = f", subindex={self.tags!r}" if self.tags else ""
        return f"GatewayStore({self.url!r}{sub})"

    # --- HTTP -------------------------------------------------------------------------------

    def _http(self, req: urllib.request.Request, limit: int, key: str) -> bytes | None:
        """The body of a 200 reply (``None`` for 404), at most ``limit`` bytes."""
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                body = resp.read(limit + 1)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise StoreError(f"gateway {self.url}: HTTP {e.code} for {key!r}") from e
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise StoreError(f"gateway {self.url} unreachable for {key!r}: {e}") from e
        if len(body) > limit:
            raise StoreError(f"gateway {self.url}: the answer for {key!r} is over {limit} bytes")
        return cast(bytes, body)

    def _graphql_node(self, key: str) -> tuple[dict[str, Any] | None, bool]:
        """``(the transaction's node, None when there is none; whether that is a definite
        answer)``: GraphQL's reply with no transaction is, a 404 of the endpoint is not."""
        body = json.dumps(read_query(key, self.tags)).encode()
        req = urllib.request.Request(
            self.graphql,
            data=body,
            method="POST",
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        raw = self._http(req, MAX_GRAPHQL_REPLY, key)
        if raw is None:
            return None, False
        try:
            edges = json.loads(raw)["data"]["transactions"]["edges"]
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"gateway {self.graphql}: no transactions in the reply") from None
        if not isinstance(edges, list):
            return None, False  # not an answer to remember
        if not edges:
            return None, True
        node = edges[0].get("node") if isinstance(edges[0], dict) else None
        if not isinstance(node, dict):
            raise StoreError(f"gateway {self.graphql}: a transaction edge without a node")
        return node, True

    def _data(self, key: str) -> bytes:
        url = self.raw_template.format(url=self.url, id=key)
        req = urllib.request.Request(url, method="GET", headers={"accept": "*/*"})
        data = self._http(req, self.max_size, key)
        if data is None:
            raise StoreError(f"gateway {self.url}: no data at {url} for {key!r}")
        return data

    # --- the item -----------------------------------------------------------------------------

    def read_item(self, key: str | Sequence[str]) -> bytes | None:
        """The verified binary data item with ID ``key`` (``None``: not an ID, or unknown)."""
        k = join(key)
        if not _ID.fullmatch(k) or k in self.misses:
            return None
        node, definite = self._graphql_node(k)
        if node is None:  # errors raise and are not remembered; a 404 of GraphQL is not either
            if definite:
                self.misses.add(k)
            return None
        if node.get("id") != k:
            raise StoreCorrupt(f"gateway answer for {k!r} is about {node.get('id')!r}")
        sig = _b64url(node.get("signature"), "signature", k)
        if len(sig) != _RSA_SIG:
            raise StoreCorrupt(
                f"gateway answer for {k!r}: a {len(sig)}-byte signature (only RSA data "
                "items are read)"
            )
        if hashlib.sha256(sig).digest() != _b64url(k, "ID", k):
            raise StoreCorrupt(f"gateway answer for {k!r}: its signature is not that ID's")
        owner = node.get("owner")
        owner_key = _b64url(owner.get("key") if isinstance(owner, dict) else None, "owner", k)
        target = node.get("recipient") or ""
        anchor = node.get("anchor") or ""
        tags = node.get("tags") or []
        if not isinstance(tags, list) or not all(
            isinstance(t, dict)
            and isinstance(t.get("name"), str)
            and isinstance(t.get("value"), str)
            for t in tags
        ):
            raise StoreCorrupt(f"gateway answer for {k!r}: malformed tags")
        data = self._data(k)
        size = (node.get("data") or {}).get("size") if isinstance(node.get("data"), dict) else None
        if size is not None and str(size) != str(len(data)):
            raise StoreCorrupt(
                f"gateway answer for {k!r}: {len(data)} bytes of data, GraphQL says {size}"
            )
        tx = {
            "format": "ans104",
            "signature_type": 1,
            "signature": sig,
            "owner": owner_key,
            "target": _b64url(target, "recipient", k) if target else b"",
            "last_tx": _anchor(anchor, k),
            "tags": [(t["name"].encode(), t["value"].encode()) for t in tags],
            "data": data,
        }
        try:
            item = ans104.serialize_tx(tx)
            ok = ans104.verify_item(item)
        except (HyperbeamError, ValueError, TypeError, OverflowError) as e:
            raise StoreCorrupt(
                f"gateway answer for {k!r} is no data item (a layer-1 transaction is not read): {e}"
            ) from e
        if not ok:
            raise StoreCorrupt(
                f"gateway answer for {k!r} does not verify as a data item with that ID "
                "(its data or tags were altered, or it is a layer-1 transaction)"
            )
        return item

    def read_message(self, key: str | Sequence[str]) -> dict[str, Any] | None:
        """The message of the data item with ID ``key``, verified (``None`` for a miss)."""
        item = self.read_item(key)
        if item is None:
            return None
        try:
            return cast("dict[str, Any]", ans104.decode(item))
        except (HyperbeamError, ValueError, TypeError) as e:
            raise StoreCorrupt(f"gateway item {join(key)!r} does not decode: {e}") from e

    # --- the store interface, in terms of whole reads ----------------------------------------

    def _entry(self, path: str) -> Entry | None:
        r = self.read_message(path)
        if r is None:
            return None
        return (GROUP, None) if isinstance(r, dict) else (RAW, r)

    def resolve(self, key: str | Sequence[str]) -> str:
        """``key`` itself: a gateway has no links (``hb_store_gateway:resolve``)."""
        return join(key)

    def _children(self, path: str) -> list[str]:
        r = self.read_message(path)
        return list(r) if isinstance(r, dict) else []

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        raise StoreError("GatewayStore is read-only")

    def reset(self) -> None:
        """Refused: a gateway store is read-only (:class:`StoreError`)."""
        raise StoreError("GatewayStore is read-only")


def _anchor(anchor: Any, key: str) -> bytes:
    """An item's anchor from GraphQL: empty, or 32 bytes given as base64url (some gateways
    give the 32 bytes' own text when they are printable)."""
    if not anchor:
        return b""
    if not isinstance(anchor, str):
        raise StoreCorrupt(f"gateway answer for {key!r}: the anchor is not a string")
    if len(anchor) == 43:
        return _b64url(anchor, "anchor", key)
    return anchor.encode()
