"""``cache@1.0`` and ``lookup@1.0`` (HyperBEAM ``dev_cache``, ``dev_lookup``): the node's
cache over HTTP.

* ``read`` (``target``: an ID, hashpath or store path): the stored message or binary; with
  ``accept: application/aos-2`` the message's json struct
  (``dev_json_iface:message_to_json_struct``) as the JSON ``body`` of an
  ``application/aos-2`` reply. 404 when nothing is stored there. A plain ``GET`` (no aos-2
  accept) is answered before resolution by the node (:meth:`Node.cache_read`: the message
  unsigned and unchanged, what :class:`~hyperbeam_fast.store.RemoteStore` decodes) with
  :func:`read_target`, the same lookup.
* ``write`` (``body``; ``type``: ``single``, the default, or ``batch``): a binary ``body`` is
  written to ``data/<hash>``, a message ``body`` through the message cache (its commitments
  verified, its IDs computed here); the reply is ``{status: 200, path}``. A ``batch`` body
  is a map of items, each a single write (``body``) or a link (``operation: link``), applied
  in key order; the reply maps each item to its reply and stops at the first failing item.
  ``location`` is refused, as in ``dev_cache:write_single`` (no write to a path of the
  caller's choosing).
* ``link`` (``source``, ``destination``): ``destination`` becomes a link to ``source``.

``write`` and ``link`` need a verified signature, covering every key they read, by an
address listed in ``cache_writers`` (default: the operator): else 403 and nothing is
written. What even a writer cannot do (docs/security.md §3): overwrite or alter stored content
(binaries are content-addressed, messages are named by the IDs the node computes and IDs are
never repointed), or repoint a key with a link: a link's destination must be an ID of its
source (checked: a message's verified IDs, a binary's hash) that is free or already names it.
Any other destination is refused (400), a hashpath ``<ID>/<ID>`` included: in this store layout
(HyperBEAM's) a hashpath link lands inside the group of the message its first segment names,
or makes that group before the message arrives, so it would add a key to what an ID names.
Names, node records, process schedules and ``data/`` stay out of reach. HyperBEAM's writers
may link anything.

``lookup@1.0`` has one key, ``read`` (``target``): the same read without the store-path
fallback (``dev_lookup``: an ID only), 404 ``not_found`` otherwise.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson

from .. import cache
from ..cache.verify import prepare
from ..exceptions import HyperbeamError, InvalidStorePath, NotFound, StoreError
from ..node import authority
from ..store.base import join
from .scheduler_formats import AOS2, json_struct, text

#: The request paths that write (the node does not store these requests itself: a refused
#: write leaves nothing behind, an accepted one stores only its content).
WRITE_PATHS = ("/~cache@1.0/write", "/~cache@1.0/link")
_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _fail(status: int, body: str) -> tuple[str, dict[str, Any]]:
    return "error", {"status": status, "body": f"cache@1.0: {body}"}


def _store(opts: dict[str, Any]) -> Any:
    store = opts.get("priv_store")
    if store is None:
        raise StoreError("cache@1.0 needs the node's store")
    return store


def writers(opts: dict[str, Any]) -> list[str]:
    """The addresses in ``cache_writers`` (a list, a numbered map or a comma-separated text
    in ``config.flat``); the operator when it is unset."""
    raw = opts.get("cache_writers")
    if raw is None or raw == "" or raw == [] or raw == {}:
        raw = [opts.get("operator")]
    if isinstance(raw, dict):
        raw = list(raw.values())
    elif isinstance(raw, (str, bytes)):
        raw = _text(raw).split(",")
    return [_text(a).strip() for a in raw if a is not None and _text(a).strip()]


def read_target(target: str, store: Any) -> dict[str, Any] | bytes:
    """The message or binary stored at ``target`` (``hb_cache:read``, then the store itself:
    a ``data/<hash>`` or other raw path). Raises :class:`NotFound`, :class:`InvalidStorePath`."""
    try:
        return cache.read(target, store)
    except NotFound:
        got = store.read(target)
        if got is None:
            raise
        return bytes(got)


def aos2(got: dict[str, Any] | bytes) -> dict[str, Any] | bytes:
    """``got`` as ``dev_cache``/``dev_lookup`` render it for ``accept: application/aos-2``:
    ``message_to_json_struct(Msg, [owner_as_address])``, whose ``Signature`` is the message's
    own ``signature`` key (base64url when 512 bytes; ``""`` when absent), not a commitment's."""
    if not isinstance(got, dict):
        return got
    struct = json_struct(got)
    sig = got.get("signature", b"")
    if isinstance(sig, (bytes, bytearray)) and len(sig) == 512:
        struct["Signature"] = base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    else:
        struct["Signature"] = text(sig)
    return {"body": orjson.dumps(struct), "content-type": AOS2}


def _read(req: Any, opts: dict[str, Any], fallback: bool) -> tuple[str, Any]:
    req = req if isinstance(req, dict) else {}
    target = req.get("target")
    if not isinstance(target, (str, bytes)) or not target:
        return _fail(400, "read needs a target (an ID or a store path).")
    store = _store(opts)
    try:
        got = read_target(_text(target), store) if fallback else cache.read(_text(target), store)
    except NotFound:
        return "error", {"status": 404, "body": "not_found"}
    except InvalidStorePath as e:
        return _fail(400, f"bad target: {e}")
    if _text(req.get("accept", "")).strip().lower() == AOS2:
        return "ok", aos2(got)
    return "ok", got


def _signed_writer(req: dict[str, Any], opts: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The writer whose verified signature covers every key of ``keys`` in ``req``."""
    allowed = writers(opts)
    caller = authority.caller(opts)
    need = {k for k in keys if k in req}
    for who in caller.signers:
        if who in allowed and need <= caller.covers[who]:
            return who
    return None


def _refused(req: dict[str, Any], opts: dict[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    if not authority.caller(opts).signers:
        return _fail(403, f"{what} needs a signed request (unsigned: nothing was written).")
    return _fail(
        403,
        f"{what} is reserved to the signers listed in cache_writers, with a signature "
        "covering the keys it reads (nothing was written).",
    )


def _write_single(item: Any, store: Any) -> tuple[str, dict[str, Any]]:
    """One item: ``dev_cache:write_single``."""
    if not isinstance(item, dict):
        return _fail(400, "a write item must be a message.")
    op = _text(item.get("operation", "write"))
    if op == "link":
        return _link(item.get("source"), item.get("destination"), store)
    if op != "write" or "location" in item:
        return _fail(400, "Invalid write type (operation is write or link; no location).")
    body = item.get("body")
    if body is None:
        return _fail(400, "No body to write.")
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, (bytes, dict)):
        return _fail(400, "the body to write is a binary or a message.")
    try:
        path = cache.write(body, store)
    except HyperbeamError as e:  # a commitment that does not verify, a key that cannot be stored
        return _fail(400, f"cannot write the body: {e}")
    return "ok", {"status": 200, "path": path}


def _ids_of(got: dict[str, Any] | bytes) -> list[str]:
    """The IDs that name ``got``: a binary its hash, a message its (verified) IDs."""
    if isinstance(got, bytes):
        return [cache.data_path(got)[5:]]
    return prepare(got)[2]


def _link(source: Any, destination: Any, store: Any) -> tuple[str, dict[str, Any]]:
    """``destination`` -> ``source``, under the rules of the module docstring."""
    if not isinstance(source, (str, bytes)) or not isinstance(destination, (str, bytes)):
        return _fail(400, "link needs a source and a destination (store paths).")
    try:
        src, dst = join(_text(source)), join(_text(destination))
    except InvalidStorePath as e:
        return _fail(400, f"bad link path: {e}")
    target = cache.writable(store)
    if not target.exists(src):
        return _fail(404, f"link source {src!r} is not in the cache.")
    if not _ID.fullmatch(dst):
        return _fail(
            400,
            f"a link's destination is an ID of its source (not {dst!r}): other links could "
            "add keys to what an ID names.",
        )
    try:
        ids = _ids_of(cache.read(src, target))
    except (HyperbeamError, NotFound) as e:
        return _fail(400, f"link source {src!r} cannot be checked: {e}")
    if dst not in ids:
        return _fail(400, f"{dst} is not an ID of {src!r}: an ID links only to what it names.")
    if target.read_link(dst) is not None or target.exists(dst):
        if target.resolve(dst) == target.resolve(src):
            return "ok", {"status": 200, "path": dst}  # already so: idempotent
        return _fail(
            409, f"{dst!r} already holds or links to something else: links are never repointed."
        )
    cache.link(src, dst, store)
    return "ok", {"status": 200, "path": dst}


def _item_order(k: str) -> tuple[int, int, str]:
    return (0, int(k), "") if k.isdigit() else (1, 0, k)


class Cache:
    """``cache@1.0`` (dev_cache): ``read`` for all, ``write`` and ``link`` for cache writers."""

    name = "cache@1.0"

    def read(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """The message or binary at ``target`` (aos-2 JSON when the request accepts it)."""
        return _read(req, opts or {}, True)

    def write(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """Write ``body`` (``type`` single or batch), for a signed request of a cache writer."""
        opts = opts or {}
        req = req if isinstance(req, dict) else {}
        keys = ("body", "type", "operation", "location", "source", "destination")
        if _signed_writer(req, opts, keys) is None:
            return _refused(req, opts, "Writing to the cache")
        store = _store(opts)
        kind = _text(req.get("type", "single"))
        if kind == "single":
            return _write_single(req, store)
        if kind != "batch":
            return _fail(400, "Invalid write type (type is single or batch).")
        items = req.get("body")
        if not isinstance(items, dict) or not items:
            return _fail(400, "a batch write needs a body map of items.")
        out: dict[str, Any] = {}
        for k in sorted(items, key=_item_order):
            st, res = _write_single(items[k], store)
            out[k] = res
            if st != "ok":
                return "error", {
                    **out,
                    "status": res.get("status", 400),
                    "body": f"cache@1.0: batch item {k!r} failed (the items before it were "
                    f"written): {_text(res.get('body', ''))}",
                }
        return "ok", {**out, "status": 200}

    def link(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """Link ``destination`` to ``source`` (an ID of it), for a signed cache writer."""
        opts = opts or {}
        req = req if isinstance(req, dict) else {}
        if _signed_writer(req, opts, ("source", "destination")) is None:
            return _refused(req, opts, "Linking in the cache")
        return _link(req.get("source"), req.get("destination"), _store(opts))


class Lookup:
    """``lookup@1.0`` (dev_lookup): ``read`` of a stored message by ID."""

    name = "lookup@1.0"

    def read(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """The message stored at the ID ``target`` (aos-2 JSON when asked)."""
        return _read(req, opts or {}, False)


DEVICE = Cache()
LOOKUP = Lookup()

__all__ = ["DEVICE", "LOOKUP", "WRITE_PATHS", "Cache", "Lookup", "aos2", "read_target", "writers"]
