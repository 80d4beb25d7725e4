"""``cron@1.0`` (HyperBEAM ``dev_cron``): requests the node runs on its own, on a schedule.

* ``once?cron-path=P&...``: run ``P`` once, now; ``every?interval=N-unit&cron-path=P&...``:
  run ``P`` every ``N`` milliseconds/seconds/minutes/hours/days (singular or plural). The other
  keys of the request go with ``P``, as in HyperBEAM. Both answer the task's ID.
* ``stop?task=ID``: stop a task (404 ``Task not found.`` when there is none).

A task runs the node's own request path (:meth:`hyperbeam_fast.node.pipeline.Node.run`: hooks,
resolution, status) in the resolver pool, as the operator who created it (its signature covered
the path that names the task). Tasks are written to the node's store
(``cron@1.0/tasks/<ID>``) and resume when the node starts again, while the signer is still its
operator. A run that raises or answers a 4xx/5xx is logged and retried: an ``every`` task at its
next interval, a ``once`` task after 1, 2, 4, ... seconds, :data:`ONCE_RETRIES` times. Runs of
one task never overlap: the next is timed from the end of the previous one.

Differences from HyperBEAM: creating and stopping tasks is operator-only (a public node must not
let anyone start lasting work on it), and a task ID is derived from the creating signature, so a
replayed request schedules nothing new (409 for a task that has ended).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import re
import threading
import time
import weakref
from typing import Any, cast

import orjson

from .._native import human_id
from ..node import authority, logs

GROUP = "cron@1.0/tasks"
ENDED = b"ended"
ONCE_RETRIES = 5
#: Milliseconds per unit (HyperBEAM ``parse_time``).
UNITS = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
#: Keys of the creating request that are not passed on to the task's request.
_OWN_KEYS = frozenset(
    {
        "path",
        "cron-path",
        "interval",
        "method",
        "commitments",
        "body-keys",
        "ao-types",
        "content-digest",
        "signature",
        "signature-input",
        "accept",
        "accept-codec",
        "codec-device",
        "device",
    }
)
_INTERVAL = re.compile(r"(\d{1,12})-([a-z]+?)s?")
_SCHEDULERS: weakref.WeakKeyDictionary[Any, _Scheduler] = weakref.WeakKeyDictionary()
_SCHEDULERS_LOCK = threading.Lock()


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def parse_interval(value: Any) -> int:
    """``N-unit`` as milliseconds (> 0); ValueError naming what is wrong."""
    s = _text(value).strip().lower()
    m = _INTERVAL.fullmatch(s)
    if m is None:
        raise ValueError(f"interval {s[:64]!r} is not N-unit (e.g. 10-seconds)")
    unit = UNITS.get(m.group(2))
    if unit is None:
        raise ValueError(f"Invalid time unit: {m.group(2)!r} (use {', '.join(UNITS)})")
    ms = int(m.group(1)) * unit
    if ms <= 0:
        raise ValueError("Invalid interval value: it must be more than 0")
    return ms


class _Task:
    __slots__ = ("creator", "failures", "id", "interval", "kind", "path", "request")

    def __init__(self, rec: dict[str, Any]) -> None:
        self.id: str = rec["id"]
        self.kind: str = rec["kind"]
        self.path: str = rec["path"]
        self.request: dict[str, Any] = dict(rec.get("request") or {})
        self.interval: int = int(rec.get("interval") or 0)
        self.creator: str = rec["creator"]
        self.failures = 0

    def record(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "kind": self.kind,
                "path": self.path,
                "request": self.request,
                "interval": self.interval,
                "creator": self.creator,
            }
        )


class _Scheduler:
    """One node's tasks: a timer thread hands due runs to the node's resolver pool."""

    def __init__(self, node: Any) -> None:
        self.node = weakref.proxy(node)
        self.store = getattr(node.store, "primary", node.store)
        self.tasks: dict[str, _Task] = {}
        self.heap: list[tuple[float, int, str]] = []
        self.seq = 0
        self.cond = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, name="hb-cron", daemon=True)
        self.thread.start()

    # -- tasks --------------------------------------------------------------------------------

    def add(self, task: _Task, persist: bool = True) -> None:
        if persist:
            self.store.write(f"{GROUP}/{task.id}", task.record())
        with self.cond:
            self.tasks[task.id] = task
            self._at(time.monotonic(), task.id)

    def known(self, task_id: str) -> bytes | None:
        """The stored record of ``task_id`` (``ENDED`` once it has ended), or None."""
        return cast("bytes | None", self.store.read(f"{GROUP}/{task_id}"))

    def stop(self, task_id: str) -> bool:
        with self.cond:
            task = self.tasks.pop(task_id, None)
        if task is None:
            return False
        self.store.write(f"{GROUP}/{task_id}", ENDED)
        return True

    def halt(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def _at(self, when: float, task_id: str) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, task_id))
        self.cond.notify_all()

    # -- running ------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self.cond:
                if self.stopped:
                    return
                now = time.monotonic()
                if not self.heap:
                    self.cond.wait()
                    continue
                when, _, tid = self.heap[0]
                if when > now:
                    self.cond.wait(when - now)
                    continue
                heapq.heappop(self.heap)
                task = self.tasks.get(tid)
            if task is None:
                continue
            try:
                self.node.pool.submit(self._run, task)
            except (RuntimeError, ReferenceError):  # the node is closing
                return

    def _run(self, task: _Task) -> None:
        ok, status, detail = self._execute(task)
        with self.cond:
            if self.stopped or self.tasks.get(task.id) is not task:
                return  # stopped while it ran
        if ok:
            task.failures = 0
            logs.log(logging.INFO, "cron task ran", task=task.id, path=task.path, status=status)
        else:
            task.failures += 1
            logs.log(
                logging.WARNING,
                "cron task failed; retrying",
                task=task.id,
                path=task.path,
                status=status,
                error=detail[:300],
                failures=task.failures,
            )
        if task.kind == "every":
            with self.cond:
                self._at(time.monotonic() + task.interval / 1000, task.id)
        elif ok or task.failures > ONCE_RETRIES:
            if not ok:
                logs.log(logging.ERROR, "cron task given up", task=task.id, path=task.path)
            self.stop(task.id)
        else:
            with self.cond:
                self._at(time.monotonic() + min(2 ** (task.failures - 1), 60), task.id)

    def _execute(self, task: _Task) -> tuple[bool, int, str]:
        singleton = {**task.request, "path": task.path, "method": "GET"}
        keys = frozenset(k.lower() for k in singleton)
        caller = authority.Caller({task.creator: keys}, {task.creator: f"cron-{task.id}"})
        try:
            res = self.node.run(singleton, None, caller)
        except Exception as e:  # noqa: BLE001 - a task never takes the node down
            return False, 500, f"{type(e).__name__}: {e}"
        status = res.get("status", 200) if isinstance(res, dict) else 200
        code = status if isinstance(status, int) else 500
        body = res.get("body", "") if isinstance(res, dict) else res
        return code < 400, code, _text(body) if code >= 400 else ""


def scheduler(node: Any) -> _Scheduler:
    """The task scheduler of ``node`` (started on first use)."""
    with _SCHEDULERS_LOCK:
        s = _SCHEDULERS.get(node)
        if s is None:
            s = _SCHEDULERS[node] = _Scheduler(node)
        return s


def resume(node: Any) -> int:
    """Start the tasks stored by ``node``'s earlier runs; returns how many resumed."""
    store = getattr(node.store, "primary", node.store)
    try:
        ids = store.list(GROUP) or []
    except Exception:  # noqa: BLE001 - an unreadable group resumes nothing
        ids = []
    if not ids:
        return 0
    s = scheduler(node)
    operator = _text(node.node_msg.get("operator", ""))
    n = 0
    for tid in ids:
        raw = store.read(f"{GROUP}/{tid}")
        if raw is None or raw == ENDED:
            continue
        try:
            task = _Task(orjson.loads(raw))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            logs.log(logging.WARNING, "unreadable cron task skipped", task=tid)
            continue
        if task.creator != operator:
            logs.log(logging.WARNING, "cron task of a former operator skipped", task=tid)
            continue
        s.add(task, persist=False)
        n += 1
    if n:
        logs.log(logging.INFO, "cron tasks resumed", tasks=n)
    return n


def halt(node: Any) -> None:
    """Stop ``node``'s timer (its tasks stay stored and resume at the next start)."""
    with _SCHEDULERS_LOCK:
        s = _SCHEDULERS.pop(node, None)
    if s is not None:
        s.halt()


def _bad(text: str, status: int = 400) -> tuple[str, dict[str, Any]]:
    return "error", {"status": status, "body": f"cron@1.0: {text}"}


class Cron:
    """``cron@1.0``: run a path once, or every interval, in the background of the node."""

    name = "cron@1.0"

    info = {"exports": ["once", "every", "stop"]}

    def once(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``once``: run the request's ``cron-path`` once, now, in the background (operator)."""
        return self._create("once", req, opts or {})

    def every(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``every``: run ``cron-path`` at each ``interval`` until stopped (operator only)."""
        return self._create("every", req, opts or {})

    def stop(self, base: Any, req: Any, opts: Any = None) -> tuple[str, Any]:
        """``stop``: end the task ``task`` (operator only; 404 for an unknown task)."""
        opts = opts or {}
        if not authority.is_operator(opts):
            return authority.refused("Stopping a cron@1.0 task")
        node = opts.get("priv_node")
        tid = req.get("task") if isinstance(req, dict) else None
        if tid is None:
            return _bad("No task ID found in message.")
        if node is None or not scheduler(node).stop(_text(tid)):
            return "error", {"status": 404, "body": "Task not found."}
        return "ok", {
            "status": 200,
            "body": {"message": "Task stopped successfully", "task_id": _text(tid)},
        }

    def _create(self, kind: str, req: Any, opts: dict[str, Any]) -> tuple[str, Any]:
        req = req if isinstance(req, dict) else {}
        who = authority.operator_of(opts)
        if who is None:
            return authority.refused(f"Scheduling a cron@1.0 task ({kind})")
        node = opts.get("priv_node")
        if node is None:
            return _bad("cron@1.0 runs only on a node", 500)
        path = req.get("cron-path")
        if not isinstance(path, (str, bytes)) or not _text(path).startswith("/"):
            return _bad("No cron path found in message (cron-path=/...).")
        interval = 0
        if kind == "every":
            if "interval" not in req:
                return _bad("No interval found in message (interval=N-unit).")
            try:
                interval = parse_interval(req["interval"])
            except ValueError as e:
                return _bad(str(e))
        extra = {
            k: _text(v) if isinstance(v, bytes) else v
            for k, v in req.items()
            if isinstance(k, str)
            and k not in _OWN_KEYS
            and not k.startswith("priv")
            and isinstance(v, (str, bytes, int))
            and not isinstance(v, bool)
        }
        tag = authority.caller(opts).tags.get(who, "")
        seed = orjson.dumps(
            [kind, _text(path), interval, extra, who, tag], option=orjson.OPT_SORT_KEYS
        )
        tid = human_id(hashlib.sha256(seed).digest())
        s = scheduler(node)
        known = s.known(tid)
        if known == ENDED:
            return _bad(f"task {tid} was already scheduled and has ended (sign a new request)", 409)
        if known is None:
            rec = {"id": tid, "kind": kind, "path": _text(path), "request": extra}
            s.add(_Task({**rec, "interval": interval, "creator": who}))
        return "ok", tid


DEVICE = Cron()

__all__ = [
    "DEVICE",
    "ENDED",
    "GROUP",
    "UNITS",
    "Cron",
    "halt",
    "parse_interval",
    "resume",
    "scheduler",
]
