"""`ans104@1.0`: messages <-> ANS-104 data items (spec core §8, ``dev_codec_ans104``).

The binary layout, Avro tags, deep hash, IDs, bundles and RSA-PSS-SHA256 signing live in Rust
(``hb_core::ans104``); this module maps messages (TABMs) to the ``#tx`` form and back.

A *tx* here is a dict with the ``#tx`` field names: ``signature``, ``owner``, ``target``,
``last_tx``, ``tags`` (a list of ``(name, value)`` byte pairs), ``data`` (bytes, or a dict of
key -> tx, or a list of tx) and, on output, ``id`` and ``unsigned_id``.

Public functions:

* ``encode(msg) -> bytes`` / ``serialize``: rich message -> binary data item;
* ``decode(data) -> dict`` / ``deserialize``: binary data item -> rich message (one native call;
  ``decode_general`` is the same through the tx dict); ``decode_verified(data)``: a plain signed
  item's message, signature check and committed keys in one native call;
* ``to_tx(tabm)`` / ``from_tx(tx)``: TABM <-> tx (§8.5, §8.7);
* ``bundle(items, layout=...)`` / ``unbundle(data)``: lists of items <-> bundle bytes (§8.4), in
  HyperBEAM's big-endian layout (default) or the ANS-104 standard's little-endian one;
* ``commit(msg, wallet)``, ``verify_commitment(msg, id, commitment)``,
  ``committed_keys(msg, commitment)`` (§8.8) and ``verify_many(items)`` (binary items, parallel
  native threads without the GIL).
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from .. import _native
from ..exceptions import CodecError, HyperbeamError, SignatureError
from ..map_order import TO_LIST, ordered
from ..tabm import convert, is_private_key

__all__ = [
    "BUNDLE_LAYOUTS",
    "bundle",
    "bundle_layout",
    "commit",
    "committed_keys",
    "decode",
    "decode_general",
    "decode_verified",
    "deserialize",
    "encode",
    "from_tx",
    "parse",
    "serialize",
    "serialize_tx",
    "to_tx",
    "unbundle",
    "verify_commitment",
    "verify_item",
    "verify_many",
]

#: The only tag values that become tags rather than nested items: UTF-8, at most 128 bytes.
MAX_TAG_VALUE = 128
#: ``hb_message:default_tx_list()`` field order; these keys are consumed as record fields.
_TX_FIELDS = (
    "format",
    "id",
    "unsigned_id",
    "last_tx",
    "owner",
    "tags",
    "target",
    "quantity",
    "data",
    "manifest",
    "data_size",
    "data_tree",
    "data_root",
    "signature",
    "reward",
    "denomination",
    "signature_type",
)
#: Fields always written as tags (`FORCED_TAG_FIELDS`).
_FORCED = frozenset(
    (
        "quantity",
        "manifest",
        "data_size",
        "data_tree",
        "data_root",
        "reward",
        "denomination",
        "signature_type",
    )
)
#: Fields whose default is a binary (a 32/42/43-byte value there is read as an ID).
_BINARY_FIELDS = frozenset(("id", "unsigned_id", "last_tx", "owner", "target", "data", "signature"))
_BASE_FIELDS = ("id", "last_tx", "owner", "target", "signature")
_BUNDLE_KEYS = ("bundle-format", "bundle-map", "bundle-version")
#: Tags that bundle normalisation writes (spec core §8.6).
_NORMALIZE_TAGS = frozenset((*_BUNDLE_KEYS, "map-format"))
#: Keys always reported as committed (`COMMITTED_TAGS`).
_COMMITTED_TAGS = ["id", "last_tx", "owner", "target", "signature", "data"]
#: Tag names that would land on a key `to`/`from` give another meaning: a record field
#: (`to` consumes it as the field) or the message's `commitments`/`original-tags`, or a private
#: key (dropped). HyperBEAM lets such a tag overwrite the field in message form (`from` merges
#: the tags over the fields), so the item cannot be re-encoded; here the tag lives only in
#: `original-tags` and the message key keeps the field (issue 13). `content-digest` too:
#: structured@1.0 drops it (`?REGEN_KEYS`), so as a key it would not encode back.
_SHADOWED = frozenset(k for k in _TX_FIELDS if k not in _FORCED) | {
    "commitments",
    "original-tags",
    "content-digest",
}
#: ... and in a signed item the keys `from` removes to make the commitment.
_SHADOWED_SIGNED = frozenset(("commitment-device", "committer", "alg"))
_DEVICE = b"ans104@1.0"
_ZERO_ID = bytes(32)


class Tx(dict[str, Any]):
    """A tx dict (marks a ``#tx`` record among message values)."""


# --- helpers --------------------------------------------------------------------------------------


def _b(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        try:  # non-UTF-8 tags are read with surrogateescape (``_key``): give their bytes back
            return v.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise CodecError(f"ans104: {v!r} holds a lone surrogate, which is not UTF-8") from None
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    raise CodecError(f"ans104: expected a binary, got {type(v).__name__}")


_ID_LENGTHS = frozenset((32, 42, 43))


def _key(k: Any) -> str:
    """``hb_ao:normalize_key``: lower-case, except 32/42/43-byte keys (IDs)."""
    # ASCII fast path (the decode hot loop): characters and bytes agree in length
    cls = k.__class__
    if cls is str and k.isascii():
        t: str = k
        return t if len(t) in _ID_LENGTHS else t.lower()
    if cls is bytes and k.isascii():
        s: str = k.decode("ascii")
        return s if len(k) in _ID_LENGTHS else s.lower()
    if isinstance(k, bytes):
        k = k.decode("utf-8", errors="surrogateescape")
    elif not isinstance(k, str):
        k = str(k)
    return cast("str", k if len(_b(k)) in (32, 42, 43) else k.lower())


def _is_private(k: Any) -> bool:
    if k.__class__ is str and k[:1] not in "pP":  # the hot case: no `priv` in any case
        return False
    return is_private_key(k)


def _without_private(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if not _is_private(k)}


def _is_utf8(v: bytes) -> bool:
    if v.isascii():
        return True
    try:
        v.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _native_id(v: bytes) -> bytes:
    """``hb_util:native_id`` for 32/42/43-byte values; a failed decode keeps the value."""
    if len(v) == 43:
        try:
            return _native.b64url_decode(v)
        except (HyperbeamError, ValueError):
            return v
    return v


def _sf_string_list(values: list[bytes]) -> bytes:
    out = []
    for v in values:
        out.append(b'"' + v.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
    return b", ".join(out)


def _dedup(tags: list[tuple[bytes, bytes]]) -> dict[str, bytes]:
    """``deduplicating_from_list``: normalised name -> value, or an SF list of repeated values."""
    agg: dict[str, list[bytes]] = {}
    for name, value in tags:
        agg.setdefault(_key(name), []).append(value)
    return {k: (v[0] if len(v) == 1 else _sf_string_list(v)) for k, v in agg.items()}


def _numbered(d: Any, what: str) -> list[Any]:
    """A numbered map ``{"1": x, "2": y}`` -> ``[x, y]`` (gaps -> error, `missing_key`)."""
    if not isinstance(d, dict):
        raise CodecError(f"ans104: {what} must be a numbered map")
    out = []
    for i in range(1, len(d) + 1):
        if str(i) not in d:
            raise CodecError(f"ans104: {what} lacks key {i}")
        out.append(d[str(i)])
    return out


def _empty_binaries(types: Any) -> set[str]:
    """Keys an ``ao-types`` value marks ``empty-binary`` (structured@1.0 moves ``""`` there)."""
    if not isinstance(types, (bytes, str)):
        return set()
    try:
        parsed = _native.sf_parse("dictionary", _b(types))
    except (HyperbeamError, ValueError):
        return set()
    return {k for k, v in parsed if str(v[0]) == "empty-binary"}


def _original_tags(m: Any) -> list[tuple[bytes, bytes]]:
    out = []
    for t in _numbered(m, "original-tags"):
        if isinstance(t, dict) and "ao-types" in t:  # an empty name or value, as TABM writes it
            empty = _empty_binaries(t["ao-types"])
            t = {k: t[k] if k in t else b"" for k in ("name", "value") if k in t or k in empty}
        if not isinstance(t, dict) or not {"name", "value"} <= t.keys():
            raise CodecError("ans104: each original tag needs a name and a value")
        if not isinstance(t["name"], (bytes, str)) or not isinstance(t["value"], (bytes, str)):
            raise CodecError("ans104: original tag names and values must be binaries")
        out.append((_b(t["name"]), _b(t["value"])))
    return out


def _restore_empty_tags(remaining: dict[str, Any], orig: list[tuple[bytes, bytes]]) -> None:
    """Empty tag values of ``orig`` that TABM conversion moved into ``ao-types`` become keys
    again, and ``ao-types`` goes back to the original tag (or away if the item had none)."""
    types = remaining.get("ao-types")
    empties = {_key(n) for n, v in orig if v == b""} & _empty_binaries(types)
    if not empties:
        return
    for k in empties:
        remaining.setdefault(k, b"")
    rest = [(k, v) for k, v in _native.sf_parse("dictionary", _b(types)) if k not in empties]
    original = [v for n, v in orig if _key(n) == "ao-types"]
    try:
        same = bool(original) and _native.sf_parse("dictionary", original[0]) == rest
    except (HyperbeamError, ValueError):
        same = False
    if same:
        remaining["ao-types"] = original[0]
    elif not rest and not original:
        del remaining["ao-types"]


def _shadowed(key: str, signed: bool) -> bool:
    """Whether a tag named ``key`` (normalised) stays out of the message (:data:`_SHADOWED`)."""
    return key in _SHADOWED or _is_private(key) or (signed and key in _SHADOWED_SIGNED)


def _tags_map(tags: list[tuple[bytes, bytes]]) -> dict[str, dict[str, bytes]]:
    return {str(i): {"name": n, "value": v} for i, (n, v) in enumerate(tags, 1)}


def _erl_values(items: list[Any]) -> list[Any]:
    """``maps:values`` of the numbered map of a list: keys "1", "10", "2", ... in byte order
    (in the map order above 32 items)."""
    keys = ordered((str(i) for i in range(1, len(items) + 1)), str.encode, TO_LIST)
    return [items[int(k) - 1] for k in keys]


def _tabm(msg: dict[str, Any]) -> dict[str, Any]:
    return cast("dict[str, Any]", convert(_without_private(msg), "tabm"))


def _rich(tabm: dict[str, Any]) -> dict[str, Any]:
    return cast("dict[str, Any]", convert(tabm, "structured@1.0", "tabm"))


# --- message (TABM) -> tx -------------------------------------------------------------------------


def to_tx(tabm: Any) -> Tx:
    """``dev_codec_ans104:to/1`` (spec core §8.5): a TABM (or binary) -> normalised tx dict."""
    return Tx(_native.ans104_normalize(_to_tx(tabm, 0)))


def _to_tx(m: Any, depth: int) -> Any:
    if depth > 64:
        raise CodecError("ans104: message nested too deeply")
    if isinstance(m, Tx):
        return m
    if isinstance(m, (bytes, str)):
        return Tx(tags=[(b"ao-type", b"binary")], data=_b(m))
    if not isinstance(m, dict):
        raise CodecError(f"ans104: cannot encode a {type(m).__name__} (invalid_tx)")
    comms = m.get("commitments") or {}
    if not isinstance(comms, dict):
        raise CodecError("ans104: commitments must be a map")
    msg = {_key(k): v for k, v in m.items() if k != "commitments" and not _is_private(k)}
    if len(comms) == 1:
        (c,) = comms.values()
        if not isinstance(c, dict):
            raise CodecError("ans104: a commitment must be a map")
        for k, v in c.items():
            if k not in ("commitment-device", "committer", "alg"):
                msg[_key(k)] = v
    elif len(comms) > 1:
        raise CodecError("ans104: multisignatures_not_supported_by_ans104")
    orig = _original_tags(msg.pop("original-tags")) if "original-tags" in msg else []
    # nested maps become items first (MsgKeyMap)
    msg = {k: (_to_tx(v, depth + 1) if isinstance(v, dict) else v) for k, v in msg.items()}
    fields: dict[str, Any] = {}
    remaining: dict[str, Any] = {}
    for k, v in msg.items():
        if k in _TX_FIELDS and k not in _FORCED:
            if k in _BINARY_FIELDS and isinstance(v, (bytes, str)) and len(_b(v)) in (32, 42, 43):
                v = _native_id(_b(v))
            fields[k] = v
        else:
            remaining[k] = v
    if orig:
        _restore_empty_tags(remaining, orig)
    # original tags keep long and non-UTF-8 values as tags (HyperBEAM throws
    # invalid_original_tags for them)
    orig_names = {_key(n) for n, _ in orig}
    tag_cands: list[tuple[bytes, bytes]] = []
    items: dict[str, Any] = {}
    # the tags in `maps:to_list(RemainingMap)` order (docs/map-order.md)
    for k in ordered(remaining, _b, TO_LIST):
        v = remaining[k]
        if isinstance(v, str):
            v = _b(v)
        short = isinstance(v, bytes) and len(v) <= MAX_TAG_VALUE and _is_utf8(v)
        if short or (isinstance(v, bytes) and k in orig_names):
            tag_cands.append((_b(k), v))
        else:
            items[_key(k)] = _to_tx(v, depth + 1)
    if orig:
        given = {n.decode("utf-8", errors="surrogateescape"): v for n, v in tag_cands}
        # tags named like fields or commitment keys are not message keys (`_SHADOWED`); a
        # signed item's commitment keys may be absent or, where present, must agree
        want = {
            k: v
            for k, v in _dedup(orig).items()
            if not _shadowed(k, False)
            and k not in _BUNDLE_KEYS  # `from` drops them (dev_codec_ans104's FILTERED_TAGS)
            and (k in given or k not in _SHADOWED_SIGNED)
        }
        if given != want:
            raise CodecError("ans104: invalid_original_tags (the tags disagree with original-tags)")
    tx = Tx(tags=orig or tag_cands)
    for f in ("last_tx", "owner", "target", "signature"):
        if f in fields:
            tx[f] = _b(fields[f])
    data = fields.get("data", b"")
    if isinstance(data, str):
        data = _b(data)
    if not items and isinstance(data, bytes):
        tx["data"] = data
    elif isinstance(data, bytes) and data == b"":
        tx["data"] = items
    elif isinstance(data, Tx) or isinstance(data, dict):
        tx["data"] = {**items, "data": data}
    elif isinstance(data, bytes):
        tx["data"] = {**items, "data": _to_tx(data, depth + 1)}
    else:
        raise CodecError(f"ans104: data must be a binary or a map, not {type(data).__name__}")
    return tx


# --- tx -> message (TABM) -------------------------------------------------------------------------


def _has_bundle_tags(tags: list[tuple[bytes, bytes]]) -> bool:
    first: dict[bytes, bytes] = {}
    for n, v in tags:
        first.setdefault(n, v)
    return first.get(b"bundle-format") == b"binary" and first.get(b"bundle-version") == b"2.0.0"


def _reproducible(
    tags: list[tuple[bytes, bytes]], bundled: bool = False, signed: bool = False, others: Any = ()
) -> bool:
    """Whether ``to_tx`` rebuilds exactly these tags from the message alone: normalised,
    distinct names in HyperBEAM's order (``maps:to_list`` of the tags and of the message's
    ``others`` keys that are not tags: sorted up to 32 keys, the map order above), names that
    are not record fields, and values that stay tags (UTF-8, <= 128 bytes, not empty:
    structured@1.0 moves ``""`` into ``ao-types``). HyperBEAM records original-tags only for
    names that are not normalised, so client items with unsorted, repeated or empty tags lose
    their signature there; recording them whenever needed keeps every item re-encodable byte for
    byte (issue 13 item 5). The tags of an un-bundled item are checked without those that
    bundling writes itself (``normalize`` re-adds them in its order)."""
    if bundled:
        tags = [(n, v) for n, v in tags if n.decode("utf-8", "replace") not in _NORMALIZE_TAGS]
    names = set()
    for n, v in tags:
        name = n.decode("utf-8", errors="surrogateescape")
        if n.isascii():  # `_key` keeps the bytes unless it lower-cases a non-ID name
            if (len(n) not in _ID_LENGTHS and n != n.lower()) or n in names:
                return False
        elif _key(name).encode("utf-8", errors="surrogateescape") != n or n in names:
            return False
        if not v or len(v) > MAX_TAG_VALUE or not _is_utf8(v):
            return False
        if _shadowed(name, signed) or (not bundled and _key(name) in _BUNDLE_KEYS):
            return False  # a bundle key of an item that is no bundle: `from` drops it
        names.add(n)
    keys = names | {_b(k) for k in others}
    return [k for k in ordered(keys, bytes, TO_LIST) if k in names] == [n for n, _ in tags]


def from_tx(tx: Any) -> Any:
    """``dev_codec_ans104:from/1`` (spec core §8.7): a tx dict -> TABM (or a binary)."""
    return _from_tx(tx, 0)


def _from_tx(tx: Any, depth: int) -> Any:
    if depth > 64:
        raise CodecError("ans104: items nested too deeply")
    if isinstance(tx, bytes):
        return tx
    if not isinstance(tx, dict):
        raise CodecError(f"ans104: not a data item: {type(tx).__name__} (invalid_tx)")
    tags = [(_b(n), _b(v)) for n, v in tx.get("tags") or []]
    for n, v in tags:
        if n == b"ao-type":
            if v == b"binary":
                return _b(tx.get("data", b""))
            break
    data = tx.get("data", b"")
    if isinstance(data, (bytes, str)) and _has_bundle_tags(tags):
        tx = _native.ans104_parse(_native.ans104_serialize(tx))
        data = tx["data"]
    if "signature" not in tx or "id" not in tx:
        tx = {**tx, **dict(zip(("id", "unsigned_id"), _native.ans104_ids(tx), strict=True))}
    sig = _b(tx.get("signature") or bytes(512))
    owner = _b(tx.get("owner") or bytes(512))
    signed = any(sig)
    base = {
        "id": _b(tx.get("id") or _ZERO_ID),
        "last_tx": _b(tx.get("last_tx") or b""),
        "owner": owner,
        "target": _b(tx.get("target") or b""),
        "signature": sig,
    }
    tag_map = {k: v for k, v in _dedup(tags).items() if not _shadowed(k, signed)}
    msg: dict[str, Any] = {**base, **tag_map}
    if isinstance(data, dict):
        children = {_key(k): _from_tx(v, depth + 1) for k, v in data.items()}
        msg = {**children, **msg}
    elif isinstance(data, list):
        children = {str(i): _from_tx(v, depth + 1) for i, v in enumerate(data, 1)}
        msg = {**children, **msg}
    elif isinstance(data, (bytes, str)):
        if _b(data):
            msg["data"] = _b(data)
    else:
        raise CodecError("ans104: unexpected data type (invalid_tx)")
    # every key is normalised already (`_dedup`, the children, the literal fields)
    # default-valued record fields are not message keys (structured `to` drops them)
    defaults = {"id": _ZERO_ID, "last_tx": b"", "owner": bytes(512), "target": b""}
    defaults["signature"] = bytes(512)
    for f in _BASE_FIELDS:
        if msg.get(f) == defaults[f]:
            del msg[f]
    others = [k for k in msg if k not in tag_map and k not in _TX_FIELDS]
    normal = _reproducible(tags, isinstance(data, (dict, list)), signed, others)
    if not signed:
        if not normal:
            msg["commitments"] = {
                _native.b64url_encode(_ZERO_ID): {
                    "commitment-device": _DEVICE,
                    "alg": b"unsigned",
                    "original-tags": _tags_map(tags),
                }
            }
    else:
        for k in ("id", "owner", "signature", "commitment-device", "committer", "alg"):
            msg.pop(k, None)
        msg.pop("original-tags", None)
        commitment: dict[str, Any] = {
            "commitment-device": _DEVICE,
            "alg": b"rsa-pss",
            "committer": _native.b64url_encode(hashlib.sha256(owner).digest()).encode(),
            "owner": owner,
            "signature": sig,
        }
        if not normal:
            commitment["original-tags"] = _tags_map(tags)
        msg["commitments"] = {_native.b64url_encode(hashlib.sha256(sig).digest()): commitment}
    for k in _BUNDLE_KEYS:
        msg.pop(k, None)
    return msg


# --- binary forms ---------------------------------------------------------------------------------


def serialize_tx(tx: dict[str, Any]) -> bytes:
    """``ar_bundles:serialize`` of a tx dict."""
    return _native.ans104_serialize(tx)


def parse(data: bytes) -> Tx:
    """``ar_bundles:deserialize``: binary data item -> tx dict (bundles un-bundled)."""
    return Tx(_native.ans104_parse(data))


def encode(msg: Any) -> bytes:
    """Rich message -> binary data item (``convert(msg, "ans104@1.0")`` then serialise)."""
    if isinstance(msg, (bytes, str)):
        return serialize_tx(_to_tx(_b(msg), 0))
    if not isinstance(msg, dict):
        raise CodecError(f"ans104: cannot encode a {type(msg).__name__}")
    return serialize_tx(_to_tx(_tabm(msg), 0))


def decode(data: bytes) -> Any:
    """Binary data item -> rich message."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"ans104: a data item must be bytes, not {type(data).__name__}")
    raw = bytes(data)
    # one native call: parse, un-bundle, `from` and structured@1.0 (the same result as below);
    # items with non-ASCII tag names or bundle keys take the path below
    fast = _native.ans104_decode(raw)
    if fast is not None:
        return fast
    return decode_general(raw)


def decode_general(data: bytes) -> Any:
    """:func:`decode` through the tx dict (``parse`` then :func:`from_tx`) in Python: the
    general path, and the reference the native one is tested against."""
    out = from_tx(_native.ans104_parse(bytes(data)))
    return _rich(out) if isinstance(out, dict) else out


def decode_verified(data: bytes) -> tuple[dict[str, Any], bool, list[str]] | None:
    """A plain signed data item in one native call (GIL released): ``(message, valid,
    committed)``, what :func:`decode`, :func:`verify_commitment` and ``committed`` give on the
    same bytes (spec core §8.7, §8.8). Plain: RSA-4096, bytes for data, at most 32 tags whose
    ASCII names are no record field, commitment, private, ID-sized, typing or bundle key and
    whose values are not empty; the message then re-encodes to exactly these bytes, so the
    signature over the bytes is the one over the message. None for any other item (or bytes
    that do not parse): take the general path."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"ans104: a data item must be bytes, not {type(data).__name__}")
    return _native.ans104_decode_verified(bytes(data))


serialize = encode
deserialize = decode


# --- commitments (spec core §4.5, §8.8) -----------------------------------------------------------


def commit(msg: dict[str, Any], wallet: Any) -> dict[str, Any]:
    """Sign ``msg`` as an ANS-104 data item; its commitments become the single ans104 one."""
    if not isinstance(msg, dict):
        raise CodecError("ans104: only messages (dicts) can be committed")
    key = getattr(wallet, "_key", None)
    if key is None:
        raise SignatureError("ans104 commit needs a hyperbeam_fast.Wallet")
    priv = {k: v for k, v in msg.items() if _is_private(k)}
    tabm = _tabm(msg)
    signed = _native.ans104_sign(_to_tx(tabm, 0), key)
    prior = None
    for c in (tabm.get("commitments") or {}).values():
        if isinstance(c, dict) and _b(c.get("alg", b"")) == b"unsigned" and "original-tags" in c:
            prior = c["original-tags"]
            break
    commitment: dict[str, Any] = {
        "commitment-device": _DEVICE,
        "committer": wallet.address.encode(),
        "alg": b"rsa-pss",
        "owner": signed["owner"],
        "signature": signed["signature"],
    }
    if prior is not None:
        commitment["original-tags"] = prior
    if "hashpath" in tabm:
        commitment["hashpath"] = tabm["hashpath"]
    out = {k: v for k, v in tabm.items() if k not in ("hashpath", "commitments")}
    out["commitments"] = {_native.human_id(signed["id"]): commitment}
    rich = _rich(out)
    rich.update(priv)
    return rich


def _merged(msg: dict[str, Any], commitment: dict[str, Any]) -> dict[str, Any]:
    """``dev_message``: the base message with the commitment's fields at the top level."""
    extra = {k: v for k, v in commitment.items() if k != "commitment-device"}
    return {**_without_private(msg), **extra}


#: RSA checks already made, by (owner, signature, the 48-byte deep hash they sign): the same
#: request is checked for its signer, its committed keys and the cache write. The deep hash
#: covers every signed field (tags, data, target, anchor), so only the same item hits.
_CHECKED: dict[tuple[bytes, bytes, bytes], bool] = {}
_CHECKED_MAX = 4096


def _verify_tabm(tabm: dict[str, Any]) -> bool:
    body = {k: v for k, v in tabm.items() if k not in ("commitments", "committer", "alg")}
    try:
        tx = _to_tx(body, 0)
        key = (
            _b(tx.get("owner", b"")),
            _b(tx.get("signature", b"")),
            bytes(_native.ans104_signature_data(tx)),
        )
    except HyperbeamError:
        return False
    got = _CHECKED.get(key)
    if got is None:
        got = bool(_native.ans104_verify(tx))
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = got
    return got


def verify_commitment(msg: dict[str, Any], commitment_id: str, commitment: dict[str, Any]) -> bool:
    """§8.8 verify: re-encode the message with the commitment's owner/signature merged in and
    check the RSA-PSS signature over the deep hash. False for any mismatch, including a
    commitment ID that is not ``sha256(signature)`` or a ``committer`` that is not
    ``sha256(owner)``."""
    if not isinstance(msg, dict) or not isinstance(commitment, dict):
        return False
    sig = commitment.get("signature")
    if not isinstance(sig, (bytes, str)):
        return False
    cid = commitment_id.decode() if isinstance(commitment_id, bytes) else commitment_id
    if cid != _native.b64url_encode(hashlib.sha256(_b(sig)).digest()):
        return False
    owner, who = commitment.get("owner"), commitment.get("committer")
    if who is not None:  # the committer is the owner's address or nobody (§8.8, core §11)
        if not isinstance(owner, (bytes, str)) or not isinstance(who, (bytes, str)):
            return False
        if _b(who) != _native.b64url_encode(hashlib.sha256(_b(owner)).digest()).encode():
            return False
    try:
        tabm = _tabm(_merged(msg, commitment))
    except HyperbeamError:
        return False
    return _verify_tabm(tabm)


def _implicit_keys(tabm: dict[str, Any]) -> list[str]:
    types = tabm.get("ao-types")
    if not types:
        return []
    out = []
    for k, v in _native.sf_parse("dictionary", _b(types)):
        if str(v[0]).startswith("empty-"):
            out.append(k)
    return out


def committed_keys(
    msg: dict[str, Any], commitment: dict[str, Any], verified: bool = False
) -> list[str]:
    """§8.8 ``committed``: the keys this commitment covers, in HyperBEAM's collection order (the
    message-level ``committed`` reverses it). An item whose signature does not verify covers
    none; ``verified``: :func:`verify_commitment` has accepted exactly this ``msg`` and
    ``commitment`` (which implies the signature check made here), so it is not repeated."""
    tabm = _tabm(_merged(msg, commitment))
    comms = tabm.get("commitments") or {}
    first: dict[str, Any] = next(iter(comms.values()), {}) if isinstance(comms, dict) else {}
    nested = ordered((k for k, v in tabm.items() if isinstance(v, dict)), str.encode, TO_LIST)
    if "trusted-keys" in tabm:
        if not isinstance(first, dict) or first.get("trusted-keys") != tabm["trusted-keys"]:
            raise SignatureError("ans104: trusted_keys_not_found_in_commitment")
        tk = tabm["trusted-keys"]
        names = _erl_values(_numbered(tk, "trusted-keys") if isinstance(tk, dict) else [tk])
        return _from_trusted(tabm, names, nested)
    if "original-tags" in tabm:
        if not isinstance(first, dict) or first.get("original-tags") != tabm["original-tags"]:
            raise SignatureError("ans104: original_tags_not_found_in_commitment")
        tags = tabm["original-tags"]
        order = sorted(tags, key=lambda s: str(s).encode())
        names = [tags[k]["name"] for k in order]
        return _from_trusted(tabm, _erl_values(names), nested)
    if not verified and not _verify_tabm({k: v for k, v in tabm.items() if k != "commitments"}):
        return []
    tx = _to_tx(tabm, 0)
    norm = _native.ans104_normalize(tx)
    tag_keys = [_key(n) for n, _ in norm["tags"]]
    implicit = _implicit_keys(tabm) if "ao-types" in tabm else []
    return tag_keys + nested + implicit + _COMMITTED_TAGS


def _from_trusted(tabm: dict[str, Any], names: list[Any], nested: list[str]) -> list[str]:
    raw = [
        n.decode("utf-8", errors="surrogateescape") if isinstance(n, bytes) else str(n)
        for n in names
    ]
    implicit = _implicit_keys(tabm) if "ao-types" in raw else []
    return [_key(n) for n in raw] + implicit + nested + _COMMITTED_TAGS


# --- bundles (spec core §8.4) --------------------------------------------------------------------

#: ``hyperbeam``: 256-bit big-endian count and sizes, unsigned IDs (``ar_bundles``);
#: ``standard``: the ANS-104 standard's 256-bit little-endian, item IDs (arbundles, gateways).
BUNDLE_LAYOUTS = ("hyperbeam", "standard")


def bundle(items: list[Any], layout: str = "hyperbeam") -> bytes:
    """Bundle bytes of ``items``, in ``layout``. An item is a binary data item (kept byte for
    byte), a tx dict (a :class:`Tx` or a dict with ``tags``) or a message (encoded as
    :func:`encode` does)."""
    if layout not in BUNDLE_LAYOUTS:
        raise CodecError(f"ans104: unknown bundle layout {layout!r} (hyperbeam | standard)")
    if isinstance(items, (bytes, str, dict)) or not hasattr(items, "__iter__"):
        raise CodecError("ans104: a bundle is made of a list of items")
    txs = []
    for it in items:
        if isinstance(it, (bytes, bytearray, memoryview)):
            txs.append(_native.ans104_parse(bytes(it), unbundle=False))
        elif isinstance(it, Tx) or (isinstance(it, dict) and "tags" in it):
            txs.append(it)
        elif isinstance(it, dict):
            txs.append(_to_tx(_tabm(it), 0))
        else:
            raise CodecError(f"ans104: cannot bundle a {type(it).__name__}")
    return _native.ans104_bundle(txs, layout)


def unbundle(data: bytes) -> list[Tx]:
    """Bundle bytes (either layout; the one whose sizes fit) -> the list of tx dicts."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"ans104: a bundle must be bytes, not {type(data).__name__}")
    return [Tx(t) for t in _native.ans104_unbundle(bytes(data))]


def bundle_layout(data: bytes) -> str:
    """``"hyperbeam"`` or ``"standard"``: the layout whose count and sizes fit ``data``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"ans104: a bundle must be bytes, not {type(data).__name__}")
    return _native.ans104_bundle_layout(bytes(data))


# --- data items -----------------------------------------------------------------------------------


def verify_item(item: bytes | dict[str, Any]) -> bool:
    """``ar_bundles:verify_item`` on a binary data item or a tx dict."""
    try:
        return _native.ans104_verify(item)
    except UnicodeEncodeError as e:  # a tx dict's text that is no UTF-8 (spec core §14)
        raise CodecError(f"ans104: a tx field or tag is not UTF-8 text: {e.reason}") from None


def verify_many(items: list[bytes], threads: int = 0) -> list[bool]:
    """Verify many binary data items on parallel native threads (GIL released)."""
    try:
        return _native.ans104_verify_many(list(items), threads)
    except UnicodeEncodeError as e:
        raise CodecError(f"ans104: a tx field or tag is not UTF-8 text: {e.reason}") from None
