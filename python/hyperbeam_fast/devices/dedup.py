"""``dedup@1.0`` (spec runtime §13.2): skip requests already seen (on the first stack pass)."""

from __future__ import annotations

from typing import Any

from ..ao import hashable, to_int


def _handle(key: str, base: dict[str, Any], request: Any) -> tuple[str, Any]:
    from ..message import id as message_id

    if to_int(base.get("pass"), 1) != 1:
        return "ok", base
    try:
        rid = message_id(request, "all")
    except Exception:  # noqa: BLE001 - requests holding functions: hash a stable form
        rid = message_id(hashable(request), "all")
    seen = base.get("dedup")
    seen = list(seen.values()) if isinstance(seen, dict) else list(seen or [])
    if rid in seen or rid.encode() in seen:
        return "skip", base
    return "ok", {**base, "dedup": [rid, *seen]}


class DedupDevice:
    """``dedup@1.0``: a stack member that skips a request it has already seen."""

    name = "dedup@1.0"
    info = {"handler": _handle, "excludes": ["keys", "set"]}


DEVICE = DedupDevice()
