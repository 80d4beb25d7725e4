"""``scheduler@1.0`` (HyperBEAM ``dev_scheduler``, spec runtime §11): order a process's messages.

One scheduling server per (store, process): slots from 0, each assignment signed with the node
wallet (``opts["priv_wallet"]``) and linked into a hash chain, persisted in the cache store
(``assignments/<ProcID>/<slot>`` links to the assignment message), so the schedule continues
across a restart. Keys: ``schedule`` (``method: POST`` assigns, ``GET`` lists ``from``..``to``
paged by 1000; ``accept=application/aos-2``: the legacy CU's JSON, :mod:`.scheduler_formats`),
``slot``, ``status``, ``next`` (for process@1.0), ``checkpoint``.

Hash chain: ``hash-chain(n) = b64url(sha256(raw(hash-chain(n-1)) ++ raw(ID(message))))`` with the
raw 32-byte previous digest both while running and after a restart (HyperBEAM mixes the two
forms, §16 item 5; we pick the native digest consistently). The first link hashes the ID alone.
Block fields are zero (no gateway: HyperBEAM's debug mode).

Store: ``opts["priv_store"]`` (the node's), else ``opts["store"]`` when it is a store object,
else one process-wide :class:`~hyperbeam_fast.store.MemoryStore`.

``serve --workers N`` (``opts["priv_process_owner"]``, node/workers.py): a process is scheduled
by the one worker that owns it; the others hand it their checked messages to assign.
"""

from __future__ import annotations

import hashlib
import threading
import time
import urllib.parse
from typing import Any

from .. import ao, cache
from ..commitments import proven, with_only_committed
from ..exceptions import CodecError, HyperbeamError, NotFound
from ..message import human_id
from ..message import id as msg_id
from ..node.authority import speakers
from ..store import MemoryStore, Store
from . import scheduler_formats

NAME = "scheduler@1.0"
PAGE = 1000
#: Written assignments kept in memory per process (the newest; older ones are read back).
RECENT = 1024
_default_store = MemoryStore()
_servers: dict[tuple[int, str], _Server] = {}
_servers_lock = threading.Lock()
#: serve --workers: read-only views of the schedules other workers write
_readers: dict[tuple[int, str], _Server] = {}


def store_of(opts: dict[str, Any] | None) -> Store:
    """The store the scheduler writes to: ``opts``' ``priv_store`` or ``store``."""
    opts = opts or {}
    for k in ("priv_store", "store"):
        s = opts.get(k)
        if isinstance(s, Store):
            return s
    return _default_store


def _b64d(s: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _b64e(b: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def is_process(m: Any) -> bool:
    """Whether ``m`` is a process definition (``type: Process``)."""
    return isinstance(m, dict) and _text(m.get("type", "")).lower() == "process"


def find_target_id(msg1: dict[str, Any], msg2: dict[str, Any]) -> str:
    """Runtime §11.2."""
    if msg2.get("target"):
        return human_id(msg2["target"])
    if is_process(msg2):
        return msg_id(msg2, "all")
    if isinstance(msg1.get("process"), dict):
        return msg_id(msg1["process"], "all")
    if is_process(msg1):
        return msg_id(msg1, "all")
    return msg_id(msg2, "all")


class _Reservation:
    """A reserved slot: its hash chain is fixed; it is dropped when an earlier slot fails."""

    __slots__ = ("chain_before", "dropped")

    def __init__(self, chain_before: bytes) -> None:
        self.chain_before = chain_before
        self.dropped = False


class SlotDropped(HyperbeamError):
    """A reserved slot could not be written (or an earlier one could not): nothing was
    assigned to it, the message may be scheduled again."""


class _Server:
    """One writer per process: the reserved and written slots and the hash chain.

    Issue 15 item 1: the lock is held to reserve a slot and extend the hash chain (which
    depends on the message's ID only), and again to write the assignment; the RSA signature of
    the assignment, most of the work, runs outside it, so messages to one process are signed in
    parallel (the signature releases the GIL), and so does planning its cache write
    (``cache.plan``: verification, TABM, store operations; only ``cache.apply`` is under the
    lock). Assignments are written in slot order, each
    once every earlier one is written, and an assignment is visible (``read``, ``current``)
    only once written, so the store always holds slots ``0..current`` without a gap. When
    signing or writing slot ``n`` fails, ``n`` and every slot reserved after it (whose chains
    include ``n``'s message) are dropped and handed out again: a crash or an error leaves a
    slot written or reusable, never two messages on one slot."""

    def __init__(self, store: Store, pid: str) -> None:
        self.store = store
        self.pid = pid
        self.lock = threading.Lock()
        self.written = threading.Condition(self.lock)
        self.recent: dict[int, dict[str, Any]] = {}
        slots = cache.list_numbered(f"assignments/{pid}", store)
        self.current = slots[-1] if slots else -1  # the last written slot
        self.chain = b""  # the chain of the last written slot
        if self.current >= 0:
            a = self.read(self.current)
            hc = a.get("hash-chain") if isinstance(a, dict) else None
            if hc:
                self.chain = _b64d(_text(hc))
        self.reserved = self.current  # the last reserved slot
        self.tip = self.chain  # the chain of the last reserved slot
        self.pending: dict[int, _Reservation] = {}

    def read(self, slot: int) -> dict[str, Any] | None:
        if slot > self.current:
            return None  # reserved, not written yet: not visible
        a = self.recent.get(slot)
        if a is not None:
            return a
        try:
            r = cache.read(f"assignments/{self.pid}/{slot}", self.store)
        except (NotFound, HyperbeamError):
            return None
        return r if isinstance(r, dict) else None

    def catch_up(self) -> None:
        """A reader's (another worker writes the schedule): take in the slots written since."""
        while self.store.type(f"assignments/{self.pid}/{self.current + 1}") is not None:
            self.current += 1

    def _drop_from(self, slot: int) -> None:
        """Under the lock: drop the reservations of ``slot`` and after; hand them out again."""
        first = self.pending.get(slot)
        if first is None or first.dropped:
            return
        for n in [n for n in self.pending if n >= slot]:
            self.pending.pop(n).dropped = True
        self.reserved = slot - 1
        self.tip = first.chain_before
        self.written.notify_all()

    def schedule(self, msg: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
        wallet = opts.get("priv_wallet")
        mid = msg_id(msg, "all")
        with self.lock:
            slot = self.reserved + 1
            res = _Reservation(self.tip)
            chain = hashlib.sha256(self.tip + _b64d(mid)).digest()
            self.reserved, self.tip = slot, chain
            self.pending[slot] = res
        try:
            path = msg.get("path")
            assignment = {
                "path": _text(path) if path else "compute",
                "data-protocol": "ao",
                "variant": "ao.N.1",
                "process": self.pid,
                "epoch": "0",
                "slot": slot,
                "block-height": 0,
                "block-hash": "",
                "block-timestamp": 0,
                "timestamp": int(time.time() * 1000),
                "hash-chain": _b64e(chain),
                "body": msg,
            }
            if wallet is not None:
                from ..commitments import commit

                assignment = commit(assignment, wallet)
            # the write worked out here, in parallel (its verification, TABM and operations);
            # only applying it is ordered, under the lock (cache.plan / cache.apply)
            planned = cache.plan(assignment, self.store)
        except BaseException:
            with self.lock:
                self._drop_from(slot)
            raise
        with self.lock:
            while self.current < slot - 1 and not res.dropped:
                self.written.wait()
            if res.dropped:
                raise SlotDropped(f"slot {slot} was dropped: an earlier slot failed; retry")
            try:
                self.write(slot, assignment, planned)
            except BaseException:
                self._drop_from(slot)
                raise
            del self.pending[slot]
            self.current, self.chain = slot, chain
            self.recent[slot] = assignment
            if len(self.recent) > RECENT:
                for k in sorted(self.recent)[: RECENT // 2]:
                    self.recent.pop(k, None)
            self.written.notify_all()
        return assignment

    def write(
        self, slot: int, assignment: dict[str, Any], planned: cache.Planned | None = None
    ) -> None:
        """Store ``assignment`` and link it as ``slot`` (the link makes it the slot's).
        ``planned``: ``cache.plan(assignment, self.store)``, made before the lock (the
        verification, TABM and store operations of the write; only applying it is ordered)."""
        uid = cache.apply(planned if planned is not None else cache.plan(assignment, self.store))
        cache.link(uid, f"assignments/{self.pid}/{slot}", self.store)


def _defines(base: Any, pid: str) -> bool:
    """Whether ``base`` is (or holds as ``process``) the signed definition of process ``pid``."""
    for d in (base.get("process"), base) if isinstance(base, dict) else ():
        if is_process(d) and speakers(d) and msg_id(d, "all") == pid:
            return True
    return False


def _has_slots(pid: str, opts: dict[str, Any]) -> bool:
    """Whether process ``pid`` has a schedule here (without starting a server for it)."""
    s = _servers.get((id(store_of(opts)), pid))
    if s is not None:
        return s.current >= 0
    owner = opts.get("priv_process_owner")
    if owner is not None and not owner.owns(pid):
        return server(pid, opts).current >= 0  # the reader (scanned once, then kept up)
    return bool(cache.list_numbered(f"assignments/{pid}", store_of(opts)))


def server(pid: str, opts: dict[str, Any]) -> _Server:
    """The scheduler of process ``pid`` on the store of ``opts`` (one per store and process)."""
    store = store_of(opts)
    owner = opts.get("priv_process_owner")
    if owner is not None and not owner.owns(pid):
        # serve --workers: another worker schedules pid; this one reads its schedule
        key = (id(store), pid)
        r = _readers.get(key)
        if r is None or r.store is not store:
            r = _readers[key] = _Server(store, pid)
        r.catch_up()
        return r
    key = (id(store), pid)
    s = _servers.get(key)
    if s is None or s.store is not store:
        with _servers_lock:
            s = _servers.get(key)
            if s is None or s.store is not store:
                s = _Server(store, pid)
                _servers[key] = s
    return s


def forget_servers() -> None:
    """Drop the in-memory servers (what a node restart does); the store keeps the schedule."""
    with _servers_lock:
        _servers.clear()
        _readers.clear()


def _refused(definition: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any] | None:
    """Why the process's execution device refuses ``definition`` (its ``check_definition``,
    e.g. genesis-wasm@1.0: a ``Module`` that is not stored or not WASM), or None: checked before
    slot 0, so nothing is stored or scheduled for a process that could never run."""
    name = definition.get("execution-device")
    if not name:
        return None
    try:
        dev = ao.load_device(_text(name), opts)
    except ao.DeviceNotFound:
        return None
    check = getattr(dev, "check_definition", None)
    return check(definition, opts) if callable(check) else None


def _int(v: Any, default: int) -> int:
    try:
        return int(_text(v)) if v is not None else default
    except ValueError:
        return default


class SchedulerDevice:
    """``scheduler@1.0``: assign slots to a process's messages and serve its schedule."""

    name = NAME
    info = {"excludes": ["set", "keys"]}

    def schedule(
        self,
        base: dict[str, Any],
        request: dict[str, Any],
        opts: dict[str, Any],
        computed: bool = False,
    ) -> tuple[str, Any]:
        """``schedule``: POST assigns the next slot to the body; GET returns the schedule."""
        method = _text(request.get("method", "GET")).upper()
        if method == "POST":
            return self.post_schedule(base, request, opts, computed)
        return self.get_schedule(base, request, opts)

    def post_schedule(
        self,
        base: dict[str, Any],
        request: dict[str, Any],
        opts: dict[str, Any],
        computed: bool = False,
    ) -> tuple[str, Any]:
        """Assign the next slot (issue 11): only to a signed message (``computed``: an outbox
        message push@1.0 derived from a scheduled one), only in a process this scheduler
        knows (it has slots) or whose signed definition is given; a process definition is
        stored only when signed."""
        to_sched = request["body"] if isinstance(request.get("body"), dict) else request
        checked = proven(to_sched)  # verified at the node's door (http.py), keys added since
        if checked is not None:
            to_sched = checked
        elif to_sched.get("commitments"):
            # only what was signed is scheduled: the keys the node added (`path`, the HTTP
            # method, routing keys) are not part of it (dev_scheduler with_only_committed)
            try:
                to_sched = with_only_committed(to_sched)
            except HyperbeamError as e:
                return "error", {
                    "status": 400,
                    "body": "Message invalid: committed components cannot be validated.",
                    "reason": str(e),
                }
        else:
            to_sched = {k: v for k, v in to_sched.items() if k != "method"}
        try:
            if is_process(to_sched):
                pid = msg_id(to_sched, "all")
            elif to_sched.get("target"):
                pid = human_id(to_sched["target"])  # raw 32 bytes (ANS-104) or text
            else:
                pid = find_target_id(base, request)
        except CodecError as e:
            return "error", {"status": 400, "body": f"bad target: {e}"}
        signed = bool(speakers(to_sched))
        if not signed and (not computed or is_process(to_sched)):
            return "error", {
                "status": 400,
                "body": "Only signed messages are scheduled: sign the message (its "
                "commitments) before posting it to the scheduler.",
            }
        if checked is None and opts.get("verify_assignments", True) and to_sched.get("commitments"):
            from ..commitments import verify

            try:
                ok = verify(to_sched)
            except HyperbeamError:
                ok = False
            if not ok:
                return "error", {
                    "status": 400,
                    "body": "Message is not valid.",
                    "reason": "Given message does not correctly validate.",
                }
        if is_process(to_sched):
            refused = _refused(to_sched, opts)
            if refused is not None:
                return "error", refused
            cache.write(to_sched, store_of(opts))
        elif not _has_slots(pid, opts) and not _defines(base, pid):  # the cheap check first
            return "error", {
                "status": 404,
                "body": f"Process {pid} is not known to this scheduler: schedule its signed "
                "definition (type: Process) first, or send it as the base message.",
            }
        owner = opts.get("priv_process_owner")  # serve --workers (node/workers.py)
        try:
            if owner is not None and not owner.owns(pid):
                return "ok", owner.schedule(pid, to_sched, store_of(opts))  # its one scheduler
            return "ok", server(pid, opts).schedule(to_sched, opts)
        except HyperbeamError as e:  # nothing was assigned: the client may send it again
            return "error", {"status": 503, "body": f"not scheduled: {e}; retry"}

    def get_schedule(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """The assignments of a process from ``from`` to ``to``, in the requested format."""
        try:
            pid = find_target_id(base, request)
        except CodecError as e:
            return "error", {"status": 400, "body": f"bad target: {e}"}
        s = server(pid, opts)
        frm = max(0, _int(request.get("from"), 0))
        to = _int(request.get("to"), s.current)
        continues = False
        if to - frm + 1 > PAGE:
            to, continues = frm + PAGE - 1, True
        out: dict[str, Any] = {}
        for slot in range(frm, to + 1):
            a = s.read(slot)
            if a is None:
                break
            out[str(slot)] = a
        accept = urllib.parse.unquote(_text(request.get("accept", ""))).strip().lower()
        if accept == scheduler_formats.AOS2:  # the legacy CU's format (dev_scheduler_formats)
            return "ok", scheduler_formats.assignments_to_aos2(pid, list(out.values()), continues)
        return "ok", {
            "type": "schedule",
            "process": pid,
            "continues": continues,
            "timestamp": int(time.time() * 1000),
            "block-height": 0,
            "block-hash": "",
            "assignments": out,
        }

    def slot(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``slot``: the process's current slot, timestamp and hash-chain."""
        pid = find_target_id(base, request)
        s = server(pid, opts)
        w = opts.get("priv_wallet")
        return "ok", {
            "process": pid,
            "current": s.current,
            "timestamp": int(time.time() * 1000),
            "block-height": 0,
            "block-hash": "",
            "cache-control": "no-store",
            "wallet-address": w.address if w is not None else "",
        }

    def status(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``status``: the scheduler's address and the processes it serves."""
        w = opts.get("priv_wallet")
        store = store_of(opts)
        procs = [pid for (sid, pid) in list(_servers) if sid == id(store)]
        return "ok", {
            "address": w.address if w is not None else "",
            "processes": procs,
            "cache-control": "no-store",
        }

    def next(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``next``: the assignment after ``at-slot`` (503 until it exists)."""
        at = _int(base.get("at-slot"), -1)
        pid = find_target_id(base, request)
        a = server(pid, opts).read(at + 1)
        if a is None:
            return "error", {"status": 503, "body": "No assignment found for next slot."}
        return "ok", {"body": a, "state": base}

    def checkpoint(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``checkpoint``: the state as it is."""
        return "ok", base

    def init(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``init``: the state as it is."""
        return "ok", base


DEVICE = SchedulerDevice()
