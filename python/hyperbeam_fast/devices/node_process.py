"""``node-process@1.0`` (HyperBEAM ``dev_node_process``): processes that are singletons of the
node, defined in the node message's ``node_processes`` (name -> process definition).

``GET /~node-process@1.0/<name>`` (or ``/<name>~node-process@1.0/...``): the process the name
is registered to with local-name@1.0 (read from the cache). On first use (unless
``spawn=false``) the definition is given the node's address as ``scheduler``, signed with the
node's wallet, posted to its scheduler (slot 0) and registered under the name, so it is the same
process after a restart. Only the operator's configuration defines these processes; anyone may
trigger the first use, as in HyperBEAM.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import ao, cache
from ..commitments import commit
from ..exceptions import HyperbeamError, InvalidStorePath, NotFound
from ..message import id as msg_id
from .local_name import direct_register, find, valid_name

_LOCK = threading.Lock()  # one spawn per name at a time


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _not_found(name: str) -> tuple[str, dict[str, Any]]:
    return "error", {"status": 404, "body": f"node-process@1.0: no node process {name!r}."}


def _registered(name: str, opts: dict[str, Any]) -> Any:
    got = find(name, opts)
    if isinstance(got, (str, bytes)):
        try:
            return cache.read(_text(got), opts.get("priv_store"))  # type: ignore[arg-type]
        except (NotFound, InvalidStorePath):
            return None
    return None


def spawn(name: str, opts: dict[str, Any]) -> tuple[str, Any]:
    """Sign, schedule and register the ``node_processes`` definition of ``name``."""
    defs = opts.get("node_processes")
    base = defs.get(name) if isinstance(defs, dict) else None
    if not isinstance(base, dict):
        return _not_found(name)
    wallet = opts.get("priv_wallet")
    if wallet is None:
        return "error", {"status": 500, "body": "node-process@1.0 needs the node's wallet."}
    definition = {k: v for k, v in base.items() if k != "commitments"}
    definition["scheduler"] = wallet.address
    signed = commit(definition, wallet)
    pid = msg_id(signed, "all")
    st, res = ao.resolve(signed, {"path": "schedule", "method": "POST", "body": signed}, opts)
    if st != "ok":
        return "error", {
            "status": 500,
            "body": f"node-process@1.0: scheduling {name!r} failed: {_text(res)[:300]}",
        }
    try:
        direct_register(name, pid, opts)
    except HyperbeamError as e:
        return "error", {"status": 500, "body": f"Failed to register process: {e}"}
    return "ok", signed


def _lookup(key: Any, base: Any = None, req: Any = None, opts: Any = None) -> tuple[str, Any]:
    opts = opts or {}
    name = valid_name(key)
    if name is None:
        return "error", {"status": 400, "body": f"node-process@1.0: bad name {_text(key)!r}."}
    got = _registered(name, opts)
    if got is not None:
        return "ok", got
    want = req.get("spawn", True) if isinstance(req, dict) else True
    if _text(want).lower() == "false":
        return _not_found(name)
    with _LOCK:
        got = _registered(name, opts)  # spawned while we waited
        return ("ok", got) if got is not None else spawn(name, opts)


class _Named(dict[str, Any]):
    name = "node-process@1.0"


DEVICE = _Named({"info": {"default": _lookup, "excludes": ["keys", "set"]}})

__all__ = ["DEVICE", "spawn"]
