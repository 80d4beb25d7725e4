"""``hb_escape`` (core §1.5) and the structured-field serialisation the IDs need (core §1.6)."""

from __future__ import annotations

from .primitives import as_bytes

__all__ = ["hb_escape", "sf_dictionary", "sf_inner_list", "sf_list", "sf_string"]

_ESCAPE_KEEP = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-_/?&+")


def hb_escape(key: bytes) -> bytes:
    """§1.5: keep ``a-z 0-9 . - _ / ? & +``; every other byte becomes ``%hh`` (lowercase hex)."""
    return b"".join(bytes([c]) if c in _ESCAPE_KEEP else b"%%%02x" % c for c in key)


def sf_string(b: bytes | str) -> bytes:
    """§1.6: an SF string. Only ``\\`` and ``"`` are escaped; nothing is validated."""
    b = as_bytes(b)
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def sf_list(members: list[bytes]) -> bytes:
    """§1.6: list members (already serialised) joined with ``", "``."""
    return b", ".join(members)


def sf_inner_list(members: list[bytes]) -> bytes:
    """§1.6: inner list, items joined by a single space, in parentheses."""
    return b"(" + b" ".join(members) + b")"


def sf_dictionary(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """§1.6: ``key=value`` members (values already serialised) joined with ``", "``."""
    return b", ".join(k + b"=" + v for k, v in pairs)
