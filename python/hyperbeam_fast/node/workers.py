"""``serve --workers N`` (issue 15 item 2): N worker processes behind one port, one store.

The supervisor (:func:`run_workers`, the process ``serve`` started) binds the port, forks the
workers, logs the ``listening`` banner once all of them serve, restarts a worker that dies and,
on SIGINT/SIGTERM, stops them all (each finishes its in-flight requests and closes its store).
Each worker is a whole node (:class:`~.pipeline.Node`) accepting on the shared listening
socket (the kernel hands each connection to one of them) and opening the one LMDB store
(:class:`~hyperbeam_fast.store.LMDBStore`; a RocksDB database opens in one process only).

Processes are shared out by ID (:func:`owner_of`): the scheduler of a process (its slots and
hash chain, devices/scheduler.py) lives in its owner only, and so do its computed states,
except for a push that arrives elsewhere (below: computed there from the shared schedule). The
others send the owner (:class:`Ownership`, over unix sockets in a private 0700 directory):

* a request whose first path element is a process with a schedule (``/<ProcID>/...``), whole
  (the owner's HTTP reply is relayed as it is; :meth:`Ownership.forward`, on the event loop);
* a message to schedule on a process they do not own (a new process, ``/push`` of a message
  to it, an outbox message pushed to it: :meth:`Ownership.schedule`): the message goes into
  the shared store, the owner assigns its slot, the assignment comes back from the store.

cron@1.0 tasks run in worker 0 (``/~cron@1.0/...`` requests are relayed there; it alone
resumes the stored tasks). Everything else (cached reads, meta, signed-message storage, ...) is
served by whichever worker accepted the connection; a change of the node message
(``POST /~meta@1.0/info``, a new route) is refused: each worker holds its own copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import socketserver
import tempfile
import threading
import time
from typing import Any

from .. import cache
from ..exceptions import HyperbeamError
from . import logs

#: Headers of a relayed reply that the relaying worker's own reply sets again.
_HOP = frozenset({"content-length", "x-request-id", "connection", "keep-alive", "date"})
#: Request headers the relay sets itself.
_REQUEST_HOP = frozenset(
    {
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"host",
        b"expect",  # the body is read already: no interim 100 from the owner
        b"upgrade",
        b"keep-alive",
        b"te",
        b"trailer",
        b"proxy-connection",
    }
)
#: Seconds a forward waits for an owner that is (re)starting before it answers 503.
OWNER_WAIT = 10.0
#: A worker that exits this soon after its start, MAX_STRIKES times in a row, stops the node.
STARTUP_FAILURE = 3.0
MAX_STRIKES = 3
#: Longest forwarded RPC message (a process ID and a message ID).
_RPC_MAX = 4096


class Forward:
    """What :meth:`~.pipeline.Node.handle` gives for a request that worker ``owner`` answers
    (the owner of process ``about``, or worker 0 for cron@1.0): the ASGI app relays it
    (:meth:`Ownership.forward`)."""

    __slots__ = ("owner", "about")

    def __init__(self, owner: int, about: str) -> None:
        self.owner = owner
        self.about = about


class WorkerFailed(HyperbeamError):
    """A worker keeps exiting right after it starts: the node stops."""


class OwnerUnavailable(HyperbeamError):
    """The worker owning a process did not answer (it is restarting): retry."""


def owner_of(pid: str, count: int) -> int:
    """The worker (0..count-1) owning process ``pid``: the same in every worker."""
    return int.from_bytes(hashlib.sha256(pid.encode()).digest()[:8], "big") % count


def http_socket(sock_dir: str, index: int) -> str:
    """The unix socket worker ``index`` takes forwarded HTTP requests on."""
    return os.path.join(sock_dir, f"w{index}.sock")


def rpc_socket(sock_dir: str, index: int) -> str:
    """The unix socket worker ``index`` takes schedulings on (:meth:`Ownership.schedule`)."""
    return os.path.join(sock_dir, f"r{index}.sock")


def _connect_unix(path: str, timeout: float) -> socket.socket:
    """A connection to the unix socket ``path``, waiting up to :data:`OWNER_WAIT` for a worker
    that is (re)starting."""
    deadline = time.monotonic() + OWNER_WAIT
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except OSError as e:
            s.close()
            if time.monotonic() > deadline:
                raise OwnerUnavailable(f"the owning worker does not answer: {e}") from None
            time.sleep(0.05)


class Ownership:
    """Worker ``index`` of ``count``: which processes it owns, and the way to the others."""

    def __init__(self, index: int, count: int, sock_dir: str, timeout: float = 60.0) -> None:
        self.index = index
        self.count = count
        self.sock_dir = sock_dir
        self.timeout = timeout

    def owns(self, pid: str) -> bool:
        """Whether this worker owns (schedules and computes) process ``pid``."""
        return owner_of(pid, self.count) == self.index

    # --- whole requests -------------------------------------------------------------------

    async def forward(
        self, fwd: Forward, method: str, raw_path: str, headers: list[Any], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Relay one HTTP request to worker ``fwd.owner`` on the event loop (no resolver
        thread waits on it: two workers forwarding to each other never run out of threads);
        the owner's reply as ``(status, headers, body)``, a 503 when the owner does not
        answer."""
        path = http_socket(self.sock_dir, fwd.owner)
        try:
            return await asyncio.wait_for(
                self._exchange(path, method, raw_path, headers, body), self.timeout
            )
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError) as e:
            why = f"the worker owning {fwd.about} did not answer ({type(e).__name__}); retry"
            return 503, [(b"content-type", b"text/plain; charset=utf-8")], why.encode()

    async def _exchange(
        self, path: str, method: str, raw_path: str, headers: list[Any], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        deadline = time.monotonic() + OWNER_WAIT
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)
                break
            except OSError:  # the owner is (re)starting
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        try:
            head = [f"{method} {raw_path} HTTP/1.1".encode("latin-1"), b"host: worker"]
            for k, v in headers:
                if k.lower() not in _REQUEST_HOP:
                    head.append(k + b": " + v)
            head.append(b"content-length: %d" % len(body))
            head.append(b"connection: close")
            writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
            await writer.drain()
            status = 100
            while status < 200:  # an interim (1xx) reply has a head and no body: skip it
                status_line = await reader.readuntil(b"\r\n")
                status = int(status_line.split(b" ", 2)[1])
                out, clen = [], None
                while True:
                    line = await reader.readuntil(b"\r\n")
                    if line == b"\r\n":
                        break
                    k, _, v = line[:-2].partition(b":")
                    k, v = k.strip().lower(), v.strip()
                    if k == b"content-length":
                        clen = int(v)
                    elif k.decode("latin-1") not in _HOP:
                        out.append((k, v))
            data = await (reader.readexactly(clen) if clen is not None else reader.read())
            return status, out, data
        finally:
            writer.close()

    # --- scheduling -----------------------------------------------------------------------

    def schedule(self, pid: str, msg: dict[str, Any], store: Any) -> dict[str, Any]:
        """Have the owner of ``pid`` assign the next slot to ``msg`` (already checked by this
        worker's scheduler@1.0); the signed assignment, read back from the shared store."""
        mid = cache.write(msg, store)
        s = _connect_unix(rpc_socket(self.sock_dir, owner_of(pid, self.count)), self.timeout)
        try:
            s.sendall(json.dumps({"pid": pid, "id": mid}).encode() + b"\n")
            line = s.makefile("rb").readline(_RPC_MAX)
        except OSError as e:
            raise OwnerUnavailable(f"the owning worker did not answer: {e}") from None
        finally:
            s.close()
        try:
            got = json.loads(line)
        except ValueError:
            raise OwnerUnavailable("the owning worker gave no answer (it stopped?)") from None
        if "error" in got:
            raise HyperbeamError(str(got["error"]))
        a = cache.read(f"assignments/{pid}/{int(got['slot'])}", store)
        if not isinstance(a, dict):
            raise OwnerUnavailable(f"assignment {got['slot']} of {pid} is not in the store")
        return a


class _RPCHandler(socketserver.StreamRequestHandler):
    """The owner's side of :meth:`Ownership.schedule`: one JSON line in, one out."""

    def handle(self) -> None:
        node = self.server.node  # type: ignore[attr-defined]
        try:
            req = json.loads(self.rfile.readline(_RPC_MAX))
            pid, mid = str(req["pid"]), str(req["id"])
            from ..devices.scheduler import server

            opts = node.scheduling_opts()
            msg = cache.read(mid, node.store)
            if not isinstance(msg, dict):
                raise HyperbeamError(f"message {mid} is not in the store")
            a = server(pid, opts).schedule(msg, opts)
            out: dict[str, Any] = {"slot": int(a["slot"])}
        except Exception as e:  # noqa: BLE001 - the caller gets every failure as an error
            out = {"error": f"{type(e).__name__}: {e}"}
        with contextlib.suppress(OSError):
            self.wfile.write(json.dumps(out).encode() + b"\n")


class _RPCServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def start_rpc(node: Any, sock_dir: str, index: int) -> _RPCServer:
    """Serve :meth:`Ownership.schedule` for ``node`` on its RPC socket (a daemon thread)."""
    path = rpc_socket(sock_dir, index)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    srv = _RPCServer(path, _RPCHandler)
    srv.node = node  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, name="hb-worker-rpc", daemon=True).start()
    return srv


def bind_unix(path: str) -> socket.socket:
    """The listening unix socket of a worker's forwarded requests."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(512)
    return s


def run_workers(
    count: int,
    graceful: float,
    worker: Any,
    banner: Any,
) -> None:
    """The supervisor: fork ``count`` workers (``worker(index, sock_dir, ready_fd)`` runs one
    and returns its exit status), call ``banner()`` once all wrote to ``ready_fd``, restart a
    worker that exits, and stop them all (SIGTERM, then SIGKILL after ``graceful`` + 5 s) on
    SIGINT/SIGTERM."""
    sock_dir = tempfile.mkdtemp(prefix="hb-workers-")  # mode 0700: only this user connects
    ready_r, ready_w = os.pipe()
    children: dict[int, int] = {}  # pid -> worker index
    started: dict[int, float] = {}  # pid -> when it was forked
    strikes = [0] * count  # exits within STARTUP_FAILURE seconds of a start, in a row
    stopping = threading.Event()

    def spawn(i: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(ready_r)
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_DFL)
                code = worker(i, sock_dir, ready_w)
            except BaseException:  # noqa: BLE001 - reported, then the worker exits
                logs.LOGGER.exception("worker failed", extra={"fields": {"worker": i}})
            finally:
                os._exit(code)
        children[pid] = i
        started[pid] = time.monotonic()

    def stop(sig: int, frame: Any) -> None:
        stopping.set()

    found = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for i in range(count):
            spawn(i)
        ready = 0
        announced = False
        while not stopping.is_set():
            r, _, _ = select.select([ready_r], [], [], 0.2)
            if r:
                ready += len(os.read(ready_r, 64))
                if not announced and ready >= count:
                    announced = True
                    banner()
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    pid = 0
                if pid == 0:
                    break
                i = children.pop(pid, -1)
                if i < 0 or stopping.is_set():
                    continue
                code = os.waitstatus_to_exitcode(status)
                quick = time.monotonic() - started.pop(pid, 0.0) < STARTUP_FAILURE
                strikes[i] = strikes[i] + 1 if quick else 0
                if strikes[i] >= MAX_STRIKES:
                    raise WorkerFailed(
                        f"worker {i} exited {MAX_STRIKES} times within {STARTUP_FAILURE:.0f} s "
                        f"of starting (last status {code}); see the log above"
                    )
                logs.log(logging.WARNING, "worker exited; restarting it", worker=i, status=code)
                time.sleep(0.2)
                spawn(i)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + graceful + 5
        while children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        os.close(ready_r)
        os.close(ready_w)
        shutil.rmtree(sock_dir, ignore_errors=True)
        for sig, handler in found.items():
            signal.signal(sig, handler)
