"""Message matching: HyperBEAM's ``hb_message:match/3`` on the Python message model (core §2.6).

``match(a, b, mode)`` is the round-trip oracle used by the test-suite: two messages match when,
after normalising them, they hold the same keys with equal values. Normalising one map level means:

1. normalise every key (spec core §2.2): text keys are lower-cased unless their UTF-8 form is
   32, 42 or 43 bytes long (an ID-like key keeps its case); ``Atom`` keys keep their case; integer
   keys become their decimal text. When two keys collapse to one, the one that comes last in
   Erlang term order wins, as in HyperBEAM;
2. drop keys whose value is the default value of the ``#tx`` record (spec core §2.4);
3. drop ``unsigned_id``, ``content-digest``, ``content-type``, ``body-keys``, ``inline-body-key``
   and every private key (a normalised key starting with ``priv``).

Nested maps are matched strictly with the same treatment; lists are compared as numbered maps
(``"1"``..``"N"``), so ``[]`` matches ``{}`` and ``[x]`` matches ``{"1": x}`` exactly as in Erlang.

Values are compared with their *type*: ``1``, ``1.0``, ``True`` and ``b"1"`` are four different
values (Python's ``1 == 1.0 == True`` is deliberately not used). A plain ``str`` value stands for
its UTF-8 bytes; an ``Atom`` (any ``str`` subclass) is an atom, and ``Atom("true")``,
``Atom("false")``, ``Atom("null")`` are the same atoms as ``True``, ``False``, ``None``.

Modes:

* ``"strict"`` (the default): both sides must have the same key set and equal values;
* ``"only_present"``: only keys present on both sides are compared;
* ``"primary"``: every key of ``a`` must be in ``b`` with an equal value (``b`` may have more).

This module is pure Python and does not need the native extension. Text is read as UTF-8 with
``surrogateescape`` (the codecs' reading of non-UTF-8 keys); what cannot be matched (a lone
surrogate, a value of no message type, a message nested deeper than ``MAX_DEPTH``) raises
:class:`~hyperbeam_fast.exceptions.CodecError` naming the problem (spec core §14).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any, cast

from .exceptions import CodecError

__all__ = ["MATCH_MODES", "MAX_DEPTH", "match", "normalize_key"]

#: The deepest nesting ``match`` compares (the codecs' limit, spec core §14).
MAX_DEPTH = 256

MATCH_MODES = ("strict", "only_present", "primary")

# Keys that HyperBEAM regenerates (REGEN_KEYS) plus the httpsig artefacts that match ignores.
_IGNORED_KEYS = frozenset(
    {b"unsigned_id", b"content-digest", b"content-type", b"body-keys", b"inline-body-key"}
)

# Lengths (in bytes) of keys that are treated as IDs and keep their case.
_ID_KEY_LENGTHS = (32, 42, 43)

_ZERO_32 = bytes(32)
_ZERO_512 = bytes(512)

# Canonical value forms ("tagged" values) -----------------------------------------------------
# ("b", bytes) binary | ("i", int) integer | ("f", float) float | ("a", str) atom
# ("t", tuple_of_tagged) tuple | ("m", dict) map (keys normalised) -- lists become maps.

_ATOM_TRUE = ("a", "true")
_ATOM_FALSE = ("a", "false")
_ATOM_NULL = ("a", "null")

# Default values of the #tx record fields (spec core §2.4), as tagged values.
_TX_DEFAULTS: dict[bytes, tuple[str, Any]] = {
    b"format": ("a", "ans104"),
    b"id": ("b", _ZERO_32),
    b"unsigned_id": ("b", _ZERO_32),
    b"last_tx": ("b", b""),
    b"target": ("b", b""),
    b"data": ("b", b""),
    b"data_root": ("b", b""),
    b"owner": ("b", _ZERO_512),
    b"signature": ("b", _ZERO_512),
    b"quantity": ("i", 0),
    b"data_size": ("i", 0),
    b"reward": ("i", 0),
    b"denomination": ("i", 0),
    b"manifest": ("a", "undefined"),
    b"signature_type": ("t", (("a", "rsa"), ("i", 65537))),
}
# `tags` and `data_tree` default to the empty list, which is handled separately (a list is
# turned into a map, so the check must happen before that).
_EMPTY_LIST_DEFAULT_KEYS = frozenset({b"tags", b"data_tree"})


def _utf8(text: str) -> bytes:
    """UTF-8 with ``surrogateescape`` (non-UTF-8 bytes the codecs read come back as they were)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise CodecError(f"match: {text!r} holds a lone surrogate, which is not UTF-8") from None


def _is_atom(value: Any) -> bool:
    """An atom is any instance of a strict ``str`` subclass (``hyperbeam_fast.Atom``)."""
    return isinstance(value, str) and type(value) is not str


def normalize_key(key: Any) -> bytes:
    """Normalise one key as ``hb_ao:normalize_key/1`` does (spec core §2.2), as UTF-8 bytes."""
    if key is True:
        return b"true"
    if key is False:
        return b"false"
    if key is None:
        return b"null"
    if _is_atom(key):
        return _utf8(str(key))
    if isinstance(key, int):
        return str(key).encode("ascii")
    if isinstance(key, str):
        raw = _utf8(key)
        if len(raw) in _ID_KEY_LENGTHS:
            return raw
        return _utf8(key.lower())
    if isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
        if len(raw) in _ID_KEY_LENGTHS:
            return raw
        try:
            return raw.decode("utf-8").lower().encode("utf-8")
        except UnicodeDecodeError:
            return raw.lower()
    if isinstance(key, (list, tuple)):
        return b"/".join(normalize_key(part) for part in key)
    raise CodecError(f"match: a {type(key).__name__} is not a message key")


def _key_order(key: Any) -> tuple[int, Any]:
    """Erlang term order of raw keys: numbers < atoms < binaries."""
    if key is True or key is False or key is None or _is_atom(key):
        return (1, normalize_key(key))
    if isinstance(key, int):
        return (0, key)
    if isinstance(key, str):
        return (2, _utf8(key))
    if isinstance(key, (bytes, bytearray, memoryview)):
        return (2, bytes(key))
    return (3, repr(key).encode("utf-8"))


def _tag(value: Any) -> tuple[str, Any]:
    """Turn a message value into its canonical tagged form (maps and lists are not unfolded)."""
    if value is True:
        return _ATOM_TRUE
    if value is False:
        return _ATOM_FALSE
    if value is None:
        return _ATOM_NULL
    if _is_atom(value):
        return ("a", str(value))
    if isinstance(value, str):
        return ("b", _utf8(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ("b", bytes(value))
    if isinstance(value, int):
        return ("i", int(value))
    if isinstance(value, float):
        return ("f", float(value))
    if isinstance(value, tuple):
        return ("t", tuple(_tag(v) for v in value))
    if isinstance(value, Mapping):
        return ("m", value)
    if isinstance(value, list):
        return ("l", value)
    raise CodecError(f"match: a {type(value).__name__} is not a message value")


def _list_to_map(items: list[Any]) -> dict[str, Any]:
    """``hb_ao:normalize_keys(List)``: a list becomes the numbered map ``"1".."N"``."""
    return {str(i): v for i, v in enumerate(items, start=1)}


def _prepare(msg: Mapping[Any, Any]) -> dict[bytes, tuple[str, Any]]:
    """Normalise one map level: keys, default TX values, ignored and private keys."""
    out: dict[bytes, tuple[str, Any]] = {}
    # Later keys in Erlang term order win when two keys normalise to the same key.
    for raw_key in sorted(msg.keys(), key=_key_order):
        out[normalize_key(raw_key)] = _tag(msg[raw_key])
    prepared: dict[bytes, tuple[str, Any]] = {}
    for key, tagged in out.items():
        if key in _IGNORED_KEYS or key.startswith(b"priv"):
            continue
        if key in _TX_DEFAULTS and _same_tagged(_TX_DEFAULTS[key], tagged):
            continue
        if key in _EMPTY_LIST_DEFAULT_KEYS and tagged[0] == "l" and len(tagged[1]) == 0:
            continue
        prepared[key] = tagged
    return prepared


def _same_tagged(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    """Type-exact equality of two scalar tagged values (maps and lists are never passed here)."""
    if a[0] != b[0]:
        return False
    if a[0] == "t":
        return len(a[1]) == len(b[1]) and all(
            _values_match(x, y) for x, y in zip(a[1], b[1], strict=True)
        )
    return type(a[1]) is type(b[1]) and a[1] == b[1]


def _as_map(tagged: tuple[str, Any]) -> Mapping[Any, Any] | None:
    if tagged[0] == "m":
        return cast("Mapping[Any, Any] | None", tagged[1])
    if tagged[0] == "l":
        return _list_to_map(tagged[1])
    return None


def _values_match(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    map_a, map_b = _as_map(a), _as_map(b)
    if map_a is not None and map_b is not None:
        return _match_maps(map_a, map_b, "strict")
    if map_a is not None or map_b is not None:
        return False
    return _same_tagged(a, b)


def _match_maps(a: Mapping[Any, Any], b: Mapping[Any, Any], mode: str) -> bool:
    """Match two maps level by level with an explicit stack (no recursion per level)."""
    stack: list[tuple[Mapping[Any, Any], Mapping[Any, Any], str, int]] = [(a, b, mode, 0)]
    while stack:
        ma, mb, m, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CodecError(f"match: the messages nest deeper than {MAX_DEPTH} levels")
        norm_a, norm_b = _prepare(ma), _prepare(mb)
        if m == "strict":
            if norm_a.keys() != norm_b.keys():
                return False
            keys: Set[bytes] = norm_a.keys()
        elif m == "only_present":
            keys = norm_a.keys() & norm_b.keys()
        else:  # primary
            if not norm_a.keys() <= norm_b.keys():
                return False
            keys = norm_a.keys()
        for k in keys:
            sub_a, sub_b = _as_map(norm_a[k]), _as_map(norm_b[k])
            if sub_a is not None and sub_b is not None:
                stack.append((sub_a, sub_b, "strict", depth + 1))
            elif sub_a is not None or sub_b is not None:
                return False
            elif not _same_tagged(norm_a[k], norm_b[k]):
                return False
    return True


def match(a: Any, b: Any, mode: str = "strict") -> bool:
    """Whether messages ``a`` and ``b`` match in ``mode`` (spec core §2.6).

    ``a`` and ``b`` are messages in the Python model (``dict`` with ``str`` keys); bare values
    (for example two binaries) are compared by value and type. Lists are numbered maps.
    """
    if mode not in MATCH_MODES:
        raise CodecError(f"unknown match mode {mode!r}; expected one of {MATCH_MODES}")
    try:
        tag_a, tag_b = _tag(a), _tag(b)
        map_a, map_b = _as_map(tag_a), _as_map(tag_b)
        if map_a is not None and map_b is not None:
            return _match_maps(map_a, map_b, mode)
        if map_a is not None or map_b is not None:
            return False
        return _same_tagged(tag_a, tag_b)
    except RecursionError:  # deep tuples: the map depth is checked above
        raise CodecError("match: the messages nest too deeply to compare") from None
