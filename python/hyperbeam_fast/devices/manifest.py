"""``manifest@1.0`` (HyperBEAM ``dev_manifest``): Arweave path manifests, so
``/<manifest ID>/index.html`` serves a permaweb app from the cache or the gateway store.

A manifest is JSON in its message's ``data`` (an ANS-104 item) or ``body`` (the ar.io v0.2.0
schema: ``{"manifest": "arweave/paths", "index": {"path": P} | {"id": ID}, "fallback":
{"id": ID}, "paths": {P: {"id": ID}, ...}}``). Every key but ``keys`` and ``set`` is a path:

* ``index``: the entry ``index.path`` names (HyperBEAM), or the item ``index.id`` (v0.2.0);
* a key in ``paths``: the item with its ``id``, read through the node's store (a
  :class:`~hyperbeam_fast.store.GatewayStore` fetches what is not cached); an item that cannot
  be read gives the ``fallback`` item (HyperBEAM);
* a key that only starts paths (``assets`` of ``assets/app.js``): the sub-manifest of those
  paths, so the next path segment resolves on it (the node splits a URL path at ``/``);
* any other key: the ``fallback`` item (the manifest schema's rule; HyperBEAM gives 404 there),
  else 404.

An item that is an ANS-104 data item is served as a gateway serves it: its ``data`` as the body
under its ``content-type``; any other message as it is stored. A message whose content-type is
:data:`CONTENT_TYPE` and that names no device is read as a manifest when a request starts at
its ID (:func:`as_manifest`), and a request for the ID alone gets its ``index``
(:func:`with_index`), as Arweave gateways serve manifests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from .. import cache
from ..exceptions import HyperbeamError, NotFound
from .scheduler import store_of

NAME = "manifest@1.0"
#: The content type of an Arweave path manifest.
CONTENT_TYPE = "application/x.arweave-manifest+json"
#: The largest manifest parsed (bytes).
MAX_MANIFEST = 8 * 1024 * 1024
_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else str(v)


def _err(status: int, body: str) -> tuple[str, dict[str, Any]]:
    return "error", {"status": status, "body": body}


def is_manifest(msg: Any) -> bool:
    """Whether ``msg`` is a device-less message holding an Arweave path manifest."""
    if not isinstance(msg, dict) or "device" in msg:
        return False
    ct = msg.get("content-type")
    return ct is not None and _text(ct).split(";")[0].strip().lower() == CONTENT_TYPE


def as_manifest(msg: Any) -> Any:
    """``msg`` with ``device: manifest@1.0`` when :func:`is_manifest`, else ``msg``."""
    return {**msg, "device": NAME} if is_manifest(msg) else msg


def _is_manifest_base(msg: Any) -> bool:
    return isinstance(msg, dict) and (is_manifest(msg) or _text(msg.get("device")) == NAME)


def names_manifest(msgs: Any) -> bool:
    """Whether a message list starts at a manifest (the node resolves those in its pool)."""
    return isinstance(msgs, list) and bool(msgs) and _is_manifest_base(msgs[0])


def with_index(msgs: Any, load: Callable[[str], Any]) -> Any:
    """A request for a manifest's ID alone, as a request for its ``index``. The loaded message
    replaces the ID (so it is read once, and a miss asks a gateway once): ``None`` when the
    ID alone is requested and is a miss; any other message list unchanged."""
    if not isinstance(msgs, list) or len(msgs) != 1 or not isinstance(msgs[0], str):
        return msgs
    if not _ID.fullmatch(msgs[0]):
        return msgs
    loaded = load(msgs[0])
    if loaded is None:
        return None
    if _is_manifest_base(loaded):
        return [as_manifest(loaded), {"path": "index"}]
    return [loaded]


def parse(base: Any) -> dict[str, Any]:
    """The manifest JSON of ``base`` (its ``data``, else ``body``), checked for shape."""
    raw = base.get("data") if isinstance(base, dict) else None
    if raw is None and isinstance(base, dict):
        raw = base.get("body")
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, (bytes, bytearray)):
        raise ValueError("the manifest message has no JSON data or body")
    if len(raw) > MAX_MANIFEST:
        raise ValueError(f"the manifest is over {MAX_MANIFEST} bytes")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"the manifest is not JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths", {}), dict):
        raise ValueError("the manifest is not an object with a paths object")
    return doc


def _entry_id(entry: Any) -> str | None:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return ident if isinstance(ident, str) and _ID.fullmatch(ident) else None


def serve(ident: str, opts: dict[str, Any]) -> Any:
    """The item ``ident`` as a gateway serves it (module docstring); NotFound when unread."""
    msg = cache.read(ident, store_of(opts))
    if isinstance(msg, bytes):
        return {"body": msg}
    if isinstance(msg, dict) and "data" in msg and "body" not in msg:
        out: dict[str, Any] = {"body": msg["data"]}
        if "content-type" in msg:
            out["content-type"] = msg["content-type"]
        return out
    return msg


class ManifestDevice:
    """The device: every key is a manifest path (``info.default``)."""

    name = NAME
    info: dict[str, Any]

    def __init__(self) -> None:
        self.info = {"default": self.route, "excludes": ["keys", "set"]}

    def route(self, key: Any, base: Any, request: Any, opts: dict[str, Any]) -> tuple[str, Any]:
        """Serve ``key`` (a path in the manifest ``base``, ``index`` for its index page)."""
        try:
            doc = parse(base)
        except ValueError as e:
            return _err(422, f"manifest@1.0: {e}")
        return self._route(_text(key), doc, opts, 0)

    def _route(
        self, key: str, doc: dict[str, Any], opts: dict[str, Any], depth: int
    ) -> tuple[str, Any]:
        paths: dict[str, Any] = doc.get("paths") or {}
        if key == "index":
            index = doc.get("index")
            if isinstance(index, dict) and isinstance(index.get("path"), str) and depth == 0:
                return self._route(index["path"], doc, opts, 1)
            ident = _entry_id(index)
            if ident is None:
                return _err(404, "manifest@1.0: the manifest has no index")
            return self._read(ident, doc, opts)
        if key in paths:
            ident = _entry_id(paths[key])
            if ident is None:
                return _err(422, f"manifest@1.0: the entry for {key!r} has no valid id")
            return self._read(ident, doc, opts)
        prefix = key + "/"
        sub = {p[len(prefix) :]: e for p, e in paths.items() if p.startswith(prefix)}
        if sub:
            inner = {"paths": sub, **({"fallback": doc["fallback"]} if "fallback" in doc else {})}
            return "ok", {"device": NAME, "body": orjson.dumps(inner)}
        return self._fallback(key, doc, opts)

    def _read(self, ident: str, doc: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
        try:
            return "ok", serve(ident, opts)
        except (NotFound, HyperbeamError):
            return self._fallback(ident, doc, opts, "its item could not be read")

    def _fallback(
        self,
        what: str,
        doc: dict[str, Any],
        opts: dict[str, Any],
        why: str = "is not in the manifest",
    ) -> tuple[str, Any]:
        ident = _entry_id(doc.get("fallback"))
        if ident is not None:
            try:
                return "ok", serve(ident, opts)
            except (NotFound, HyperbeamError):
                pass
        return _err(404, f"manifest@1.0: {what!r}: {why} (and no fallback)")


DEVICE = ManifestDevice()
