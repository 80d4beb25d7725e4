"""The HTTP node: configuration, request/response mapping, server, client, metrics, logs.

``hyperbeam-fast serve`` runs :func:`hyperbeam_fast.node.server.serve`; see docs/node.md.
"""

from .client import ClientError, get, post, request
from .config import DEFAULT_PORT, DEFAULTS, ConfigError, load, parse_flat
from .http import BadRequest, accept_to_codec, encode_response, request_to_singleton
from .server import App, Node, build_node, load_wallet, open_store, register_node_devices, serve

__all__ = [
    "DEFAULTS",
    "DEFAULT_PORT",
    "App",
    "BadRequest",
    "ClientError",
    "ConfigError",
    "Node",
    "accept_to_codec",
    "build_node",
    "encode_response",
    "get",
    "load",
    "load_wallet",
    "open_store",
    "parse_flat",
    "post",
    "register_node_devices",
    "request",
    "request_to_singleton",
    "serve",
]
