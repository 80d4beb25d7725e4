"""``push@1.0`` (HyperBEAM ``dev_push``, spec runtime §12.7, brief): deliver outbox messages.

``push`` on a process: without ``slot``, schedule the request's ``body`` on the process first,
or, without a body, the signed request itself (its committed keys only: ``POST /push`` of a
signed process definition spawns it, ``POST /<ProcID>~process@1.0/push`` of a signed message
sends it, as aoconnect does); a process definition answers with its slot-0 assignment (its
``process`` key names the new process). Then compute that slot and, for each
``results/outbox`` entry with a ``target``, read the target process from the cache store
and push the message to it (recursively, ``result-depth`` levels, default 1). Entries
without a target give ``{response: error, status: 422}``; an unreadable target
``{status: 404, body: "Could not access target process!"}``. Pushed messages are scheduled
with the keys ``dev_push:additional_keys`` adds (``data-protocol: ao``, ``variant: ao.N.1``,
``type: Message``, ``from-process``: the pushing process) and committed with the node's
wallet (``priv_wallet``, httpsig@1.0) as ``dev_push:schedule_result`` does, so the target sees
the node as their ``Owner``: AOS trusts a message from another process when its owner is one
of the process's ``authority`` (the aos console spawns with the node's address there).
``type`` is always ``Message``: a module cannot make the node sign a process definition.
Without a wallet they go unsigned (``computed``: the scheduler takes them because they derive
from a signed, scheduled message).

The reply, as ``dev_push:do_push``'s: the slot's results keys at the top level (with
``result-depth`` 0: none), each outbox key's delivery, ``slot`` and ``process``.
"""

from __future__ import annotations

from typing import Any

from .. import cache
from ..commitments import commit
from ..exceptions import HyperbeamError, NotFound
from . import process_compute as _process
from .scheduler import store_of

NAME = "push@1.0"
#: What ``dev_push:additional_keys`` sets on each pushed message (``from-process`` too).
_ADDED = {"data-protocol": "ao", "variant": "ao.N.1", "type": "Message"}


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def push(
    base: dict, request: dict, opts: dict, depth: int | None = None, computed: bool = False
) -> tuple[str, Any]:
    """Schedule ``request.body`` (signed, unless ``computed``: an outbox message) and push."""
    if depth is None:
        try:
            depth = int(_text(request.get("result-depth", 1)))
        except ValueError:
            depth = 1
    slot = request.get("slot")
    if slot is None:
        body = request.get("body") if isinstance(request.get("body"), dict) else None
        if body is None:
            if not request.get("commitments"):
                return "error", {
                    "status": 400,
                    "body": "push needs a `slot`, a signed `body`, or to be a signed request "
                    "itself (a message to the process, or a process definition)",
                }
            body = request  # the scheduler keeps only its committed keys
        req = {"method": "POST", "body": body}
        status, a = _process.schedule(base, req, opts, computed)
        if status != "ok":
            return status, a
        if _text(body.get("type", "")).lower() == "process":
            return "ok", a
        slot = a["slot"]
    status, st = _process.compute_to(base, int(_text(slot)), opts)
    if status != "ok":
        return status, st
    results = st.get("results") or {}
    outbox = results.get("outbox") or {}
    pushed: dict[str, Any] = {}
    store = store_of(opts)
    for k, m in outbox.items():
        if not isinstance(m, dict):
            continue
        tgt = m.get("target")
        if not tgt:
            pushed[k] = {"response": "error", "status": 422, "reason": "No target process found."}
            continue
        try:
            tproc = cache.read(_text(tgt), store)
        except (NotFound, HyperbeamError):
            tproc = None
        if not isinstance(tproc, dict):
            pushed[k] = {
                "response": "error",
                "status": 404,
                "body": "Could not access target process!",
            }
            continue
        msg = {**m, **_ADDED, "from-process": _process.process_id(base)}
        wallet = opts.get("priv_wallet")
        if wallet is not None:
            try:
                msg = commit(msg, wallet)
            except HyperbeamError as e:
                pushed[k] = {"response": "error", "status": 422, "body": f"cannot sign: {e}"}
                continue
        if depth > 0:
            s2, r2 = push(tproc, {"body": msg}, opts, depth - 1, computed=True)
        else:
            req = {"method": "POST", "body": msg}
            s2, r2 = _process.schedule(tproc, req, opts, computed=True)
        pushed[k] = {
            "status": s2,
            "slot": r2.get("slot") if isinstance(r2, dict) else None,
            "target": _text(tgt),
        }
    shown = results if depth > 0 else {}
    return "ok", {**shown, **pushed, "slot": int(_text(slot)), "process": _process.process_id(base)}


class PushDevice:
    name = NAME

    def push(self, base: dict, request: dict, opts: dict) -> tuple[str, Any]:
        return push(base, request, opts)


DEVICE = PushDevice()
