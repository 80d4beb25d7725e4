"""The unsigned (HMAC) ID (core §4.3), the message ID hashpaths use (core §4.4) and the
signature base (core §7.2)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from hyperbeam_fast.exceptions import CodecError

from .httpsig import content_digest, httpsig_to
from .keys import lowercase, normalize_key
from .map_order import OTP27
from .primitives import b64url_encode, human_id, sha256
from .sf import sf_inner_list, sf_string
from .structured import structured_from

__all__ = [
    "DERIVED_COMPONENTS",
    "HMAC_KEY",
    "message_id",
    "signature_base",
    "unsigned_id",
    "unsigned_signature_base",
]

# §7.2 / §4.3 step 6: component names that get an "@" prefix (RFC 9421 derived components).
DERIVED_COMPONENTS = frozenset(
    {
        b"method",
        b"target-uri",
        b"authority",
        b"scheme",
        b"request-target",
        b"path",
        b"query",
        b"query-param",
        b"status",
    }
)

HMAC_KEY = b"ao"


def _component_value(v: bytes) -> bytes:
    # §7.2: trim leading/trailing SPACE (0x20 only), then every LF becomes a space.
    return v.strip(b" ").replace(b"\n", b" ")


def signature_base(components: list[bytes], enc: dict[bytes, bytes], params: bytes) -> bytes:
    """§7.2: ``"<name>": <value>`` lines, then the ``@signature-params`` line.

    ``components`` keep their ``@`` (it appears only in the params line); ``params`` is the
    already-serialised parameter text, e.g. ``;alg="hmac-sha256";keyid="ao"``.
    """
    lines = []
    for c in components:
        name = normalize_key(c[1:] if c.startswith(b"@") else c)
        if name not in enc:
            raise CodecError(f"signature component {name!r} not in the encoded message")
        lines.append(b'"' + name + b'": ' + _component_value(enc[name]))
    params_line = sf_inner_list([sf_string(lowercase(c)) for c in components]) + params
    return b"\n".join(lines) + b'\n"@signature-params": ' + params_line


def _hmac_components(keys: list[bytes]) -> list[bytes]:
    # §4.3 step 6: strip a leading "@", add "@" to derived names, then sort (as bytes).
    out = []
    for k in keys:
        k = k[1:] if k.startswith(b"@") else k
        out.append(b"@" + k if k in DERIVED_COMPONENTS else k)
    return sorted(out)


def unsigned_signature_base(msg: dict[Any, Any], map_order: str = OTP27) -> bytes:
    """§4.3 steps 1-7: the RFC 9421 signature base that the unsigned ID is the HMAC of.

    Per §4.4 ``id(Msg, none)`` selects no commitment, so the ID is that of the message
    *without* its ``commitments`` key; any commitments are therefore simply dropped.
    """
    if not isinstance(msg, dict):
        raise CodecError(f"not a message: {type(msg).__name__}")
    # Step 1: `signature-input` → `x-signature-input` (no other signature key is renamed).
    m: dict[object, object] = {}
    for k, v in msg.items():
        nk = normalize_key(k)
        if nk == b"commitments":
            continue  # §4.4: id(none) is computed on the message without commitments
        m[b"x-signature-input" if nk == b"signature-input" else k] = v
    # Step 2.
    tabm = structured_from(m)
    # Steps 3-4: (no commitments remain), encode, drop body-keys, body → content-digest.
    enc = httpsig_to(tabm, map_order)
    enc.pop(b"body-keys", None)
    if b"body" in enc:
        enc[b"content-digest"] = content_digest(enc.pop(b"body"))
    # Steps 5-6: the components are all keys of Enc.
    components = _hmac_components(list(enc))
    # Step 7.
    return signature_base(components, enc, b';alg="hmac-sha256";keyid="ao"')


def unsigned_id(msg: dict[Any, Any], map_order: str = OTP27) -> str:
    """§4.3: the unsigned ID, ``hb_message:id(Msg, none)``: HMAC-SHA256 (key "ao") over the
    signature base of the message's httpsig@1.0 encoding. Returns the 43-char human form.
    ``map_order``: whose Erlang map order (``otp27`` | ``otp25``) maps above 32 keys follow."""
    base = unsigned_signature_base(msg, map_order)
    return b64url_encode(hmac.new(HMAC_KEY, base, hashlib.sha256).digest())


def message_id(msg: dict[Any, Any], map_order: str = OTP27) -> str:
    """§4.4 ``dev_message:id(Msg, #{commitments => "all"})``, as used by hashpaths (§5.1):
    no commitments → the unsigned ID; one → its key; several → sha256 of the sorted keys
    joined with ", "."""
    commitments = {}
    for k, v in msg.items():
        if normalize_key(k) == b"commitments" and isinstance(v, dict):
            commitments = v
    if not commitments:
        return unsigned_id(msg, map_order)
    keys = sorted(normalize_key(k) for k in commitments)
    if len(keys) == 1:
        return human_id(keys[0])
    return b64url_encode(sha256(b", ".join(keys)))
