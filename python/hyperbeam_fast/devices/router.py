"""``router@1.0`` (spec runtime §13.4): a routing table of nodes, matched by templates.

A route is ``{template, node | nodes, strategy?, choose?, priority?}``; ``template`` is a
regular expression matched against the request's ``route-path`` or ``path`` (a map template
matches when every key it names has the same value in the request). ``node`` is a URI or
``{prefix | uri, suffix?, match?, with?}``. ``nodes`` are picked by ``strategy``: ``All``
(default), ``Random``, ``By-Base`` (first path part hashed, mod N), ``By-Weight``.

Keys: ``routes`` (GET: the table; POST signed by a ``route_owners`` address: add the request as a
route, sorted by ``priority``), ``route`` (the URI for the request), ``match`` (the route), and
``preprocess`` (a ``request`` hook: matching requests are relayed with relay@1.0).
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, cast

_ROUTE_REQUEST_KEYS = frozenset(
    {"path", "method", "commitments", "ao-types", "body-keys", "content-type", "content-digest"}
)


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def routes(opts: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's configured routes (``opts["routes"]``, a list or a numbered map), in order."""
    rs = opts.get("routes") or []
    if isinstance(rs, dict):
        rs = [rs[k] for k in sorted(rs, key=lambda x: int(x) if str(x).isdigit() else 0)]
    return [r for r in rs if isinstance(r, dict)]


def _matches(template: Any, msg: dict[str, Any]) -> bool:
    if isinstance(template, dict):
        return all(_text(msg.get(k)) == _text(v) for k, v in template.items())
    t = _text(template)
    if t is None:
        return False
    p = _text(msg.get("route-path")) or _text(msg.get("path")) or ""
    try:
        return re.search(t, p) is not None
    except re.error:
        return False


def find(msg: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any] | None:
    """The first route of ``opts`` whose template matches ``msg``'s path (or the URL itself)."""
    path = _text(msg.get("path")) or ""
    if path.startswith(("http://", "https://")):
        return {"node": path}
    for r in routes(opts):
        if _matches(r.get("template"), msg):
            return r
    return None


def _apply_node(node: Any, path: str) -> str | None:
    """A node (a base URI, or ``{prefix | uri, suffix?, match?, with?}``) applied to ``path``."""
    if isinstance(node, (str, bytes)):
        return (_text(node) or "").rstrip("/") + path
    if not isinstance(node, dict):
        return None
    p = path
    if node.get("match") is not None and node.get("with") is not None:
        try:
            p = re.sub(_text(node["match"]) or "", _text(node["with"]) or "", p)
        except re.error:
            return None
    if node.get("suffix") is not None:
        p = p + (_text(node["suffix"]) or "")
    prefix = _text(node.get("prefix")) or _text(node.get("uri")) or ""
    return prefix.rstrip("/") + p if prefix else None


def _choose(route: dict[str, Any], msg: dict[str, Any]) -> list[Any]:
    nodes = route.get("nodes")
    if isinstance(nodes, dict):
        nodes = [nodes[k] for k in sorted(nodes, key=lambda x: int(x) if str(x).isdigit() else 0)]
    if not isinstance(nodes, list) or not nodes:
        return []
    strategy = (_text(route.get("strategy")) or "All").lower()
    n = (
        int(_text(route.get("choose")) or route.get("choose") or 1)
        if strategy != "all"
        else len(nodes)
    )
    if strategy == "random":
        return random.sample(nodes, min(n, len(nodes)))
    if strategy == "by-base":
        parts = [p for p in (_text(msg.get("path")) or "").split("/") if p]
        base = parts[0] if parts else ""
        h = int.from_bytes(hashlib.sha256(base.encode()).digest(), "big")
        start = h % len(nodes)
        return [nodes[(start + i) % len(nodes)] for i in range(min(n, len(nodes)))]
    if strategy == "by-weight":
        weights = [
            float(_text(x.get("weight")) or 1) if isinstance(x, dict) else 1.0 for x in nodes
        ]
        return random.choices(nodes, weights=weights, k=min(n, len(nodes)))
    return nodes[:n]


def route_uri(msg: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """The URI a request goes to (first chosen node), or ``("error", "no_matches")``."""
    r = find(msg, opts)
    if r is None:
        return "error", "no_matches"
    path = _text(msg.get("path")) or "/"
    if "node" in r:
        uri = path if path.startswith(("http://", "https://")) else _apply_node(r["node"], path)
        return ("ok", uri) if uri else ("error", "no_matches")
    chosen = _choose(r, msg)
    for node in chosen:
        uri = _apply_node(node, path)
        if uri:
            return "ok", uri
    return "error", "no_matches"


class Router:
    """``router@1.0``: the node's routes to other nodes."""

    name = "router@1.0"

    def routes(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``routes``: GET lists them; POST (signed by a route owner) adds one."""
        opts = opts or {}
        req = req if isinstance(req, dict) else {}
        method = (_text(req.get("method")) or "GET").upper()
        if method != "POST":
            return "ok", {str(i): r for i, r in enumerate(routes(opts), 1)}
        from ..node import authority

        node = opts.get("priv_node")
        owners = opts.get("route_owners") or [opts.get("operator")]
        owners = [_text(o) for o in (owners if isinstance(owners, list) else [owners])]
        caller = authority.caller(opts)  # a change: the signed keys only, path or not
        # orderers: an ANS-104 data item is never an order (authority.operator_of)
        who = next((s for s in caller.orderers if s in owners), None)
        if who is None:
            return authority.refused("Adding a route", 400)
        signed = caller.covers[who]
        route = {
            k: v
            for k, v in req.items()
            if k not in _ROUTE_REQUEST_KEYS and isinstance(k, str) and k.lower() in signed
        }
        if node is None:
            return "error", "No node to update."
        return cast("tuple[str, Any]", node.add_route(route))

    def route(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``route``: the URI the request's ``route-path`` (or ``path``) is sent to."""
        req = req if isinstance(req, dict) else {}
        msg = {**req, "path": _text(req.get("route-path")) or _text(req.get("path")) or ""}
        return route_uri(msg, opts or {})

    def match(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``match``: the route that matches the request's path (``no_matches`` if none)."""
        req = req if isinstance(req, dict) else {}
        msg = {**req, "path": _text(req.get("route-path")) or _text(req.get("path")) or ""}
        r = find(msg, opts or {})
        return ("ok", r) if r is not None else ("error", "no_matches")

    def preprocess(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``request`` hook: relay requests that match a route; others run locally (or 404
        with ``router_preprocess_default: error``)."""
        opts = opts or {}
        req = req if isinstance(req, dict) else {}
        single = req.get("request")
        if not isinstance(single, dict):
            return "ok", req
        path = _text(single.get("path")) or ""
        if find({**single, "path": path.split("?", 1)[0]}, opts) is None:
            if (_text(opts.get("router_preprocess_default")) or "local") == "error":
                return "error", {"status": 404, "body": "No matching route."}
            return "ok", req
        body = [{"device": "relay@1.0"}, {"path": "call", "target": "body", "body": single}]
        return "ok", {**req, "body": body}


DEVICE = Router()

__all__ = ["DEVICE", "Router", "find", "route_uri"]
