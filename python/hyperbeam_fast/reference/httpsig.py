"""``httpsig@1.0``: TABM -> HTTP headers and body, with ``ao-ids`` and the multipart body
(core §6.1-§6.3)."""

from __future__ import annotations

from typing import Any

from .keys import normalize_key
from .map_order import OTP27, TO_LIST, key_order
from .primitives import ID_SIZES, as_bytes, b64std, b64url_encode, sha256
from .sf import sf_dictionary, sf_list, sf_string

__all__ = ["CRLF", "MAX_HEADER_LENGTH", "content_digest", "httpsig_to"]

# §6.1: binary values of at most this many bytes become headers.
MAX_HEADER_LENGTH = 4096


CRLF = b"\r\n"


def _tabm_keys_to_bytes(tabm: dict[Any, Any]) -> dict[bytes, Any]:
    """Keys normalised (§2.2) at every level, ``str`` leaves as bytes.

    Normalising matters for atom keys: structured@1.0 keeps ``'Key-Two'`` (an atom) as is, but
    the httpsig@1.0 encoding has ``key-two`` (vector ``m13_atom_keys/convert/httpsig@1.0``),
    and the signature base looks components up by their normalised name (§7.2).
    """
    out: dict[bytes, Any] = {}
    for k in sorted(tabm, key=as_bytes):
        v = tabm[k]
        if isinstance(v, dict):
            v = _tabm_keys_to_bytes(v)
        elif isinstance(v, str):
            v = v.encode("utf-8")
        out[normalize_key(k)] = v
    return out


def _inline_key(tabm: dict[bytes, Any]) -> tuple[dict[bytes, bytes], bytes]:
    """§6.1 step 3: the inline body key and any header it implies."""
    if b"inline-body-key" in tabm:
        return {}, as_bytes(tabm[b"inline-body-key"])
    if b"body" in tabm:
        return {}, b"body"
    if b"data" in tabm:
        return {b"inline-body-key": b"data"}, b"data"
    return {}, b"body"


def _group_maps(m: dict[bytes, Any], parent: bytes, top: dict[bytes, Any]) -> dict[bytes, Any]:
    """§6.3 ``group_maps``: flatten nested maps into parts named by their paths."""
    flat: dict[bytes, Any] = {}
    for k in sorted(m):
        v = m[k]
        nk = normalize_key(k)
        fk = nk if parent == b"" else parent + b"/" + nk
        if isinstance(v, dict):
            top = _group_maps(v, fk, top)
        elif len(v) > MAX_HEADER_LENGTH:
            top[fk] = v  # lifted to its own part
        else:
            flat[nk] = v
    if not flat:
        return top
    if parent == b"":
        top.update(flat)
    else:
        top[parent] = flat
    return top


def _encode_part(name: bytes, value: Any, inline_key: bytes, map_order: str = OTP27) -> bytes:
    """§6.3: the bytes of one multipart part (without the boundary line). The header lines
    come in ``maps:to_list`` order of the part's map (``encode_http_msg``; :mod:`.map_order`)."""
    if isinstance(value, dict) and list(value) == [b"body"]:
        # A map holding only `body` is sent as the raw body of part "<name>/body".
        return _encode_part(name + b"/body", value[b"body"], inline_key, map_order)
    if name == inline_key:
        disposition = b"inline"
    else:
        disposition = b'form-data;name="' + name + b'"'
    if isinstance(value, dict):
        headers = dict(value)
        headers[b"content-disposition"] = disposition
        names = key_order([k for k in headers if k != b"body"], TO_LIST, map_order)
        lines = [k + b": " + headers[k] for k in names]
        part = CRLF.join(lines)
        body = headers.get(b"body", b"")
        if body:
            part += CRLF + CRLF + body
        return part
    return b"content-disposition: " + disposition + CRLF + CRLF + bytes(value)


def httpsig_to(tabm: dict[Any, Any], map_order: str = OTP27) -> dict[bytes, bytes]:
    """§6.1 ``dev_codec_httpsig_conv:to/1`` (encoding only; signed messages not handled).

    Returns a dict of lowercase header names to values; the key ``body`` holds the HTTP body.
    ``map_order`` (``otp27`` | ``otp25``) is the Erlang map order of maps above 32 keys.
    """
    t = _tabm_keys_to_bytes(tabm)
    # Step 1 (§6.2): binary values under ID-sized keys go into one `ao-ids` SF dictionary.
    ids = {k: v for k, v in t.items() if len(k) in ID_SIZES and isinstance(v, bytes)}
    if ids:
        t = {k: v for k, v in t.items() if k not in ids}
        # `group_ids` lists them with `maps:to_list`
        order = key_order(ids, TO_LIST, map_order)
        t[b"ao-ids"] = sf_dictionary([(k, sf_string(ids[k])) for k in order])
    # Step 2.
    s = {
        k: v
        for k, v in t.items()
        if k not in (b"commitments", b"signature", b"signature-input", b"priv")
    }
    # Step 3 (computed on the TABM, i.e. after ao-ids grouping; the keys involved never move).
    enc, ik = _inline_key(t)
    enc = dict(enc)
    # Step 4: headers vs body map.
    body_map: dict[bytes, Any] = {}
    for k in sorted(s):
        v = s[k]
        if k == b"body" or k == ik or isinstance(v, dict) or len(v) > MAX_HEADER_LENGTH:
            body_map[k] = v
        else:
            enc[k] = v
    # Step 5.
    grouped = _group_maps(body_map, b"", {})
    if not grouped:
        pass
    elif list(grouped) == [ik] and isinstance(grouped[ik], bytes):
        enc[b"body"] = grouped[ik]  # a raw body, no multipart
    else:
        names = sorted(grouped)
        parts = [_encode_part(n, grouped[n], ik, map_order) for n in names]
        boundary = b64url_encode(sha256(CRLF.join(parts))).encode("ascii")
        enc[b"body"] = (
            CRLF.join(b"--" + boundary + CRLF + p for p in parts) + CRLF + b"--" + boundary + b"--"
        )
        enc[b"body-keys"] = sf_list([sf_string(n) for n in names])
        enc[b"content-type"] = b'multipart/form-data; boundary="' + boundary + b'"'
    # Step 6.
    if enc.get(b"body"):
        enc[b"content-digest"] = content_digest(enc[b"body"])
    # Step 7 (signed messages: HMAC commitment signature headers) is not needed for IDs.
    return enc


def content_digest(body: bytes) -> bytes:
    """§6.4 ``content-digest``: ``sha-256=:<base64 of the SHA-256 of body>:``."""
    return b"sha-256=:" + b64std(sha256(body)).encode("ascii") + b":"
