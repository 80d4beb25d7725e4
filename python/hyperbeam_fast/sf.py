"""Structured fields (RFC 8941 / RFC 9651) as HyperBEAM's ``hb_structured_fields`` parses them.

See spec core §1.6 for HyperBEAM's deviations from the RFC, all reproduced here:

* dictionary keys may start with ``A-Z a-z 0-9 * % _ -`` and continue with
  ``A-Z a-z 0-9 _ - . * %`` (parameter keys follow the RFC);
* integers have at most 15 digits on parse, but are never range-checked on serialisation;
* strings are never validated on serialisation (only ``\\`` and ``"`` are escaped).

RFC 9651 dates (``@123``) and display strings (``%"..."``) are supported as extensions.

Python shapes (close to the httpwg structured-field-tests JSON):

* item: ``(bare, params)``; params: ``[(key, bare), ...]``;
* inner list: ``([item, ...], params)``;
* list: ``[member, ...]`` where a member is an item or an inner list;
* dictionary: ``[(key, member), ...]``.

Bare values: ``int``, ``float`` (decimal), ``str`` (string), :class:`Token`, ``bytes`` (byte
sequence), ``bool``, :class:`Date` and :class:`DisplayString`.
Malformed input raises :class:`hyperbeam_fast.exceptions.StructuredFieldError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyperbeam_fast import _native


class Token(str):
    """A structured-field token (as opposed to a string)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Token({str.__repr__(self)})"


class Date(int):
    """An RFC 9651 date: integer seconds since the Unix epoch."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Date({int.__repr__(self)})"


class DisplayString(str):
    """An RFC 9651 display string (Unicode text, percent-encoded UTF-8 on the wire)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"DisplayString({str.__repr__(self)})"


# The parse and serialise functions are the native ones themselves (no Python frame in
# between): ``parse_item(data)``, ``parse_list(data)``, ``parse_dictionary(data)`` take ``bytes``
# or ``str``; ``serialize_item(value)``, ``serialize_list(value)`` and
# ``serialize_dictionary(value)`` return ``bytes``. Shapes as above.
parse_item: Callable[[bytes | str], tuple[Any, list[tuple[str, Any]]]] = _native.sf.parse_item
"""Parse an item: returns ``(bare, params)``."""
parse_list: Callable[[bytes | str], list[Any]] = _native.sf.parse_list
"""Parse a list: returns ``[member, ...]``."""
parse_dictionary: Callable[[bytes | str], list[tuple[str, Any]]] = _native.sf.parse_dictionary
"""Parse a dictionary: returns ``[(key, member), ...]`` in order of first appearance."""
serialize_item: Callable[[Any], bytes] = _native.sf.serialize_item
"""Serialise ``(bare, params)``."""
serialize_list: Callable[[Any], bytes] = _native.sf.serialize_list
"""Serialise ``[member, ...]`` (members joined with ``", "``)."""
serialize_dictionary: Callable[[Any], bytes] = _native.sf.serialize_dictionary
"""Serialise ``[(key, member), ...]`` (members joined with ``", "``)."""


__all__ = [
    "Date",
    "DisplayString",
    "Token",
    "parse_dictionary",
    "parse_item",
    "parse_list",
    "serialize_dictionary",
    "serialize_item",
    "serialize_list",
]
