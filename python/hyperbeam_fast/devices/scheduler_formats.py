"""The legacy (``application/aos-2``) schedule format (HyperBEAM ``dev_scheduler_formats``).

``GET /~scheduler@1.0/schedule?target=<ProcID>&from=A&to=B&accept=application/aos-2`` answers
``{content-type: application/json, body}`` where ``body`` is the JSON a legacy compute unit
reads from a scheduler unit (the ao CU's ``hb`` client)::

    {"page_info": {"process", "has_next_page", "timestamp", "block-height", "block-hash"},
     "edges": [{"cursor": <slot>, "node": {"message": <json struct>,
                                           "assignment": <json struct>}}, ...]}

A *json struct* is ``dev_json_iface:message_to_json_struct``: ``Id``, ``Anchor``, ``Owner`` (the
first signer's address), ``From`` (``from-process``, else the owner), ``Tags`` (an ANS-104
message's original tags, in order and case; otherwise each key in header case), ``Target``,
``Data``, ``Signature``. The assignment's tags carry ``Process``, ``Epoch``, ``Slot``,
``Timestamp``, ``Block-Height``, ``Hash-Chain``, which the CU maps onto the message
(``Nonce`` = ``Slot``). Deviation: the message's ``Signature`` is its first signer's (HyperBEAM
sends ``""`` here; the legacy SU sends the signature).
"""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson

from ..message import id as msg_id
from ..node.authority import owner_of

AOS2 = "application/aos-2"
#: Keys that are fields of a json struct, never tags (``prepare_header_case_tags``).
_NOT_TAGS = frozenset(
    {"id", "anchor", "owner", "data", "target", "signature", "commitments", "body"}
)


def text(v: Any) -> str:
    """A tag or field value as AOS reads it: UTF-8 text (else base64url), numbers and booleans
    as their text, maps and lists as JSON."""
    if isinstance(v, (bytes, bytearray)):
        try:
            return bytes(v).decode()
        except UnicodeDecodeError:
            return base64.urlsafe_b64encode(v).rstrip(b"=").decode()
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (dict, list)):
        return orjson.dumps(v, default=lambda x: text(x)).decode()
    return str(v)


def id_text(v: Any) -> str:
    """An ID field: raw 32-byte IDs in their 43-character form (HyperBEAM ``safe_to_id``)."""
    if isinstance(v, (bytes, bytearray)) and len(v) == 32:
        return base64.urlsafe_b64encode(v).rstrip(b"=").decode()
    return text(v)


def header_case(key: str) -> str:
    """``key`` as an AOS tag name: each ``-``-separated word capitalised (``Block-Height``)."""
    return "-".join(w[:1].upper() + w[1:] for w in key.split("-"))


def _ans104_tags(msg: dict[str, Any]) -> list[dict[str, Any]] | None:
    comms = msg.get("commitments")
    if not isinstance(comms, dict):
        return None
    for c in comms.values():
        if not isinstance(c, dict) or text(c.get("commitment-device")) != "ans104@1.0":
            continue
        orig = c.get("original-tags")
        if isinstance(orig, dict):
            order = sorted(orig, key=lambda k: int(k) if str(k).isdigit() else 1 << 30)
            return [
                {"name": text(orig[k].get("name")), "value": text(orig[k].get("value"))}
                for k in order
                if isinstance(orig[k], dict)
            ]
    return None


def tags(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """``prepare_tags``: the original ANS-104 tags, else the keys in header case."""
    orig = _ans104_tags(msg)
    if orig is not None:
        return orig
    return [
        {"name": header_case(k), "value": text(v)}
        for k, v in msg.items()
        if isinstance(k, str) and k.lower() not in _NOT_TAGS and not k.startswith("priv")
    ]


def _signature(msg: dict[str, Any], owner: str) -> str:
    comms = msg.get("commitments")
    if not isinstance(comms, dict):
        return ""
    for c in comms.values():
        if isinstance(c, dict) and text(c.get("committer")) == owner:
            sig = c.get("signature")
            if isinstance(sig, (bytes, bytearray)) and len(sig) == 512:
                return base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
            return text(sig) if sig is not None else ""
    return ""


def json_struct(msg: dict[str, Any]) -> dict[str, Any]:
    """``message_to_json_struct`` (owner as address). The owner is the first address the
    message speaks for (``node.authority.speakers``: a node's signed reply owns nothing)."""
    owner = owner_of(msg)  # a dry run's message: the signer the node verified
    frm = msg.get("from-process")
    return {
        "Id": msg_id(msg, "all"),
        "Anchor": text(msg.get("anchor", "")),
        "Owner": owner,
        "From": id_text(frm) if frm else owner,
        "Tags": tags(msg),
        "Target": id_text(msg.get("target", "")),
        "Data": text(msg.get("data", "")),
        "Signature": _signature(msg, owner) if owner else "",
    }


def assignment_to_aos2(assignment: dict[str, Any]) -> dict[str, Any]:
    """One edge's ``node``: the scheduled message and the assignment without its body."""
    body = assignment.get("body")
    message = json_struct(body) if isinstance(body, dict) else None
    bare = {k: v for k, v in assignment.items() if k != "body"}
    node: dict[str, Any] = {"message": message, "assignment": json_struct(bare)}
    # the assignment is the node's statement: its owner is its signer (a speakers() check
    # would refuse it, since its signature covers hash-chain)
    from ..commitments import signers

    s = signers(assignment)
    if s:
        node["assignment"]["Owner"] = s[0]
        node["assignment"]["From"] = s[0]
    return node


def assignments_to_aos2(pid: str, assignments: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """``assignments_to_aos2``: the aos-2 page of ``assignments`` (in slot order)."""
    body = {
        "page_info": {
            "process": pid,
            "has_next_page": bool(more),
            "timestamp": str(int(time.time() * 1000)),
            "block-height": "0",
            "block-hash": "",
        },
        "edges": [
            {"cursor": _slot(a), "node": assignment_to_aos2(a)}
            for a in assignments
            if isinstance(a, dict)
        ],
    }
    return {"content-type": "application/json", "body": orjson.dumps(body)}


def _slot(a: dict[str, Any]) -> Any:
    s = a.get("slot")
    try:
        return int(text(s))
    except ValueError:
        return text(s)
