"""``patch@1.0`` (spec runtime §13.1): move ``PATCH`` messages (or everything) between paths.

``from`` = first of request ``patch-from``, base ``patch-from``, request ``from``, base ``from``
(default ``/``); a leading ``base:`` or ``req:`` picks the message it is read from (default the
base). ``to`` likewise from ``patch-to``/``to``. Key ``patches`` (also ``compute``) applies the
entries whose ``method`` is ``PATCH`` (or ``device`` is ``patch@1.0``) and leaves the rest;
``all`` applies every entry and removes the source. ``init``/``normalize``/``snapshot`` return
the base unchanged so the device can sit in a process stack.
"""

from __future__ import annotations

from typing import Any

from .. import ao


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def _first(base: dict[str, Any], request: dict[str, Any], names: tuple[str, str]) -> str:
    for name in names:
        for msg in (request, base):
            v = _text(msg.get(name)) if isinstance(msg, dict) else None
            if v is not None:
                return v
    return "/"


def is_patch(v: Any) -> bool:
    """Whether ``v`` is a patch message: ``method: PATCH`` or ``device: patch@1.0``."""
    if not isinstance(v, dict):
        return False
    method = _text(v.get("method"))
    dev = _text(v.get("device"))
    return (method is not None and method.upper() == "PATCH") or dev == "patch@1.0"


def _apply(
    mode: str, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    plain = {**opts, "hashpath": "ignore"}
    src = _first(base, request, ("patch-from", "from"))
    to = _first(base, request, ("patch-to", "to"))
    from_req = False
    if src.startswith("req:"):
        from_req, src = True, src[4:]
    elif src.startswith("base:"):
        src = src[5:]
    from_msg = request if from_req else base
    parts = ao.path_parts(src) or []
    if parts:
        status, source = ao.resolve(from_msg, {"path": parts}, plain)
        if status != "ok":
            return "error", ao.NOT_FOUND
    else:
        source = from_msg
    if isinstance(source, list):
        source = ao.normalize_keys(source)
    if not isinstance(source, dict):
        return "error", {"status": 400, "body": f"patch source {src!r} is not a message"}
    entries = [(k, v) for k, v in source.items() if not k.startswith("priv")]
    entries.sort(key=lambda kv: (0, int(kv[0])) if kv[0].isdigit() else (1, kv[0]))
    if mode == "all":
        patches, rest = [dict(entries)], None
    else:
        patches = [v for _, v in entries if is_patch(v)]
        rest = {k: v for k, v in entries if not is_patch(v)}
    target = base
    if not from_req and parts:
        target = ao.set(target, parts, "patch-error", plain)
        target = ao.set(target, parts, rest if rest is not None else ao.UNSET, plain)
    acc: dict[str, Any] = {}
    for p in patches:
        if isinstance(p, dict):
            acc = ao.set(acc, {k: v for k, v in p.items() if k != "method"}, plain)
    return "ok", ao.set(target, ao.path_parts(to) or [], acc, plain)


class PatchDevice:
    """``patch@1.0``: move the patches a process emitted into its state."""

    name = "patch@1.0"

    @staticmethod
    def all(base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
        """``all``: apply every patch found in the base's ``patch-from`` key."""
        return _apply("all", base, request, opts)

    @staticmethod
    def patches(
        base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``patches``: apply the messages marked ``method: PATCH``."""
        return _apply("patches", base, request, opts)

    compute = patches

    @staticmethod
    def init(base: dict[str, Any]) -> tuple[str, Any]:
        """``init`` (also ``normalize``, ``snapshot``): the state as it is."""
        return "ok", base

    normalize = init
    snapshot = init


DEVICE = PatchDevice()
