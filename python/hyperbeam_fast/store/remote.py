"""``RemoteStore``: read-only access to another node's cache over HTTP (runtime §10.3, scope
``remote``, like HyperBEAM's ``hb_store_remote_node``).

Protocol: ``GET <url>/~cache@1.0/read?target=<key>`` (``template`` can change it, e.g.
``"{url}/{key}"``). A ``200`` reply is a message in ``httpsig@1.0`` form: its headers (lower-cased,
transport headers dropped) and its body make the encoded message, decoded with
``convert(..., "structured@1.0", "httpsig@1.0")``; a reply with no message headers is a binary
(its body). ``404`` is a miss; anything else, or a network failure, is a
:class:`~hyperbeam_fast.exceptions.StoreError` (a :class:`StoreChain` moves on to the next store).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any, cast

from ..exceptions import HyperbeamError, StoreError
from ..node.http import TRANSPORT_RESPONSE_HEADERS
from .base import Entry, Store, join


class RemoteStore(Store):
    """Reads messages and binaries from the node at ``url``; never writes."""

    scope = "remote"
    writable = False

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        template: str = "{url}/~cache@1.0/read?target={key}",
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise StoreError(f"RemoteStore needs an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.template = template

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

    def read_message(self, key: str | list[str]) -> dict[str, Any] | bytes | None:
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

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        raise StoreError("RemoteStore is read-only")

    def reset(self) -> None:
        """Refused: a remote store is read-only (:class:`StoreError`)."""
        raise StoreError("RemoteStore is read-only")


def _is_message(headers: dict[str, bytes]) -> bool:
    """Whether a reply carries a message (any header beyond a bare content-type)."""
    return any(k != "content-type" for k in headers)
