"""``push@1.0`` (HyperBEAM ``dev_push``, spec runtime §12.7, brief): deliver outbox messages.

``push`` on a process: without ``slot``, schedule the request's ``body`` on the process first,
or, without a body, the signed request itself (its committed keys only: ``POST /push`` of a
signed process definition spawns it, ``POST /<ProcID>~process@1.0/push`` of a signed message
sends it, as aoconnect does); a process definition answers with its slot-0 assignment (its
``process`` key names the new process). Then compute that slot and, for each
``results/outbox`` entry with a ``target``, read the target process from the cache store
and push the message to it (recursively, ``result-depth`` levels, default 1). Entries
without a target give ``{response: error, status: 422}``; an unreadable target
``{status: 404, body: "Could not access target process!"}``. Pushed messages get
``data-protocol``, ``variant``, ``type: Message`` and ``from-process`` (the pushing process) and
are signed by the node's wallet (``dev_push:schedule_result``); without a wallet they go
unsigned (``computed``: the scheduler takes them because they derive from a signed, scheduled
message).

The reply, as ``dev_push:do_push``'s: the slot's results keys at the top level (with
``result-depth`` 0: none), each outbox key's delivery, ``slot`` and ``process``. A message this
push scheduled whose compute finds no turn (the compute gate's 503) answers 202 with its
``slot`` and ``process``, no results: it is scheduled, and a retry would schedule it again.
"""

from __future__ import annotations

from typing import Any

from .. import cache
from ..commitments import commit
from ..exceptions import HyperbeamError, NotFound
from ..message import id as msg_id
from . import process_compute as _process
from .scheduler import store_of

NAME = "push@1.0"


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def push(
    base: dict[str, Any],
    request: dict[str, Any],
    opts: dict[str, Any],
    depth: int | None = None,
    computed: bool = False,
) -> tuple[str, Any]:
    """Schedule ``request.body`` (signed, unless ``computed``: an outbox message) and push."""
    if depth is None:
        try:
            depth = int(_text(request.get("result-depth", 1)))
        except ValueError:
            depth = 1
    slot = request.get("slot")
    scheduled = slot is None
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
        if scheduled and isinstance(st, dict) and st.get("status") == 503:
            # scheduled, but no compute turn now: say where it went (202), never "retry" (a
            # client's retry would schedule it twice); its results are read by slot later
            return "ok", {
                "status": 202,
                "slot": int(_text(slot)),
                "process": _process.process_id(base),
                "body": f"scheduled at slot {slot}; not computed yet ({_text(st.get('body'))})",
            }
        return status, st
    results = st.get("results") or {}
    outbox = results.get("outbox") or {}
    pushed: dict[str, Any] = {}
    store = store_of(opts)
    origin = _process.process_id(base)
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
        try:
            msg, signed = _outgoing(m, origin, opts)
        except HyperbeamError as e:
            pushed[k] = {"response": "error", "status": 422, "reason": f"cannot sign: {e}"}
            continue
        if depth > 0:
            s2, r2 = push(tproc, {"body": msg}, opts, depth - 1, computed=not signed)
        else:
            req = {"method": "POST", "body": msg}
            s2, r2 = _process.schedule(tproc, req, opts, computed=not signed)
        pushed[k] = {
            "status": s2,
            "slot": r2.get("slot") if isinstance(r2, dict) else None,
            "target": _text(tgt),
            **({"id": msg_id(msg, "all")} if signed else {}),
        }
    shown = results if depth > 0 else {}
    return "ok", {**shown, **pushed, "slot": int(_text(slot)), "process": origin}


def _outgoing(m: dict[str, Any], origin: str, opts: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """An outbox message as dev_push ``additional_keys`` + ``schedule_result`` send it: with
    ``data-protocol``, ``variant``, ``type`` and ``from-process`` (the pushing process) set, and
    committed by the node's wallet (httpsig@1.0), so that the target (hyper-aos reads the
    committer) sees a signed message. Without a wallet it goes unsigned, as ``computed``."""
    msg = {
        **{k: v for k, v in m.items() if k != "commitments"},
        "data-protocol": "ao",
        "variant": "ao.N.1",
        "type": "Message",
        "from-process": origin,
    }
    wallet = opts.get("priv_wallet")
    if wallet is None:
        return msg, False
    return commit(msg, wallet), True


class PushDevice:
    """``push@1.0``: schedule a message and push the messages its results send, recursively."""

    name = NAME

    def push(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``push``: schedule ``request.body`` and push its outbox (see :func:`push`)."""
        return push(base, request, opts)


DEVICE = PushDevice()
