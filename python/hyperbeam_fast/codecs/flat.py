"""`flat@1.0`: nested keys joined with `/`, and its `key: value` text form (spec core §9)."""

from __future__ import annotations

from typing import Any, cast

from .. import _native
from ..message import convert


def to(msg: dict[str, Any]) -> dict[str, Any]:
    """Rich message -> flat map (``a/b/c`` keys, bytes values)."""
    return cast("dict[str, Any]", convert(msg, "flat@1.0"))


def from_(flat: dict[str, Any]) -> dict[str, Any]:
    """Flat map -> rich message; colliding paths raise CodecError."""
    return cast("dict[str, Any]", convert(flat, "structured@1.0", "flat@1.0"))


def serialize(msg: dict[str, Any]) -> bytes:
    """``dev_codec_flat:serialize``: ``key: value\\n`` lines in key order."""
    return _native.flat_serialize(msg)


def deserialize(data: bytes | str) -> Any:
    """``dev_codec_flat:deserialize``: lines splitting on ``": "`` into exactly two parts."""
    raw = data.encode() if isinstance(data, str) else data
    return convert(_native.flat_parse(raw), "structured@1.0", "flat@1.0")
