"""HyperPATH / singleton parsing (spec runtime §5, ``hb_singleton:from``).

``parse_path(singleton)`` turns one HTTP-style message (``path`` plus headers/body keys; the
path may carry a ``?query``) into the list of messages that :func:`hyperbeam_fast.resolve_many`
runs: ``/`` separates steps, ``~dev@1.0`` switches device (:class:`~hyperbeam_fast.ao.As`),
``&k=v`` inlines keys, ``k+type=v`` types a value (``integer``, ``float``, ``atom``, ``list``,
``map``, ``resolve`` and every other ``ao-types`` name), ``(...)`` is a nested resolution
(:class:`~hyperbeam_fast.ao.Resolve`), and a ``N.key`` header applies only to step ``N``
(``0`` = the base). Every malformed input raises :class:`~hyperbeam_fast.exceptions.PathError`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from .ao.keys import is_id
from .ao.values import As, Resolve
from .exceptions import HyperbeamError, PathError

__all__ = ["MAX_SEGMENT_LENGTH", "parse_path", "split_depth"]

MAX_SEGMENT_LENGTH = 512
MAX_NESTING = 32


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, str):
        return v
    raise PathError(f"a path must be text, got {type(v).__name__}")


def split_depth(text: str, seps: str, first_only: bool = False) -> list[str] | tuple:
    """Split ``text`` at ``seps`` outside ``( )`` and ``"..."``.

    ``first_only``: ``(sep, before, after)`` at the first separator, or ``(None, text, "")``.
    Unbalanced parentheses or an unterminated quote raise :class:`PathError`.
    """
    if '"' not in text and "(" not in text and ")" not in text:
        # nothing to track (the common case): the same result as the scan below, at C speed
        if first_only:
            hits = [i for i in map(text.find, seps) if i >= 0]
            if not hits:
                return None, text, ""
            i = min(hits)
            return text[i], text[:i], text[i + 1 :]
        if len(seps) == 1:
            return text.split(seps)
        if not seps:
            return [text]
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, c in enumerate(text):
        if quoted:
            if c == '"':
                quoted = False
            continue
        if c == '"':
            quoted = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise PathError(f"unbalanced ')' in {text!r}")
        elif depth == 0 and c in seps:
            if first_only:
                _check_balance(text[i + 1 :])
                return c, text[:i], text[i + 1 :]
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise PathError(f"unbalanced '(' in {text!r}")
    if quoted:
        raise PathError(f"unterminated quote in {text!r}")
    if first_only:
        return None, text, ""
    parts.append(text[start:])
    return parts


def _check_balance(text: str) -> None:
    split_depth(text, "")


def _segments(text: str, sep: str) -> list[str]:
    out = []
    for part in split_depth(text, sep):
        if not part:
            continue
        if len(part.encode("utf-8", "surrogateescape")) > MAX_SEGMENT_LENGTH:
            raise PathError(f"segment_too_long: {part[:40]!r}... (> {MAX_SEGMENT_LENGTH} bytes)")
        out.append(part)
    return out


def _decode_segment(seg: str) -> str:
    try:
        return unquote(seg, errors="strict")
    except UnicodeDecodeError as exc:
        raise PathError(f"cannot_decode: {seg!r}") from exc


def _typed(key: str, value: Any, depth: int) -> tuple[str, Any]:
    """``maybe_typed``: ``name+type`` -> ``(name, typed value)``."""
    if "+" not in key:
        return key, value
    name, _, typ = key.partition("+")
    if not name:
        raise PathError(f"a key cannot start with '+': {key!r}")
    typ = typ.lower()
    if typ == "resolve":
        if isinstance(value, Resolve):
            return name, value
        return name, Resolve(_from({"path": _text(value)}, depth + 1))
    if isinstance(value, Resolve):
        return name, value
    raw = value if isinstance(value, bytes) else _text(value).encode("utf-8", "surrogateescape")
    if typ == "float":
        try:
            return name, float(raw)
        except ValueError as exc:
            raise PathError(f"{key}: {raw!r} is not a float") from exc
    from .message import convert

    try:
        out = convert({"v": raw, "ao-types": f'v="{typ}"'.encode()}, "structured@1.0", "tabm")
    except HyperbeamError as exc:
        raise PathError(f"{key}: cannot decode {raw[:60]!r} as {typ}: {exc}") from exc
    return name, out.get("v")


def _subpath(value: str, depth: int) -> Any:
    if len(value) >= 2 and value[0] == "(" and value[-1] == ")":
        return Resolve(_from({"path": value[1:-1]}, depth + 1))
    return value


def _inline(pairs: str, msg: dict, depth: int) -> dict:
    for item in _segments(pairs, "&"):
        sep, k, v = split_depth(item, "=", first_only=True)
        if not k:
            raise PathError(f"an inline key is empty in {item!r}")
        if sep is None:
            msg[k] = True
            continue
        key, val = _typed(k, _subpath(v, depth), depth)
        msg[key] = val
    return msg


def _parse_part(part: str, depth: int) -> Any:
    """``parse_part`` (runtime §5.3)."""
    if is_id(part):
        return part
    if part[0] == "(" and part[-1] == ")" and len(part) >= 2:
        return Resolve(_from({"path": part[1:-1]}, depth + 1))
    sep, key, rest = split_depth(part, "&~+", first_only=True)
    if sep is None:
        return {"path": part}
    if sep == "+":
        raise PathError(f"a typed key cannot be a path step: {part!r}")
    if sep == "&":
        return _inline(rest, {"path": key}, depth)
    # '~': key~device&k=v
    _, dev, inline = split_depth(rest, "&", first_only=True)
    if not dev:
        raise PathError(f"an empty device name in {part!r}")
    device = _subpath(dev, depth)
    msg = _inline(inline, {"path": key}, depth)
    return As(device, msg)


def _from(singleton: Any, depth: int) -> list:
    if depth > MAX_NESTING:
        raise PathError(f"sub-resolutions nested deeper than {MAX_NESTING}")
    if isinstance(singleton, (str, bytes)):
        singleton = {"path": singleton}
    if not isinstance(singleton, dict):
        raise PathError(f"a singleton must be a message or a path, got {type(singleton).__name__}")
    raw = singleton.get("path", "")
    raw = _text(raw) if raw is not None else ""
    sep, path, query = split_depth(raw, "?", first_only=True)
    globals_ = {k: v for k, v in singleton.items() if k != "path"}
    if sep is not None:
        for item in _segments(query, "&"):
            qsep, k, v = split_depth(item, "=", first_only=True)
            if not k:
                raise PathError(f"an empty query key in {item!r}")
            globals_[k] = True if qsep is None else _subpath(v, depth)
    msgs: list = []
    for seg in _segments(path, "/"):
        for sub in _segments(_decode_segment(seg), "/"):
            msgs.append(_parse_part(sub, depth))
    if not msgs or not (is_id(msgs[0]) or isinstance(msgs[0], (As, Resolve))):
        msgs.insert(0, {})
    typed: dict = {}
    for k, v in globals_.items():
        if not isinstance(k, str):
            raise PathError(f"a key must be text, got {type(k).__name__}")
        name, val = _typed(k, v, depth)
        typed[name] = val
    scoped: dict[int, dict] = {}
    common: dict = {}
    for k, v in typed.items():
        if k.count(".") == 1:
            n, _, real = k.partition(".")
            try:
                idx = int(n)
            except ValueError:
                raise PathError(f"invalid_scope: {k!r}") from None
            if idx < 0 or not real:
                raise PathError(f"invalid_scope: {k!r}")
            scoped.setdefault(idx, {})[real] = v
        else:
            common[k] = v
    out: list = []
    for i, m in enumerate(msgs):
        extra = {**common, **scoped.get(i, {})}
        if isinstance(m, As):
            inner = m.msg
            if isinstance(inner, dict) and inner.get("path", "") == "":
                out.append(As(m.device, _structured({**inner, **extra})))
            else:
                out.append(m)
        elif isinstance(m, dict):
            out.append(_structured({**m, **extra}))
        else:
            out.append(m)
    return out


def _structured(msg: dict) -> dict:
    if "ao-types" not in msg:
        return msg
    from .message import convert

    try:
        return convert(msg, "structured@1.0", "tabm")
    except HyperbeamError as exc:
        raise PathError(f"bad ao-types in a request: {exc}") from exc


def parse_path(singleton: Any, opts: dict | None = None) -> list:
    """The list of messages a singleton request (or a bare HyperPATH string) stands for."""
    try:
        return _from(singleton, 0)
    except PathError:
        raise
    except RecursionError:
        raise PathError("path nested too deeply") from None
