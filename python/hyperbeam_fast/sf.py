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


def parse_item(data: bytes | str) -> tuple[Any, list[tuple[str, Any]]]:
    """Parse an item: returns ``(bare, params)``."""
    return _native.sf_parse("item", data)


def parse_list(data: bytes | str) -> list[Any]:
    """Parse a list: returns ``[member, ...]``."""
    return _native.sf_parse("list", data)


def parse_dictionary(data: bytes | str) -> list[tuple[str, Any]]:
    """Parse a dictionary: returns ``[(key, member), ...]`` in order of first appearance."""
    return _native.sf_parse("dictionary", data)


def serialize_item(value: Any) -> bytes:
    """Serialise ``(bare, params)``."""
    return _native.sf_serialize("item", value)


def serialize_list(value: Any) -> bytes:
    """Serialise ``[member, ...]`` (members joined with ``", "``)."""
    return _native.sf_serialize("list", value)


def serialize_dictionary(value: Any) -> bytes:
    """Serialise ``[(key, member), ...]`` (members joined with ``", "``)."""
    return _native.sf_serialize("dictionary", value)


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
