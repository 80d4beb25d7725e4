"""Who a message speaks for: the node's trust rules in one place (issue 11, docs/security.md).

* A message *speaks for* an address when a verified signature by that address covers it and
  does not cover a node-product marker (:data:`PRODUCT_KEYS`): a reply carries ``status`` (the
  pipeline embeds it before signing, runtime §7.5) and an assignment carries ``hash-chain``
  (§11). A signed reply or assignment is a statement the signer made, never a request it sent,
  so nothing the node signs on its own can be fed back as an order to it.
* The HTTP request being resolved is summarised once by the request pipeline as a
  :class:`Caller` (the signers that speak for it, the keys each covers) and handed to devices
  as the private option ``priv_caller`` (options come from the node message and the node,
  never from the wire; request keys named ``priv*`` are dropped at ingress).
* An operator *action* named by the request's path (a relay, a node-wallet signature) needs
  the operator's signature over ``path``: the path carries its parameters. A *change*
  (meta@1.0 update, a route) applies only the keys the operator signed, so it also accepts a
  signature without ``path`` (aoconnect signs its fields, not ``@path``), unless the node sets
  ``operator_signs_path``.
* :func:`operator_of` / :func:`is_operator` answer "is this request from the operator?" for
  every operator-only action: configuration updates (meta@1.0), node-wallet signatures on
  demand (message@1.0 ``commit``, relay@1.0 ``requires-sign``), relays to a full URL or an
  explicit peer. Route registration (router@1.0) checks ``route_owners`` (default: the
  operator) against the same :class:`Caller`.

Signatures are verified where messages enter (``node.http.request_to_singleton``, the
scheduler); which commitments name a signer is :func:`hyperbeam_fast.commitments.signers`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ..commitments import committed, proven, signer_of, signers

#: Keys that mark a message the node produced: a reply's ``status``, an assignment's chain.
PRODUCT_KEYS = frozenset({"status", "hash-chain"})
#: Keys that mark a message the node derived from a process's outbox (push@1.0 signs it with
#: the node's wallet, ``from-process`` included): it speaks for the node as its ``Owner`` (AOS
#: trusts it), but it is what a process sent, never a request of the node's: a
#: :class:`Caller` does not count such a signature, so a module cannot have the node sign an
#: operator order (say, a meta@1.0 update) that anyone could then replay to it.
DERIVED_KEYS = frozenset({"from-process"})
#: The private option that carries the :class:`Caller` of the HTTP request being resolved.
CALLER = "priv_caller"


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def signed_part(msg: dict[str, Any]) -> dict[str, Any]:
    """What a verified request's signers signed: an ANS-104 data item without the method and
    path the node added (its commitment covers the item only, and cannot be checked again once
    keys were added); an httpsig request as it is (its signature may cover ``path``)."""
    comms = msg.get("commitments")
    if (
        isinstance(comms, dict)
        and comms
        and all(
            isinstance(c, dict) and _text(c.get("commitment-device", "")) == "ans104@1.0"
            for c in comms.values()
        )
    ):
        return proven(msg) or msg
    return msg


def signatures(msg: Any) -> list[tuple[dict[str, Any], str, frozenset[str]]]:
    """``(commitment, signer, covered keys)`` for each commitment that names a signer and
    does not cover a :data:`PRODUCT_KEYS` marker. Unreadable commitments are skipped."""
    comms = msg.get("commitments") if isinstance(msg, dict) else None
    if not isinstance(comms, dict):
        return []
    out = []
    for cid, who in signer_of(msg).items():
        c = comms[cid]
        try:
            keys = frozenset(k.lower() for k in committed({**msg, "commitments": {cid: c}}))
        except Exception:  # noqa: BLE001, S112 - a commitment we cannot read speaks for nobody
            continue
        if isinstance(c, dict) and not keys & PRODUCT_KEYS:
            out.append((c, who, keys))
    return out


def speakers(msg: Any) -> list[str]:
    """The addresses ``msg`` speaks for (see the module docstring), in commitment order."""
    if not isinstance(msg, dict) or not msg.get("commitments"):
        return []
    if not any(isinstance(k, str) and k.lower() in PRODUCT_KEYS for k in msg):
        found = signers(msg)  # no marker to cover: every signer speaks for it
        return [w for i, w in enumerate(found) if w not in found[:i]]
    out: list[str] = []
    for _, who, _ in signatures(msg):
        if who not in out:
            out.append(who)
    return out


#: The private key of a dry run's message naming its signer (process@1.0 ``dryrun``: the
#: signer of the request, verified by the node; the keys a path added are unsigned).
DRY_RUN_SIGNER = "dry-run-signer"


def owner_of(msg: Any) -> str:
    """The owner AOS sees for ``msg``: the first address it speaks for, else (an unsigned dry
    run's message) the signer the node verified for it, in a private key (never from the wire,
    nor in an outbox message); "" when none."""
    who = speakers(msg)
    if who:
        return who[0]
    if isinstance(msg, dict) and not msg.get("commitments"):
        priv = msg.get("priv")
        s = priv.get(DRY_RUN_SIGNER) if isinstance(priv, dict) else None
        if isinstance(s, str):
            return s
    return ""


def _signature_bytes(sig: Any) -> bytes:
    """The raw signature of a commitment's ``signature`` value: an httpsig ``label=:b64:``
    dictionary member (the label is not signed: relabelling must not make a new update) or
    an ans104 base64url string; the text itself when it is neither."""
    text = _text(sig).strip()
    m = re.fullmatch(r"(?:[a-z*][a-z0-9_.*-]*=)?:([A-Za-z0-9+/_-]*=*):", text)
    body = m.group(1) if m else text
    try:
        return base64.b64decode(body.replace("-", "+").replace("_", "/") + "=" * (-len(body) % 4))
    except ValueError:
        return text.encode()


class Caller:
    """Who sent the HTTP request being resolved: each signer that speaks for it, with the keys
    its signature covers and a replay tag (a digest of the signature itself)."""

    __slots__ = ("covers", "tags")

    def __init__(self, covers: Mapping[str, frozenset[str]], tags: Mapping[str, str]) -> None:
        self.covers = dict(covers)
        self.tags = dict(tags)

    @classmethod
    def of(cls, request: dict[str, Any]) -> Caller:
        """The caller of a request: the verified signers of its commitments, what each covers."""
        covers: dict[str, frozenset[str]] = {}
        tags: dict[str, str] = {}
        # an ANS-104 request's keys are those of its item (verified at the door): with the
        # node's path and method added, its signature would be checked again and fail
        for c, who, keys in signatures(signed_part(request)):
            if keys & DERIVED_KEYS:
                continue  # a pushed outbox message: not an order of its signer's
            if who not in covers:
                covers[who] = keys
                digest = hashlib.sha256(_signature_bytes(c.get("signature", b"")))
                tags[who] = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
        return cls(covers, tags)

    @property
    def signers(self) -> list[str]:
        """The addresses whose signatures on the request verified."""
        return list(self.covers)

    def signing_path(self) -> list[str]:
        """The signers whose signature covers the request's ``path`` (so what it asks for)."""
        return [who for who, keys in self.covers.items() if "path" in keys]


ANONYMOUS = Caller({}, {})


def caller(opts: Any) -> Caller:
    """The :class:`Caller` of the request being resolved (anonymous outside a request)."""
    c = opts.get(CALLER) if isinstance(opts, dict) else None
    return c if isinstance(c, Caller) else ANONYMOUS


def operator_of(opts: Any, path_signed: bool = True) -> str | None:
    """The signer of the request that is the node's operator, or None. ``path_signed``: only
    a signature that covers the request's ``path`` counts (an action named by the path, such
    as a relay or a commit, takes its parameters from it); without it (a change that applies
    only the signed keys), any signature of the operator's counts. An ``unclaimed`` node
    (runtime §7.5) takes anyone's update: the caller's first signer, or ``""`` if unsigned."""
    op = _text(opts.get("operator")) if isinstance(opts, dict) else ""
    c = caller(opts)
    who = c.signing_path() if path_signed else c.signers
    if op == "unclaimed":
        return who[0] if who else ""
    return op if op in who else None


def is_operator(opts: Any, path_signed: bool = True) -> bool:
    """Whether the HTTP request being resolved is from the node's operator."""
    return operator_of(opts, path_signed) is not None


def refused(what: str, status: int = 403) -> tuple[str, dict[str, Any]]:
    """What a device answers for an operator-only action by anyone else (``403``; meta@1.0
    and router@1.0 keep HyperBEAM's ``400``)."""
    return "error", {
        "status": status,
        "body": f"{what} is reserved to the node's operator: sign the request (its path "
        "included) with the operator's key.",
    }


__all__ = [
    "ANONYMOUS",
    "CALLER",
    "DERIVED_KEYS",
    "DRY_RUN_SIGNER",
    "PRODUCT_KEYS",
    "Caller",
    "caller",
    "is_operator",
    "operator_of",
    "owner_of",
    "refused",
    "signatures",
    "signed_part",
    "speakers",
]
