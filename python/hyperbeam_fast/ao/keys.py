"""Keys, paths and the value helpers every device shares (spec runtime §1, §2.2).

``normalize_key``/``normalize_keys`` (``hb_ao``), ``path_parts`` (``hb_path``), private keys
(``hb_private``: a key starting with ``priv`` is never serialised, hashed or listed), ID shapes,
and small conversions devices use on message values (``text``, ``text_of``, ``to_int``,
``hashable``). Imports only :mod:`.values`, :mod:`hyperbeam_fast.atom` and the exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..atom import Atom
from ..exceptions import HyperbeamError, ResolveError
from .values import As, Resolve, marker

ID_LENGTHS = (32, 42, 43)
#: the keys AO-Core itself reads, never a device's (runtime §2.11)
AO_CORE_KEYS = ("path", "hashpath", "priv")


def normalize_key(key: Any) -> str:
    """``hb_ao:normalize_key``: IDs keep their case, other text is lower-cased (ASCII)."""
    if type(key) is str:
        if len(key) in ID_LENGTHS and len(key.encode()) in ID_LENGTHS:
            return key
        return key.lower() if key.isascii() else _ascii_lower(key)
    if isinstance(key, Atom):
        return str(key)
    if isinstance(key, str):
        return normalize_key(str(key))
    if isinstance(key, (bytes, bytearray)):
        raw = bytes(key)
        if len(raw) in ID_LENGTHS:
            return raw.decode("utf-8", "surrogateescape")
        return normalize_key(raw.decode("utf-8", "surrogateescape"))
    if isinstance(key, bool) or key is None:
        return "true" if key is True else "false" if key is False else "null"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, (list, tuple)):
        if key and all(isinstance(c, int) and not isinstance(c, bool) for c in key):
            try:
                return normalize_key(bytes(key))
            except ValueError:
                pass
        return "/".join(normalize_key(p) for p in key)
    raise ResolveError(f"cannot use a {type(key).__name__} as a key")


def _ascii_lower(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def normalize_keys(msg: Any) -> Any:
    """``hb_ao:normalize_keys``: top-level keys normalised; a list becomes a numbered map."""
    if type(msg) is list:
        return {str(i): v for i, v in enumerate(msg, 1)}
    if type(msg) is dict:
        try:
            joined = "".join(msg)
        except TypeError:
            joined = None
        if joined is not None and joined.isascii() and joined == joined.lower():
            return msg
        return {normalize_key(k): v for k, v in msg.items()}
    if isinstance(msg, dict):
        return {normalize_key(k): v for k, v in msg.items()}
    return msg


def path_parts(path: Any) -> list[Any] | None:
    """``hb_path:term_to_path_parts``: ``None`` for an empty path, ``[]`` for ``"/"``."""
    if path is None or path == "" or path == b"" or path == []:
        return None
    if isinstance(path, (bytes, bytearray)):
        path = bytes(path).decode("utf-8", "surrogateescape")
    if isinstance(path, Atom):
        return [str(path)]
    if isinstance(path, str):
        if "/" not in path:
            return [path]
        return [p for p in path.split("/") if p]
    if isinstance(path, bool):
        return [normalize_key(path)]
    if isinstance(path, int):
        return [str(path)]
    m = marker(path)
    if isinstance(m, As):
        return [As(normalize_key(m.device) if not callable(m.device) else m.device, m.msg)]
    if isinstance(m, Resolve):
        return [m]
    if isinstance(path, (list, tuple)):
        if path and all(isinstance(c, int) and not isinstance(c, bool) for c in path):
            return [normalize_key(path)]
        out: list[Any] = []
        for p in path:
            sub = path_parts(p)
            if sub:
                out.extend(sub)
        return out
    if isinstance(path, dict):
        return path_parts(ci_get(path, "path"))
    raise ResolveError(f"a path cannot be a {type(path).__name__}")


def ci_get(msg: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """Exact key, else the first key equal to ``key`` after normalisation."""
    if key in msg:
        return msg[key]
    for k, v in msg.items():
        try:
            if normalize_key(k) == key:
                return v
        except HyperbeamError:
            continue
    return default


def is_id(x: Any) -> bool:
    """Whether ``x`` looks like a human-readable ID: 43 characters of base64url."""
    if isinstance(x, str) and not isinstance(x, Atom):
        return len(x) == 43 and _B64URL.issuperset(x)
    if isinstance(x, bytes):
        return len(x) == 43 and _B64URL.issuperset(x.decode("latin-1"))
    return False


def is_id_length(x: Any) -> bool:
    """``?IS_ID``: text of 32, 42 or 43 bytes, whatever its characters (runtime §5.3)."""
    if not isinstance(x, str):
        return False
    return (len(x) if x.isascii() else len(x.encode("utf-8", "surrogateescape"))) in (32, 42, 43)


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def is_private(key: str) -> bool:
    """Whether ``key`` is private (``priv...``): never encoded, exported or hashed."""
    return key.startswith("priv")


# --- value helpers shared by the devices ----------------------------------------------------------


def text(v: Any) -> str | None:
    """A ``str`` or UTF-8 ``bytes`` value as text (``None`` for anything else)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def text_of(v: Any) -> str:
    """Any value as text: ``bytes`` decoded, anything else through ``str``."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def to_int(v: Any, default: int) -> int:
    """An integer value (or its text form), else ``default`` (``None`` and booleans too)."""
    if isinstance(v, bool) or v is None:
        return default
    if isinstance(v, int):
        return v
    try:
        return int(text(v) or "")
    except ValueError:
        return default


def hashable(value: Any) -> Any:
    """Replace what cannot be hashed (functions, device objects) by a stable name."""
    if isinstance(value, dict):
        return {k: hashable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hashable(v) for v in value]
    if isinstance(value, (bytes, str, int, float, bool)) or value is None:
        return value
    mod = getattr(value, "__module__", None) or type(value).__module__
    name = getattr(value, "__qualname__", None) or type(value).__qualname__
    return f"{mod}.{name}"
