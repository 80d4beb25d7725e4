"""``json-iface@1.0`` (HyperBEAM ``dev_json_iface``, spec runtime §14.7): drive AOS's JSON ABI.

Pass 1 (``prep_call``): the scheduled message (the assignment's ``body``) and the process become
AOS's JSON (``handle(msg, env)``), written into guest memory through ``priv.<p>/instance``;
``function``/``parameters`` are set for ``wasm-64@1.0``. Pass 2 (``results``): the JSON at
``results/<p>/output`` is decoded into ``results/{data, outbox, patches, spawns}`` (and
``results/json``, the JSON itself, as delegated-compute@1.0 leaves it); outbox messages get
lower-cased keys, their ``Tags`` merged in, and ``from-process``/``from-image``.

Deviation: a WASM trap (fuel, memory limit, ...) gives ``results = {status: error, body: "WASM
execution error.", error: <reason>}`` with status ``ok`` so the process advances past the slot
(HyperBEAM returns ``error`` and the slot can never be computed).
"""

from __future__ import annotations

from typing import Any

import orjson

from ..exceptions import CodecError
from ..message import human_id
from ..message import id as msg_id
from ..wasm import WasmError
from .wasm64 import context, deep_put, join, prefixes, walk

NAME = "json-iface@1.0"
_SKIP_TAGS = {
    "id",
    "anchor",
    "owner",
    "data",
    "target",
    "signature",
    "commitments",
    "priv",
    "path",
    "method",
}


def _s(v: Any) -> Any:
    if isinstance(v, bytes):
        try:
            return v.decode()
        except UnicodeDecodeError:
            import base64

            return base64.urlsafe_b64encode(v).rstrip(b"=").decode()
    if isinstance(v, bool) or v is None:
        return "true" if v is True else ("false" if v is False else "")
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (dict, list)):
        return orjson.dumps(v, default=_json_default).decode()
    return v


def _json_default(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _id(v: Any) -> str:
    """An ID value as text: raw 32 bytes (an ANS-104 ``target``) in their 43-character form."""
    try:
        return human_id(v)
    except CodecError:
        return _s(v) if isinstance(v, bytes) else str(v)


def header_case(key: str) -> str:
    """``key`` as an AOS tag name: each ``-``-separated word capitalised (``Block-Height``)."""
    return "-".join(w[:1].upper() + w[1:] for w in key.split("-"))


def _first_signer(msg: dict[str, Any]) -> tuple[str, str]:
    comms = msg.get("commitments")
    if not isinstance(comms, dict) or not comms:
        from ..node.authority import owner_of

        return owner_of(msg), ""  # a dry run's message: the signer the node verified
    from ..node.authority import speakers

    signers = speakers(msg)  # a node's signed reply or assignment owns nothing
    if not signers:
        return "", ""
    addr = signers[0]
    for c in comms.values():
        if isinstance(c, dict) and _s(c.get("committer")) == addr:
            sig = c.get("signature")
            return addr, _s(sig) if sig is not None else ""
    return addr, ""


def json_struct(msg: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """AOS's JSON form of a message (runtime §14.7 ``json_struct``)."""
    owner, sig = _first_signer(msg)
    tags = [
        {"name": header_case(k), "value": _s(v)}
        for k, v in msg.items()
        if isinstance(k, str) and k.lower() not in _SKIP_TAGS and not k.startswith("priv")
    ]
    out = {
        "Id": msg_id(msg, "all"),
        "Anchor": _s(msg.get("anchor", "")),
        "Owner": owner,
        "From": _s(msg.get("from-process")) if msg.get("from-process") else owner,
        "Tags": tags,
        "Target": _id(msg.get("target", "")),
        "Data": _s(msg.get("data", "")),
        "Signature": sig,
    }
    for t in tags:  # AOS reads some tags as fields too (Action, ...)
        out.setdefault(t["name"], t["value"])
    if extra:
        out.update(extra)
    return out


def _message_out(m: dict[str, Any], proc_id: str, image: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in m.items():
        lk = k.lower()
        if lk in ("from-process", "from-image", "anchor", "tags"):
            continue
        out[lk] = _norm(v)
    tags = m.get("Tags") or m.get("tags")
    if isinstance(tags, list):
        for t in tags:
            if isinstance(t, dict) and "name" in t:
                out[str(t["name"])] = _norm(t.get("value"))
    out["from-process"] = proc_id
    if image is not None:
        out["from-image"] = image
    return out


def _norm(v: Any) -> Any:
    """JSON values to message values (null -> dropped by callers; nested maps kept)."""
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_norm(x) for x in v if x is not None]
    return v if v is not None else ""


def message_json(process: dict[str, Any], assignment: dict[str, Any]) -> bytes:
    """The first ``handle`` argument for an assignment (runtime §14.7 prep_call): the scheduled
    message (``assignment.body``) as AOS JSON plus ``Module`` and ``Block-Height``."""
    message = assignment["body"] if isinstance(assignment.get("body"), dict) else assignment
    extra = {
        "Module": _s(process.get("image", "")),
        "Block-Height": _s(assignment.get("block-height", 0)),
    }
    return orjson.dumps(json_struct(message, extra), default=_json_default)


def env_json(process: dict[str, Any]) -> bytes:
    """The second ``handle`` argument: ``{"Process": json_struct(process)}``."""
    return orjson.dumps({"Process": json_struct(process)}, default=_json_default)


class JsonIfaceDevice:
    """``json-iface@1.0``: AOS's JSON interface between a process's messages and its WASM
    ``handle``."""

    name = NAME

    def init(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``init``: the state with ``function: handle``."""
        return "ok", {**base, "function": "handle"}

    def compute(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``compute``: pass 1 prepares the call's JSON arguments, pass 2 reads its results."""
        p = base.get("pass", 1)
        if p in (1, "1", None):
            return self._prep_call(base, request)
        if p in (2, "2"):
            return self._results(base)
        return "ok", base

    def _prep_call(self, base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        process = base["process"] if isinstance(base.get("process"), dict) else {}
        mj = message_json(process, request)
        priv = base["priv"] if isinstance(base.get("priv"), dict) else {}
        cached = priv.get("json-iface/env")
        if cached is not None and cached[0] is process:
            ej = cached[1]
        else:  # the process is the same for every slot: build its JSON once
            ej = env_json(process)
            base = {**base, "priv": {**priv, "json-iface/env": (process, ej)}}
        ctx = context(base, prefixes(base)[1])
        if ctx is None or ctx.instance is None:
            return "ok", {**base, "function": "handle", "parameters": [mj, ej]}
        try:
            params = [ctx.write(mj), ctx.write(ej)]
        except WasmError as e:
            return "ok", self._error(base, f"cannot write the message into WASM memory: {e}")
        return "ok", {**base, "function": "handle", "parameters": params}

    @staticmethod
    def _error(base: dict[str, Any], reason: str) -> dict[str, Any]:
        res = dict(base.get("results") or {})
        res.update(
            {"status": "error", "body": "WASM execution error.", "error": reason, "outbox": {}}
        )
        return {**base, "results": res}

    def _results(self, base: dict[str, Any]) -> tuple[str, Any]:
        p = prefixes(base)[1]
        typ = walk(base, join("results", p, "type"))
        if typ == "error":
            err = walk(base, join("results", p, "error")) or "trap"
            return "ok", self._error(base, _s(err))
        out = walk(base, join("results", p, "output"))
        ctx = context(base, p)
        try:
            raw = ctx.read(out) if ctx is not None else b""
            doc = orjson.loads(raw)
        except (WasmError, orjson.JSONDecodeError, TypeError, ValueError):
            res = dict(base.get("results") or {})
            res.update({"outbox": {}, "body": "JSON error parsing result output."})
            return "error", {**base, "results": res}
        resp = doc.get("response", doc) if isinstance(doc, dict) else {}
        process = base["process"] if isinstance(base.get("process"), dict) else {}
        proc_id = msg_id(process, "all") if process else ""
        image = process.get("image")
        results = dict(base.get("results") or {})
        if isinstance(resp, dict) and "Error" in resp and "Output" not in resp:
            results.update(
                {"data": _s(resp["Error"]), "outbox": {}, "patches": [], "error": _s(resp["Error"])}
            )
        else:
            output = resp.get("Output") if isinstance(resp, dict) else None
            data = output.get("data", "") if isinstance(output, dict) else (output or "")
            msgs = resp.get("Messages") or [] if isinstance(resp, dict) else []
            outbox = {}
            patches = []
            for i, m in enumerate(msgs, 1):
                if isinstance(m, dict):
                    mo = _message_out(m, proc_id, image)
                    outbox[str(i)] = mo
                    if str(mo.get("method", "")).upper() == "PATCH":
                        patches.append(mo)
            results.update(
                {
                    "data": _s(data) if not isinstance(data, dict) else _norm(data),
                    "outbox": outbox,
                    "patches": patches,
                }
            )
            spawns = resp.get("Spawns") if isinstance(resp, dict) else None
            if spawns:
                results["spawns"] = {str(i): _norm(s) for i, s in enumerate(spawns, 1)}
            if isinstance(output, dict) and "prompt" in output:
                results["prompt"] = _s(output["prompt"])
        if isinstance(resp, dict):
            # the compute unit's JSON as delegated-compute@1.0 leaves it (results/json): what
            # aoconnect reads (as the reply's `raw`, docs/node.md)
            results["json"] = {"content-type": "application/json", "body": orjson.dumps(resp)}
        return "ok", deep_put(base, ["results"], results)


DEVICE = JsonIfaceDevice()
