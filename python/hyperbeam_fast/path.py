"""HyperPATH / singleton parsing (spec runtime §5, ``hb_singleton:from``).

``parse_path(singleton)`` turns one HTTP-style message (``path`` plus headers/body keys; the
path may carry a ``?query``) into the list of messages that :func:`hyperbeam_fast.resolve_many`
runs: ``/`` separates steps, ``~dev@1.0`` switches device (:class:`~hyperbeam_fast.ao.As`),
``&k=v`` inlines keys, ``k+type=v`` types a value (``integer``, ``float``, ``atom``, ``list``,
``map``, ``resolve`` and every other ``ao-types`` name), ``(...)`` is a nested resolution
(:class:`~hyperbeam_fast.ao.Resolve`), and a ``N.key`` header applies only to step ``N``
(``0`` = the base). :func:`to_singleton` is the inverse (``hb_singleton:to/1``).

As ``hb_singleton`` does: a built step's keys are lower-cased (``structured@1.0``), an empty
path gives ``[]``, a segment of 32, 42 or 43 bytes is an ID whatever its characters,
unbalanced parentheses are literal text, a typed value no message can hold (``k+integer=x``,
a token) drops its key, and an empty key is a key. Where HyperBEAM crashes, a
:class:`~hyperbeam_fast.exceptions.PathError`.
"""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import unquote

from .ao.keys import is_id_length
from .ao.values import As, Resolve
from .exceptions import HyperbeamError, PathError

__all__ = ["MAX_SEGMENT_LENGTH", "is_path_id", "parse_path", "split_depth", "to_singleton"]

MAX_SEGMENT_LENGTH = 512
MAX_NESTING = 32
_DROP = object()  # a typed value that structured@1.0 cannot hold: the key is dropped
_ERL_INT = re.compile(r"[+-]?[0-9]+\Z")  # erlang:binary_to_integer/1
_ERL_FLOAT = re.compile(r"[+-]?[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?\Z")  # binary_to_float/1


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, str):
        return v
    raise PathError(f"a path must be text, got {type(v).__name__}")


def _nbytes(s: str) -> int:
    return len(s.encode("utf-8", "surrogateescape")) if not s.isascii() else len(s)


is_path_id = is_id_length  # ``?IS_ID``: 32, 42 or 43 bytes, whatever the characters


def _part(text: str, seps: str) -> tuple[Any, ...]:
    """``hb_singleton:part``: ``(sep, before, after)`` at the first separator outside ``( )``.

    ``(`` always opens a level, ``)`` closes one only when one is open (else it is literal),
    so unbalanced parentheses never fail: they only stop the separators after them splitting.
    """
    if "(" not in text:
        hits = [i for i in map(text.find, seps) if i >= 0]
        if not hits:
            return None, text, ""
        i = min(hits)
        return text[i], text[:i], text[i + 1 :]
    depth = 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            if depth:
                depth -= 1
        elif not depth and c in seps:
            return c, text[:i], text[i + 1 :]
    return None, text, ""


def split_depth(text: str, seps: str, first_only: bool = False) -> list[str] | tuple[Any, ...]:
    """Split ``text`` at ``seps`` outside ``( )`` (``hb_singleton:part``; never fails).

    ``first_only``: ``(sep, before, after)`` at the first separator, or ``(None, text, "")``.
    """
    if first_only:
        return _part(text, seps)
    if "(" not in text and len(seps) == 1:
        return text.split(seps)
    parts: list[str] = []
    while True:
        sep, before, text = _part(text, seps)
        parts.append(before)
        if sep is None:
            return parts


def _segments(text: str, sep: str) -> list[str]:
    """``path_parts``: the non-empty pieces, each at most 512 bytes."""
    out = []
    for part in split_depth(text, sep):
        if not part:
            continue
        if _nbytes(part) > MAX_SEGMENT_LENGTH:
            raise PathError(f"segment_too_long: {part[:40]!r}... (> {MAX_SEGMENT_LENGTH} bytes)")
        out.append(part)
    return out


def _decode_segment(seg: str) -> str:
    try:
        return unquote(seg, errors="strict")
    except UnicodeDecodeError as exc:
        raise PathError(f"cannot_decode: {seg!r}") from exc


def _typed(key: str, value: Any, depth: int) -> tuple[str, Any]:
    """``maybe_typed`` (runtime §5.2): ``name+type`` -> ``(name, typed value)``.

    The value is ``_DROP`` where HyperBEAM's ``structured@1.0`` conversion would silently drop
    it: ``k+integer=x`` parses ``x`` as a structured-field item, a token, which no message
    value can be.
    """
    if "+" not in key:
        return key, value
    name, _, typ = key.partition("+")
    typ = typ.lower()
    if typ == "resolve":
        if isinstance(value, Resolve):
            return name, value
        return name, Resolve(_from({"path": _text(value)}, depth + 1))
    if isinstance(value, Resolve):
        return name, value
    raw = value if isinstance(value, bytes) else _text(value).encode("utf-8", "surrogateescape")
    if typ == "float":
        if not _ERL_FLOAT.match(raw.decode("latin-1")):
            raise PathError(f"{key}: {raw[:60]!r} is not a float (binary_to_float/1)")
        return name, float(raw)
    if typ == "integer":
        return name, _integer_item(key, raw)
    from .message import convert

    try:
        out = convert({"v": raw, "ao-types": f'v="{typ}"'.encode()}, "structured@1.0", "tabm")
    except HyperbeamError as exc:
        raise PathError(f"{key}: cannot decode {raw[:60]!r} as {typ}: {exc}") from exc
    return name, out.get("v")


def _integer_item(key: str, raw: bytes) -> Any:
    """``decode_value(integer, V)``: the bare item of ``V``; a decimal stays a float, a boolean
    a boolean, and a string, token or byte sequence is dropped (``_DROP``)."""
    from .sf import parse_item

    try:
        bare, _params = parse_item(raw)
    except HyperbeamError as exc:
        raise PathError(f"{key}: {raw[:60]!r} is not a structured-field item: {exc}") from exc
    if type(bare) in (int, float, bool):
        return bare
    return _DROP


def _subpath(value: str, depth: int) -> Any:
    """``maybe_subpath``: ``(inner)`` -> the resolution of ``inner``."""
    if len(value) >= 2 and value[0] == "(" and value[-1] == ")":
        return Resolve(_from({"path": value[1:-1]}, depth + 1))
    return value


def _inline(pairs: str, msg: dict[str, Any], depth: int) -> dict[str, Any]:
    """``parse_inlined_keys``: ``k=v&k2&...`` into ``msg`` (an empty key is a key too)."""
    for item in _segments(pairs, "&"):
        sep, k, v = _part(item, "=")
        if sep is None:
            msg[k] = True
            continue
        key, val = _typed(k, _subpath(v, depth), depth)
        msg[key] = val
    return msg


#: A ``Part=Value`` segment: a plain key, ``=``, a value.
_KEY_VALUE = re.compile(r"[A-Za-z0-9_.+-]+=")


def _parse_part(part: str, depth: int) -> Any:
    """``parse_part`` (runtime §5.3)."""
    if is_path_id(part):
        return part
    if part[0] == "(" and part[-1] == ")" and len(part) >= 2:
        return Resolve(_from({"path": part[1:-1]}, depth + 1))
    sep, key, rest = _part(part, "&~+")
    if sep != "~" and _KEY_VALUE.match(key):
        # `Part=Value` is `{path: Part, Part: Value}` (the contract aoconnect 0.0.98 follows,
        # newer than b2743e4a: `compute/results=5`, `as=execution`; docs/node.md)
        name, _, value = key.partition("=")
        msg = {"path": name}
        k, v = _typed(name, _subpath(value, depth), depth)
        msg[k] = v
        return _inline(rest, msg, depth) if sep == "&" else msg
    if sep is None:
        return {"path": part}
    if sep == "+":
        raise PathError(f"a typed key cannot be a path step: {part!r}")
    if sep == "&":
        return _inline(rest, {"path": key}, depth)
    # '~': key~device&k=v
    _, dev, inline = _part(rest, "&")
    if not dev:
        raise PathError(f"an empty device name in {part!r}")
    device = _subpath(dev, depth)
    msg = _inline(inline, {"path": key}, depth)
    return As(device, msg)


def _scope(key: str) -> int | None:
    """``parse_scope``: ``N.key`` (exactly one dot) -> ``N``; other keys -> ``None``."""
    if key.count(".") != 1:
        return None
    n = key.partition(".")[0]
    if not _ERL_INT.match(n) or int(n) < 0:
        raise PathError(f"invalid_scope: {key!r}")
    return int(n)


def _from(singleton: Any, depth: int) -> list[Any]:
    if depth > MAX_NESTING:
        raise PathError(f"sub-resolutions nested deeper than {MAX_NESTING}")
    if isinstance(singleton, (str, bytes)):
        singleton = {"path": singleton}
    if not isinstance(singleton, dict):
        raise PathError(f"a singleton must be a message or a path, got {type(singleton).__name__}")
    raw = singleton.get("path", "")
    raw = _text(raw) if raw is not None else ""
    sep, path, query = _part(raw, "?")
    if sep is None and "%3f" in raw.lower():  # an encoded `?` is a `?` too (aoconnect 0.0.98)
        at = raw.lower().index("%3f")
        sep, path, query = "?", raw[:at], raw[at + 3 :]
    globals_ = {k: v for k, v in singleton.items() if k != "path"}
    if sep is not None:
        globals_.update(_inline(query, {}, depth))
    msgs: list[Any] = []
    for seg in _segments(path, "/"):
        # decoded twice, as hb_singleton does (parse_full_path, then path_messages)
        for sub in _segments(_decode_segment(_decode_segment(seg)), "/"):
            msgs.append(_parse_part(sub, depth))
    if not msgs:
        return []  # normalize_base([]): an empty path, `/` or none is no message at all
    if not (is_path_id(msgs[0]) or isinstance(msgs[0], (As, Resolve))):
        msgs.insert(0, {})
    if any(not isinstance(k, str) for k in globals_):
        raise PathError("a key must be text")
    scoped: dict[int, dict[str, Any]] = {}
    common: dict[str, Any] = {}
    for k in sorted(globals_):  # apply_types / group_scoped fold in Erlang map (key) order
        name, val = _typed(k, globals_[k], depth)
        n = _scope(name)
        if n is None:
            common[name] = val
        else:
            scoped.setdefault(n, {})[name.partition(".")[2]] = val
    out: list[Any] = []
    for i, m in enumerate(msgs):
        extra = {**common, **scoped.get(i, {})}
        if isinstance(m, As):
            inner = m.msg
            if isinstance(inner, dict) and inner.get("path", "") == "":
                out.append(As(m.device, _structured({**inner, **extra})))
            elif isinstance(inner, dict):
                out.append(As(m.device, {k: v for k, v in inner.items() if v is not _DROP}))
            else:
                out.append(m)
        elif isinstance(m, dict):
            out.append(_structured({**m, **extra}))
        else:
            out.append(m)
    return out


def _structured(msg: dict[str, Any]) -> dict[str, Any]:
    """A built step through ``structured@1.0`` (runtime §5.1 step 8): keys lower-cased
    (``hb_ao:normalize_key``, IDs excepted; of two keys that fold together the later in key
    order wins), values it cannot hold dropped, ``ao-types`` applied."""
    out = {k if is_path_id(k) else k.lower(): v for k, v in msg.items() if v is not _DROP}
    if len(out) < len(msg) and any(v is not _DROP for v in msg.values()):
        out = {}
        for k in sorted(msg):
            if msg[k] is not _DROP:
                out[k if is_path_id(k) else k.lower()] = msg[k]
    if "ao-types" not in out:
        return out
    from .message import convert

    try:
        return cast("dict[str, Any]", convert(out, "structured@1.0", "tabm"))
    except HyperbeamError as exc:
        raise PathError(f"bad ao-types in a request: {exc}") from exc


def parse_path(singleton: Any, opts: dict[str, Any] | None = None) -> list[Any]:
    """The list of messages a singleton request (or a bare HyperPATH string) stands for."""
    try:
        return _from(singleton, 0)
    except PathError:
        raise
    except RecursionError:
        raise PathError("path nested too deeply") from None


def to_singleton(messages: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
    """``hb_singleton:to/1``: a list of messages back to one singleton request (runtime §5.5).

    Each step's ``path`` joins the request's ``path`` (``/a/b``), an ID is a segment, a
    :class:`~hyperbeam_fast.ao.Resolve` step is ``(x/y)``; ``method`` is copied as is; a key
    found in one message only becomes ``N.key`` (``N.key+integer`` for an integer,
    ``N.key+resolve`` for a resolution), a key found in several stays global with the last
    value. :func:`parse_path` of the result gives the messages back where they have the shape
    ``parse_path`` makes: keys lower-case without ``.`` or ``+``, each in one step or in
    every map step alike, a sub-resolution with path steps only. An ``As`` step (which
    HyperBEAM's ``to/1`` cannot write either) or a non-text path raises
    :class:`~hyperbeam_fast.exceptions.PathError`.
    """
    if not isinstance(messages, (list, tuple)):
        raise PathError(f"to_singleton needs a list of messages, got {type(messages).__name__}")
    acc: dict[str, Any] = {}
    scopes: dict[str, list[int]] = {}
    for index, msg in enumerate(messages):
        if is_path_id(msg):
            _append_path(acc, msg)
        elif isinstance(msg, Resolve):
            _append_path(acc, "(" + _resolution_path(msg)[1:] + ")")
        elif isinstance(msg, dict):
            if any(not isinstance(k, str) for k in msg):
                raise PathError("to_singleton: a key must be text")
            for key in sorted(msg):  # maps:fold, in key order
                value = msg[key]
                if key == "path":
                    _append_path(acc, value)
                    continue
                if key == "method":
                    acc[key] = value
                    continue
                if isinstance(value, Resolve):
                    key, value = f"{key}+resolve", _resolution_path(value)
                acc[key] = value
                scopes.setdefault(key, []).append(index)
        else:
            raise PathError(f"to_singleton cannot write a {type(msg).__name__} as a path step")
    for key, indexes in scopes.items():
        if len(indexes) == 1:
            value = acc.pop(key)
            if type(value) is int:
                acc[f"{indexes[0]}.{key}+integer"] = str(value)
            else:
                acc[f"{indexes[0]}.{key}"] = value
    return acc


def _append_path(acc: dict[str, Any], part: Any) -> None:
    if isinstance(part, bytes):
        part = part.decode("utf-8", "surrogateescape")
    if not isinstance(part, str):
        raise PathError(f"to_singleton: a path must be text, got {type(part).__name__}")
    acc["path"] = f"{acc['path']}/{part}" if "path" in acc else f"/{part}"


def _resolution_path(res: Resolve) -> str:
    path = to_singleton(res.messages).get("path")
    if not isinstance(path, str):
        raise PathError("to_singleton: a sub-resolution needs at least one path step")
    return path
