"""Committing and verifying messages (spec core §4.5-§4.8, §7, §8.8): the message-level API.

Codecs: ``httpsig@1.0`` (and ``structured@1.0``/``flat@1.0``/``json@1.0``, which delegate to it, as
in HyperBEAM) and ``ans104@1.0``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, cast

from . import _native
from .exceptions import CodecError, HyperbeamError, SignatureError
from .message import commitments_of, select_commitments
from .tabm import as_bytes, split_priv
from .wallet import Wallet

_HTTPSIG_FAMILY = ("httpsig@1.0", "structured@1.0", "flat@1.0", "json@1.0")


def _ans104() -> Any:
    try:
        return importlib.import_module("hyperbeam_fast.codecs.ans104")
    except ImportError:
        raise CodecError("the ans104@1.0 codec is not available") from None


def _hashpath_of(priv: Any) -> bytes | None:
    if isinstance(priv, dict):
        return as_bytes(priv.get("hashpath"))
    return None


def commit(msg: dict[str, Any], wallet: Wallet, codec: str = "httpsig@1.0") -> dict[str, Any]:
    """Sign ``msg`` with ``wallet`` (``hb_message:commit``), returning the committed message.

    httpsig@1.0 adds an RSA commitment (signing ``priv.hashpath`` as the ``tag`` parameter when
    present) and refreshes the HMAC commitment; ans104@1.0 replaces all commitments with one.
    """
    if not isinstance(msg, dict):
        raise CodecError(f"only messages (dicts) can be committed, got {type(msg).__name__}")
    if not isinstance(wallet, Wallet):
        raise SignatureError("commit needs a hyperbeam_fast.Wallet")
    if codec in _HTTPSIG_FAMILY:
        body, priv = split_priv(msg)
        out = _native.httpsig_commit(body, wallet._key, _hashpath_of(priv))
        _remember_made(out, commitments_of(body))
        if priv is not None:
            out["priv"] = priv
        return out
    if codec == "ans104@1.0":
        return cast("dict[str, Any]", _ans104().commit(msg, wallet))
    raise CodecError(f"codec {codec!r} cannot commit (httpsig@1.0 or ans104@1.0)")


def _device(c: Any) -> bytes:
    return (as_bytes(c.get("commitment-device")) or b"") if isinstance(c, dict) else b""


#: The asymmetric algorithm of each device: only a commitment with it can name a signer.
_ASYMMETRIC = {b"httpsig@1.0": b"rsa-pss-sha512", b"ans104@1.0": b"rsa-pss"}
#: Commitments that prove content only (core §4.3 HMAC, §8.7 unsigned items): they name nobody.
_UNSIGNED = {b"httpsig@1.0": b"hmac-sha256", b"ans104@1.0": b"unsigned"}


def _alg(c: dict[str, Any]) -> bytes | None:
    return as_bytes(c.get("alg"))


def is_asymmetric(c: Any) -> bool:
    """Whether commitment ``c`` is a public-key signature (httpsig ``rsa-pss-sha512``, ans104
    ``rsa-pss``): the only kind that can name a signer."""
    return isinstance(c, dict) and _alg(c) == _ASYMMETRIC.get(_device(c))


def _is_unsigned(c: dict[str, Any]) -> bool:
    return _alg(c) == _UNSIGNED.get(_device(c)) and c.get("committer") is None


#: Outcomes of signature checks, by (commitment ID, the commitment, the message's key names and
#: unsigned ID):
#: one request is checked at the node, by the cache write and by the scheduler (each an RSA
#: verify); the key is the message's content address, so only the same content hits.
_CHECKED: dict[tuple[str, Any, tuple[Any, ...], str], bool] = {}
_CHECKED_MAX = 4096
#: The asymmetric commitments :func:`commit` made in this process, by commitment ID, with the
#: rest of their :data:`_CHECKED` key (the fields, key names and unsigned ID they were made
#: for): valid by construction for exactly that content. Only the cache's write
#: (:func:`made_here`) takes them without an RSA check (the scheduler's assignment, signed a
#: moment before it is stored); :func:`verify` and :func:`signers` always check.
_MADE: dict[str, tuple[Any, tuple[Any, ...], str]] = {}


def _content_address(msg: dict[str, Any]) -> tuple[tuple[Any, ...], str] | None:
    """The memo key part of ``msg``'s content (without private keys and ``commitments``): its
    key names as written and its unsigned ID; None when it has no content address."""
    content = {
        k: v
        for k, v in msg.items()
        if k != "commitments" and not (k.__class__ is str and k.startswith("priv"))
    }
    try:
        return tuple(content), _native.unsigned_id(content)
    except (HyperbeamError, TypeError, ValueError, AttributeError):
        return None


#: Marks a map in :func:`_exact_key` (no value of a commitment is this object).
_MAP = object()


def _exact_key(v: Any, depth: int = 0) -> Any:
    """``v`` as a hashable value equal only for equal content, when it is made of ``bytes``,
    ``str`` and maps of them with ``str`` keys (a few levels: an ans104 commitment's
    ``original-tags``); a map's items keep their order. None for anything else."""
    cls = v.__class__
    if cls is bytes or cls is str:
        return v
    if cls is not dict or depth > 3:
        return None
    items = []
    for k, x in v.items():
        e = _exact_key(x, depth + 1)
        if e is None or k.__class__ is not str:
            return None
        items.append((k, e))
    return _MAP, tuple(items)


def _fields_key(c: dict[str, Any]) -> Any:
    """An exact, hashable key of a commitment's fields: its items as they are when every value
    is ``bytes`` or ``str`` (the type is part of equality there: ``b"1" != "1"``), or maps of
    them (:func:`_exact_key`), else their ``repr`` sorted (which tells ``1`` from ``True``).
    Raises TypeError for keys that do not sort."""
    for v in c.values():
        cls = v.__class__
        if cls is not bytes and cls is not str:
            exact = _exact_key(c)
            return exact if exact is not None else repr(sorted(c.items()))
    return tuple(c.items())


def _memo_key(
    cid: str, c: dict[str, Any], addr: tuple[tuple[Any, ...], str] | None
) -> tuple[str, Any, tuple[Any, ...], str] | None:
    """The key of :data:`_CHECKED` and :data:`_MADE`: the commitment exactly, the message's
    key names as written (its unsigned ID does not tell ``A`` from ``a``) and unsigned ID."""
    if addr is None:
        return None
    try:
        return (cid, _fields_key(c), *addr)
    except TypeError:  # keys that do not sort: checked afresh
        return None


def _remember_made(out: dict[str, Any], before: dict[str, Any]) -> None:
    """Record the asymmetric commitments of ``out`` that :func:`commit` has just added (not in
    ``before``) as made for exactly ``out``'s content (:data:`_MADE`)."""
    new = [(cid, c) for cid, c in commitments_of(out).items() if cid not in before]
    if not any(is_asymmetric(c) for _, c in new):
        return
    addr = _content_address(out)
    for cid, c in new:
        key = _memo_key(cid, c, addr) if is_asymmetric(c) else None
        if key is not None:
            if len(_MADE) >= _CHECKED_MAX:
                _MADE.clear()
            _MADE[cid] = key[1:]


def made_here(msg: dict[str, Any], cid: str) -> bool:
    """Whether commitment ``cid`` of ``msg`` is an asymmetric one that :func:`commit` made in
    this process for exactly ``msg``'s content (the same key names and unsigned ID, the same
    commitment fields): valid by construction. For the cache's write of what the node has just
    signed; a False answer means only "check it"."""
    made = _MADE.get(cid) if cid.__class__ is str else None
    c = commitments_of(msg).get(cid) if made is not None else None
    if not isinstance(c, dict):
        return False
    key = _memo_key(cid, c, _content_address(msg))
    return key is not None and key[1:] == made


def verified_ans104(raw: bytes) -> dict[str, Any] | None:
    """The message of a plain signed ANS-104 data item (``codecs.ans104.decode_verified``)
    whose signature has just verified in that one native pass, with the memos of
    :func:`verify` (:data:`_CHECKED`) and :func:`committed` (:data:`_COMMITTED`) holding that
    result for exactly its content, so the checks that follow do not redo the work. None for
    any other item and for a signature that does not verify: the caller takes the general path
    (``decode`` then :func:`verify`, which refuses it). Only a real check is recorded."""
    got: tuple[dict[str, Any], bool, list[str]] | None = _ans104().decode_verified(raw)
    if got is None or not got[1]:
        return None
    msg, _valid, keys = got
    comms = commitments_of(msg)
    addr = _content_address(msg)
    if len(comms) != 1 or addr is None:
        return msg  # nothing recorded: the checks that follow are made afresh
    ((cid, c),) = comms.items()
    key = _memo_key(cid, c, addr)
    if key is not None:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = True
        if len(_COMMITTED) >= _CHECKED_MAX:
            _COMMITTED.clear()
        _COMMITTED[((cid, key[1]),), *addr] = tuple(keys)
    return msg


def _verify_one(msg: dict[str, Any], cid: str, c: Any) -> bool:
    """One commitment: an asymmetric one must carry a ``committer`` equal to the address of its
    own key (httpsig keyid §7.7, ans104 owner §8.8) and a valid signature; an HMAC one an ID
    equal to the recomputed one (§4.3). Anything claiming a committer it cannot prove fails."""
    if not isinstance(c, dict):
        raise SignatureError(f"commitment {cid!r} is not a map")
    dev = _device(c)
    if dev not in _ASYMMETRIC:
        raise SignatureError(f"commitment {cid!r} has an unknown commitment-device {dev!r}")
    if dev == b"httpsig@1.0" and _alg(c) == b"hmac-sha256":
        if c.get("committer") is not None:
            return False  # the HMAC key is public: it proves no committer
        return cid in commitments_of(_native.httpsig_reset_hmac(_without_private(msg)))
    if dev == b"httpsig@1.0" and c.get("committer") is None:
        return False
    key = _memo_key(cid, c, _content_address(msg))  # None: checked afresh
    got = _CHECKED.get(key) if key is not None else None
    if got is not None:
        return got
    if dev == b"httpsig@1.0":
        ok = bool(_native.httpsig_verify(_without_private(msg), cid.encode()))
    else:
        ok = bool(_ans104().verify_commitment(msg, cid, c))
    if key is not None:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = ok
    return ok


def _without_private(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if not (isinstance(k, str) and k.startswith("priv"))}


def _checked(committers: Any, msg: dict[str, Any], comms: dict[str, Any]) -> list[str]:
    """The commitment IDs ``verify`` checks for a ``committers`` selection. ``"all"``: every
    commitment except the content-only ones without a committer (so a commitment with no
    committer, or a forged one, is checked, never skipped)."""
    if committers == "all":
        return [cid for cid, c in comms.items() if not (isinstance(c, dict) and _is_unsigned(c))]
    return select_commitments(msg, comms, committers)


def verify(msg: Any, committers: Any = "all") -> bool:
    """``hb_message:verify``: check the selected commitments (default ``"all"``: every one but
    a plain HMAC/unsigned commitment). An unsigned message, or an empty selection, verifies
    ``True``. A bad signature, or a ``committer`` that is not the signing key's address, gives
    ``False``; an unknown device or a malformed commitment raises SignatureError."""
    if not isinstance(msg, dict):
        raise CodecError(f"only messages (dicts) can be verified, got {type(msg).__name__}")
    comms = commitments_of(msg)
    if not comms:
        return True
    if isinstance(committers, str) and committers not in ("all", "signed", "none", "uncommitted"):
        committers = [committers]
    sel = _checked(committers, msg, comms)
    return all(_verify_one(msg, cid, comms[cid]) for cid in sel)


def _native_checkable(comms: dict[str, Any]) -> bool:
    """httpsig-only commitments that ``httpsig_verify_many`` checks exactly as :func:`verify`:
    RSA ones with a committer, and plain HMAC ones (which it skips, as ``verify`` does)."""
    for c in comms.values():
        if _device(c) != b"httpsig@1.0":
            return False
        if _alg(c) == b"hmac-sha256":
            if c.get("committer") is not None:
                return False
        elif c.get("committer") is None:
            return False
    return True


def verify_many(msgs: Sequence[dict[str, Any]], threads: int = 0) -> list[bool]:
    """Verify many messages; httpsig messages are checked on parallel native threads with the
    GIL released, others one by one."""
    msgs = list(msgs)
    out: list[bool | None] = [None] * len(msgs)
    native_idx = []
    for i, m in enumerate(msgs):
        comms = commitments_of(m) if isinstance(m, dict) else {}
        if _native_checkable(comms):
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


def committers(msg: dict[str, Any]) -> list[str]:
    """Every commitment's ``committer`` value, in map order (``dev_message:committers``).

    UNTRUSTED: anyone can write any ``committer`` into a message. Use :func:`signers` to learn
    who really signed it."""
    out = []
    for c in commitments_of(msg).values():
        who = as_bytes(c.get("committer")) if isinstance(c, dict) else None
        if who is not None:
            out.append(who.decode(errors="replace"))
    return out


class VerifiedSigners:
    """Proof, held in a message's ``priv`` (never serialised, and no decoder can produce this
    type), that the message was verified with these signers, e.g. at HTTP ingress before path
    parsing rewrites ``path`` (runtime §7.2). It counts only while the message carries exactly
    those ``commitments`` and every other key it had then (bar ``path``) with the same value:
    keys may be added (they are not committed), none changed."""

    __slots__ = ("commitments", "content", "signers")

    def __init__(self, msg: dict[str, Any], signers: Sequence[str]) -> None:
        self.commitments = msg.get("commitments")
        self.content = {k: v for k, v in msg.items() if k not in _UNPROVEN}
        self.signers = tuple(signers)

    def holds_for(self, msg: dict[str, Any]) -> bool:
        """Whether these verified signers still hold for ``msg`` (same commitments, same covered
        content)."""
        comms = msg.get("commitments")
        if comms is not self.commitments and comms != self.commitments:
            return False
        missing = object()
        for k, v in self.content.items():
            got = msg.get(k, missing)
            if got is not v and got != v:
                return False
        return True

    def __repr__(self) -> str:
        return f"VerifiedSigners({list(self.signers)!r})"


_PROOF_KEY = "verified-signers"
#: Keys a proof does not pin: the commitments (compared whole), private keys, and ``path``,
#: which HyperPATH parsing rewrites into each message of the request (runtime §5).
_UNPROVEN = ("commitments", "priv", "path")


def vouch(msg: dict[str, Any], who: Sequence[str]) -> dict[str, Any]:
    """``msg`` with a :class:`VerifiedSigners` proof of its current content (call only with
    the result of :func:`verified_signers` on this very message)."""
    priv = msg.get("priv")
    priv = dict(priv) if isinstance(priv, dict) else {}
    priv[_PROOF_KEY] = VerifiedSigners(msg, who)
    return {**msg, "priv": priv}


def _vouched(msg: dict[str, Any]) -> list[str] | None:
    priv = msg.get("priv")
    proof = priv.get(_PROOF_KEY) if isinstance(priv, dict) else None
    if type(proof) is VerifiedSigners and proof.holds_for(msg):
        return list(proof.signers)
    return None


def proven(msg: Any) -> dict[str, Any] | None:
    """The part of ``msg`` a :func:`vouch` proof covers (the keys verified with its
    commitments, plus ``commitments``) when one holds for it, else None: what its signers
    signed, without the keys added since (the node's ``path`` and HTTP method, a path's keys:
    ``dev_scheduler``'s ``with_only_committed``, which an ans104@1.0 commitment cannot compute
    once keys were added). The proof is not kept (it is private)."""
    if not isinstance(msg, dict):
        return None
    priv = msg.get("priv")
    proof = priv.get(_PROOF_KEY) if isinstance(priv, dict) else None
    if type(proof) is not VerifiedSigners or not proof.holds_for(msg):
        return None
    out = {k: msg[k] for k in proof.content}
    out["commitments"] = msg["commitments"]
    return out


def verified_content(msg: Any) -> dict[str, Any] | None:
    """The content a :func:`vouch` proof on ``msg`` was made for (its keys as they verified,
    plus ``commitments``), also where keys changed since (the ``path`` the node routed on):
    what the signers signed. None without a proof for these commitments."""
    if not isinstance(msg, dict):
        return None
    priv = msg.get("priv")
    proof = priv.get(_PROOF_KEY) if isinstance(priv, dict) else None
    if type(proof) is not VerifiedSigners:
        return None
    comms = msg.get("commitments")
    if comms is not proof.commitments and comms != proof.commitments:
        return None
    return {**proof.content, "commitments": comms}


def signer_of(msg: Any) -> dict[str, str]:
    """The verified signer of each commitment that names one (see :func:`signers`), by
    commitment ID. A message carrying a :class:`VerifiedSigners` proof was verified whole (every
    commitment), so its asymmetric commitments are taken at their committer's word."""
    if not isinstance(msg, dict):
        return {}
    vouched = _vouched(msg)
    out = {}
    for cid, c in commitments_of(msg).items():
        if not is_asymmetric(c):
            continue
        who = as_bytes(c.get("committer"))
        if who is None or len(who) != 43:
            continue
        if vouched is not None:
            ok = who.decode() in vouched
        else:
            try:
                ok = _verify_one(msg, cid, c)
            except HyperbeamError:
                ok = False
        if ok:
            out[cid] = who.decode()
    return out


def signers(msg: Any) -> list[str]:
    """``hb_message:signers``, trusted: the committers of the asymmetric commitments whose
    ``committer`` is the address of their own key (sha256 of the httpsig keyid modulus, core
    §7.7; of the ans104 owner, §8.8) and whose signature verifies, in map order. An HMAC or
    unsigned commitment names nobody, whatever ``committer`` it claims. A message carrying a
    :class:`VerifiedSigners` proof for its commitments (see :func:`vouch`) is not re-checked."""
    if not isinstance(msg, dict):
        return []
    vouched = _vouched(msg)
    if vouched is not None:
        return vouched
    return list(signer_of(msg).values())


def verified_signers(msg: dict[str, Any]) -> list[str] | None:
    """:func:`verify` and :func:`signers` in one pass (each signature checked once): ``None``
    when any checked commitment fails, else the signers. Raises as :func:`verify` does."""
    if not verify(msg):
        return None
    out = []
    for c in commitments_of(msg).values():
        who = as_bytes(c.get("committer")) if is_asymmetric(c) else None
        if who is not None and len(who) == 43:
            out.append(who.decode())
    return out


def _httpsig_committed(msg: dict[str, Any], c: dict[str, Any]) -> list[str]:
    """§7.6: ``signature``, ``signature-input``, the components, implicit empty keys and the
    body keys, for the first member of this commitment's ``signature-input``."""
    si = as_bytes(c.get("signature-input"))
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


#: Results of :func:`committed`, by (the commitments, the message's key names as written, its
#: unsigned ID), as :data:`_CHECKED`: one request is asked for its committed keys at the door
#: (``with_only_committed``), by the caller's authority and by each cache write of it. The
#: names are in the key because the ID does not tell ``Action`` from ``action``.
_COMMITTED: dict[tuple[Any, tuple[Any, ...], str], tuple[str, ...]] = {}


def committed(msg: dict[str, Any]) -> list[str]:
    """``hb_message:committed``: the keys every commitment covers, in HyperBEAM's order."""
    comms = commitments_of(msg)
    addr = _content_address(msg)
    key: tuple[Any, tuple[Any, ...], str] | None = None
    if addr is not None:
        try:  # the commitments in map order, each exactly (:func:`_fields_key`)
            key = (tuple((cid, _fields_key(c)) for cid, c in comms.items()), *addr)
        except (TypeError, AttributeError):  # a commitment that is not a map, or unsortable
            key = None
    got = _COMMITTED.get(key) if key is not None else None
    if got is not None:
        return list(got)
    out = _committed(msg, comms, addr)
    if key is not None:
        if len(_COMMITTED) >= _CHECKED_MAX:
            _COMMITTED.clear()
        _COMMITTED[key] = tuple(out)
    return out


def _committed(
    msg: dict[str, Any],
    comms: dict[str, Any],
    addr: tuple[tuple[Any, ...], str] | None = None,
) -> list[str]:
    lists = []
    by_input: dict[Any, list[str]] = {}  # an HMAC commitment repeats its RSA one's input
    for cid, c in comms.items():
        if not isinstance(c, dict):
            raise SignatureError("a commitment is not a map")
        dev = _device(c)
        if dev == b"httpsig@1.0":
            si = c.get("signature-input")
            got = by_input.get(si) if si.__class__ is bytes else None
            if got is None:
                got = _httpsig_committed(msg, c)  # a function of msg and signature-input only
                if si.__class__ is bytes:
                    by_input[si] = got
            lists.append(got)
        elif dev == b"ans104@1.0":
            # a signature this process has just accepted for exactly this content (the
            # memo of _verify_one) is not checked again by committed_keys
            key = _memo_key(cid, c, addr)
            seen = key is not None and _CHECKED.get(key) is True
            lists.append(list(_ans104().committed_keys(msg, c, verified=seen)))
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


def with_only_committed(msg: dict[str, Any]) -> dict[str, Any]:
    """``hb_message:with_only_committed``: the committed keys plus ``commitments``."""
    if not isinstance(msg, dict):
        raise CodecError("with_only_committed needs a message")
    if "commitments" not in msg:
        return msg
    keep = set(committed(msg)) | {"commitments"}
    return {k: v for k, v in msg.items() if k in keep}
