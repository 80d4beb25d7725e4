"""``RemoteStore``: another node's cache over HTTP (runtime §10.3, scope ``remote``, like
HyperBEAM's ``hb_store_remote_node``).

Reads: ``GET <url>/~cache@1.0/read?target=<key>`` (``template`` can change it, e.g.
``"{url}/{key}"``). A ``200`` reply is a message in ``httpsig@1.0`` form: its headers (lower-cased,
transport headers dropped) and its body make the encoded message, decoded with
``convert(..., "structured@1.0", "httpsig@1.0")``; a reply with no message headers is a binary
(its body). ``404`` is a miss; anything else, or a network failure, is a
:class:`~hyperbeam_fast.exceptions.StoreError` (a :class:`StoreChain` moves on to the next store).

Writes (only with a ``wallet``; without one the store is read-only): requests signed with it
(the local node's wallet, as ``hb_store_remote_node`` signs with ``priv_wallet``) to the remote
node's cache@1.0, which takes them when the wallet's address is in its ``cache_writers``:

* ``write(key, value)``: ``POST /~cache@1.0/write`` with the binary as ``body`` (stored at
  ``data/<hash>`` there), then, when ``key`` is another path, a link ``key -> data/<hash>``;
* :meth:`RemoteStore.write_message` (what ``cache.write`` of a message uses): the whole message
  as ``body``; the remote node verifies its commitments and computes its IDs itself;
* ``make_link(existing, new)``: ``POST /~cache@1.0/link`` (``source``, ``destination``).

A refusal (403 for a non-writer, 400/409 for a link the remote's rules refuse) or a network
failure is a :class:`~hyperbeam_fast.exceptions.StoreError` naming the remote's reason. Groups
are not sent on their own: the remote node builds a message's groups when it writes it.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ..exceptions import HyperbeamError, StoreError
from ..node.http import TRANSPORT_RESPONSE_HEADERS
from .base import Entry, Store, join

if TYPE_CHECKING:
    from ..wallet import Wallet


class RemoteStore(Store):
    """Reads messages and binaries from the node at ``url``; writes to it with ``wallet``."""

    scope = "remote"
    writable = False

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        template: str = "{url}/~cache@1.0/read?target={key}",
        wallet: Wallet | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise StoreError(f"RemoteStore needs an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.template = template
        self.wallet = wallet
        self.writable = wallet is not None

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    def _fetch(self, key: str) -> tuple[dict[str, bytes], bytes] | None:
        url = self.template.format(url=self.url, key=urllib.parse.quote(key, safe="/"))
        req = urllib.request.Request(url, method="GET", headers={"accept": "*/*"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                body = resp.read()
                headers = {
                    k.lower(): v.encode("latin-1")
                    for k, v in resp.headers.items()
                    # the node's own transport headers (x-request-id too), as its client drops them
                    if k.lower() not in TRANSPORT_RESPONSE_HEADERS
                    and not k.lower().startswith("access-control-")
                }
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise StoreError(f"remote store {self.url}: HTTP {e.code} for {key!r}") from e
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise StoreError(f"remote store {self.url} unreachable: {e}") from e
        return headers, body

    def read_message(self, key: str | Sequence[str]) -> dict[str, Any] | bytes | None:
        """The message (or binary) the remote node has at ``key``; ``None`` for a miss."""
        got = self._fetch(join(key))
        if got is None:
            return None
        headers, body = got
        if not _is_message(headers):
            return body
        from ..message import convert

        enc: dict[str, Any] = dict(headers)
        if body:
            enc["body"] = body
        try:
            return cast(
                "dict[str, Any] | bytes | None", convert(enc, "structured@1.0", "httpsig@1.0")
            )
        except HyperbeamError as e:
            raise StoreError(f"remote store {self.url}: undecodable reply for {key!r}") from e

    # The store interface, in terms of whole remote reads.
    def _entry(self, path: str) -> Entry | None:
        from .base import GROUP, RAW

        r = self.read_message(path)
        if r is None:
            return None
        return (RAW, r) if isinstance(r, bytes) else (GROUP, None)

    def resolve(self, key: str | Sequence[str]) -> str:
        """``key`` as a path: the remote node follows links itself."""
        return join(key)  # links are resolved by the remote node

    def _children(self, path: str) -> list[str]:
        r = self.read_message(path)
        return list(r) if isinstance(r, dict) else []

    # The write side: signed requests to the remote node's cache@1.0.
    def _post(self, path: str, msg: dict[str, Any]) -> dict[str, Any]:
        from ..node import client

        self._check_writable()
        try:
            st, res = client.post(self.url, path, msg, wallet=self.wallet, timeout=self.timeout)
        except HyperbeamError as e:  # ClientError: unreachable, closed, undecodable
            raise StoreError(f"remote store {self.url}: {e}") from e
        status = res.get("status") if isinstance(res, dict) else None
        if st != "ok" or _text(status) != "200":
            why = _text(res.get("body", "")) if isinstance(res, dict) else _text(res)
            raise StoreError(f"remote store {self.url}: {path} refused ({status}): {why[:300]}")
        return cast("dict[str, Any]", res)

    def write_message(self, msg: dict[str, Any]) -> str:
        """Write a whole message on the remote node; its ID there (the unsigned ID)."""
        body = {k: v for k, v in msg.items() if not (isinstance(k, str) and k[:4] == "priv")}
        return _text(self._post("/~cache@1.0/write", {"body": body}).get("path", ""))

    def write(self, key: str | Sequence[str], value: bytes) -> None:
        """Write ``value`` on the remote node (at ``data/<hash>``) and link ``key`` to it."""
        self._check_writable()
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise StoreError(f"store values are bytes, not {type(value).__name__}")
        k = join(key)
        path = _text(self._post("/~cache@1.0/write", {"body": bytes(value)}).get("path", ""))
        if path != k:
            self.make_link(path, k)

    def make_link(self, existing: str | Sequence[str], new: str | Sequence[str]) -> None:
        """Make ``new`` a link to ``existing`` on the remote node (its link rules apply)."""
        e, n = join(existing), join(new)
        if e != n:
            self._post("/~cache@1.0/link", {"source": e, "destination": n})

    def make_group(self, key: str | Sequence[str]) -> None:
        """Nothing to send: the remote node makes groups when it writes a message."""
        self._check_writable()
        join(key)

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        self._check_writable()
        for op in ops:  # one request each: not atomic across operations
            if op[0] == "write":
                self.write(op[1], op[2])
            elif op[0] == "link":
                self.make_link(op[1], op[2])

    def reset(self) -> None:
        """Refused: a remote node's cache is never emptied from here (:class:`StoreError`)."""
        raise StoreError("RemoteStore cannot be reset")


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _is_message(headers: dict[str, bytes]) -> bool:
    """Whether a reply carries a message (any header beyond a bare content-type)."""
    return any(k != "content-type" for k in headers)
