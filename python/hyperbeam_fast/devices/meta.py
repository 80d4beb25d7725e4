"""``meta@1.0`` (spec runtime §7.5): the node's own device: ``info`` (GET the public node
message, POST an operator-signed update) and ``build``.

The request pipeline of ``dev_meta:handle`` (hooks, resolution, status, signing) is
:meth:`hyperbeam_fast.node.server.Node.handle`; the live node is reached through the private
option ``priv_node`` (never serialised).
"""

from __future__ import annotations

from typing import Any

UNENCODABLE = "Unencodable value."
#: Keys of an update request that describe the request, not options.
_REQUEST_KEYS = frozenset(
    {
        "path",
        "method",
        "commitments",
        "body-keys",
        "content-type",
        "content-digest",
        "ao-types",
        "signature",
        "signature-input",
        "codec-device",
        "accept",
        "accept-codec",
        "status",
        "inline-body-key",
    }
)
#: Option names whose values are never shown (besides ``priv*``).
_SECRET = frozenset({"priv_wallet", "priv_key", "priv_store", "priv_node", "wallet", "loader"})


def public(value: Any, depth: int = 0) -> Any:
    """A node message with private keys removed recursively and what cannot be encoded
    (functions, objects) replaced by ``"Unencodable value."``."""
    if depth > 32:
        return UNENCODABLE
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or k.startswith("priv") or k in _SECRET:
                continue
            out[k] = public(v, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [public(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bytes, str, int, float, bool)):
        return value
    from ..atom import Atom

    return value if isinstance(value, Atom) else UNENCODABLE


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


class Meta:
    """``meta@1.0``: the node's configuration message and its update."""

    name = "meta@1.0"

    def info(self, base: Any = None, req: Any = None, opts: Any = None) -> Any:
        """GET: the public node message; POST: an operator-signed configuration update."""
        opts = opts if isinstance(opts, dict) else {}
        node = opts.get("priv_node")
        method = _text((req or {}).get("method", "GET")).upper() if isinstance(req, dict) else "GET"
        if method == "GET":
            msg = node.node_msg if node is not None else opts
            return "ok", node.public_info() if node is not None else public(msg)
        if method != "POST":
            return "error", "Unsupported Meta/info method."
        if node is None:
            return "error", "No node to update."
        return node.update_info(req if isinstance(req, dict) else {}, opts)

    def build(self) -> dict[str, Any]:
        """The node message (``info``'s body): node, version, operator address and public
        settings."""
        from ..version import __version__

        return {
            "node": "HyperBEAM",
            "implementation": "hyperbeam_fast",
            "version": "0.8",
            "hyperbeam-fast-version": __version__,
            "source": "b2743e4a",
            "source-short": "b2743e4",
        }


def update_keys(req: dict[str, Any], signed: frozenset[str] | None = None) -> dict[str, Any]:
    """The options an update request carries: its keys minus the request's own (and, when
    ``signed`` is given, only those the operator's signature covers)."""
    from ..node.config import DEFAULTS, mimic, norm_key

    out = {}
    for k, v in req.items():
        if not isinstance(k, str) or k in _REQUEST_KEYS or "." in k:
            continue
        if signed is not None and k.lower() not in signed:
            continue
        nk = norm_key(k)
        if nk.lower().startswith("priv") or nk in _SECRET:
            continue
        out[nk] = mimic(v, DEFAULTS.get(nk))
    return out


META = Meta()


def _handler(key: str, base: Any = None, req: Any = None, opts: Any = None) -> Any:
    if key == "info":
        return META.info(base, req, opts)
    if key == "build":
        return "ok", META.build()
    return "error", {"status": 404, "body": f"meta@1.0 has no key {key!r}."}


class _Named(dict[str, Any]):
    name = "meta@1.0"


#: ``info`` here is the *device* info (HyperBEAM tells ``info/1`` from ``info/3`` by arity); the
#: ``info`` key itself is served by the ``handler``.
DEVICE = _Named({"info": {"handler": _handler, "exports": ["info", "build"]}})

__all__ = ["DEVICE", "META", "UNENCODABLE", "public", "update_keys"]
