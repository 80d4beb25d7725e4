"""Base64url and ID forms (core §1.1, §1.2) and the hash primitives (core §1.3)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from hyperbeam_fast.exceptions import CodecError, HashPathError

__all__ = [
    "ID_SIZES",
    "accumulate",
    "as_bytes",
    "b64std",
    "b64url_decode",
    "b64url_encode",
    "human_id",
    "native_id",
    "sha256",
    "sha256_chain",
]

# §1.2: a binary of one of these sizes "is an ID" (only the length is checked).
ID_SIZES = (32, 42, 43)


def b64url_encode(b: bytes) -> str:
    """§1.1: standard base64, ``+``→``-``, ``/``→``_``, every ``=`` stripped."""
    return base64.urlsafe_b64encode(bytes(b)).rstrip(b"=").decode("ascii")


def b64url_decode(s: str | bytes) -> bytes:
    """§1.1: pad to a multiple of 4, map ``-``/``_`` to ``+``/``/``, decode standard base64.

    Like the original it therefore also accepts the standard alphabet and padded input.
    Invalid input raises :class:`CodecError`.
    """
    if isinstance(s, str):
        try:
            s = s.encode("ascii")
        except UnicodeEncodeError as exc:
            raise CodecError(f"invalid base64url: {s!r}") from exc
    s = bytes(s)
    pad = {0: b"", 2: b"==", 3: b"="}.get(len(s) % 4)
    if pad is None:
        raise CodecError(f"invalid base64url length {len(s)}")
    std = (s + pad).replace(b"-", b"+").replace(b"_", b"/")
    try:
        return base64.b64decode(std, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CodecError(f"invalid base64url: {s!r}") from exc


def b64std(b: bytes) -> str:
    """Standard base64 *with* padding, as used inside SF byte sequences (§1.1)."""
    return base64.b64encode(b).decode("ascii")


def as_bytes(x: str | bytes | bytearray) -> bytes:
    """A ``str`` as its UTF-8 bytes; bytes as they are."""
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


def human_id(b: str | bytes) -> str:
    """§1.2 ``human_id``: 32 bytes → base64url; 43 and 42 bytes → unchanged."""
    raw = as_bytes(b)
    if len(raw) == 32:
        return b64url_encode(raw)
    if len(raw) in (42, 43):
        return raw.decode("latin-1") if isinstance(b, bytes) else str(b)
    raise HashPathError(f"human_id: not an ID (size {len(raw)})")


def native_id(x: str | bytes) -> bytes:
    """§1.2 ``native_id``: 43 → base64url-decoded; 32 and 42 → unchanged."""
    raw = as_bytes(x)
    if len(raw) == 43:
        try:
            return b64url_decode(raw)
        except CodecError as exc:
            raise HashPathError(f"native_id: bad base64url ID {raw!r}") from exc
    if len(raw) in (32, 42):
        return raw
    raise HashPathError(f"native_id: not an ID (size {len(raw)})")


def sha256(data: bytes) -> bytes:
    """§1.3 ``hb_crypto:sha256``."""
    return hashlib.sha256(data).digest()


def sha256_chain(id1: bytes, id2: bytes) -> bytes:
    """§1.3: ``sha256(ID1[0:32] ‖ ID2)``; ID1 must have an ID size."""
    id1, id2 = bytes(id1), bytes(id2)
    if len(id1) not in ID_SIZES:
        raise HashPathError(f"cannot_chain_bad_ids: first ID has size {len(id1)}")
    return sha256(id1[:32] + id2)


def accumulate(id1: bytes, id2: bytes) -> bytes:
    """§1.3: ``(int_be(ID1) + int_be(sha256_chain(ID1, ID2))) mod 2^256``, 32 bytes big-endian."""
    id1, id2 = bytes(id1), bytes(id2)
    if len(id1) not in ID_SIZES:
        raise HashPathError(f"cannot_accumulate_bad_ids: first ID has size {len(id1)}")
    total = int.from_bytes(id1, "big") + int.from_bytes(sha256_chain(id1, id2), "big")
    return (total % (1 << 256)).to_bytes(32, "big")
