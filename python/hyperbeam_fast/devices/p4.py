"""``p4@1.0`` (HyperBEAM ``dev_p4``): charging for requests through a pricing device and a
ledger device, as the node's ``request`` and ``response`` hooks.

Configured as HyperBEAM configures it: the same handler message under ``on/request`` and
``on/response`` (``device: p4@1.0``, ``pricing-device``, ``ledger-device``). Before a request
runs, the pricing device's ``estimate`` prices it (``0``: free; ``infinity``: refused, 403) and
the ledger's ``balance`` for the payer must cover it (else 429 ``Insufficient funds`` with
``price`` and ``balance``). After it ran, ``price`` (else ``estimate``) prices the reply and the
ledger's ``debit`` charges it. Requests matching ``p4_non_chargable_routes`` are free.

Differences from HyperBEAM, each closing a hole:

* The payer is the signer whose verified signature covers the request's ``path``
  (:func:`payer`; ``unknown`` when none): a signature over other keys only could be moved to a
  request its signer never asked for.
* Route templates are matched against the whole path without its query, and ``*`` stands for
  one plain path segment (no ``/``, ``~``, ``&``, parentheses), a final ``/*`` any number of
  them: with HyperBEAM's regular
  expression search, ``/anything?x=/~meta@1.0/`` or ``/~meta@1.0/info/x~process@1.0/...`` would
  run for free.
* The ledger's ``debit`` is only callable from this hook (the private option
  :data:`LEDGER_CALL`, which no request can set): HyperBEAM signs the debit with the node's
  wallet instead, an RSA signature per request, while ``/~simple-pay@1.0/debit`` stays open to
  the wire.
* A price must be a non-negative integer or ``infinity``; anything else (an error, a missing
  ``estimate``, a negative number) is an unpriced request: 402 naming the pricing device.

Cost (issue 16; benches/bench_p4.py): what a handler message needs on every request (its two
devices loaded, the free routes compiled, and whether each path seen is free) is prepared once
per handler message (:class:`_Plan`; the node message is replaced, never changed in place; a
change of ``p4_non_chargable_routes``, ``preloaded_devices`` or the device registry makes a new
one). simple-pay@1.0 is called through its ``p4_ledger`` object (plain functions of the request,
the account and the options; not a device key, so unreachable from the wire, and needing no
:data:`LEDGER_CALL` copy of the options). When the pricing device is such a device and has no
``price`` key, the response hook's price is the request hook's estimate (that estimate sees the
request and the options alone, the same objects in both hooks): the request hook keeps it, with
the payer, for the response hook of the same request (:data:`_CHARGE`, matched by identity).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from .. import ao
from ..node import authority

#: HyperBEAM's ``DEFAULT_NON_CHARGABLE_ROUTES``.
DEFAULT_FREE_ROUTES = ({"template": "/~p4@1.0/balance"}, {"template": "/~meta@1.0/*"})
#: The private option set on the ledger calls this hook makes (``debit`` needs it).
LEDGER_CALL = "priv_p4_ledger_call"
#: The payer of an unsigned request (HyperBEAM's ``<<"unknown">>``).
UNKNOWN = "unknown"
INFINITY = "infinity"

#: One plain path segment: no device switch (``~``), no keys (``&``), no sub-path.
_SEGMENT = "[^/~&()]*"
#: The price and payer the ``request`` hook found, per thread, for its ``response`` hook
#: (``last``: ``(request, options, handler, ledger, price, payer)``; matched by identity, so
#: another request's never applies).
_CHARGE = threading.local()
_free_cache: dict[str, re.Pattern[str] | None] = {}


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def payer(opts: Any) -> str:
    """Who pays for the request being resolved: the first signer whose signature covers its
    ``path``, else :data:`UNKNOWN`."""
    who = authority.caller(opts).path_signers
    return who[0] if who else UNKNOWN


def _template(t: str) -> re.Pattern[str] | None:
    """A route template (a regular expression; ``*`` after ``/`` is one plain segment, a final
    ``/*`` any number of them)."""
    if t not in _free_cache:
        rx = re.sub(r"/\*$", "(?:/" + _SEGMENT + ")*", t)
        rx = re.sub(r"(?<=/)\*", _SEGMENT, rx)
        try:
            _free_cache[t] = re.compile(rx)
        except re.error:
            _free_cache[t] = None
        if len(_free_cache) > 1024:
            _free_cache.clear()
    return _free_cache.get(t)


def _routes(opts: dict[str, Any]) -> list[Any]:
    rs = opts.get("p4_non_chargable_routes")
    if rs is None:
        return list(DEFAULT_FREE_ROUTES)
    if isinstance(rs, dict):
        rs = [rs[k] for k in sorted(rs, key=lambda x: int(x) if str(x).isdigit() else 0)]
    return list(rs) if isinstance(rs, list) else [rs]


def _free_patterns(opts: dict[str, Any]) -> list[re.Pattern[str]]:
    out = []
    for r in _routes(opts):
        t = r.get("template") if isinstance(r, dict) else r
        if isinstance(t, (str, bytes)):
            rx = _template(_text(t))
            if rx is not None:
                out.append(rx)
    return out


def _chargeable(path: str, free: list[re.Pattern[str]]) -> bool:
    path = path.split("?", 1)[0]
    return not any(rx.fullmatch(path) for rx in free)


def is_chargeable(request: Any, opts: dict[str, Any]) -> bool:
    """Whether the request singleton matches none of ``p4_non_chargable_routes``."""
    path = _text(request.get("path", "")) if isinstance(request, dict) else ""
    return _chargeable(path, _free_patterns(opts))


def _price(value: Any) -> int | str | None:
    """A pricing device's answer as a price: an integer >= 0, ``infinity``, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, (str, bytes)):
        s = _text(value).strip()
        if s == INFINITY:
            return INFINITY
        if s.isdigit():
            return int(s)
    return None


class _Device:
    """A pricing or ledger device as the hook calls it, loaded once per handler message.

    A device that declares ``p4_direct`` (simple-pay@1.0, faff@1.0) has its pricing and ledger
    keys called as plain methods, without the resolver; one that also has a ``p4_ledger``
    object (simple-pay@1.0: not a device key, nothing on the wire reaches it) has that
    object's ``estimate(request, opts)``, ``balance(account, opts)`` and
    ``debit(account, quantity, opts)`` called instead, which need neither a request message
    nor :data:`LEDGER_CALL`. A key the device lacks is an error, as through the resolver."""

    __slots__ = ("base", "direct", "failed", "fast", "methods", "name")

    def __init__(self, hook_base: dict[str, Any], name: Any, opts: dict[str, Any]) -> None:
        self.name = name
        self.base = {**hook_base, "device": name}
        self.failed: str | None = None
        self.direct = False
        self.fast: Any = None
        self.methods: dict[str, Any] = {}
        try:
            dev = ao.load_device(name, opts)
        except Exception as e:  # noqa: BLE001 - reported when the device is called
            self.failed = f"{type(e).__name__}: {e}"
            return
        if getattr(dev, "p4_direct", False):
            self.direct = True
            self.fast = getattr(dev, "p4_ledger", None)
            for key in ("estimate", "price", "balance", "debit"):
                fn = getattr(dev, key, None)
                self.methods[key] = fn if callable(fn) else None

    def call(self, key: str, req: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
        """``req`` (its ``path`` is ``key``) on the device, with the hook's options plus
        ``hashpath: ignore`` and :data:`LEDGER_CALL`; never raises."""
        if self.failed is not None:
            return "error", self.failed
        opts = {**opts, "hashpath": "ignore", LEDGER_CALL: True}
        try:
            if self.direct:
                fn = self.methods.get(key)
                if fn is None:
                    return "error", f"{_text(self.name)} has no key {key!r}"
                return ao.norm_result(fn(self.base, req, opts))
            return ao.resolve(dict(self.base), req, opts)
        except Exception as e:  # noqa: BLE001 - a device failure is reported, never raised
            return "error", f"{type(e).__name__}: {e}"

    def price(self, key: str, request: Any, body: Any, opts: dict[str, Any]) -> tuple[str, Any]:
        """``estimate`` or ``price`` of the request: ``(ok, price)`` (None: not a price)."""
        fast = self.fast
        if fast is not None and (key == "estimate" or self.methods.get(key) is None):
            if key != "estimate":
                return "error", f"{_text(self.name)} has no key {key!r}"
            try:
                st, v = fast.estimate(request, opts)
            except Exception as e:  # noqa: BLE001 - a device failure is reported
                return "error", f"{type(e).__name__}: {e}"
        else:
            st, v = self.call(key, {"path": key, "request": request, "body": body}, opts)
        return st, (_price(v) if st == "ok" else v)

    def balance(self, account: str, request: Any, opts: dict[str, Any]) -> tuple[str, Any]:
        """The ledger's balance of ``account``."""
        if self.fast is not None:
            try:
                return self.fast.balance(account, opts)  # type: ignore[no-any-return]
            except Exception as e:  # noqa: BLE001 - a device failure is reported
                return "error", f"{type(e).__name__}: {e}"
        return self.call(
            "balance", {"path": "balance", "target": account, "request": request}, opts
        )

    def debit(
        self, account: str, quantity: int, request: Any, opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """The ledger's ``debit`` of ``quantity`` from ``account``."""
        if self.fast is not None:
            try:
                return self.fast.debit(account, quantity, opts)  # type: ignore[no-any-return]
            except Exception as e:  # noqa: BLE001 - a device failure is reported
                return "error", f"{type(e).__name__}: {e}"
        req = {"path": "debit", "quantity": quantity, "account": account, "request": request}
        return self.call("debit", req, opts)


class _Plan:
    """What a p4@1.0 handler message needs on every request, prepared once per handler
    message, free-route option and device registry: its two devices and the free routes
    (with the answer for each path seen, bounded)."""

    __slots__ = ("base", "free", "ledger", "paths", "pricing", "registry", "routes", "version")

    def __init__(self, base: dict[str, Any], opts: dict[str, Any]) -> None:
        self.base = base
        self.routes = opts.get("p4_non_chargable_routes")
        self.registry = opts.get("preloaded_devices")
        self.version = ao.registry_version()
        pricing, ledger = base.get("pricing-device"), base.get("ledger-device")
        self.pricing = None if pricing is None else _Device(base, pricing, opts)
        self.ledger = None if ledger is None else _Device(base, ledger, opts)
        self.free = _free_patterns(opts)
        self.paths: dict[str | bytes, bool] = {}

    def chargeable(self, request: Any) -> bool:
        """:func:`is_chargeable` with the answer remembered per path."""
        path = request.get("path", "") if isinstance(request, dict) else ""
        cacheable = isinstance(path, (str, bytes))
        got = self.paths.get(path) if cacheable else None
        if got is None:
            got = _chargeable(_text(path), self.free)
            if cacheable:
                if len(self.paths) >= 4096:
                    self.paths.clear()
                self.paths[path] = got
        return got


#: ``id(handler message) -> its plan`` (the node message is replaced, never changed in place).
_PLANS: dict[int, _Plan] = {}


def _plan(base: Any, opts: dict[str, Any]) -> _Plan:
    got = _PLANS.get(id(base))
    if (
        got is not None
        and got.base is base
        and got.routes is opts.get("p4_non_chargable_routes")
        and got.registry is opts.get("preloaded_devices")
        and got.version == ao.registry_version()
    ):
        return got
    plan = _Plan(base if isinstance(base, dict) else {}, opts)
    if len(_PLANS) >= 256:
        _PLANS.clear()
    _PLANS[id(plan.base)] = plan
    return plan


def _unpriced(device: Any, request: Any, why: Any) -> tuple[str, dict[str, Any]]:
    path = _text(request.get("path", "")) if isinstance(request, dict) else ""
    detail = _text(why.get("body", why)) if isinstance(why, dict) else _text(why)
    return "error", {
        "status": 402,
        "body": f"p4@1.0: the pricing device {_text(device)} gives no price for "
        f"{path.split('?', 1)[0]!r} ({detail[:200]}).",
    }


def _hook_call(
    base: Any, hook: Any, opts: Any
) -> tuple[Any, Any, _Device | None, _Device | None, dict[str, Any]]:
    """A hook call's ``(body, request, pricing, ledger, opts)``; pricing and ledger are
    ``None`` when the hook has none or the request is not chargeable (it passes unpriced)."""
    opts = opts or {}
    hook = hook if isinstance(hook, dict) else {}
    body, request = hook.get("body"), hook.get("request")
    plan = _plan(base, opts)
    pricing, ledger = plan.pricing, plan.ledger
    if pricing is None or ledger is None or not plan.chargeable(request):
        return body, request, None, None, opts
    return body, request, pricing, ledger, opts


class P4:
    """``p4@1.0``: charge requests through a pricing and a ledger device (request/response
    hooks)."""

    name = "p4@1.0"
    hook_direct = True  # devices/hook.py calls request/response without the resolver

    def request(self, base: Any, hook: Any, opts: Any = None) -> tuple[str, Any]:
        """The ``request`` hook: estimate, then check the payer's balance."""
        msgs, request, pricing, ledger, opts = _hook_call(base, hook, opts)
        if pricing is None or ledger is None:
            return "ok", {"body": msgs}
        st, price = pricing.price("estimate", request, msgs, opts)
        if st != "ok" or price is None:
            return _unpriced(pricing.name, request, price)
        if price == INFINITY:
            return "error", {
                "status": 403,
                "body": "Node will not service this request under any circumstances.",
            }
        if price == 0:
            return "ok", {"body": msgs}
        who = payer(opts)
        st, bal = ledger.balance(who, request, opts)
        if st != "ok":
            return "error", {"status": 500, "body": "Error checking ledger balance."}
        if bal is True or (type(bal) is not int and _text(bal) == INFINITY):
            return "ok", {"body": msgs}
        balance = bal if type(bal) is int else ao.to_int(bal, 0)
        if balance >= price:
            if pricing.fast is not None and pricing.methods.get("price") is None:
                # the response hook's price is this estimate again (no `price` key; the
                # direct estimate sees the request and options alone): kept for it
                _CHARGE.last = (request, opts, base, ledger, price, who)
            return "ok", {"body": msgs}
        return "error", {
            "status": 429,
            "body": "Insufficient funds",
            "price": price,
            "balance": balance,
        }

    def response(self, base: Any, hook: Any, opts: Any = None) -> tuple[str, Any]:
        """The ``response`` hook: price the reply (``price``, else ``estimate``) and debit it."""
        last = getattr(_CHARGE, "last", None)
        if last is not None and isinstance(hook, dict):
            _CHARGE.last = None
            same = last[2] is base or last[2] == base  # config.flat: two equal handlers
            if last[0] is hook.get("request") and last[1] is opts and same:
                # the request hook's ledger, price and payer (it checked the balance)
                st, res = last[3].debit(last[5], last[4], last[0], opts)
                return ("ok", {"body": hook.get("body")}) if st == "ok" else ("error", res)
        reply, request, pricing, ledger, opts = _hook_call(base, hook, opts)
        if pricing is None or ledger is None:
            return "ok", {"body": reply}
        st, price = pricing.price("price", request, reply, opts)
        if st != "ok" or price is None:
            st, price = pricing.price("estimate", request, reply, opts)
        if st != "ok" or price is None:
            return _unpriced(pricing.name, request, price)
        if price == 0 or price == INFINITY:  # infinity was refused before it ran
            return "ok", {"body": reply}
        who = payer(opts)
        st, res = ledger.debit(who, price, request, opts)
        if st != "ok":
            return "error", res
        return "ok", {"body": reply}

    def balance(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``GET /~p4@1.0/balance``: the caller's balance in the request hook's ledger."""
        opts = opts or {}
        handlers = [h for h in _hook_handlers(opts) if _text(h.get("device")) == self.name]
        if not handlers:
            return "error", {"status": 404, "body": "No p4@1.0 request hook found."}
        handler = handlers[0]
        ledger = handler.get("ledger-device")
        if ledger is None:
            return "error", {"status": 404, "body": "The p4@1.0 hook names no ledger-device."}
        return ao.resolve(
            {**handler, "device": ledger},
            {"path": "balance", "target": payer(opts)},
            opts,
        )


def _hook_handlers(opts: dict[str, Any]) -> list[dict[str, Any]]:
    on = opts.get("on")
    hs = on.get("request") if isinstance(on, dict) else None
    if isinstance(hs, dict) and any(str(k).isdigit() for k in hs):
        hs = [hs[k] for k in sorted(hs, key=lambda x: int(x) if str(x).isdigit() else 0)]
    hs = hs if isinstance(hs, list) else [hs]
    return [h for h in hs if isinstance(h, dict)]


DEVICE = P4()

__all__ = ["DEFAULT_FREE_ROUTES", "DEVICE", "INFINITY", "LEDGER_CALL", "P4", "UNKNOWN", "payer"]
