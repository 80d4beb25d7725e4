"""``relay@1.0`` (spec runtime §13.5): forward a request to another node.

``call``: the message to send is ``request[request.target]`` when ``target`` is given, else the
request itself (minus the relay's own keys); its path is the first of ``relay-path`` (request,
then base) and the target's ``path``; the method likewise (``relay-method``, target ``method``,
GET); the peer is ``relay-peer``/``peer`` (request, then base), a full ``http(s)://`` path, or
the node's ``routes`` (router@1.0). ``requires-sign: true`` signs it with the node wallet.
Who may do what is :func:`_plan`'s docstring (the operator rules of ``node.authority``).
``cast`` does the same in the background and returns ``"OK"``. ``request`` (a ``request`` hook)
relays the whole incoming request.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import Any

_RELAY_KEYS = frozenset(
    {
        "path",
        "method",
        "target",
        "relay-path",
        "relay-method",
        "relay-peer",
        "peer",
        "requires-sign",
        "commitments",
        "device",
    }
)


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def _first(pairs: list[tuple[Any, str]]) -> str | None:
    for msg, key in pairs:
        if isinstance(msg, dict):
            v = _text(msg.get(key))
            if v:
                return v
    return None


def _target(base: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    t = _text(req.get("target"))
    if t:
        msg = req.get(t)
        if isinstance(msg, dict):
            return msg
        return {"body": msg} if msg is not None else {}
    return {k: v for k, v in req.items() if k not in _RELAY_KEYS}


def _truthy(v: Any) -> bool:
    return v is True or _text(v) in ("true", "1")


def _plan(base: Any, req: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """``("ok", (method, peer, message, wallet))`` for the request to send, or the refusal.

    Relay rules (issue 11): anyone may relay to the peers of the operator's ``routes``; a
    full URL, an explicit ``relay-peer``/``peer``, and a node-wallet signature
    (``requires-sign``) are the operator's, or a matching route's own ``requires-sign``."""
    from ..node import authority
    from .router import find, route_uri

    base = base if isinstance(base, dict) else {}
    req = req if isinstance(req, dict) else {}
    operator = authority.is_operator(opts)
    target = dict(_target(base, req))
    path = _first([(req, "relay-path"), (base, "relay-path"), (target, "path")]) or "/"
    method = _first([(req, "relay-method"), (base, "relay-method"), (target, "method")]) or "GET"
    peer = _first([(req, "relay-peer"), (base, "relay-peer"), (req, "peer"), (base, "peer")])
    sign = _truthy(req.get("requires-sign")) or _truthy(base.get("requires-sign"))
    if not operator and (peer is not None or path.startswith(("http://", "https://"))):
        return authority.refused("Relaying to a peer outside the node's routes")
    if not operator and sign:
        return authority.refused("Signing a relayed request with the node's wallet")
    if path.startswith(("http://", "https://")):
        u = urllib.parse.urlsplit(path)
        peer = f"{u.scheme}://{u.netloc}"
        path = u.path + (f"?{u.query}" if u.query else "")
    if peer is None:
        if not path.startswith("/"):  # appended to a route's node URI: never its authority
            return "error", {"status": 400, "body": f"relay@1.0: relay-path {path!r} is not /..."}
        routed = {**target, "path": path}
        st, uri = route_uri(routed, opts)
        if st != "ok":
            return "error", {"status": 404, "body": f"relay@1.0: no route for {path!r}"}
        route = find(routed, opts)
        sign = sign or (isinstance(route, dict) and _truthy(route.get("requires-sign")))
        u = urllib.parse.urlsplit(uri)
        peer = f"{u.scheme}://{u.netloc}"
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    target = {k: v for k, v in target.items() if k not in ("method", "commitments")}
    target["path"] = path
    return "ok", (method.upper(), peer, target, opts.get("priv_wallet") if sign else None)


def _send(plan: tuple[Any, ...], opts: dict[str, Any]) -> tuple[str, Any]:
    from ..node import client

    method, peer, target, wallet = plan
    timeout = float(opts.get("http_request_send_timeout", 60000)) / 1000
    try:
        return client.request(method, peer, target, wallet=wallet, timeout=timeout)
    except client.ClientError as e:
        return "error", {"status": 502, "body": f"relay@1.0: {e}"}


class Relay:
    """``relay@1.0``: send a request on to another node."""

    name = "relay@1.0"

    def call(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``call``: send the request to its peer and return the reply."""
        opts = opts or {}
        st, plan = _plan(base, req, opts)
        return _send(plan, opts) if st == "ok" else (st, plan)

    def cast(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``cast``: send the request to its peer without waiting for the reply."""
        opts = opts or {}
        st, plan = _plan(base, req, opts)
        if st != "ok":
            return st, plan
        threading.Thread(target=_send, args=(plan, opts), daemon=True).start()
        return "ok", "OK"

    def request(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """Hook form: relay the incoming singleton (``req.request``) as it is."""
        single = req.get("request") if isinstance(req, dict) else None
        if not isinstance(single, dict):
            return "ok", req
        body = [{"device": "relay@1.0"}, {"path": "call", "target": "body", "body": single}]
        return "ok", {**req, "body": body}


DEVICE = Relay()

__all__ = ["DEVICE", "Relay"]
