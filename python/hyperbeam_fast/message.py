"""Message IDs and codec conversion (spec core §3, §4.3-§4.4, §6, §9, §10)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, cast

from . import _native, tabm
from .exceptions import CodecError, HyperbeamError
from .tabm import as_bytes, deep_merge, split_priv

#: Codec names exactly as HyperBEAM spells them, plus "tabm" for the TABM itself.
CODECS = ("structured@1.0", "httpsig@1.0", "flat@1.0", "json@1.0", "ans104@1.0", "tabm")
_HMAC = (b"httpsig@1.0", b"hmac-sha256")


def commitments_of(msg: dict[str, Any]) -> dict[str, Any]:
    """The message's ``commitments`` map (empty when it has none)."""
    comms = msg.get("commitments")
    return comms if isinstance(comms, dict) else {}


def select_commitments(msg: dict[str, Any], comms: dict[str, Any], committers: Any) -> list[str]:
    """`dev_message:commitment_ids_from_request` (spec core §4.2) for our modes."""
    if committers == "uncommitted":
        return list(comms)
    if committers == "none" or committers == []:
        return []
    signed = {cid: as_bytes(c.get("committer")) for cid, c in comms.items() if isinstance(c, dict)}
    signed = {cid: a for cid, a in signed.items() if a is not None}
    if committers == "all":
        return [cid for cid in comms if cid in signed]
    if committers == "signed":
        return [cid for cid, a in signed.items() if len(cast(bytes, a)) in (32, 42, 43)]
    if isinstance(committers, (list, tuple)):
        chosen: list[str] = []
        missing = []
        for addr in committers:
            ab = as_bytes(addr)
            hits = [cid for cid, a in signed.items() if a == ab]
            if not hits:
                missing.append(addr)
            chosen.extend(hits)
        if missing:
            raise HyperbeamError(f"requested committers not found: {missing}")
        return chosen
    raise CodecError(
        f"committers must be 'none', 'all', 'signed', 'uncommitted' or a list, got {committers!r}"
    )


#: ``id(msg, committers="none")``: the message ID, 43 characters (spec core §4.4).
#:
#: ``committers``: ``"none"`` (the unsigned HMAC ID, HyperBEAM's ``id(M, none)``), ``"all"``
#: (commitments that have a committer), ``"signed"``, a list of committer addresses, or
#: ``"uncommitted"`` (every commitment including the HMAC one: HyperBEAM's ``id(M)``).
#: Native: a ``dict`` without ``commitments`` gets its unsigned ID with no Python frame in
#: between; anything else goes to :func:`_id_general`.
id = _native.id  # noqa: A001 - the protocol's name


def human_id(v: Any) -> str:
    """An ID in its 43-character text form (``hb_util:human_id``): 32 raw bytes (an ANS-104
    ``target`` or anchor) are encoded, text (or its bytes) is returned as text; anything else
    is a :class:`CodecError` (never decoded as if it were text)."""
    if isinstance(v, (bytes, bytearray)):
        if len(v) == 32:
            return _native.human_id(bytes(v))
        try:
            return bytes(v).decode("ascii")
        except UnicodeDecodeError:
            raise CodecError(f"not an ID: {len(v)} bytes that are not text") from None
    if isinstance(v, str):
        return v
    raise CodecError(f"not an ID: a {type(v).__name__}")


def _id_general(msg: Any, committers: Any = "none") -> str:
    """:func:`id` for messages other than a ``dict`` without ``commitments``."""
    if type(msg) is dict and "commitments" not in msg:
        return _native.unsigned_id(msg)
    if isinstance(msg, (bytes, str)):
        return _native.human_id(hashlib.sha256(as_bytes(msg) or b"").digest())
    if not isinstance(msg, dict):
        raise CodecError(f"cannot take the ID of a {type(msg).__name__}")
    comms = commitments_of(msg)
    if not comms:
        return _native.unsigned_id(msg)
    sel = select_commitments(msg, comms, committers)
    if not sel:
        return _native.unsigned_id({k: v for k, v in msg.items() if k != "commitments"})
    for cid in sel:
        if not (isinstance(cid, str) and len(cid) == 43):
            raise CodecError(f"commitment key {cid!r} is not a 43-character ID")
    if len(sel) == 1:
        return sel[0]
    joined = ", ".join(sorted(sel)).encode()
    return _native.human_id(hashlib.sha256(joined).digest())


def id_many(msgs: Sequence[dict[str, Any]]) -> list[str]:
    """Unsigned IDs of many uncommitted messages in one native call, without the GIL."""
    return _native.unsigned_id_many(msgs)


def convert(msg: Any, target: str, source: str = "structured@1.0") -> Any:
    """Convert ``msg`` from the ``source`` codec to the ``target`` codec (``hb_message:convert``).

    Codec names: ``structured@1.0`` (rich messages), ``httpsig@1.0`` (a dict of lower-case field
    names to bytes, body under ``"body"``), ``flat@1.0`` (``a/b`` keys; ``bytes`` input is its text
    form), ``json@1.0`` (JSON text as bytes), ``tabm``. The top-level ``priv`` is kept out of
    the conversion and merged back into structured/TABM results, as HyperBEAM does.
    """
    from .codecs import ans104
    from .codecs import json as json_codec

    for name in (target, source):
        if name not in CODECS:
            raise CodecError(f"unknown codec {name!r} (known: {', '.join(CODECS)})")
    if source == "ans104@1.0":  # a binary data item (spec core §8.7)
        msg = ans104.decode(msg.encode() if isinstance(msg, str) else msg)
        return msg if target == "structured@1.0" else convert(msg, target)
    if target == "ans104@1.0":  # rich message -> data item bytes (spec core §8.5)
        if source != "structured@1.0":
            msg = convert(msg, "structured@1.0", source)
        return ans104.encode(msg)
    if target != "json@1.0" and source != "json@1.0":
        return tabm.convert(msg, target, source)
    if isinstance(msg, (bytes, str)) and source != "flat@1.0" and source != "json@1.0":
        return json_codec.encode_bare(msg.encode() if isinstance(msg, str) else msg)
    body, priv = split_priv(msg)
    if source == "json@1.0":
        body, source = json_codec.decode(body), "tabm"
        if not isinstance(body, dict):
            return body
    elif source == "flat@1.0" and isinstance(body, (bytes, str)):
        body = _native.flat_parse(as_bytes(body))
    if target == "json@1.0":
        return json_codec.encode(_native.convert(body, source, "tabm"))
    out = _native.convert(body, source, target)
    if priv is not None and target in ("structured@1.0", "tabm") and isinstance(out, dict):
        out = deep_merge(out, {"priv": priv})
    return out
