"""``delegated-compute@1.0`` (HyperBEAM ``dev_delegated_compute``): compute on a compute unit.

As a process's ``execution-device``: ``compute`` sends the slot's assignment (with its message)
to a legacy ao compute unit as ``POST /result/<slot>?process-id=<ProcID>``, the body the aos-2
schedule page of that one assignment (:mod:`.scheduler_formats`), through relay@1.0, so the
node's ``routes`` say where (e.g. a route with template ``^/result/`` and ``node`` the CU's
URL). The CU answers its result JSON (``Output``, ``Messages``, ``Spawns``, ``Assignments``,
``Error``, ``GasUsed``); :func:`results` turns it into the state's ``results`` (``data``,
``outbox``, ``patches``, as ``dev_json_iface:json_to_message``) plus ``results/json``
(``{content-type: application/json, body: <the CU's JSON>}``). ``init``, ``normalize`` and
``snapshot`` return the state unchanged: the CU holds the process memory.

Bad replies are typed errors: an unreachable CU or a non-2xx reply is a 502 naming the CU's
status, a reply that is not a JSON result a 502 too; nothing is stored for that slot (the
process stays at the slot before and the next compute retries it).

Deviation: each outbox message gets ``from-process`` (this process's ID) and ``from-image``
(its ``Module``) set by the node, after the CU's tags are merged in (HyperBEAM's delegated path
leaves them as the CU wrote them), so a module cannot claim to speak for another process.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..message import id as msg_id
from . import scheduler_formats
from .relay import DEVICE as RELAY

NAME = "delegated-compute@1.0"


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else str(v)


def _norm(v: Any) -> Any:
    """JSON values as message values: nulls dropped, nested maps and lists kept."""
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_norm(x) for x in v if x is not None]
    return v


def _tags_map(m: dict[str, Any]) -> dict[str, Any]:
    tags = m.get("Tags", m.get("tags"))
    out: dict[str, Any] = {}
    if isinstance(tags, list):
        for t in tags:
            if isinstance(t, dict) and "name" in t and t.get("value") is not None:
                out[_text(t["name"])] = _norm(t["value"])
    return out


def outbox_message(m: dict[str, Any], proc_id: str, module: Any) -> dict[str, Any]:
    """``preprocess_results``: the message's fields with lower-case keys (``Anchor``,
    ``Tags``, ``From-Process``, ``From-Image`` dropped), its tags (names in lower case)
    merged over them, then the
    node's ``from-process``/``from-image`` (module docstring)."""
    out: dict[str, Any] = {}
    for k, v in m.items():
        lk = _text(k).lower()
        if lk in ("from-process", "from-image", "anchor", "tags") or v is None:
            continue
        out[lk] = _norm(v)
    for k, v in _tags_map(m).items():
        if k.lower() not in ("from-process", "from-image"):
            out[k.lower()] = v  # keys are lower case here (HyperBEAM normalises them on read)
    out["from-process"] = proc_id
    if module is not None:
        out["from-image"] = module
    return out


def results(doc: Any, raw: bytes, proc_id: str, module: Any) -> dict[str, Any]:
    """The ``results`` of a CU result ``doc`` (``json_to_message``) with ``json`` holding the
    reply ``raw``. Raises ``ValueError`` for a reply that is no result."""
    if not isinstance(doc, dict):
        raise ValueError("the compute unit's reply is not a JSON object")
    if doc.get("ok") is False and "error" in doc:
        raise ValueError(f"the compute unit failed: {_text(doc['error'])[:300]}")
    output = doc.get("Output")
    if isinstance(output, dict) and "data" in output:
        data = output["data"]
    elif "Error" in doc and doc["Error"] is not None:
        data = doc["Error"]
    elif isinstance(output, (str, int, float)):
        data = output  # a plain-text Output (the CU passes strings through)
    else:
        raise ValueError("the compute unit's reply has neither Output.data nor Error")
    msgs = doc.get("Messages") if "Error" not in doc or doc.get("Error") is None else []
    outbox = {}
    for i, m in enumerate(msgs if isinstance(msgs, list) else [], 1):
        if isinstance(m, dict):
            outbox[str(i)] = outbox_message(m, proc_id, module)
    patches = doc.get("patches")
    res: dict[str, Any] = {
        "outbox": outbox,
        "patches": [_tags_map(p) for p in patches if isinstance(p, dict)]
        if isinstance(patches, list)
        else [],
        "data": _norm(data) if isinstance(data, (dict, list)) else _data_text(data),
        "json": {"content-type": "application/json", "body": raw},
    }
    return res


def _data_text(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return scheduler_formats.text(v)
    if isinstance(v, (int, float)):
        return str(v)
    return v


def _definition(base: dict[str, Any]) -> dict[str, Any]:
    p = base.get("process")
    return p if isinstance(p, dict) else base


class DelegatedComputeDevice:
    """``delegated-compute@1.0``: a process's execution computed by a legacy ao compute unit."""

    name = NAME

    def init(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``init`` (also ``normalize``, ``snapshot``): the state as it is."""
        return "ok", base

    normalize = init
    snapshot = init

    def compute(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``compute``: the results of the slot in ``request``, from the remote compute unit."""
        d = _definition(base)
        pid = msg_id(d, "all") if d is not base or d.get("type") else ""
        if not pid:
            pid = _text(request.get("process-id") or "")
        slot = request.get("slot")
        if not pid or slot is None:
            why = "delegated-compute@1.0 needs a process and a slot"
            return "error", {"status": 400, "body": why}
        page = scheduler_formats.assignments_to_aos2(pid, [request], False)
        relay_req = {
            "path": "call",
            "relay-method": "POST",
            "relay-path": f"/result/{_text(slot)}?process-id={pid}",
            "content-type": "application/json",
            "body": page["body"],
        }
        status, reply = RELAY.call({"device": "relay@1.0"}, relay_req, opts)
        # a plain JSON reply comes back as its bytes; a message (an error, a node) as a map
        raw = reply.get("body") if isinstance(reply, dict) else reply
        raw = raw if isinstance(raw, bytes) else _text(raw if raw is not None else "").encode()
        if status not in ("ok", "created"):
            return "error", {
                "status": 502,
                "body": f"compute unit unreachable or failed ({status}): {_text(raw)[:300]}",
            }
        try:
            res = results(orjson.loads(raw), raw, pid, d.get("module"))
        except (orjson.JSONDecodeError, ValueError) as e:
            return "error", {"status": 502, "body": f"bad compute unit reply: {e}"}
        return "ok", {**base, "results": res}


DEVICE = DelegatedComputeDevice()
