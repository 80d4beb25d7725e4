"""The codec devices: ``json@1.0``, ``flat@1.0``, ``httpsig@1.0``, ``structured@1.0``,
``ans104@1.0`` (spec core §8-§11; HyperBEAM's ``dev_codec_*`` modules, preloaded in ``hb_opts``).

Each exposes the keys its ``dev_codec_*`` module exports: ``commit``/``verify``/``committed``
everywhere (``httpsig@1.0``'s, or ``ans104@1.0``'s own signature); ``serialize``/``deserialize``
on ``json@1.0`` (``serialize/3``, ``deserialize/3``), ``flat@1.0`` and ``ans104@1.0`` (arity 1:
the base message only); ``content-type`` on ``json@1.0`` and ``ans104@1.0``. A key a codec does
not export falls back to ``message@1.0`` (``/~httpsig@1.0/serialize`` is a 404, as in HyperBEAM).

``commit`` is ``message@1.0``'s ``commit`` with the codec's commitment device, so signing with the
node's wallet stays the operator's alone (:mod:`hyperbeam_fast.node.authority`). Where HyperBEAM
crashes (a map given to ``flat@1.0``'s ``deserialize``, a non-UTF-8 binary in JSON) the device
answers a 400 naming the problem.
"""

from __future__ import annotations

from typing import Any, cast

import orjson

from .. import ao
from ..atom import Atom
from ..codecs import ans104, flat
from ..codecs import json as json_codec
from ..exceptions import CodecError
from ..map_order import json_object

_JSON_NOT_FOUND = "JSON payload not found in the base message.Searched for: "


def _bad(device: str, what: str) -> tuple[str, dict[str, Any]]:
    return "error", {"status": 400, "body": f"{device}: {what}"}


def _commit_with(codec: str) -> Any:
    """``commit`` of a codec: message@1.0's (the operator rule included) with ``codec``."""

    def commit(base: dict[str, Any], request: Any = None, opts: Any = None) -> tuple[str, Any]:
        req = dict(request) if isinstance(request, dict) else {}
        req["commitment-device"] = codec
        return ao.MESSAGE_DEVICE.commit(base, req, opts)

    return commit


def _verify(base: dict[str, Any], request: Any = None) -> tuple[str, Any]:
    return ao.MESSAGE_DEVICE.verify(base, request)


def _committed(base: dict[str, Any]) -> tuple[str, Any]:
    return ao.MESSAGE_DEVICE.committed(base)


def _json_value(v: Any, where: str) -> Any:
    """A rich value as OTP's ``json:encode`` writes it (``dev_codec_json:to/1``)."""
    if isinstance(v, dict):
        obj = {_json_key(k, where): _json_value(x, f"{where}/{k}") for k, x in v.items()}
        return json_object(obj)  # `json:encode`'s key order (docs/map-order.md)
    if isinstance(v, (list, tuple)):
        return [_json_value(x, f"{where}/{i + 1}") for i, x in enumerate(v)]
    if isinstance(v, (bytes, bytearray, memoryview)):
        try:
            return bytes(v).decode()
        except UnicodeDecodeError:
            raise CodecError(f"json@1.0: {where} is not valid UTF-8") from None
    if v is None or isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, str):  # Atom included: json:encode writes an atom as its name
        try:
            v.encode()
        except UnicodeEncodeError:
            raise CodecError(f"json@1.0: {where} is not valid UTF-8") from None
        return str(v)
    raise CodecError(f"json@1.0: {where} is a {type(v).__name__}, which JSON cannot hold")


def _json_key(k: Any, where: str) -> str:
    if isinstance(k, bytes):
        return cast("str", _json_value(k, f"a key in {where}"))
    if isinstance(k, (int, Atom)) and not isinstance(k, bool):
        return str(k)
    if isinstance(k, str):
        return cast("str", _json_value(k, f"a key in {where}"))
    raise CodecError(f"json@1.0: a {type(k).__name__} key in {where} is not a JSON key")


def json_serialize(base: Any) -> bytes:
    """``dev_codec_json:to/1``: the message (its private keys reset) as compact JSON."""
    if isinstance(base, (bytes, str)):
        return orjson.dumps(_json_value(base, "the message"))
    body = {k: v for k, v in base.items() if not ao.is_private(k)}
    return orjson.dumps(_json_value(body, "message"))


class CodecDevice:
    """What every codec device shares: ``verify`` and ``committed`` through the message's own
    commitments; each codec sets its ``name`` and ``commit`` (its signing scheme)."""

    name = ""
    verify = staticmethod(_verify)
    committed = staticmethod(_committed)


class JsonDevice(CodecDevice):
    """``json@1.0`` (``dev_codec_json``)."""

    name = "json@1.0"
    commit = staticmethod(_commit_with("httpsig@1.0"))

    @staticmethod
    def content_type(base: Any) -> tuple[str, Any]:
        """``content-type``: ``application/json``."""
        return "ok", "application/json"

    @staticmethod
    def serialize(base: Any) -> tuple[str, Any]:
        """``serialize``: ``base`` as json@1.0 bytes (a 400 for what JSON cannot hold)."""
        try:
            body = json_serialize(base)
        except CodecError as e:
            return _bad("json@1.0", str(e))
        return "ok", {"content-type": "application/json", "body": body}

    @staticmethod
    def deserialize(base: Any, request: Any = None, opts: Any = None) -> tuple[str, Any]:
        """``deserialize``: the JSON at ``target`` (default ``body``) of ``base`` as a message."""
        target: Any = "body"
        if isinstance(request, dict):
            target = ao.get(request, "target", opts or {}, default="body")
        target = ao.text(target) or "body"
        payload = ao.NOT_FOUND
        if isinstance(base, dict):
            payload = ao.get(base, target, opts or {}, default=ao.NOT_FOUND)
        if payload is ao.NOT_FOUND:
            return "error", {"status": 404, "body": _JSON_NOT_FOUND + target}
        try:
            return "ok", json_codec.decode(payload)
        except CodecError as e:
            return _bad("json@1.0", str(e))


class FlatDevice(CodecDevice):
    """``flat@1.0`` (``dev_codec_flat``): ``serialize/1`` and ``deserialize/1`` of the base."""

    name = "flat@1.0"
    commit = staticmethod(_commit_with("httpsig@1.0"))

    @staticmethod
    def serialize(base: Any) -> tuple[str, Any]:
        """``serialize``: the message ``base`` as flat@1.0 ``key: value`` text."""
        if not isinstance(base, dict):
            return _bad("flat@1.0", "serialize needs a message, not a binary")
        try:
            return "ok", flat.serialize(base)
        except CodecError as e:
            return _bad("flat@1.0", str(e))

    @staticmethod
    def deserialize(base: Any) -> tuple[str, Any]:
        """``deserialize``: flat@1.0 text (a binary base) as a message."""
        if not isinstance(base, (bytes, str)):  # dev_codec_flat:deserialize/1 takes a binary
            return _bad("flat@1.0", "deserialize needs a binary base message, not a map")
        try:
            return "ok", flat.deserialize(base)
        except CodecError as e:
            return _bad("flat@1.0", str(e))


class HttpsigDevice(CodecDevice):
    """``httpsig@1.0`` (``dev_codec_httpsig``)."""

    name = "httpsig@1.0"
    commit = staticmethod(_commit_with("httpsig@1.0"))


class StructuredDevice(CodecDevice):
    """``structured@1.0`` (``dev_codec_structured``): signatures through httpsig@1.0."""

    name = "structured@1.0"
    commit = staticmethod(_commit_with("httpsig@1.0"))


class Ans104Device(CodecDevice):
    """``ans104@1.0`` (``dev_codec_ans104``): data items, signed with the ANS-104 scheme."""

    name = "ans104@1.0"
    commit = staticmethod(_commit_with("ans104@1.0"))

    @staticmethod
    def content_type(base: Any) -> tuple[str, Any]:
        """``content-type``: ``application/ans104``."""
        return "ok", "application/ans104"

    @staticmethod
    def serialize(base: Any) -> tuple[str, Any]:
        """``serialize``: the message ``base`` as an ANS-104 data item."""
        if not isinstance(base, dict):
            return _bad("ans104@1.0", "serialize needs a message, not a binary")
        try:
            return "ok", ans104.encode(base)
        except CodecError as e:
            return _bad("ans104@1.0", str(e))

    @staticmethod
    def deserialize(base: Any) -> tuple[str, Any]:
        """``deserialize``: an ANS-104 data item (``base`` or its ``body``) as a message."""
        data = base.get("body") if isinstance(base, dict) else base
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, bytes):
            return _bad(
                "ans104@1.0", "deserialize needs a binary data item (or a `body` holding one)"
            )
        try:
            return "ok", ans104.decode(data)
        except CodecError as e:
            return _bad("ans104@1.0", str(e))


DEVICES = (JsonDevice(), FlatDevice(), HttpsigDevice(), StructuredDevice(), Ans104Device())
