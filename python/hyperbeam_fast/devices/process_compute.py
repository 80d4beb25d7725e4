"""process@1.0's state and computation (spec runtime §12; the device is
:mod:`hyperbeam_fast.devices.process`, which documents the keys, options and limits):
definitions and IDs, the live in-memory states, snapshots, failed slots, ``compute_to`` and the
keys' implementations. Below both process.py and push.py (push@1.0 schedules and computes here).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from .. import ao, cache
from ..commitments import proven
from ..exceptions import HyperbeamError, NotFound, StoreCorrupt
from ..hashpath import applied as _applied
from ..message import id as msg_id
from ..node.authority import DRY_RUN_SIGNER, speakers
from . import lua, wasm64
from . import scheduler as _sched
from .process_writes import WRITER
from .scheduler import store_of

NAME = "process@1.0"
SNAPSHOT_INTERVAL = 100
#: A snapshot is also taken once the slots computed since the last one took this many seconds
#: (``process_snapshot_seconds``; ``none``: off; the default applies unless only
#: ``process_snapshot_interval`` is set), so a restart replays at most about that much compute
#: whatever the machine's load (issue 15 item 3).
SNAPSHOT_SECONDS = 0.5
#: ... and at least this many slots were computed since it: a few slow slots of a large memory
#: (a snapshot copies and stores all of it) do not each get one.
SNAPSHOT_MIN_SLOTS = 10
SNAPSHOT_PAGE = 65536
#: Computed states are written in batches of this many slots (see :func:`_store_results`).
WRITE_BATCH = 64
_ZERO_PAGE = bytes(SNAPSHOT_PAGE)
#: Live states kept at most (``process_live_max``) and their WASM memory (``process_live_memory``).
LIVE_MAX = 64
LIVE_MEMORY = 2 << 30
_live: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()  # least recently used first
_live_mem: dict[tuple[int, str], int] = {}  # WASM bytes of each live state, when it was kept
_live_guard = threading.Lock()
_locks: dict[tuple[int, str], threading.RLock] = {}
_locks_guard = threading.Lock()
_computing: dict[tuple[int, str], int] = {}  # processes inside compute_to: never evicted
_failed: dict[tuple[int, str], dict[int, str]] = {}
#: The public states of the newest computed slots of each live process (at most
#: :data:`RECENT_STATES`, oldest first): a read of a slot just computed (aoconnect's
#: ``compute/results=N`` after its push, while other clients' slots move the live state on)
#: is answered from memory, not decoded back from the store.
_recent: dict[tuple[int, str], dict[int, dict[str, Any]]] = {}
RECENT_STATES = 32
#: Compute seconds and slots since the last snapshot, per process.
_since_snapshot: dict[tuple[int, str], tuple[float, int]] = {}
_slots_done: dict[int, int] = {}  # id(store) -> slots computed in this process (the metric)
_log = logging.getLogger("hyperbeam_fast.process")


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def definition(base: dict[str, Any]) -> dict[str, Any]:
    """The process definition of ``base``: its ``process`` key, or ``base`` itself."""
    p = base.get("process")
    return p if isinstance(p, dict) else base


def process_id(base: dict[str, Any]) -> str:
    """The process ID: the ID of the definition, commitments included."""
    return msg_id(definition(base), "all")


def _key(pid: str, opts: dict[str, Any]) -> tuple[int, str]:
    return (id(store_of(opts)), pid)


def _lock(k: tuple[int, str]) -> threading.RLock:
    with _locks_guard:
        lk = _locks.get(k)
        if lk is None:
            lk = _locks[k] = threading.RLock()
        return lk


def live_processes(store: Any) -> int:
    """How many processes over ``store`` have a live state in memory (``hb_processes_live``)."""
    sid = id(store)
    with _live_guard:
        return sum(1 for k in _live if k[0] == sid)


def slots_computed(store: Any) -> int:
    """Slots computed over ``store`` since start-up (``hb_process_slots_computed``)."""
    return _slots_done.get(id(store), 0)


def forget_live() -> None:
    """Drop live states (what a node restart does); the store keeps results and snapshots
    (the states still queued for writing are written first)."""
    WRITER.flush()
    with _live_guard:
        _live.clear()
        _live_mem.clear()
    _failed.clear()
    _recent.clear()
    _since_snapshot.clear()
    _sched.forget_servers()


def _keep_live(k: tuple[int, str], state: dict[str, Any], opts: dict[str, Any]) -> None:
    """Make ``state`` the live state of ``k`` (most recently used), then close the least
    recently used others while more than ``process_live_max`` are kept or their WASM memory is
    over ``process_live_memory`` (a process that is computing right now is never evicted); a
    state over that budget on its own is not kept (its next compute restores a snapshot)."""
    most = int(_text(opts.get("process_live_max") or LIVE_MAX))
    budget = int(_text(opts.get("process_live_memory") or LIVE_MEMORY))

    mem = wasm64.memory_in_use(state)  # measured here, where this thread owns the instance

    def over() -> bool:
        return len(_live) > most or sum(_live_mem.values()) > budget

    with _live_guard:
        _live[k] = state
        _live_mem[k] = mem
        _live.move_to_end(k)
        for victim in [v for v in _live if v != k and not _computing.get(v)]:
            if not over():
                return
            _live_mem.pop(victim, None)
            _recent.pop(victim, None)
            wasm64.release(_live.pop(victim))
        if mem > budget:
            del _live[k], _live_mem[k]
            _recent.pop(k, None)
            wasm64.release(state)


def _drop_live(k: tuple[int, str]) -> None:
    with _live_guard:
        _live.pop(k, None)
        _live_mem.pop(k, None)


def _busy(k: tuple[int, str], delta: int) -> None:
    with _live_guard:
        n = _computing.get(k, 0) + delta
        if n:
            _computing[k] = n
        else:
            _computing.pop(k, None)


def _iopts(opts: dict[str, Any]) -> dict[str, Any]:
    """Options for the executor's internal resolutions: no result cache, no hashpaths."""
    o = {k: v for k, v in opts.items() if k != "store"}
    s = opts.get("store")
    if s is not None and "priv_store" not in o and not isinstance(s, str):
        o["priv_store"] = s
    o["hashpath"] = "ignore"
    return o


def _exec_device(d: dict[str, Any]) -> Any:
    return d.get("execution-device") or "stack@1.0"


def _run_as(
    state: dict[str, Any],
    req: dict[str, Any] | str,
    opts: dict[str, Any],
    drop: str | None = None,
) -> tuple[str, Any]:
    """``req`` on ``state`` (less its key ``drop``) as the execution device."""
    d = state["process"] if isinstance(state.get("process"), dict) else state
    st = {k: v for k, v in state.items() if k != drop}
    st["device"] = _exec_device(d)
    if "input-prefix" not in st:
        st["input-prefix"] = "process"
    status, out = ao.resolve_key(st, req, _iopts(opts))  # = ao.resolve for one key
    if status == "ok" and isinstance(out, dict):
        out = {**out, "device": NAME}
    return status, out


def public_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state without its private keys (the live instance), as it is cached."""
    return {k: v for k, v in state.items() if not k.startswith("priv")}


def _snapshot(state: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    status, out = _run_as(state, {"path": "snapshot", "mode": "Map"}, opts)
    if status != "ok" or not isinstance(out, dict):
        return {}
    if isinstance(out.get("body"), (bytes, bytearray)):  # one execution device (lua@5.3a)
        return {"state": {"body": out["body"]}}
    return {
        str(k): {"body": v["body"]}
        for k, v in out.items()
        if isinstance(v, dict) and isinstance(v.get("body"), (bytes, bytearray))
    }


def _init(d: dict[str, Any], pid: str, opts: dict[str, Any]) -> tuple[str, Any]:
    state = {k: v for k, v in d.items() if k != "commitments"}
    state["process"] = d
    status, out = _run_as(state, {"path": "init"}, opts)
    if status != "ok":
        code = out.get("status") if isinstance(out, dict) else None  # e.g. a bad Module: 4xx
        return "error", {
            "status": code if isinstance(code, int) and 400 <= code < 600 else 500,
            "body": "process init failed",
            "reason": out,
            "phase": "init",
        }
    out = {**out, "initialized": "true", "at-slot": -1, "state-hashpath": pid}
    return "ok", out


def _snapshot_dir(pid: str, slot: int | str) -> str:
    return f"computed/{pid}/snapshot/{slot}"


def _write_snapshot(pid: str, slot: int, snap: dict[str, Any], store: Any) -> None:
    """Store ``{device-key: {body: memory}}`` at ``computed/<pid>/snapshot/<slot>`` in one batch.

    Each memory is kept as ``<key>/size`` plus, for every 64 KiB page that is not all zeros,
    ``<key>/page/<i>`` linked to the page's content-addressed binary (``data/<sha256>``): an
    AOS memory is 12 MB of which ~85% is zero pages, and pages that did not change since the
    previous snapshot are already stored. One hash pass over the non-zero pages only, instead of
    nesting 12 MB in the state message (which re-hashed it at every level of the ID)."""
    target = cache.writable(store)
    d = _snapshot_dir(pid, slot)
    with target.batch() as b:
        for k, v in snap.items():
            body = bytes(v["body"])
            for i in range(0, len(body), SNAPSHOT_PAGE):
                pb = body[i : i + SNAPSHOT_PAGE]
                if pb == _ZERO_PAGE[: len(pb)]:
                    continue
                dp = cache.data_path(pb)
                if not target.exists(dp):
                    b.write(dp, pb)
                b.make_link(dp, f"{d}/{k}/page/{i // SNAPSHOT_PAGE}")
            b.write(f"{d}/{k}/size", str(len(body)).encode())


def _read_snapshot(pid: str, n: int, store: Any) -> dict[str, Any]:
    """The snapshot stored for slot ``n`` (see :func:`_write_snapshot`)."""
    d = _snapshot_dir(pid, n)
    out = {}
    for k in cache.list(d, store):
        size = cache.read(f"{d}/{k}/size", store)
        if not isinstance(size, bytes) or not size.isdigit():
            raise StoreCorrupt(f"{d}/{k}/size is not a size")
        buf = bytearray(int(size))
        for name in cache.list(f"{d}/{k}/page", store):
            path = f"{d}/{k}/page/{name}"
            # the page link's target read directly: two lookups, not one per path segment
            # (a 10,000-slot AOS memory has ~500 pages: 11 s from a cold store, issue 15)
            target = store.read_link(path)
            page = store.read(target) if target else None
            if page is None:
                page = cache.read(path, store)
            at = int(name) * SNAPSHOT_PAGE if name.isdigit() else -1
            if not isinstance(page, bytes) or at < 0 or at + len(page) > len(buf):
                raise StoreCorrupt(f"{d}/{k}/page/{name} does not fit the snapshot")
            buf[at : at + len(page)] = page
        out[k] = {"body": bytes(buf)}
    return out


def _from_snapshot(pid: str, target: int, opts: dict[str, Any]) -> dict[str, Any] | None:
    store = store_of(opts)
    slots = [n for n in cache.list_numbered(f"computed/{pid}/snapshot", store) if n <= target]
    for n in reversed(slots):
        try:
            st = cache.read(f"computed/{pid}/slot/{n}", store)
            snap = _read_snapshot(pid, n, store)
        except (NotFound, HyperbeamError):
            continue
        if not isinstance(st, dict) or not snap:
            continue
        status, out = _run_as({**st, "snapshot": snap}, {"path": "normalize"}, opts)
        if status == "ok" and isinstance(out, dict):
            out = {k: v for k, v in out.items() if k != "snapshot"}
            return out
        # not silent: a failed restore means a replay from an older snapshot or slot 0
        _log.warning("process %s: snapshot %d did not restore: %.200r", pid, n, out)
    return None


def compute_to(base: dict[str, Any], target: int, opts: dict[str, Any]) -> tuple[str, Any]:
    """Compute the process of ``base`` up to slot ``target`` (runtime §12.3 ``compute``). A
    slot already computed is answered at once (its state live, queued for writing or
    stored), without a turn at the compute gate."""
    d = definition(base)
    pid = msg_id(d, "all")
    k = _key(pid, opts)
    done = _computed(pid, k, target, store_of(opts))
    if done is not None:
        return "ok", done
    if not wasm64.GATE.enter(opts):
        return "error", {
            "status": 503,
            "body": f"busy: {wasm64.GATE.limit(opts)} computes are running "
            "(process_compute_workers); retry later",
        }
    _busy(k, 1)
    try:
        with _lock(k):
            return _compute_locked(d, pid, k, target, opts)
    finally:
        _busy(k, -1)
        wasm64.GATE.leave()


def _computed(pid: str, k: tuple[int, str], target: int, store: Any) -> dict[str, Any] | None:
    """The state at ``target`` if it is computed: live, one of the newest (:data:`_recent`),
    queued for writing, or stored (read only when the live state is past it, or there is
    none)."""
    live = _live.get(k)
    if live is not None and int(live.get("at-slot", -1)) == target:
        return live
    if target >= 0 and (live is None or int(live.get("at-slot", -1)) > target):
        recent = _recent.get(k)
        got = recent.get(target) if recent is not None else None
        if got is not None:
            return got
        queued = WRITER.pending(k, target)
        if queued is not None:
            return queued
        try:
            r = cache.read(f"computed/{pid}/slot/{target}", store)
            if isinstance(r, dict):
                return r
        except (NotFound, HyperbeamError):
            pass
    return None


def _compute_locked(
    d: dict[str, Any], pid: str, k: tuple[int, str], target: int, opts: dict[str, Any]
) -> tuple[str, Any]:
    store = store_of(opts)
    done = _computed(pid, k, target, store)  # again: another thread may have computed it
    if done is not None:
        return "ok", done
    live = _live.get(k)
    state = live if live is not None and int(live.get("at-slot", -1)) <= target else None
    if state is None:
        status, state = _rebuild(d, pid, target, opts)
        if status != "ok":
            return status, state
    failed = _failed_slots(pid, k, store)
    fresh = None  # the slot that failed in this call
    srv = _sched.server(pid, opts)
    at = int(state.get("at-slot", -1))
    start = at
    progress = opts.get("process_progress")
    interval = int(
        opts.get(
            "process_snapshot_interval",
            opts.get(
                "process_cache_frequency", _exec_attr(d, "snapshot_interval", SNAPSHOT_INTERVAL)
            ),
        )
        or 0
    )
    snap_s = opts.get("process_snapshot_seconds")
    if snap_s is None and not {"process_snapshot_interval", "process_cache_frequency"} & set(opts):
        snap_s = SNAPSHOT_SECONDS  # (an interval set alone is taken literally)
    snap_s = None if snap_s is None or _text(snap_s).lower() == "none" else float(_text(snap_s))
    budget = _compute_budget(opts)
    deadline = None if budget is None else time.monotonic() + budget
    pending: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    every = _exec_attr(d, "state_writes", "slot") != "checkpoint"
    last: dict[str, Any] | None = None  # the newest state not in pending (checkpoint writes only)
    try:
        while at < target:
            t0 = time.perf_counter()
            if deadline is not None and at > start and time.monotonic() > deadline:
                _keep_live(k, state, opts)  # the work is kept: a retry goes on from here
                return "error", {
                    "status": 503,
                    "body": f"computed to slot {at} of {target} in {budget} s "
                    "(process_compute_timeout); retry to go on",
                    "phase": "compute",
                    "at-slot": at,
                }
            a = srv.read(at + 1)
            if a is None:
                _keep_live(k, state, opts)
                return "error", {
                    "status": 503,
                    "body": "No assignment found for next slot.",
                    "phase": "get-schedule",
                    "attempted-slot": at + 1,
                }
            if at + 1 in failed:
                nxt = _failed_slot(state, a, failed[at + 1])
            else:
                with ao.step_budget():
                    status, nxt = _compute_slot(state, a, opts)
                why = wasm64.broken(state) or lua.broken(state)
                if why is not None:  # stopped mid-call: roll the slot back, record it
                    _store_results(pid, pending, opts)
                    failed[at + 1] = why
                    fresh = at + 1
                    _mark_failed(pid, at + 1, why, store)
                    _drop_live(k)
                    wasm64.release(state)
                    status, state = _rebuild(d, pid, at, opts)
                    if status != "ok":
                        return status, state
                    at = int(state.get("at-slot", -1))
                    continue
                if status != "ok":
                    _keep_live(k, state, opts)
                    return "error", {
                        **(nxt if isinstance(nxt, dict) else {"body": nxt}),
                        "phase": "compute",
                        "attempted-slot": at + 1,
                    }
            state = nxt
            at = int(state["at-slot"])
            with _live_guard:  # several processes over one store compute at once
                _slots_done[k[0]] = _slots_done.get(k[0], 0) + 1
            # The snapshot is taken now (the memory moves on); the writes are batched. A
            # slot that just failed gets one too: the next rollback replays from there.
            spent, slots = _since_snapshot.get(k, (0.0, 0))
            spent, slots = spent + time.perf_counter() - t0, slots + 1
            due = (interval > 0 and at % interval == 0) or at == fresh
            if due or (snap_s is not None and spent >= snap_s and slots >= SNAPSHOT_MIN_SLOTS):
                snap = _snapshot(state, opts)
                spent, slots = 0.0, 0
            else:
                snap = None
            _since_snapshot[k] = (spent, slots)
            if every or snap is not None:
                pending.append((state, snap))
                last = None
            else:
                last = state
            if len(pending) >= WRITE_BATCH:
                _store_results(pid, pending, opts)
            if progress is not None:
                progress(at - start, target - start)
    finally:
        if last is not None:  # the newest state is written, the ones between checkpoints not
            pending.append((last, None))
        _store_results(pid, pending, opts)
    if not every and live is not None and int(live.get("at-slot", -1)) > at:
        return "ok", state  # an older slot recomputed: the live state ahead of it stays
    _keep_live(k, state, opts)
    return "ok", state


def _compute_budget(opts: dict[str, Any]) -> float | None:
    """Seconds one compute request may run (``process_compute_timeout``; default half the node's
    ``resolve_timeout``, so that with the slot running past it the client still gets the 503,
    not a 504); None: no bound (no node, e.g. the CLI)."""
    v = opts.get("process_compute_timeout")
    if v is None:
        rt = opts.get("resolve_timeout")
        return None if rt is None else float(_text(rt)) / 2
    if _text(v).strip().lower() in ("none", "infinity", ""):
        return None
    return float(_text(v))


def _rebuild(d: dict[str, Any], pid: str, target: int, opts: dict[str, Any]) -> tuple[str, Any]:
    """A fresh state at or below ``target``: the newest snapshot, else ``init``."""
    WRITER.flush()  # the newest snapshot may still be queued (rare: no live state)
    state = _from_snapshot(pid, target, opts)
    if state is not None:
        return "ok", state
    return _init(d, pid, opts)


def _failed_dir(pid: str) -> str:
    return f"computed/{pid}/failed"


def _failed_slots(pid: str, k: tuple[int, str], store: Any) -> dict[int, str]:
    """``{slot: reason}`` of the failed slots of ``pid`` (read from the store once)."""
    got = _failed.get(k)
    if got is None:
        got = {}
        for n in cache.list_numbered(_failed_dir(pid), store):
            try:
                why = cache.read(f"{_failed_dir(pid)}/{n}", store)
            except (NotFound, HyperbeamError):
                why = b"failed"
            got[n] = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        _failed[k] = got
    return got


def _mark_failed(pid: str, slot: int, why: str, store: Any) -> None:
    with cache.writable(store).batch() as b:
        b.write(f"{_failed_dir(pid)}/{slot}", why.encode())


def _failed_slot(state: dict[str, Any], assignment: dict[str, Any], why: str) -> dict[str, Any]:
    """The state after a failed slot: the state before it with an error result, shaped as the
    stack's own error results are (wasm-64's ``type``/``error``; json-iface adds ``status``,
    ``body`` and an empty ``outbox``)."""
    dev = _failed_results_of(state)
    if dev is not None:  # an execution device with its own error results (genesis-wasm@1.0)
        return _advance({**state, "results": dev(state, why)}, assignment)
    results: dict[str, Any] = {"type": "error", "error": why}
    stack = definition(state).get("device-stack")
    names = stack.values() if isinstance(stack, dict) else stack if isinstance(stack, list) else []
    if any(_text(n).lower() == "json-iface@1.0" for n in names):
        results.update({"status": "error", "body": "WASM execution error.", "outbox": {}})
    return _advance({**state, "results": results}, assignment)


def _exec_attr(d: dict[str, Any], name: str, default: Any) -> Any:
    """An execution device's default for process@1.0: ``snapshot_interval`` (the default of
    ``process_snapshot_interval``) or ``state_writes`` (``"slot"``: every computed state is
    written; ``"checkpoint"`` (lua@5.3a): only those with a snapshot and the newest of each
    compute, so a crash loses whole slots, recomputed from the newest snapshot and the
    schedule, and a read of a slot between them recomputes it from its snapshot)."""
    try:
        dev = ao.load_device(_text(_exec_device(d)), {})
    except ao.DeviceNotFound:
        return default
    return getattr(dev, name, default)


def _failed_results_of(state: dict[str, Any]) -> Any:
    """The execution device's ``failed_results(state, why)``, if it has one."""
    try:
        dev = ao.load_device(_text(_exec_device(definition(state))), {})
    except ao.DeviceNotFound:
        return None
    f = getattr(dev, "failed_results", None)
    return f if callable(f) else None


def _advance(
    out: dict[str, Any], assignment: dict[str, Any], prev: str | None = None
) -> dict[str, Any]:
    """``out`` as the state at ``assignment``'s slot: its ``at-slot`` and hashpath chain
    (``prev``: the hashpath before the slot; default ``out``'s own)."""
    if prev is None:
        prev = _text(out.get("state-hashpath") or msg_id(definition(out), "all"))
    hp = _applied(prev, assignment)
    return {**out, "at-slot": int(_text(assignment.get("slot"))), "state-hashpath": hp}


def _compute_slot(
    state: dict[str, Any], assignment: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    inp = assignment if assignment.get("path") else {**assignment, "path": "compute"}
    try:
        status, out = _run_as(state, inp, opts, drop="results")
    except HyperbeamError as e:
        return "error", {"status": 500, "body": f"execution failed: {e}"}
    if status != "ok" or not isinstance(out, dict):
        code = out.get("status") if isinstance(out, dict) else None  # e.g. a CU's 502
        code = code if isinstance(code, int) and 400 <= code < 600 else 500
        return "error", {"status": code, "body": "execution failed", "reason": out}
    prev = _text(state.get("state-hashpath") or msg_id(definition(state), "all"))
    return "ok", _advance(out, assignment, prev)


def _store_results(
    pid: str, pending: list[tuple[dict[str, Any], dict[str, Any] | None]], opts: dict[str, Any]
) -> None:
    """Write the computed states in ``pending`` (emptied), in slot order: each state linked from
    ``computed/<pid>/slot/<n>`` and ``computed/<pid>/<state ID>`` (runtime §12.4, one batch),
    then its snapshot, if one was taken, beside it (:func:`_write_snapshot`). With
    ``process_async_cache`` (the node's default) the writes are queued for the background
    writer (:mod:`.process_writes`) and this returns at once.

    :func:`compute_to` writes every :data:`WRITE_BATCH` slots and before it returns (also on an
    error): the store work then runs in a burst instead of between WASM calls that have just
    swept the CPU caches (~0.14 ms a slot less for AOS). A crash can lose the states of the
    last unwritten slots, never part of one; they are recomputed from the schedule (HyperBEAM
    writes them asynchronously by default, ``process_async_cache``)."""
    if not pending:
        return
    store = store_of(opts)
    items = [(int(state["at-slot"]), public_state(state), snap) for state, snap in pending]
    pending.clear()
    k = _key(pid, opts)
    recent = _recent.setdefault(k, {})  # (changed under the process lock only)
    for slot, pub, _ in items:
        recent.pop(slot, None)
        recent[slot] = pub
    while len(recent) > RECENT_STATES:
        del recent[next(iter(recent))]
    if _async_cache(opts):
        states = {slot: pub for slot, pub, _ in items}
        WRITER.submit(_key(pid, opts), states, lambda: _write_states(pid, items, store))
    else:
        _write_states(pid, items, store)


def _async_cache(opts: dict[str, Any]) -> bool:
    v = opts.get("process_async_cache", False)
    return v is True or _text(v).strip().lower() in ("true", "1", "yes")


def _write_states(
    pid: str, items: list[tuple[int, dict[str, Any], dict[str, Any] | None]], store: Any
) -> None:
    target = cache.writable(store)
    for slot, pub, snap in items:
        uid = cache.write(pub, store)
        with target.batch() as b:
            b.make_link(uid, f"computed/{pid}/slot/{slot}")
            b.make_link(uid, f"computed/{pid}/{uid}")
        if snap:
            _write_snapshot(pid, slot, snap, store)


# ---- the keys of process@1.0 (ProcessDevice delegates here) ----------------------------------


def schedule(
    base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any], computed: bool = False
) -> tuple[str, Any]:
    """``schedule`` on the process's scheduler; a body without ``target`` goes to this process.
    ``computed``: the body is an outbox message of a computed slot (push@1.0), which the
    scheduler takes unsigned; anything else must be signed."""
    d = definition(base)
    req = dict(request)
    body = req.get("body")
    if _text(req.get("method", "GET")).upper() == "POST":
        if isinstance(body, dict):
            if not body.get("target") and not _sched.is_process(body):
                req["target"] = process_id(base)
        elif not req.get("target") and not _sched.is_process(req):
            req["target"] = process_id(base)
    return _sched.DEVICE.schedule({"process": d}, req, opts, computed)


def slot(base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """``slot`` on the process's scheduler."""
    return _sched.DEVICE.slot({"process": definition(base)}, request, opts)


def compute(base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """``compute``: to ``request.slot``; without one, the latest computed state (the live
    one, as b2743e4a's ``compute`` with ``process_now_from_cache``: no compute turn, no wait
    for slots still being computed, e.g. aoconnect's ``compute/results=N``, whose
    ``results=N`` then computes to N if it must), or, with none live, to the current slot."""
    slot = request.get("slot")
    if slot is None:
        live = _live.get(_key(process_id(base), opts))
        if live is not None:
            return "ok", live
        return now(base, request, opts)
    try:
        target = int(_text(slot))
    except ValueError:
        return "error", {"status": 400, "body": f"bad slot {slot!r}"}
    return compute_to(base, target, opts)


def now(base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """``now``: compute to the scheduler's current slot."""
    pid = process_id(base)
    cur = _sched.server(pid, opts).current
    return compute_to(base, cur, opts)


def results_at(
    base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    """``results``: the results of ``base`` (a state); with ``results=<slot>`` (aoconnect's
    ``compute/results=N``, docs/node.md) those of that slot of ``base``'s process."""
    n = request.get("results")
    if n is None or n is True:
        res = base.get("results")
        return ("ok", res) if res is not None else ("error", {"status": 404, "body": "no results"})
    try:
        target = int(_text(n))
    except ValueError:
        return "error", {
            "status": 400,
            "body": f"results={_text(n)[:60]!r}: give a slot number (a message ID is not "
            "looked up here)",
        }
    status, state = compute_to(base, target, opts)
    if status != "ok":
        return status, state
    return "ok", state.get("results") or {}


#: Keys of a dry-run request that are not part of the message it runs (the node's and the
#: path's own keys).
_DRYRUN_DROP = frozenset({"path", "method"})


def dryrun(base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """Compute ``request`` (the message, signed or not: what it says of its signer holds only
    where its signature does) against the latest state of ``base``'s process on a copy of
    that state, without scheduling it; nothing is written (the schedule, the live state and the
    cache are as before). ``/<ProcID>~process@1.0/as=execution/compute&...`` (aoconnect's
    dryrun; docs/node.md)."""
    d = definition(base)
    pid = msg_id(d, "all")
    k = _key(pid, opts)
    cur = _sched.server(pid, opts).current
    status, state = compute_to(base, cur, opts)
    if status != "ok":
        return status, state
    with _lock(k):  # the live instance is read (its memory copied) while no slot runs on it
        snap = _snapshot(state, opts)
        public = public_state(state)
    if not wasm64.GATE.enter(opts):
        return "error", {"status": 503, "body": "busy: retry the dry run later"}
    copy: Any = None
    try:
        st, copy = _run_as({**public, "snapshot": snap}, {"path": "normalize"}, opts)
        if st != "ok" or not isinstance(copy, dict):
            return "error", {
                "status": 500,
                "body": "dry run: cannot copy the state",
                "reason": copy,
            }
        copy = {k2: v for k2, v in copy.items() if k2 != "snapshot"}
        # From: the signer of the part of the request that verified at the node (the keys a
        # path adds, e.g. `Action`, are unsigned: a dry run changes nothing)
        signed = proven(request)
        who = speakers(signed) if signed is not None else []
        msg = {
            k2: v
            for k2, v in request.items()
            if k2 not in _DRYRUN_DROP and k2 not in ("priv", "commitments")
        }
        if who:  # private: never from the wire, nor in an outbox message (json-iface)
            msg["priv"] = {DRY_RUN_SIGNER: who[0]}
        assignment = {
            "path": "compute",
            "process": pid,
            "slot": int(state.get("at-slot", -1)) + 1,
            "timestamp": int(time.time() * 1000),
            "block-height": 0,
            "body": msg,
        }
        with ao.step_budget():
            st, out = _compute_slot(copy, assignment, opts)
        if st != "ok" or not isinstance(out, dict):
            return st, out
        return "ok", out.get("results") or {}
    finally:
        if isinstance(copy, dict):
            wasm64.release(copy)
        wasm64.GATE.leave()


def snapshot(
    base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    """``snapshot``: the live state's execution devices' snapshot (404 without a live state)."""
    pid = process_id(base)
    st = _live.get(_key(pid, opts))
    if st is None:
        return "error", {"status": 404, "body": "No live state to snapshot."}
    return "ok", {"snapshot": _snapshot(st, opts), "cache-control": ["store"]}
