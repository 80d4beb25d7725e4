"""The IDs a message is cached under, and the check of its commitments before any is linked
(runtime §10.2; core §4.3, §4.8, §5.1).

:func:`prepare` drops private keys, keeps only the committed keys of a signed message (each
commitment verified) and lists the IDs that the message's group is linked from.
"""

from __future__ import annotations

from typing import Any

from .. import _native
from ..exceptions import CacheError, HyperbeamError, UnverifiedCommitment

__all__ = ["has_priv", "prepare"]

_unsigned_id = _native.unsigned_id


def prepare(msg: dict[str, Any]) -> tuple[dict[str, Any], str, list[str]]:
    """Drop private keys, keep only committed keys of a signed message, compute IDs.

    Returns ``(tabm, uid, ids)``: ``ids`` are the IDs to link to the message's group, the
    unsigned ID first, then every commitment ID (each verified, :func:`_verified`) and, with
    several commitments, the ID over all of them that hashpaths use as their base (core §5.1)
    and the ID over the signed ones (``id(msg, "all")``).
    """
    from ..message import convert
    from ..message import id as msg_id

    body = {k: v for k, v in msg.items() if k[:4] != "priv"} if has_priv(msg) else msg
    comms = body.get("commitments")
    ids: list[str] = []
    if isinstance(comms, dict) and comms:
        for cid in comms:
            if not (isinstance(cid, str) and len(cid) == 43):
                raise CacheError(f"commitment key {cid!r} is not a 43-character ID")
        body, known = _verified(body)
        uid = known or msg_id(body, "none")
        ids.append(uid)
        ids.extend(comms)
        if len(comms) > 1:
            ids.append(msg_id(body, "uncommitted"))
            ids.append(msg_id(body, "all"))  # over the signed commitments (one: its own ID)
    else:
        uid = _unsigned_id(body) if type(body) is dict else msg_id(body, "none")
        ids.append(uid)
    return convert(body, "tabm"), uid, ids


def _unverified(msg: dict[str, Any], comms: dict[str, Any]) -> tuple[str | None, str | None]:
    """The first commitment of ``comms`` that does not verify against ``msg``, or None (core
    §4), and ``msg``'s unsigned ID when it was computed (an HMAC commitment's check).

    An HMAC commitment names no signer: its ID must be the message's recomputed unsigned ID.
    Every other one must name its verified signer (:func:`commitments.signer_of`, each
    signature checked once; ``msg`` carries no private proof here, so nothing is taken on
    trust), or be one the node has just made itself for exactly this content
    (:func:`commitments.made_here`: the scheduler's assignment, not checked again).
    """
    from .. import commitments as _c
    from ..message import id as msg_id

    signed: dict[str, str] | None = None
    uid = None
    for cid, c in comms.items():
        if not isinstance(c, dict):
            return cid, uid
        if _b(c.get("alg")) == b"hmac-sha256":
            uid = uid or msg_id(msg, "none")
            if cid != uid:
                return cid, uid
        elif not _c.made_here(msg, cid):
            if signed is None:
                signed = _c.signer_of(msg)
            if cid not in signed:
                return cid, uid
    return None, uid


def _verified(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``body`` with only its committed keys (``with_only_committed``, core §4.8) when every
    commitment verifies against that, and its unsigned ID when that was computed; raises
    :class:`UnverifiedCommitment` otherwise.

    A message with no httpsig signature may instead keep all of its keys when every commitment
    verifies against all of them: an ans104 signature covers the whole data item (core §8) and
    an HMAC ID is the unsigned ID over every key, so none of its keys is uncommitted, while
    ``committed`` does not list them all (an ans104 binary that is not UTF-8 travels in the
    item's data, not as a tag; an HMAC commitment without ``signature-input`` lists none). An
    httpsig signature covers only its components: other keys are always dropped.
    """
    from .. import commitments as _c

    comms = body["commitments"]
    candidates = []
    try:
        candidates.append(_only_committed(body, _c.committed(body)))
    except HyperbeamError:
        pass
    if not any(_httpsig_signature(c) for c in comms.values()):
        candidates.append(body)
    bad: str | None = next(iter(comms))
    for cand in candidates:
        try:
            bad, uid = _unverified(cand, comms)
        except HyperbeamError as e:
            raise UnverifiedCommitment(f"a commitment cannot be checked: {e}") from e
        if bad is None:
            return cand, uid
    raise UnverifiedCommitment(f"commitment {bad!r} does not verify against the message")


def _b(v: Any) -> bytes | None:
    return v.encode() if isinstance(v, str) else v


def _httpsig_signature(c: Any) -> bool:
    """Whether ``c`` is (or claims to be) an httpsig commitment other than an HMAC one."""
    if not isinstance(c, dict):
        return False
    return _b(c.get("commitment-device")) == b"httpsig@1.0" and _b(c.get("alg")) != b"hmac-sha256"


def _only_committed(body: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``with_only_committed`` (core §4.8), keeping ID keys when ``ao-ids`` was signed.

    httpsig signs a message's ID keys (32, 42 or 43 bytes, core §1.2) inside the ``ao-ids``
    component (core §6.2) and
    empty values inside ``ao-types``, so ``committed`` names those components and not the keys
    themselves; they must survive.
    """
    keep = set(keys)
    keep.add("commitments")
    ids = "ao-ids" in keep
    types = "ao-types" in keep
    return {
        k: v
        for k, v in body.items()
        if k in keep
        or (ids and len(k) in (32, 42, 43))
        # Empty values live only in the signed ao-types (core §3.1, §4.7).
        or (types and v in (b"", "", {}, []))
    }


def has_priv(msg: dict[str, Any]) -> bool:
    """Whether ``msg`` has a private (``priv...``) key at its top level."""
    for k in msg:
        if k[:4] == "priv":
            return True
    return False
