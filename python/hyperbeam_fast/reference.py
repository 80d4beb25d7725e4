"""Pure-Python reference implementation, slow on purpose, used to cross-check the native code.

This module re-derives, from the specification alone (``../shared/spec/core.md``), the parts of
the AO-Core data layer that decide IDs and hashpaths:

* base64url and ID forms (core §1.1, §1.2) and the hash primitives (§1.3);
* key normalisation and private keys (§2.2, §2.3);
* ``structured@1.0`` rich message -> TABM (§3.1, §3.2);
* ``httpsig@1.0`` TABM -> HTTP encoding, including ``ao-ids`` and the multipart body (§6.1-6.3);
* the unsigned (HMAC) ID (§4.3, §7.2) and hashpaths (§5.1).

It uses only the standard library and favours readability over speed. The benchmarks use it as
the "pure-Python reference" that the Rust path is compared to, and the tests use it to check the
Rust path byte for byte.

Python message model: a message is a ``dict`` with ``str`` (or ``bytes``) keys. Values are
``bytes`` (a plain ``str`` means its UTF-8 bytes), ``int``, ``float``, ``True``/``False``/``None``
(the atoms true/false/null), an *Atom* (any ``str`` subclass instance whose class is named
``Atom``), ``list`` or ``dict``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math

from hyperbeam_fast.exceptions import CodecError, HashPathError

__all__ = [
    "ID_SIZES",
    "accumulate",
    "b64url_decode",
    "b64url_encode",
    "combine_hashpath",
    "encode_value",
    "hashpath",
    "hb_escape",
    "httpsig_to",
    "human_id",
    "is_atom",
    "is_private",
    "message_id",
    "native_id",
    "normalize_key",
    "sf_dictionary",
    "sf_inner_list",
    "sf_list",
    "sf_string",
    "sha256",
    "sha256_chain",
    "signature_base",
    "structured_from",
    "unsigned_id",
    "unsigned_signature_base",
]

# §1.2: a binary of one of these sizes "is an ID" (only the length is checked).
ID_SIZES = (32, 42, 43)

# §6.1: binary values of at most this many bytes become headers.
MAX_HEADER_LENGTH = 4096

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

# §2.4: ?REGEN_KEYS, dropped by structured@1.0 `from` at every level.
REGEN_KEYS = frozenset({b"unsigned_id", b"content-digest"})

# §2.4: ?AO_CORE_KEYS, ignored when deciding whether a msg2 is "only a path" (§5.1).
AO_CORE_KEYS = frozenset({b"path", b"hashpath", b"priv"})

CRLF = b"\r\n"
HMAC_KEY = b"ao"


# ---------------------------------------------------------------------------------------------
# §1.1 base64url, §1.2 ID forms, §1.3 hash primitives
# ---------------------------------------------------------------------------------------------


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


def _b64std(b: bytes) -> str:
    """Standard base64 *with* padding, as used inside SF byte sequences (§1.1)."""
    return base64.b64encode(b).decode("ascii")


def _as_bytes(x: str | bytes) -> bytes:
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


def human_id(b: str | bytes) -> str:
    """§1.2 ``human_id``: 32 bytes → base64url; 43 and 42 bytes → unchanged."""
    raw = _as_bytes(b)
    if len(raw) == 32:
        return b64url_encode(raw)
    if len(raw) in (42, 43):
        return raw.decode("latin-1") if isinstance(b, bytes) else str(b)
    raise HashPathError(f"human_id: not an ID (size {len(raw)})")


def native_id(x: str | bytes) -> bytes:
    """§1.2 ``native_id``: 43 → base64url-decoded; 32 and 42 → unchanged."""
    raw = _as_bytes(x)
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


# ---------------------------------------------------------------------------------------------
# §2.2 key normalisation, §2.3 private keys
# ---------------------------------------------------------------------------------------------


def is_atom(x: object) -> bool:
    """Our tiny Atom check: a ``str`` subclass instance whose class is named ``Atom``."""
    return isinstance(x, str) and type(x).__name__ == "Atom"


def _lowercase(b: bytes) -> bytes:
    # `string:lowercase` is Unicode-aware on UTF-8; fall back to ASCII for invalid UTF-8.
    try:
        return b.decode("utf-8").lower().encode("utf-8")
    except UnicodeDecodeError:
        return b.lower()


def normalize_key(k: object) -> bytes:
    """§2.2 ``hb_ao:normalize_key/1``, first matching rule wins."""
    if is_atom(k):
        return str(k).encode("utf-8")  # rule 3: atom_to_binary, no lowercasing
    if isinstance(k, bool):
        return b"true" if k else b"false"  # an Erlang atom
    if isinstance(k, str | bytes | bytearray):
        b = _as_bytes(k)
        if len(b) in ID_SIZES:
            return b  # rule 1: ID-sized binaries keep their case
        return _lowercase(b)  # rule 2
    if isinstance(k, int):
        return str(k).encode("ascii")  # rule 4
    if isinstance(k, list | tuple):
        return b"/".join(normalize_key(p) for p in k)  # rule 5 (non-string lists)
    raise CodecError(f"unsupported key type: {type(k).__name__}")


def is_private(k: object) -> bool:
    """§2.3: a key is private when its normalised form starts with ``priv``."""
    return normalize_key(k).startswith(b"priv")


def _normalize_keys(msg: dict) -> dict[bytes, object]:
    """§2.2 ``normalize_keys``: top-level only. On a collision the key that comes last in
    (byte) order wins, like the fold over a small Erlang map."""
    out: dict[bytes, object] = {}
    for k in sorted(msg, key=lambda k: _as_bytes(k) if isinstance(k, str | bytes) else b""):
        out[normalize_key(k)] = msg[k]
    return out


def _list_to_numbered(items: list) -> dict[bytes, object]:
    """§2.2: ``normalize_keys(List)`` gives a map with keys "1".."N"."""
    return {str(i).encode("ascii"): v for i, v in enumerate(items, start=1)}


# ---------------------------------------------------------------------------------------------
# §1.5 hb_escape and §1.6 the structured-field serialisation we need
# ---------------------------------------------------------------------------------------------

_ESCAPE_KEEP = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-_/?&+")


def hb_escape(key: bytes) -> bytes:
    """§1.5: keep ``a-z 0-9 . - _ / ? & +``; every other byte becomes ``%hh`` (lowercase hex)."""
    return b"".join(bytes([c]) if c in _ESCAPE_KEEP else b"%%%02x" % c for c in key)


def sf_string(b: bytes | str) -> bytes:
    """§1.6: an SF string. Only ``\\`` and ``"`` are escaped; nothing is validated."""
    b = _as_bytes(b)
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def sf_list(members: list[bytes]) -> bytes:
    """§1.6: list members (already serialised) joined with ``", "``."""
    return b", ".join(members)


def sf_inner_list(members: list[bytes]) -> bytes:
    """§1.6: inner list, items joined by a single space, in parentheses."""
    return b"(" + b" ".join(members) + b")"


def sf_dictionary(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """§1.6: ``key=value`` members (values already serialised) joined with ``", "``."""
    return b", ".join(k + b"=" + v for k, v in pairs)


# ---------------------------------------------------------------------------------------------
# §3.1, §3.2 structured@1.0: rich message -> TABM
# ---------------------------------------------------------------------------------------------


def _encode_float(f: float) -> bytes:
    # §3.2: Erlang float_to_binary default == [{scientific, 20}] == Python "%.20e".
    if math.isnan(f) or math.isinf(f):
        raise CodecError(f"float {f!r} has no Erlang representation")
    return b"%.20e" % f


def _atom_name(v: object) -> bytes:
    if v is True:
        return b"true"
    if v is False:
        return b"false"
    if v is None:
        return b"null"
    return str(v).encode("utf-8")


def _is_atom_value(v: object) -> bool:
    return v is True or v is False or v is None or is_atom(v)


def encode_value(v: object) -> tuple[bytes, bytes]:
    """§3.2 ``encode_value(V)`` → ``(Type, Bin)``."""
    if _is_atom_value(v):
        return b"atom", sf_string(_atom_name(v))  # with the quotes: "true"
    if isinstance(v, int):
        return b"integer", str(v).encode("ascii")
    if isinstance(v, float):
        return b"float", _encode_float(v)
    if isinstance(v, str | bytes | bytearray):
        return b"binary", _as_bytes(v)  # only reached for list elements
    if isinstance(v, list):
        members = []
        for elem in v:
            if isinstance(elem, dict):
                # §3.1: a map after a scalar in a list crashes (badmatch) in the original.
                raise CodecError("a map may not follow a scalar inside a list")
            if isinstance(elem, str | bytes | bytearray) and not is_atom(elem):
                members.append(sf_string(_as_bytes(elem)))
            else:
                t, enc = encode_value(elem)
                members.append(sf_string(b"(ao-type-" + t + b") " + enc))
        return b"list", sf_list(members)
    raise CodecError(f"unsupported value type: {type(v).__name__}")


def _is_empty_message(v: dict) -> bool:
    # §3.1: size 0, or size 1 holding only the key priv / "priv".
    if len(v) == 0:
        return True
    return len(v) == 1 and normalize_key(next(iter(v))) == b"priv"


def structured_from(msg: dict) -> dict:
    """§3.1 ``dev_codec_structured:from/1``: rich message → TABM (bytes keys and leaves)."""
    if isinstance(msg, str | bytes | bytearray) and not is_atom(msg):
        return _as_bytes(msg)  # from(bin) = bin
    if not isinstance(msg, dict):
        raise CodecError(f"not a message: {type(msg).__name__}")
    m = _normalize_keys(msg)
    types: list[tuple[bytes, bytes]] = []
    values: dict[bytes, object] = {}
    for k in sorted(m):
        if k in REGEN_KEYS or k.startswith(b"priv"):
            continue
        v = m[k]
        if isinstance(v, str | bytes | bytearray) and not is_atom(v) and len(v) == 0:
            types.append((k, b"empty-binary"))
        elif isinstance(v, list) and len(v) == 0:
            types.append((k, b"empty-list"))
        elif isinstance(v, dict) and _is_empty_message(v):
            types.append((k, b"empty-message"))
        elif isinstance(v, str | bytes | bytearray) and not is_atom(v):
            values[k] = _as_bytes(v)
        elif isinstance(v, dict):
            values[k] = structured_from(v)
        elif isinstance(v, list) and isinstance(v[0], dict | list):
            # §3.1: a list whose first element is a map or list becomes a numbered map.
            types.append((k, b"list"))
            values[k] = structured_from(_list_to_numbered(v))
        elif _is_atom_value(v) or isinstance(v, int | float | list):
            t, enc = encode_value(v)
            types.append((k, t))
            values[k] = enc
        else:
            # The original drops unknown terms silently; in Python that would hide bugs.
            raise CodecError(f"unsupported value type for key {k!r}: {type(v).__name__}")
    if types:
        values[b"ao-types"] = sf_dictionary([(hb_escape(k), sf_string(t)) for k, t in types])
    return values


# ---------------------------------------------------------------------------------------------
# §6.1-§6.3 httpsig@1.0: TABM -> HTTP headers (+ body)
# ---------------------------------------------------------------------------------------------


def _tabm_keys_to_bytes(tabm: dict) -> dict[bytes, object]:
    """Keys normalised (§2.2) at every level, ``str`` leaves as bytes.

    Normalising matters for atom keys: structured@1.0 keeps ``'Key-Two'`` (an atom) as is, but
    the httpsig@1.0 encoding has ``key-two`` (vector ``m13_atom_keys/convert/httpsig@1.0``),
    and the signature base looks components up by their normalised name (§7.2).
    """
    out: dict[bytes, object] = {}
    for k in sorted(tabm, key=_as_bytes):
        v = tabm[k]
        if isinstance(v, dict):
            v = _tabm_keys_to_bytes(v)
        elif isinstance(v, str):
            v = v.encode("utf-8")
        out[normalize_key(k)] = v
    return out


def _inline_key(tabm: dict[bytes, object]) -> tuple[dict[bytes, bytes], bytes]:
    """§6.1 step 3: the inline body key and any header it implies."""
    if b"inline-body-key" in tabm:
        return {}, _as_bytes(tabm[b"inline-body-key"])
    if b"body" in tabm:
        return {}, b"body"
    if b"data" in tabm:
        return {b"inline-body-key": b"data"}, b"data"
    return {}, b"body"


def _group_maps(
    m: dict[bytes, object], parent: bytes, top: dict[bytes, object]
) -> dict[bytes, object]:
    """§6.3 ``group_maps``: flatten nested maps into parts named by their paths."""
    flat: dict[bytes, object] = {}
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


def _encode_part(name: bytes, value: object, inline_key: bytes) -> bytes:
    """§6.3: the bytes of one multipart part (without the boundary line)."""
    if isinstance(value, dict) and list(value) == [b"body"]:
        # A map holding only `body` is sent as the raw body of part "<name>/body".
        return _encode_part(name + b"/body", value[b"body"], inline_key)
    if name == inline_key:
        disposition = b"inline"
    else:
        disposition = b'form-data;name="' + name + b'"'
    if isinstance(value, dict):
        headers = dict(value)
        headers[b"content-disposition"] = disposition
        lines = [k + b": " + headers[k] for k in sorted(headers) if k != b"body"]
        part = CRLF.join(lines)
        body = headers.get(b"body", b"")
        if body:
            part += CRLF + CRLF + body
        return part
    return b"content-disposition: " + disposition + CRLF + CRLF + value


def httpsig_to(tabm: dict) -> dict[bytes, bytes]:
    """§6.1 ``dev_codec_httpsig_conv:to/1`` (encoding only; signed messages not handled).

    Returns a dict of lowercase header names to values; the key ``body`` holds the HTTP body.
    """
    t = _tabm_keys_to_bytes(tabm)
    # Step 1 (§6.2): binary values under ID-sized keys go into one `ao-ids` SF dictionary.
    ids = {k: v for k, v in t.items() if len(k) in ID_SIZES and isinstance(v, bytes)}
    if ids:
        t = {k: v for k, v in t.items() if k not in ids}
        t[b"ao-ids"] = sf_dictionary([(k, sf_string(ids[k])) for k in sorted(ids)])
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
    body_map: dict[bytes, object] = {}
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
        parts = [_encode_part(n, grouped[n], ik) for n in names]
        boundary = b64url_encode(sha256(CRLF.join(parts))).encode("ascii")
        enc[b"body"] = (
            CRLF.join(b"--" + boundary + CRLF + p for p in parts) + CRLF + b"--" + boundary + b"--"
        )
        enc[b"body-keys"] = sf_list([sf_string(n) for n in names])
        enc[b"content-type"] = b'multipart/form-data; boundary="' + boundary + b'"'
    # Step 6.
    if enc.get(b"body"):
        enc[b"content-digest"] = _content_digest(enc[b"body"])
    # Step 7 (signed messages: HMAC commitment signature headers) is not needed for IDs.
    return enc


def _content_digest(body: bytes) -> bytes:
    return b"sha-256=:" + _b64std(sha256(body)).encode("ascii") + b":"


# ---------------------------------------------------------------------------------------------
# §4.3 the unsigned (HMAC) ID and §7.2 the signature base
# ---------------------------------------------------------------------------------------------


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
    params_line = sf_inner_list([sf_string(_lowercase(c)) for c in components]) + params
    return b"\n".join(lines) + b'\n"@signature-params": ' + params_line


def _hmac_components(keys: list[bytes]) -> list[bytes]:
    # §4.3 step 6: strip a leading "@", add "@" to derived names, then sort (as bytes).
    out = []
    for k in keys:
        k = k[1:] if k.startswith(b"@") else k
        out.append(b"@" + k if k in DERIVED_COMPONENTS else k)
    return sorted(out)


def unsigned_signature_base(msg: dict) -> bytes:
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
    enc = httpsig_to(tabm)
    enc.pop(b"body-keys", None)
    if b"body" in enc:
        enc[b"content-digest"] = _content_digest(enc.pop(b"body"))
    # Steps 5-6: the components are all keys of Enc.
    components = _hmac_components(list(enc))
    # Step 7.
    return signature_base(components, enc, b';alg="hmac-sha256";keyid="ao"')


def unsigned_id(msg: dict) -> str:
    """§4.3: the unsigned ID, ``hb_message:id(Msg, none)``: HMAC-SHA256 (key "ao") over the
    signature base of the message's httpsig@1.0 encoding. Returns the 43-char human form."""
    base = unsigned_signature_base(msg)
    return b64url_encode(hmac.new(HMAC_KEY, base, hashlib.sha256).digest())


def message_id(msg: dict) -> str:
    """§4.4 ``dev_message:id(Msg, #{commitments => "all"})``, as used by hashpaths (§5.1):
    no commitments → the unsigned ID; one → its key; several → sha256 of the sorted keys
    joined with ", "."""
    commitments = {}
    for k, v in msg.items():
        if normalize_key(k) == b"commitments" and isinstance(v, dict):
            commitments = v
    if not commitments:
        return unsigned_id(msg)
    keys = sorted(normalize_key(k) for k in commitments)
    if len(keys) == 1:
        return human_id(keys[0])
    return b64url_encode(sha256(b", ".join(keys)))


# ---------------------------------------------------------------------------------------------
# §5.1 hashpaths
# ---------------------------------------------------------------------------------------------

_ALGS = {
    "sha-256-chain": sha256_chain,
    "sha256_chain": sha256_chain,
    "accumulate-256": accumulate,
    "accumulate": accumulate,
}


def _alg_function(alg: object):
    """§5.1 ``hashpath_alg``: ``sha-256-chain`` (the default) or ``accumulate-256``, matched
    case-insensitively; a callable is used as is; anything else is an error."""
    if callable(alg):
        return alg
    name = _as_bytes(alg).decode("utf-8", "replace").lower() if alg is not None else ""
    if name not in _ALGS:
        raise HashPathError(f"unknown hashpath algorithm {alg!r}")
    return _ALGS[name]


def _get(msg: dict, key: bytes) -> object:
    """Case-insensitive get of a top-level key (via normalisation)."""
    found = None
    for k, v in _normalize_keys(msg).items():
        if k == key:
            found = v
    return found


def _base_hashpath(msg1: object) -> str:
    """§5.1 ``hashpath(bin)`` / ``hashpath(msg)``."""
    if isinstance(msg1, str | bytes | bytearray) and not is_atom(msg1):
        return human_id(sha256(_as_bytes(msg1)))
    if not isinstance(msg1, dict):
        raise HashPathError(f"hashpath_not_viable: {type(msg1).__name__}")
    priv = _get(msg1, b"priv")
    if isinstance(priv, dict):
        hp = _get(priv, b"hashpath")
        if hp is not None:
            return _as_bytes(hp).decode("utf-8")
    try:
        return message_id(msg1)
    except CodecError as exc:
        raise HashPathError(f"unsupported_type: {exc}") from exc


def _first_path_element(path: object) -> bytes | None:
    """§5.1 ``term_to_path_parts`` then the first element, as binary."""
    if isinstance(path, list | tuple):  # nested lists flatten: [["/a", ["b"]], "c"] -> a, b, c
        for p in path:
            first = _first_path_element(p)
            if first is not None:
                return first
        return None
    if isinstance(path, int) and not isinstance(path, bool):
        parts = [str(path).encode("ascii")]
    elif is_atom(path):
        parts = [str(path).encode("utf-8")]
    else:
        parts = [p for p in _as_bytes(path).split(b"/") if p]
    return parts[0] if parts else None


def combine_hashpath(base: str | bytes, part: str | bytes, alg: object = "sha-256-chain") -> str:
    """§5.1 ``combine``: append ``part`` to ``base``, first compressing a two-part base to
    ``human_id(alg(native_id(p1), p2 if len(p2) != 43 else native_id(p2)))``."""
    fn = _alg_function(alg)
    base_b, part_b = _as_bytes(base), _as_bytes(part)
    parts = [p for p in base_b.split(b"/") if p]
    if len(parts) == 1:
        return (base_b + b"/" + part_b).decode("utf-8")
    if len(parts) == 2:
        p1, p2 = parts
        second = native_id(p2) if len(p2) == 43 else p2  # a key name is hashed as raw bytes
        compressed = human_id(fn(native_id(p1), second))
        return compressed + "/" + part_b.decode("utf-8")
    raise HashPathError(f"hashpath {base_b!r} has {len(parts)} parts (1 or 2 allowed)")


def hashpath(msg1: object, msg2: object = None, alg: object = "sha-256-chain") -> str:
    """§5.1 ``hb_path:hashpath``.

    * ``hashpath(bytes)`` → ``human_id(sha256(bytes))``;
    * ``hashpath(dict)`` → ``priv.hashpath`` if present, else the message ID (all commitments);
    * ``hashpath(msg1, msg2)``: a ``str``/``bytes`` msg2 is a key name; a dict msg2 holding only
      path/hashpath/priv keys contributes its first path element; any other msg2 its ID.
      A ``hashpath-alg`` key in msg1 overrides ``alg``.
    """
    if msg2 is None:
        return _base_hashpath(msg1)
    if not isinstance(msg1, dict):
        raise HashPathError(f"hashpath_not_viable: msg1 is a {type(msg1).__name__}")
    base = _base_hashpath(msg1)
    chosen = _get(msg1, b"hashpath-alg")
    if chosen is not None:
        alg = chosen
    if isinstance(msg2, str | bytes | bytearray) and not is_atom(msg2):
        part = _as_bytes(msg2)
    elif isinstance(msg2, dict):
        norm = _normalize_keys(msg2)
        rest = [k for k in norm if k not in AO_CORE_KEYS]
        first = None
        if not rest and b"path" in norm:
            first = _first_path_element(norm[b"path"])
        if first is not None:
            part = first  # the KEY NAME, not an ID
        else:
            try:
                part = message_id(msg2).encode("ascii")
            except CodecError as exc:
                raise HashPathError(f"unsupported_type: {exc}") from exc
    else:
        raise HashPathError(f"hashpath: unsupported msg2 type {type(msg2).__name__}")
    return combine_hashpath(base, part, alg)
