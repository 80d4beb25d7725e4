"""HTTP requests to messages and messages to HTTP responses (spec runtime §7.2, §7.3).

Pure functions over bytes: the node (``app.py``, ``pipeline.py``) and our client (``client.py``)
both use them, so they can be tested without a socket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import re
import time
from typing import Any

from .. import _native
from ..commitments import (
    is_asymmetric,
    verified_ans104,
    verified_signers,
    vouch,
    with_only_committed,
)
from ..commitments import verify as verify_message
from ..exceptions import CodecError, HyperbeamError, SignatureError
from ..message import convert

#: Request headers that describe the connection, not the message (never become message keys).
TRANSPORT_REQUEST_HEADERS = frozenset(
    {
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "accept-encoding",
        "user-agent",
        "proxy-connection",
        "x-request-id",
    }
)

#: Response headers that belong to HTTP, not to the message (``x-request-id``: the node's log
#: ID of the request, node/app.py).
TRANSPORT_RESPONSE_HEADERS = frozenset(
    {
        "date",
        "server",
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "x-request-id",
    }
)

CORS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, DELETE, OPTIONS"),
)
OPTIONS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-headers", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, DELETE, OPTIONS, PATCH"),
]

#: AO-Core status -> HTTP status (runtime §7.5 ``status_code``).
STATUS_CODES = {
    "ok": 200,
    "created": 201,
    "error": 400,
    "not_found": 404,
    "failure": 500,
    "unavailable": 503,
}

#: The codec name of plain JSON replies (:func:`plain_json`).
PLAIN_JSON = "application/json"

#: Codecs a response can be encoded with, and their content types.
RESPONSE_CODECS = {
    "httpsig@1.0": None,
    "ans104@1.0": b"application/ans104",
    "json@1.0": b"application/json",
    "flat@1.0": b"application/flat",
    "structured@1.0": b"application/structured",
    # plain JSON (``require-codec: application/json``, the contract aoconnect 0.0.98 follows):
    # values as JSON types, keys as they are, the compute unit's JSON as ``raw``; docs/node.md
    PLAIN_JSON: b"application/json",
}


class BadRequest(HyperbeamError):
    """A request that cannot become a message (HTTP 400, or ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def ans104() -> Any:
    """The ans104@1.0 codec module, or None while it is not available."""
    try:
        mod = importlib.import_module("hyperbeam_fast.codecs.ans104")
    except ImportError:
        return None
    return mod if hasattr(mod, "encode") and hasattr(mod, "decode") else None


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def status_code(status: Any) -> int:
    """An AO-Core status (atom name, integer, or numeric text) as an HTTP status."""
    if isinstance(status, bool):
        return 200
    if isinstance(status, int):
        return status if 100 <= status <= 599 else 500
    s = _text(status)
    if s.isdigit():
        n = int(s)
        return n if 100 <= n <= 599 else 500
    return STATUS_CODES.get(s, 200 if s == "" else 500)


# --- requests -------------------------------------------------------------------------------------


def _decode_httpsig(fields: dict[str, bytes], body: bytes) -> dict[str, Any]:
    enc = dict(fields)
    if body:
        enc["body"] = body
    try:
        msg = convert(enc, "structured@1.0", "httpsig@1.0")
    except HyperbeamError as e:
        raise BadRequest(f"malformed httpsig@1.0 request: {e}") from None
    if not isinstance(msg, dict):
        raise BadRequest("the request is not a message")
    return _without_private(msg)  # private keys never come from the wire


def _split_members(raw: bytes) -> dict[str, bytes]:
    """The raw text of each member of an SF dictionary (split at top-level commas)."""
    out: dict[str, bytes] = {}
    depth, quoted, start = 0, False, 0
    for i, ch in enumerate(raw + b","):
        c = bytes([ch])
        if quoted:
            if c == b"\\":
                continue
            if c == b'"':
                quoted = False
        elif c == b'"':
            quoted = True
        elif c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
        elif c == b"," and depth == 0:
            part = raw[start:i].strip()
            if b"=" in part:
                k, v = part.split(b"=", 1)
                out[k.decode("latin-1").strip()] = v
            start = i + 1
    return out


#: Seconds a signature's ``created`` may lie ahead of our clock (RFC 9421 §3.2.1, clock skew).
CLOCK_SKEW_S = 60


def _check_fresh(signature_input: Any, now: float | None = None) -> None:
    """RFC 9421 §2.3 / core §7.2: a signature whose ``expires`` (RFC name) or ``expired``
    (HyperBEAM's) lies in the past, or whose ``created`` lies in the future beyond the clock
    skew, is invalid: :class:`BadRequest` saying which."""
    raw = signature_input.encode() if isinstance(signature_input, str) else signature_input
    if not isinstance(raw, bytes) or not raw:
        return
    try:
        members = _native.sf_parse("dictionary", raw)
    except (HyperbeamError, ValueError):
        raise BadRequest("malformed signature-input") from None
    t = time.time() if now is None else now
    for label, member in members:
        params = dict(member[1]) if isinstance(member, tuple) and len(member) == 2 else {}
        for name in ("expires", "expired"):
            v = params.get(name)
            if isinstance(v, int) and not isinstance(v, bool) and v < t:
                raise BadRequest(f"invalid signature: {label} {name} at {v}, now {int(t)}")
        c = params.get("created")
        if isinstance(c, int) and not isinstance(c, bool) and c > t + CLOCK_SKEW_S:
            raise BadRequest(f"invalid signature: {label} created at {c}, in the future")


_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def _digest_matches(content_digest: bytes, body: bytes) -> bool:
    """RFC 9530 §2: every ``sha-256``/``sha-512`` member of ``content-digest`` is the hash of
    the received body, and there is at least one of them."""
    try:
        members = _native.sf_parse("dictionary", content_digest)
    except (HyperbeamError, ValueError):
        return False
    known = [(a, m[0]) for a, m in members if a in _DIGESTS]
    return bool(known) and all(
        isinstance(d, bytes) and hmac.compare_digest(_DIGESTS[a](body).digest(), d)
        for a, d in known
    )


def _covered(fields: dict[str, bytes]) -> set[str] | None:
    """The field names the request's signatures cover (plus the signature fields)."""
    try:
        inputs = _native.sf_parse("dictionary", fields["signature-input"])
    except (HyperbeamError, KeyError, ValueError):
        return None
    out = {"signature", "signature-input"}
    for _, (items, _params) in inputs:
        out.update(str(comp) for comp, _ in items)
    return out


def verify_raw(fields: dict[str, bytes], method: str, raw_path: str, body: bytes = b"") -> bool:
    """RFC 9421 verification over the fields exactly as received (every RSA-PSS-SHA512
    signature). Peers (e.g. ao-core-libs) may serialise fields such as ``ao-types`` in a form
    our codec re-encodes differently; the signature covers their bytes, so check those. A
    signed ``content-digest`` must be the received body's digest (RFC 9530)."""
    try:
        inputs = _native.sf_parse("dictionary", fields["signature-input"])
        sigs = dict(_native.sf_parse("dictionary", fields["signature"]))
    except (HyperbeamError, KeyError, ValueError):
        return False
    raw_inputs = _split_members(fields["signature-input"])
    if not inputs:
        return False
    for label, (items, params) in inputs:
        p = dict(params)
        if p.get("alg") not in ("rsa-pss-sha512", None) or "keyid" not in p:
            return False
        sig = sigs.get(label)
        if not sig or not isinstance(sig[0], bytes) or label not in raw_inputs:
            return False
        lines = []
        for comp, _ in items:
            comp = str(comp)
            if comp == "@path":
                v = raw_path.split("?", 1)[0].encode("latin-1", "replace")
            elif comp == "@method":
                v = method.encode()
            elif comp.startswith("@") or comp not in fields:
                return False
            else:
                v = fields[comp]
                if comp == "content-digest" and not _digest_matches(v, body):
                    return False
            lines.append(b'"' + comp.encode() + b'": ' + v)
        lines.append(b'"@signature-params": ' + raw_inputs[label])
        try:
            n = _native.b64url_decode(str(p["keyid"]))
            if not _native.rsa_verify(n, "sha512", b"\n".join(lines), sig[0]):
                return False
        except (HyperbeamError, ValueError):
            return False
    return True


def _check_signed(msg: dict[str, Any], what: str) -> tuple[dict[str, Any], list[str]]:
    """Verify every commitment of a request (each once) and keep only the committed keys when
    it has signers (runtime §7.2): ``(message, signers)``."""
    comms = msg.get("commitments")
    for c in comms.values() if isinstance(comms, dict) else ():
        if isinstance(c, dict):
            _check_fresh(c.get("signature-input"))
    try:
        who = verified_signers(msg)
    except HyperbeamError as e:
        raise BadRequest(f"{what}: invalid signature ({e})") from None
    if who is None:
        raise BadRequest(f"{what}: invalid signature")
    try:
        return (vouch(with_only_committed(msg), who) if who else msg), who
    except HyperbeamError as e:
        raise BadRequest(f"{what}: cannot read its committed keys ({e})") from None


def _signed_httpsig(
    fields: dict[str, bytes], body: bytes, method: str, raw_path: str
) -> tuple[dict[str, Any], list[str]]:
    """A signed httpsig@1.0 request: the codec's verification (HyperBEAM's base), else a strict
    RFC 9421 one over the received fields (:func:`verify_raw`). A strict signature cannot be
    re-checked from the message, so it is checked here and the message is rebuilt from just
    the fields it covers (the body only under a signed, matching ``content-digest``), then
    vouched for: what its signers signed, and nothing else."""
    _check_fresh(fields["signature-input"])
    try:
        return _check_signed(_decode_httpsig(fields, body), "httpsig@1.0 request")
    except BadRequest:
        if not verify_raw(fields, method, raw_path, body):
            digest = fields.get("content-digest")
            if digest is not None and not _digest_matches(digest, body):
                raise BadRequest(
                    "httpsig@1.0 request: invalid signature (the body does not match its "
                    f"content-digest: {len(body)} bytes received)"
                ) from None
            raise
    covered = _covered(fields) or set()
    kept = {k: v for k, v in fields.items() if k in covered}
    if "@path" in covered:  # what verify_raw checked: the request target's path, not a field
        kept["path"] = raw_path.split("?", 1)[0].encode("latin-1", "replace")
    msg = _decode_httpsig(kept, body if "content-digest" in covered else b"")
    comms = msg.get("commitments")
    who = [
        _text(c["committer"])
        for c in (comms.values() if isinstance(comms, dict) else ())
        if is_asymmetric(c) and c.get("committer") is not None
    ]  # every one of them verified: their committer is sha256(keyid) (core §7.7)
    return (vouch(msg, who) if who else msg), who


def request_to_singleton(
    method: str,
    raw_path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> tuple[dict[str, Any], bool]:
    """An HTTP request -> ``(singleton, signed)`` (``hb_http:req_to_tabm_singleton``).

    ``raw_path`` is the request target as received (path and ``?query``, still
    percent-encoded). Header ``codec-device`` picks the decoder (httpsig@1.0 default,
    ans104@1.0, json@1.0, flat@1.0, structured@1.0). A signed request must verify (else
    :class:`BadRequest`) and keeps only its committed keys, plus ``commitments``.
    """
    fields: dict[str, bytes] = {}
    for k, v in headers:
        name = k.decode("latin-1").lower()
        if name in TRANSPORT_REQUEST_HEADERS or name.startswith("priv"):
            continue
        fields[name] = v if name not in fields else fields[name] + b", " + v
    codec = _text(fields.get("codec-device", b"httpsig@1.0")).strip().lower()
    signed = False
    if codec == "httpsig@1.0":
        if "signature" in fields or "signature-input" in fields:
            if not ("signature" in fields and "signature-input" in fields):
                raise BadRequest("a signed request needs both signature and signature-input")
            if "path" not in fields:  # a signed ``@path``: the request target's path
                fields["path"] = raw_path.split("?", 1)[0].encode("latin-1", "replace")
            msg, who = _signed_httpsig(fields, body, method, raw_path)
            signed = bool(who)
        else:
            msg = _decode_httpsig(fields, body)
            msg.pop("commitments", None)  # unsigned: claimed commitments are ignored
    elif codec == "ans104@1.0":
        mod = ans104()
        if mod is None:
            raise BadRequest("ans104@1.0 is not available on this node", 415)
        # a plain signed item: decoded and verified in one native pass, the memos of verify
        # and committed filled for exactly its content (so _check_signed redoes neither);
        # anything else, a bad signature included, the general path below
        item = verified_ans104(body)
        if item is None:
            try:
                item = mod.decode(body)
            except HyperbeamError as e:
                raise BadRequest(f"malformed ans104@1.0 body: {e}") from None
        if not isinstance(item, dict) or not item.get("commitments"):
            raise BadRequest("an ans104@1.0 request must be a signed data item")
        msg, who = _check_signed(_without_private(item), "ans104@1.0 request")
        signed = bool(who)
    elif codec in ("json@1.0", "flat@1.0", "structured@1.0"):
        try:
            if codec == "structured@1.0":
                decoded: Any = convert(fields | {"body": body}, "structured@1.0", "httpsig@1.0")
            else:
                decoded = convert(
                    body.strip() if codec == "json@1.0" else body, "structured@1.0", codec
                )
        except HyperbeamError as e:
            raise BadRequest(f"malformed {codec} body: {e}") from None
        except ValueError as e:
            raise BadRequest(f"malformed {codec} body: {e}") from None
        if not isinstance(decoded, dict):
            raise BadRequest(f"a {codec} body must hold a message")
        decoded = _without_private(decoded)
        if decoded.get("commitments"):
            msg, who = _check_signed(decoded, f"{codec} request")
            signed = bool(who)
        else:
            msg = decoded
        for name in ("accept", "accept-codec", "codec-device"):
            if name in fields and name not in msg:
                msg[name] = fields[name]
    else:
        raise BadRequest(f"unsupported codec-device {codec!r}", 415)
    claimed = msg.get("method")
    if signed and claimed is not None:
        # A signature over `method` says how the signer meant the request to be sent: a
        # signed reply or a GET's message replayed as a POST must not pass (issue 11 item 2).
        if _text(claimed).strip().upper() != method.upper():
            raise BadRequest(
                f"the request's signed method {_text(claimed)!r} is not its HTTP method {method!r}"
            )
    else:
        msg["method"] = method
    if "path" not in msg or msg["path"] in (b"", ""):
        msg["path"] = fields.get("path", raw_path)
    return msg, signed


def accept_to_codec(singleton: dict[str, Any], default: str = "httpsig@1.0") -> str:
    """The response codec (``require-codec: application/json``: plain JSON; else the
    ``accept-codec`` key, else ``accept``; runtime §7.3)."""
    rc = singleton.get("require-codec")
    if rc and _text(rc).strip().lower() in (PLAIN_JSON, "json"):
        return PLAIN_JSON
    ac = singleton.get("accept-codec")
    if ac:
        name = _text(ac).strip().lower()
        return name if name in RESPONSE_CODECS else default
    accept = singleton.get("accept")
    if accept:
        for part in _text(accept).split(","):
            mime = part.split(";")[0].strip().lower()
            if mime.startswith("application/"):
                sub = mime[len("application/") :]
                name = sub if "@" in sub else f"{sub}@1.0"
                if name in RESPONSE_CODECS:
                    return name
            elif mime.startswith("device/"):
                name = mime[len("device/") :]
                if name in RESPONSE_CODECS:
                    return name
    return default


# --- responses ------------------------------------------------------------------------------------


#: What HTTP/1.1 cannot carry in a field (RFC 9110 §5.1, §5.5): a name outside ``token`` (but
#: ``/``, which our keys use and servers accept), a value with a control byte or with leading
#: or trailing whitespace (which receivers strip).
_BAD_NAME = re.compile(rb'[\x00-\x20\x7f()<>@,;:\\"\[\]?={}]')
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]|^[ \t]|[ \t]$")


def header_safe(v: bytes, name: bytes = b"x") -> bool:
    """Whether ``name: v`` can be sent as an HTTP/1.1 header field unchanged."""
    return not (_BAD_VALUE.search(v) or not name or _BAD_NAME.search(name))


def lift_to_body(enc: dict[str, bytes]) -> dict[str, bytes]:
    """``enc`` (httpsig@1.0 fields + ``body``) with every field that cannot be an HTTP header
    moved into the multipart body, as the codec does for values over 4 KiB (HyperBEAM
    ``dev_codec_httpsig_conv:field_to_http``): the message decodes to the same keys and values,
    so its ID, hashpath and signatures (over the message, spec core §7) are unchanged. Raises
    :class:`CodecError` for a key that cannot name a part either (control bytes)."""
    bad = [k for k, v in enc.items() if k != "body" and not header_safe(v, k.encode())]
    if not bad:
        return enc
    out = {k: v for k, v in enc.items() if k not in bad}
    parts = _multipart_parts(out)
    if parts is None:  # the body (if any) becomes the inline part; the message's own
        parts = (
            [b"content-disposition: inline\r\n\r\n" + out.pop("body")] if out.get("body") else []
        )
        if "content-type" in out:  # content-type becomes a part too (a part wins on decoding)
            bad.append("content-type")
    out.pop("body", None)
    for k in bad:
        if re.search(r"[\x00-\x1f\x7f]", k):
            raise CodecError(f"response key {k!r} cannot be sent over HTTP")
        name = k.replace("\\", "\\\\").replace('"', '\\"').encode()
        parts.append(b'content-disposition: form-data;name="' + name + b'"\r\n\r\n' + enc[k])
    boundary = _native.b64url_encode(hashlib.sha256(b"".join(parts)).digest()).encode()
    delim = b"--" + boundary
    body = delim + b"\r\n" + (b"\r\n" + delim + b"\r\n").join(parts) + b"\r\n" + delim + b"--"
    names = [_part_name(p, out.get("inline-body-key", b"body")) for p in parts]
    out["body-keys"] = b", ".join(b'"' + n + b'"' for n in names if n is not None)
    out["content-type"] = b'multipart/form-data; boundary="' + boundary + b'"'
    digest = base64.b64encode(hashlib.sha256(body).digest())
    out["content-digest"] = b"sha-256=:" + digest + b":"
    out["body"] = body
    return out


def _multipart_parts(enc: dict[str, bytes]) -> list[bytes] | None:
    """The parts of ``enc``'s body when the codec made it multipart (RFC 7578; HyperBEAM
    ``encode_body_part``), else None."""
    ctype, body = enc.get("content-type", b""), enc.get("body", b"")
    m = re.match(rb'multipart/form-data; *boundary="?([^";]+)"?', ctype)
    if m is None or not body:
        return None
    delim = b"--" + m.group(1)
    end = body.rfind(b"\r\n" + delim + b"--")
    if not body.startswith(delim + b"\r\n") or end < 0:
        return None
    return body[len(delim) + 2 : end].split(b"\r\n" + delim + b"\r\n")


def _part_name(part: bytes, inline_key: bytes) -> bytes | None:
    head = part.split(b"\r\n\r\n", 1)[0]
    m = re.search(rb'content-disposition: *form-data; *name="((?:[^"\\]|\\.)*)"', head, re.I)
    if m is not None:
        return m.group(1).split(b"/", 1)[0]
    return inline_key if re.search(rb"content-disposition: *inline", head, re.I) else None


def _without_private(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if not (isinstance(k, str) and k.startswith("priv"))}


def _signed_by(msg: dict[str, Any], device: bytes) -> bool:
    """Whether ``msg`` carries an asymmetric commitment of ``device``."""
    comms = msg.get("commitments")
    if not isinstance(comms, dict):
        return False
    return any(
        is_asymmetric(c) and _text(c.get("commitment-device")).encode() == device
        for c in comms.values()
    )


def _as_signed(msg: dict[str, Any]) -> dict[str, Any]:
    """An ANS-104-signed ``msg`` without the ``status`` the node added to it after signing: an
    item's signature covers every key, so the added key would void it (the status line carries
    it). Anything else as it is."""
    if "status" not in msg or not _signed_by(msg, b"ans104@1.0"):
        return msg
    bare = {k: v for k, v in msg.items() if k != "status"}
    try:
        if verify_message(msg) or not verify_message(bare):
            return msg
    except HyperbeamError:
        return msg
    return bare


def reply_codec(msg: Any, codec: str) -> str:
    """The codec a reply of ``msg`` goes out in: ``codec``, except that an httpsig@1.0 reply
    carries httpsig commitments only (``dev_codec_httpsig_conv:to`` writes the combined
    signature headers and strips every other commitment), so a message signed only as an
    ANS-104 data item is answered in ans104@1.0 (``codec-device: ans104@1.0``, the signed item
    as the body): as ``hb_http:encode_reply`` sends an ans104-committed message, and as
    ``hb_http:request`` (and our client) read a reply back by its ``codec-device``."""
    if (
        codec == "httpsig@1.0"
        and isinstance(msg, dict)
        and _signed_by(msg, b"ans104@1.0")
        and not _signed_by(msg, b"httpsig@1.0")
    ):
        return "ans104@1.0"
    return codec


def _plain(v: Any, depth: int = 0) -> Any:
    if depth > 64:
        raise CodecError("a reply nested deeper than 64 levels")
    if isinstance(v, dict):
        return {
            _text(k): _plain(x, depth + 1)
            for k, x in v.items()
            if not (isinstance(k, str) and k.startswith("priv"))
        }
    if isinstance(v, (list, tuple)):
        return [_plain(x, depth + 1) for x in v]
    if isinstance(v, (bytes, bytearray)):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return _native.b64url_encode(bytes(v))  # binary: base64url, as IDs are
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return _text(v)


def plain_json(msg: Any) -> bytes:
    """A reply as plain JSON: values as JSON types (binaries as text, or base64url when not
    UTF-8), keys as they are, and the compute unit's JSON (a ``json`` key holding
    ``application/json``, as delegated-compute@1.0 and json-iface@1.0 leave it) parsed into a
    top-level ``raw``: what aoconnect 0.0.98 reads."""
    import orjson

    out = _plain(msg)
    if isinstance(out, dict) and "raw" not in out:
        j = msg.get("json") if isinstance(msg, dict) else None
        if isinstance(j, dict) and _text(j.get("content-type", "")).startswith(PLAIN_JSON):
            try:
                out["raw"] = orjson.loads(j.get("body") or b"null")
            except orjson.JSONDecodeError:
                pass
    try:
        return orjson.dumps(out, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as e:  # e.g. an integer past 64 bits
        raise CodecError(f"the reply cannot be JSON: {e}") from None


def encode_response(
    msg: Any, codec: str = "httpsig@1.0", request_headers: dict[str, bytes] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A result message -> ``(status, headers, body)`` in ``codec`` (runtime §7.3; an
    ANS-104-signed message in ans104@1.0 whatever ``codec``, :func:`reply_codec`)."""
    if not isinstance(msg, dict):
        msg = {"ao-result": "body", "body": msg}
    msg = _without_private(msg)
    status = status_code(msg.get("status", 200))
    codec = reply_codec(msg, codec)
    headers: list[tuple[bytes, bytes]] = []
    if codec == "httpsig@1.0":
        enc = lift_to_body(convert(msg, "httpsig@1.0"))
        body = enc.pop("body", b"")
        headers += [(k.encode(), v) for k, v in enc.items()]
    elif codec == "ans104@1.0":
        mod = ans104()
        if mod is None:
            raise CodecError("ans104@1.0 is not available on this node")
        body = mod.encode(_as_signed(msg))
        headers += [(b"codec-device", b"ans104@1.0"), (b"content-type", b"application/ans104")]
    elif codec == PLAIN_JSON:
        body = plain_json(msg)
        headers.append((b"content-type", b"application/json"))
        for k in ("process", "slot"):  # the keys clients read from headers, when they fit
            v = msg.get(k)
            if isinstance(v, (str, bytes, int)) and not isinstance(v, bool):
                hv = v if isinstance(v, bytes) else str(v).encode()
                if header_safe(hv, k.encode()):
                    headers.append((k.encode(), hv))
    else:
        out = convert(msg, codec)
        if isinstance(out, dict):  # flat@1.0: its text form
            out = b"".join(k.encode() + b": " + v + b"\n" for k, v in sorted(out.items()))
        body = out if isinstance(out, bytes) else _text(out).encode()
        ctype = RESPONSE_CODECS[codec] or b"application/octet-stream"  # never None here
        headers += [(b"codec-device", codec.encode()), (b"content-type", ctype)]
        for k, v in msg.items():
            if k in ("body", "commitments") or isinstance(v, (dict, list)):
                continue
            hv = (
                v  # type: ignore[assignment]
                if isinstance(v, bytes)
                else str(v).lower().encode()
                if isinstance(v, bool)
                else str(v).encode()
                if isinstance(v, (int, float, str))
                else None
            )
            if hv is None or k in ("content-type", "codec-device"):
                continue
            if header_safe(hv, k.encode()):  # a copy for convenience: the body has them all
                headers.append((k.encode(), hv))
    names = {k for k, _ in headers}
    for ck, cv in CORS:
        if ck not in names:
            headers.append((ck, cv))
    if request_headers and b"access-control-allow-headers" not in names:
        req = request_headers.get("access-control-request-headers")
        if req:
            headers.append((b"access-control-allow-headers", req))
    return status, headers, body


def response_to_message(
    status: int, headers: list[tuple[str, str]] | dict[str, str], body: bytes
) -> tuple[str, Any]:
    """An HTTP response from a node -> ``(status, message or value)`` (runtime §7.4)."""
    items = headers.items() if isinstance(headers, dict) else headers
    fields: dict[str, bytes] = {}
    for k, v in items:
        name = k.lower()
        if name in TRANSPORT_RESPONSE_HEADERS or name.startswith("access-control-"):
            continue
        fields[name] = v.encode("latin-1") if isinstance(v, str) else v
    st = (
        "created"
        if status == 201
        else "ok"
        if status < 400
        else "error"
        if status < 500
        else "failure"
    )
    codec = _text(fields.get("codec-device", b"httpsig@1.0"))
    if codec == "ans104@1.0":
        mod = ans104()
        if mod is None:
            raise CodecError("ans104@1.0 is not available")
        msg = mod.decode(body)
    elif codec in ("json@1.0", "flat@1.0") and codec != "httpsig@1.0":
        msg = convert(body.strip() if codec == "json@1.0" else body, "structured@1.0", codec)
    else:
        if not any(k not in ("content-type",) for k in fields) and body:
            return st, body
        enc = dict(fields)
        if body:
            enc["body"] = body
        msg = convert(enc, "structured@1.0", "httpsig@1.0")
    if isinstance(msg, dict):
        who: list[str] | None = []
        if "signature" in fields:
            who = verified_signers(msg)
            if who is None:
                raise SignatureError("the response's signature does not verify")
        key = msg.get("ao-result")
        if key is not None:
            k = _text(key)
            if k not in msg:
                return "failure", f"Result key '{k}' not found in response"
            return st, msg[k]
        if who:
            msg = vouch(msg, who)
        if codec != "ans104@1.0" or not msg.get("commitments"):
            # an added, unsigned key: an httpsig proof still holds (it names what it covers);
            # an ANS-104 signature covers the whole item, so a signed item stays as it came
            msg.setdefault("status", status)
    return st, msg


def b64(v: bytes) -> str:
    """``v`` in unpadded base64url."""
    return _native.b64url_encode(v)


__all__ = [
    "PLAIN_JSON",
    "BadRequest",
    "accept_to_codec",
    "encode_response",
    "header_safe",
    "lift_to_body",
    "plain_json",
    "request_to_singleton",
    "response_to_message",
    "status_code",
]
