"""`json@1.0`: the JSON of the TABM, private keys removed (spec core §10), via orjson."""

from __future__ import annotations

from typing import Any, cast

import orjson

from ..exceptions import CodecError
from ..map_order import json_object


def _text(v: bytes, where: str) -> str:
    try:
        return v.decode()
    except UnicodeDecodeError:
        raise CodecError(f"json@1.0 needs UTF-8 values; {where} is not valid UTF-8") from None


def _key(k: Any, where: str) -> str:
    try:
        k.encode()
    except UnicodeEncodeError:
        msg = f"json@1.0 needs UTF-8 keys; a key in {where} is not valid UTF-8"
        raise CodecError(msg) from None
    return cast("str", k)


def _tabm_to_json(t: Any, where: str = "message") -> Any:
    if isinstance(t, dict):
        out = {
            _key(k, where): _tabm_to_json(v, f"{where}/{k}")
            for k, v in t.items()
            if not (isinstance(k, str) and k.lower().startswith("priv"))
        }
        return json_object(out)  # `json:encode`'s key order (docs/map-order.md)
    if isinstance(t, list):
        return [_tabm_to_json(v, f"{where}/{i + 1}") for i, v in enumerate(t)]
    if isinstance(t, bytes):
        return _text(t, where)
    return t


def encode(tabm: dict[str, Any]) -> bytes:
    """TABM -> compact JSON, keys in `json:encode`'s order."""
    return orjson.dumps(_tabm_to_json(tabm))


def encode_bare(raw: bytes) -> bytes:
    """A bare binary message is a JSON string."""
    return orjson.dumps(_text(raw, "the message"))


def decode(data: Any) -> Any:
    """JSON text -> TABM-like structure (numbers, booleans, null and arrays kept)."""
    if isinstance(data, dict):
        return data
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise CodecError(f"json@1.0: invalid JSON: {e}") from None
