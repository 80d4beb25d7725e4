"""``simple-pay@1.0`` (HyperBEAM ``dev_simple_pay``): p4@1.0's pricing and ledger device in one.

* ``estimate``: the request's messages (its parsed HyperPATH) times ``simple_pay_price``
  (default 1); the operator's requests are free.
* ``balance``: the balance of ``target`` (p4@1.0's call), else of the request's first signer,
  else of its ``target`` key.
* ``debit``: subtracts ``quantity`` from ``account``; only p4@1.0's hook may call it (see
  :data:`~.p4.LEDGER_CALL`). As in HyperBEAM the new balance is kept even when it is negative
  (the work was done) and the reply is a 429.
* ``topup``: operator-only (its signature over ``amount`` and ``recipient``), once per
  signature (a replayed top-up is a 409): adds ``amount`` (an integer > 0) to ``recipient``.

The ledger: the node message's ``simple_pay_ledger`` (address -> amount) gives the starting
balances; every change is written to the node's store under ``simple-pay@1.0/ledger/<address>``
and wins over it, so balances survive a restart. The process keeps a copy of the records it
read or wrote (bounded; none in a worker of ``serve --workers``): a node with hooks runs one
worker (docs/node.md), so it is the only writer of its ledger.
"""

from __future__ import annotations

import re
import threading
import weakref
from typing import Any

from .. import ao
from ..exceptions import PathError
from ..node import authority
from ..path import parse_path
from .p4 import LEDGER_CALL, UNKNOWN

LEDGER = "simple-pay@1.0/ledger"
TOPUPS = "simple-pay@1.0/topups"
_ADDRESS = re.compile(r"[A-Za-z0-9_-]{43}")
_STEPS: dict[Any, int] = {}
#: Serialises read-modify-write of balances (one node per process).
_LOCK = threading.Lock()


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


#: The ledger records of each node store, as this process last read or wrote them:
#: ``id(node store) -> (weak reference to it, to the ledger's store (its primary), {account:
#: balance, or None: no record})``. One process writes them (a node with hooks runs one
#: worker, docs/node.md; a node that is one worker of several keeps none), so the copy is the
#: store's own; bounded (an attacker's fresh signers).
_RECORDS: dict[int, tuple[weakref.ref[Any], weakref.ref[Any], dict[str, int | None]]] = {}
_RECORDS_MAX = 65536


def _book(opts: dict[str, Any]) -> tuple[Any, dict[str, int | None] | None]:
    """The ledger's store and this process's copy of its records (None: keep no copy)."""
    node_store = opts.get("priv_store")
    got = _RECORDS.get(id(node_store))
    if got is not None and got[0]() is node_store and opts.get("priv_process_owner") is None:
        return got[1](), got[2]
    store = getattr(node_store, "primary", node_store)
    if store is None or opts.get("priv_process_owner") is not None:
        return store, None
    try:
        records: dict[str, int | None] = {}
        entry = (weakref.ref(node_store), weakref.ref(store), records)
    except TypeError:
        return store, None
    if len(_RECORDS) >= 64:
        _RECORDS.clear()
    _RECORDS[id(node_store)] = entry
    return store, entry[2]


_Book = tuple[Any, "dict[str, int | None] | None"]


def _read(book: _Book, account: str, opts: dict[str, Any]) -> int:
    store, records = book
    if records is not None and account in records:  # only checked accounts are kept
        kept = records[account]
        if kept is not None:
            return kept
    elif store is not None and (account == UNKNOWN or _ADDRESS.fullmatch(account)):
        got = store.read(f"{LEDGER}/{account}")
        known = None if got is None else ao.to_int(got, 0)
        if records is not None:
            if len(records) >= _RECORDS_MAX:
                records.clear()
            records[account] = known
        if known is not None:
            return known
    ledger = opts.get("simple_pay_ledger")
    if isinstance(ledger, dict):
        return ao.to_int(ledger.get(account), 0)
    return 0


def get_balance(account: str, opts: dict[str, Any]) -> int:
    """``account``'s balance: the store's record, else ``simple_pay_ledger``, else 0."""
    return _read(_book(opts), account, opts)


def _write(book: _Book, account: str, amount: int) -> None:
    store, records = book
    if store is None:
        raise ValueError("simple-pay@1.0 needs the node's store for its ledger")
    try:
        store.write(f"{LEDGER}/{account}", str(amount).encode())
    except BaseException:
        if records is not None:
            records.pop(account, None)  # re-read it: the write may or may not have landed
        raise
    if records is not None:
        records[account] = amount


def _bad(text: str, status: int = 400) -> tuple[str, dict[str, Any]]:
    return "error", {"status": status, "body": f"simple-pay@1.0: {text}"}


def steps(request: dict[str, Any]) -> int:
    """How many messages the request's HyperPATH is (remembered per path: the request and
    the response hook both ask)."""
    path = request.get("path")
    key = path if isinstance(path, (str, bytes)) else None
    n = _STEPS.get(key) if key is not None else None
    if n is None:
        n = len(parse_path(request))
        if key is not None:
            if len(_STEPS) >= 4096:
                _STEPS.clear()
            _STEPS[key] = n
    return n


def estimate(request: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """The price of ``request``: its messages times ``simple_pay_price``; 0 for the
    operator."""
    if authority.is_operator(opts):
        return "ok", 0
    if not isinstance(request, dict):
        return "error", "simple-pay@1.0 estimate needs the request"
    try:
        n = steps(request)
    except PathError as e:
        return "error", f"unparsable path: {e}"
    price = opts.get("simple_pay_price", 1)
    if type(price) is not int:
        price = ao.to_int(price, 1)
    return "ok", n * max(price, 0)


def balance(target: str, opts: dict[str, Any]) -> tuple[str, Any]:
    """The balance of ``target`` (an address or ``unknown``)."""
    book = _book(opts)
    records = book[1]
    if records is None or target not in records:  # only checked accounts are kept
        if target != UNKNOWN and not _ADDRESS.fullmatch(target):
            return _bad(f"target {target[:64]!r} is not an address")
    return "ok", _read(book, target, opts)


def debit(account: str, quantity: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """Take ``quantity`` from ``account`` (HyperBEAM keeps a negative result: the work was
    done; the reply is then a 429). Only p4@1.0 calls it (:data:`P4_LEDGER`, or the device
    key ``debit`` with :data:`~.p4.LEDGER_CALL`)."""
    price = quantity if type(quantity) is int else ao.to_int(quantity, -1)
    if price < 0:
        return _bad("debit needs a quantity >= 0")
    if account == UNKNOWN:
        return "ok", False  # HyperBEAM: nobody to charge
    book = _book(opts)
    with _LOCK:
        before = _read(book, account, opts)
        after = before - price
        _write(book, account, after)
    if after >= 0:
        return "ok", True
    return "error", {
        "status": 429,
        "body": f"Insufficient funds. User balance before debit: {before}. "
        f"Price of request: {price}. New balance: {after}.",
    }


class Ledger:
    """What p4@1.0 calls directly (:attr:`SimplePay.p4_ledger`): ``estimate``, ``balance`` and
    ``debit`` as plain functions of the request, the account and the options. Not a device key
    (the attribute is not callable), so nothing on the wire reaches it."""

    estimate = staticmethod(estimate)
    balance = staticmethod(balance)
    debit = staticmethod(debit)


class SimplePay:
    """``simple-pay@1.0``: a p4@1.0 pricing and ledger device with per-request prices and
    balances."""

    name = "simple-pay@1.0"
    p4_direct = True  # p4@1.0 calls the methods below directly
    p4_ledger = Ledger()  # ... or, quicker, these (devices/p4.py)

    def estimate(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``estimate``: the price of the request (0 for the operator)."""
        request = req.get("request") if isinstance(req, dict) else None
        return estimate(request, opts or {})

    def balance(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``balance``: the balance of the caller (or, from the ledger hook, of ``target``)."""
        opts = opts or {}
        req = req if isinstance(req, dict) else {}
        target = _text(req["target"]) if opts.get(LEDGER_CALL) and "target" in req else None
        if target is None:
            who = authority.caller(opts).signers
            target = who[0] if who else _text(req.get("target", UNKNOWN))
        return balance(target, opts)

    def debit(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``debit``: take the price from the payer's balance (only from the p4@1.0 hook)."""
        opts = opts or {}
        if not opts.get(LEDGER_CALL):
            return _bad("debit is only made by the node's p4@1.0 hook", 403)
        req = req if isinstance(req, dict) else {}
        return debit(_text(req.get("account", UNKNOWN)), req.get("quantity"), opts)

    def topup(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``topup``: add ``amount`` to ``recipient``'s balance (signed by the operator)."""
        opts = opts or {}
        req = req if isinstance(req, dict) else {}
        who = authority.operator_of(opts, path_signed=False)
        c = authority.caller(opts)
        if who is None or not {"amount", "recipient"} <= c.covers.get(who, frozenset()):
            return authority.refused("Topping up a balance (amount and recipient signed)")
        amount = req.get("amount")
        amount = amount if isinstance(amount, int) else ao.to_int(amount, -1)
        if isinstance(amount, bool) or amount <= 0:
            return _bad("topup needs an integer amount > 0")
        recipient = _text(req.get("recipient", ""))
        if not _ADDRESS.fullmatch(recipient):
            return _bad(f"topup recipient {recipient[:64]!r} is not an address")
        tag = c.tags[who]
        book = _book(opts)
        store = book[0]
        with _LOCK:
            if store.read(f"{TOPUPS}/{tag}") is not None:
                return _bad("this signed top-up was already applied (sign a new one)", 409)
            balance = _read(book, recipient, opts) + amount
            _write(book, recipient, balance)
            store.write(f"{TOPUPS}/{tag}", recipient.encode())
        return "ok", balance


DEVICE = SimplePay()

__all__ = ["DEVICE", "LEDGER", "Ledger", "SimplePay", "balance", "debit", "estimate", "get_balance"]
