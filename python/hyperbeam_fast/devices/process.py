"""``process@1.0`` (HyperBEAM ``dev_process``, spec runtime §12): a persistent, shared computation.

A process message (``type: Process``) names a ``scheduler-device`` (default ``scheduler@1.0``)
and an ``execution-device`` (default ``stack@1.0`` here: HyperBEAM's ``genesis-wasm@1.0`` needs an
external CU) plus what the executor needs (``device-stack``, ``image``, ``output-prefix``,
``passes``, ``stack-keys``). Keys:

* ``schedule``/``slot`` run on the scheduler (a body without ``target`` is sent to this process);
  ``push`` on ``push@1.0`` (schedule the body, compute it, deliver its outbox);
* ``compute`` (``slot``: compute to that slot; none: the latest computed state, the live one, as
  b2743e4a's ``process_now_from_cache``; with none live, compute to the current slot) replays
  from the live in-memory state, else the latest snapshot at or below the slot (restored through
  ``normalize``), else ``init``; every slot's state is linked from ``computed/<ProcID>/slot/<n>``
  and ``computed/<ProcID>/<state ID>``,
  snapshots at ``computed/<ProcID>/snapshot/<n>/<device-key>`` (size + non-zero pages);
* ``now``: compute to the scheduler's current slot; ``snapshot``.

Hashpath chain (re-computable): ``HP(-1) = ProcID``; ``HP(n) = hashpath({priv: {hashpath:
HP(n-1)}}, assignment(n))`` (runtime §2.11); each computed state carries it as ``state-hashpath``.

Options: ``process_snapshot_interval`` (alias ``process_cache_frequency``; default
:data:`SNAPSHOT_INTERVAL`, or the execution device's ``snapshot_interval``: 200 for lua@5.3a):
a snapshot of the execution devices (the WASM memory) is stored every that many slots, not
at every slot (HyperBEAM's default 1 writes 12 MB per AOS slot, §16 item 17).
``process_progress``: a callable ``(done, total)`` called while replaying (for a progress bar).

Limits (issue 11 item 9; docs/processes.md has the table):

* each slot is computed on its own ``max_steps`` budget (:func:`ao.step_budget`), so N pending
  slots compute in one request;
* a slot whose WASM call trapped or hit a limit (``wasm_fuel``, ``wasm_timeout``,
  ``wasm_memory_limit``) is *failed*: its result is an error (``results/type = "error"``,
  ``results/error`` the reason; json-iface stacks also get ``results/status = "error"``), the
  state after it is the state before it (the broken instance is closed and the process rebuilt
  from its latest snapshot plus a replay), and it is recorded at ``computed/<ProcID>/failed/<n>``
  so that every replay skips it the same way;
* ``process_compute_workers`` (default a quarter of the resolver threads, at least 1) bounds
  the computes running at once (:data:`wasm64.GATE`): past it as many more wait up to
  ``process_compute_wait`` seconds (default 2) for a turn, the rest get a 503, so computes
  never take more than half the resolver threads;
* ``process_compute_timeout`` (seconds, default half the node's ``resolve_timeout``) bounds one
  compute request: past it (checked between slots) the work done is kept and a 503 says retry;
* ``process_live_max`` (default :data:`LIVE_MAX`) and ``process_live_memory`` (bytes, default
  :data:`LIVE_MEMORY`) bound the live states kept in memory: the least recently used are closed
  (their WASM memory freed).

The device is here; its state, snapshots and ``compute_to`` are in :mod:`.process_compute`
(below this module and push@1.0, which both use them).
"""

from __future__ import annotations

from typing import Any

from .. import ao
from . import process_compute as _compute
from . import process_results as _results
from . import push as _push
from .process_compute import (
    LIVE_MAX,
    LIVE_MEMORY,
    NAME,
    SNAPSHOT_INTERVAL,
    SNAPSHOT_PAGE,
    WRITE_BATCH,
    compute_to,
    definition,
    forget_live,
    process_id,
    public_state,
)

__all__ = [
    "AOS_EXECUTION",
    "DEVICE",
    "LIVE_MAX",
    "LIVE_MEMORY",
    "NAME",
    "PROCESS_DEVICES",
    "SNAPSHOT_INTERVAL",
    "SNAPSHOT_PAGE",
    "WRITE_BATCH",
    "ProcessDevice",
    "aos_process",
    "compute_to",
    "definition",
    "forget_live",
    "process_id",
    "public_state",
    "register_process_devices",
]


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class ProcessDevice:
    """``process@1.0``: a process: its scheduler, its execution stack and its computed states."""

    name = NAME
    info = {"excludes": ["init", "set", "keys"]}

    # ---- scheduler keys ---------------------------------------------------------------------

    def schedule(
        self,
        base: dict[str, Any],
        request: dict[str, Any],
        opts: dict[str, Any],
        computed: bool = False,
    ) -> tuple[str, Any]:
        """``computed``: the body is an outbox message of a computed slot (push@1.0), which
        the scheduler takes unsigned; anything else must be signed."""
        return _compute.schedule(base, request, opts, computed)

    def slot(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``slot``: the process's current slot, from its scheduler."""
        return _compute.slot(base, request, opts)

    def push(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``push`` on the push device (runtime §12.3, §12.7): ``push-device``, default
        ``push@1.0`` (the only one here)."""
        dev = _text(definition(base).get("push-device") or "push@1.0").lower()
        if dev != "push@1.0":
            return "error", {"status": 501, "body": f"push-device {dev!r} is not available"}
        return _push.push(base, request, opts)

    # ---- compute ----------------------------------------------------------------------------

    def compute(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``compute``: the state after the requested slot (``as=execution``: a dry run)."""
        if _text(base.get("as", "")) == "execution":  # as=execution/compute: a dry run
            return _compute.dryrun(base, request, opts)
        return _compute.compute(base, request, opts)

    def results(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``results``: the results of the state, or of the slot ``results=N``."""
        return _compute.results_at(base, request, opts)

    def cu_results(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """A page of the process's results as the ao CU's ``GET /results/<ProcID>`` gives it
        (the node routes that path here; devices/process_results.py)."""
        return _results.results_page(base, request, opts)

    def as_(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``as=execution``: the process seen as its execution (aoconnect's dry-run path, whose
        ``compute`` runs a message without scheduling it; docs/node.md)."""
        what = _text(request.get("as", ""))
        if what != "execution":
            return "error", {"status": 400, "body": f"as={what[:60]!r}: only `execution` is known"}
        return "ok", {"device": NAME, "process": definition(base), "as": "execution"}

    def now(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``now``: the state after the latest assigned slot."""
        return _compute.now(base, request, opts)

    def snapshot(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``snapshot``: a snapshot of the process's live execution state."""
        return _compute.snapshot(base, request, opts)


DEVICE = ProcessDevice()


PROCESS_DEVICES = (
    "wasm-64@1.0",
    "wasi@1.0",
    "json-iface@1.0",
    "scheduler@1.0",
    "process@1.0",
    "push@1.0",
    "genesis-wasm@1.0",
    "delegated-compute@1.0",
)


#: The execution keys of a standard AOS process (runtime §12): the stack that stack@1.0's fast
#: path recognises (``stack.FAST_STACK``), its output prefix, two passes and the routed keys.
AOS_EXECUTION = {
    "execution-device": "stack@1.0",
    "device-stack": ["wasi@1.0", "json-iface@1.0", "wasm-64@1.0", "multipass@1.0"],
    "output-prefix": "wasm",
    "passes": 2,
    "stack-keys": ["init", "compute", "snapshot", "normalize"],
}


def aos_process(
    image: str, wallet: Any, authority: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A signed AOS process definition: ``image`` (the image message's ID) run by the
    :data:`AOS_EXECUTION` stack, scheduled by ``wallet`` (``authority`` defaults to it)."""
    from ..commitments import commit

    base = {
        "device": NAME,
        "type": "Process",
        "image": image,
        "scheduler": wallet.address,
        "authority": wallet.address if authority is None else authority,
        **AOS_EXECUTION,
        **extra,
    }
    return commit(base, wallet)


def register_process_devices() -> None:
    """Register wasm-64, wasi, json-iface, scheduler, process, push, genesis-wasm,
    delegated-compute and lua@5.3a (imports wasmtime and lupa); bounds the C heap's growth
    (:func:`~hyperbeam_fast.heap.bound_heap`)."""
    from ..heap import bound_heap
    from . import delegated_compute, genesis_wasm, json_iface, lua, push, scheduler, wasi, wasm64

    for mod in (wasm64, wasi, json_iface, scheduler, push, genesis_wasm, delegated_compute, lua):
        ao.register_device(mod.DEVICE.name, mod.DEVICE)
    ao.register_device(NAME, DEVICE)
    bound_heap()
