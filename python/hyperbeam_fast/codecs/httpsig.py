"""`httpsig@1.0` encoding: headers, `ao-ids`, multipart body, `content-digest` (spec core §6)."""

from __future__ import annotations

from typing import Any, cast

from ..message import convert

#: Binary values longer than this move into the multipart body (spec core §6.1).
MAX_HEADER_LENGTH = 4096


def to(msg: dict[str, Any]) -> dict[str, Any]:
    """Rich message -> dict of lower-case field names to bytes, body under ``"body"``."""
    return cast("dict[str, Any]", convert(msg, "httpsig@1.0"))


def from_(http: dict[str, Any]) -> dict[str, Any]:
    """HTTP fields (+ ``body``) -> rich message."""
    return cast("dict[str, Any]", convert(http, "structured@1.0", "httpsig@1.0"))
