"""``faff@1.0`` (HyperBEAM ``dev_faff``, "friends and family"): p4@1.0's pricing and ledger
device for a private node: a request costs 0 when every signer that speaks for it is in
``faff_allow_list``, else ``infinity`` (p4@1.0 refuses it with a 403); ``debit`` charges nothing.

Unsigned requests: HyperBEAM lets them through (every signer of none is in the list). Here an
unsigned request (or one whose signatures do not cover its ``path``) is refused unless the node
sets ``faff_allow_unsigned: true``: a friends-and-family node serves its friends, and anyone can
leave a signature off. p4@1.0's free routes (``/~meta@1.0/*``, ``/~p4@1.0/balance``) stay free.
"""

from __future__ import annotations

from typing import Any

from ..node import authority
from .p4 import INFINITY


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def allow_list(opts: dict[str, Any]) -> set[str]:
    """``faff_allow_list``: a list, a numbered map or comma-separated text of addresses."""
    v = opts.get("faff_allow_list") or []
    if isinstance(v, dict):
        v = list(v.values())
    if isinstance(v, (str, bytes)):
        v = _text(v).split(",")
    return {_text(x).strip() for x in v if _text(x).strip()}


def admissible(opts: dict[str, Any]) -> bool:
    """Whether the request being resolved may be served (see the module docstring)."""
    c = authority.caller(opts)
    if not c.signing_path():
        return _text(opts.get("faff_allow_unsigned", False)).lower() == "true"
    allowed = allow_list(opts)
    return all(who in allowed for who in c.signers)


class Faff:
    """``faff@1.0``: a p4@1.0 pricing and ledger device that admits only its allow-list, for
    free."""

    name = "faff@1.0"
    p4_direct = True  # p4@1.0 calls the methods below directly

    def estimate(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``estimate``: 0 for an admissible caller, else infinity (refused)."""
        return "ok", 0 if admissible(opts or {}) else INFINITY

    def debit(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``debit``: nothing to charge (every admitted price is 0)."""
        return "ok", True

    def balance(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """Not in HyperBEAM's faff (p4 never asks it: every price is 0 or infinity)."""
        return "ok", INFINITY if admissible(opts or {}) else 0


DEVICE = Faff()

__all__ = ["DEVICE", "Faff", "admissible", "allow_list"]
