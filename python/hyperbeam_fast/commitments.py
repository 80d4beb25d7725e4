"""Committing and verifying messages (spec core §4.5-§4.8, §7, §8.8): the message-level API.

Codecs: ``httpsig@1.0`` (and ``structured@1.0``/``flat@1.0``/``json@1.0``, which delegate to it, as
in HyperBEAM) and ``ans104@1.0``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from . import _native
from .exceptions import CodecError, SignatureError
from .message import _b, _commitments, _select, _split_priv
from .wallet import Wallet

_HTTPSIG_FAMILY = ("httpsig@1.0", "structured@1.0", "flat@1.0", "json@1.0")


def _ans104() -> Any:
    try:
        return importlib.import_module("hyperbeam_fast.codecs.ans104")
    except ImportError:
        raise CodecError("the ans104@1.0 codec is not available") from None


def _hashpath_of(priv: Any) -> bytes | None:
    if isinstance(priv, dict):
        return _b(priv.get("hashpath"))
    return None


def commit(msg: dict, wallet: Wallet, codec: str = "httpsig@1.0") -> dict:
    """Sign ``msg`` with ``wallet`` (``hb_message:commit``), returning the committed message.

    httpsig@1.0 adds an RSA commitment (signing ``priv.hashpath`` as the ``tag`` parameter when
    present) and refreshes the HMAC commitment; ans104@1.0 replaces all commitments with one.
    """
    if not isinstance(msg, dict):
        raise CodecError(f"only messages (dicts) can be committed, got {type(msg).__name__}")
    if not isinstance(wallet, Wallet):
        raise SignatureError("commit needs a hyperbeam_fast.Wallet")
    if codec in _HTTPSIG_FAMILY:
        body, priv = _split_priv(msg)
        out = _native.httpsig_commit(body, wallet._key, _hashpath_of(priv))
        if priv is not None:
            out["priv"] = priv
        return out
    if codec == "ans104@1.0":
        return _ans104().commit(msg, wallet)
    raise CodecError(f"codec {codec!r} cannot commit (httpsig@1.0 or ans104@1.0)")


def _device(c: Any) -> bytes:
    return (_b(c.get("commitment-device")) or b"") if isinstance(c, dict) else b""


def _verify_one(msg: dict, cid: str, c: Any) -> bool:
    dev = _device(c)
    if dev == b"httpsig@1.0":
        if _b(c.get("alg")) == b"hmac-sha256":
            return cid in _commitments(_native.httpsig_reset_hmac(_without_private(msg)))
        return _native.httpsig_verify(_without_private(msg), cid.encode())
    if dev == b"ans104@1.0":
        return bool(_ans104().verify_commitment(msg, cid, c))
    raise SignatureError(f"commitment {cid!r} has an unknown commitment-device {dev!r}")


def _without_private(msg: dict) -> dict:
    return {k: v for k, v in msg.items() if not (isinstance(k, str) and k.startswith("priv"))}


def verify(msg: Any, committers: Any = "all") -> bool:
    """``hb_message:verify``: check the selected commitments (default: every one with a
    committer). An unsigned message, or an empty selection, verifies ``True``. A bad signature
    gives ``False``; an unknown device or a malformed commitment raises SignatureError."""
    if not isinstance(msg, dict):
        raise CodecError(f"only messages (dicts) can be verified, got {type(msg).__name__}")
    comms = _commitments(msg)
    if not comms:
        return True
    if isinstance(committers, str) and committers not in ("all", "signed", "none", "uncommitted"):
        committers = [committers]
    sel = _select(msg, comms, committers)
    return all(_verify_one(msg, cid, comms[cid]) for cid in sel)


def verify_many(msgs: Sequence[dict], threads: int = 0) -> list[bool]:
    """Verify many messages; httpsig messages are checked on parallel native threads with the
    GIL released, others one by one."""
    msgs = list(msgs)
    out: list[bool | None] = [None] * len(msgs)
    native_idx = []
    for i, m in enumerate(msgs):
        comms = _commitments(m) if isinstance(m, dict) else {}
        devices = {_device(c) for c in comms.values()}
        if devices <= {b"httpsig@1.0"}:
            native_idx.append(i)
        else:
            out[i] = verify(m)
    if native_idx:
        results = _native.httpsig_verify_many(
            [_without_private(msgs[i]) for i in native_idx], threads
        )
        for i, r in zip(native_idx, results, strict=True):
            out[i] = r
    return [bool(r) for r in out]


def committers(msg: dict) -> list[str]:
    """Every commitment's ``committer`` value, in map order (``dev_message:committers``)."""
    out = []
    for c in _commitments(msg).values():
        who = _b(c.get("committer")) if isinstance(c, dict) else None
        if who is not None:
            out.append(who.decode(errors="replace"))
    return out


def signers(msg: dict) -> list[str]:
    """``hb_message:signers``: the committers that are addresses."""
    return [a for a in committers(msg) if len(a) in (32, 42, 43)]


def _httpsig_committed(msg: dict, c: dict) -> list[str]:
    """§7.6: ``signature``, ``signature-input``, the components, implicit empty keys and the
    body keys, for the first member of this commitment's ``signature-input``."""
    si = _b(c.get("signature-input"))
    if not si:
        return []
    members = _native.sf_parse("dictionary", si)
    if not members:
        return []
    inner = members[0][1]
    comps = [str(it[0]).lstrip("@") for it in inner[0]]
    keys = ["signature", "signature-input", *comps]
    if "ao-types" in comps:
        tabm = _native.convert(_without_private(msg), "structured@1.0", "tabm")
        types = tabm.get("ao-types", b"")
        for k, v in _native.sf_parse("dictionary", types) if types else []:
            if str(v[0]).startswith("empty-"):
                keys.append(k)
    enc = None
    if "ao-ids" in comps:
        # Our addition to §7.6: the ID-sized keys carried inside the signed `ao-ids` header are
        # committed too (HyperBEAM lists only `ao-ids`, so its with_only_committed loses them).
        enc = _native.convert(_without_private(msg), "structured@1.0", "httpsig@1.0")
        keys += [k for k, _ in _native.sf_parse("dictionary", enc.get("ao-ids", b""))]
    if "content-digest" in comps:
        if enc is None:
            enc = _native.convert(_without_private(msg), "structured@1.0", "httpsig@1.0")
        keys += ["body", "inline-body-key"]
        ik = enc.get("inline-body-key")
        if ik:
            keys.append(ik.decode(errors="replace"))
        bk = enc.get("body-keys")
        if bk:
            firsts = {str(m[0]).split("/")[0] for m in _native.sf_parse("list", bk)}
            keys += sorted(firsts)
    return keys


def committed(msg: dict) -> list[str]:
    """``hb_message:committed``: the keys every commitment covers, in HyperBEAM's order."""
    comms = _commitments(msg)
    lists = []
    for c in comms.values():
        if not isinstance(c, dict):
            raise SignatureError("a commitment is not a map")
        dev = _device(c)
        if dev == b"httpsig@1.0":
            lists.append(_httpsig_committed(msg, c))
        elif dev == b"ans104@1.0":
            lists.append(list(_ans104().committed_keys(msg, c)))
        else:
            raise SignatureError(f"unknown commitment-device {dev!r}")
    if not lists:
        return []
    # Collected by prepending in HyperBEAM: first occurrence wins, then the list is reversed.
    first: list[str] = []
    for k in lists[0]:
        if k not in first:
            first.append(k)
    common = [k for k in first if all(k in lst for lst in lists[1:])]
    return list(reversed(common))


def with_only_committed(msg: dict) -> dict:
    """``hb_message:with_only_committed``: the committed keys plus ``commitments``."""
    if not isinstance(msg, dict):
        raise CodecError("with_only_committed needs a message")
    if "commitments" not in msg:
        return msg
    keep = set(committed(msg)) | {"commitments"}
    return {k: v for k, v in msg.items() if k in keep}
