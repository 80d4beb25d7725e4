"""``serve --workers 2`` over an LMDB store (issue 15 item 2), driven over HTTP only.

* One scheduler per process: many connections push signed messages concurrently to processes
  owned by each worker, through both ways in (``/~scheduler@1.0/schedule`` with a target,
  forwarded by the scheduler; ``/<ProcID>/schedule``, forwarded whole): the slots are
  contiguous, each message has one slot, one hash chain runs through them, every assignment
  is signed by the node.
* Both workers answer (each reply's ``x-request-id`` carries its worker's prefix) with RSA- and
  HMAC-signed replies that verify.
* A killed worker is restarted and its processes' schedules go on; shutdown stops all workers.
* ``--workers 2`` with a store one process opens is refused with a readable message.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import os
import signal
import subprocess
import sys
import time

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.node import client
from hyperbeam_fast.node.http import response_to_message
from hyperbeam_fast.node.server import worker_count
from hyperbeam_fast.node.workers import owner_of
from node_util import NodeProc

TIMEOUT = 60.0


def _t(v):
    return v.decode() if isinstance(v, bytes) else v


def _d(s):
    s = _t(s)
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _wait_log(node: NodeProc, text: str, seconds: float = 30.0) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        log = node.logpath.read_text()
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the node log: {node.logpath.read_text()[-2000:]}")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def _start(tmp_path, keyfile, name: str, config: str = "") -> NodeProc:
    node = NodeProc(
        tmp_path / name,
        config=config,
        key=keyfile,
        store=f"lmdb:{tmp_path / name / 'db'}",
        extra=["--workers", "2"],
    )
    _wait_log(node, '"listening"')
    return node


@pytest.fixture(scope="module")
def node(tmp_path_factory, wallets):
    # two resolver threads per worker: a forward that held one while it waited (the owner
    # forwarding the other way at the same time) would run both workers out of threads
    # (computes queue for a turn rather than get a 503: the AOS test pushes concurrently)
    cfg = "workers: 2\nprocess_compute_workers: 4\nprocess_compute_wait: 60.0\n"
    n = _start(tmp_path_factory.mktemp("workers"), wallets[0], "rsa", cfg)
    yield n
    n.stop()


def _process_owned_by(w: hb.Wallet, worker: int) -> tuple[dict, str]:
    for i in range(100):
        proc = hb.commit(
            {"device": "scheduler@1.0", "type": "Process", "scheduler": w.address, "n": str(i)}, w
        )
        pid = hb.id(proc, "all")
        if owner_of(pid, 2) == worker:
            return proc, pid
    raise AssertionError("no process ID for that worker")  # pragma: no cover


def _spawn(url: str, proc: dict) -> None:
    st, a = client.post(url, "/~scheduler@1.0/schedule", {"method": "POST", "body": proc})
    assert st == "ok" and a["slot"] == 0 and hb.signers(a) == [hb.signers(proc)[0]], a


def _check_schedule(url: str, pid: str, signer: str, n: int) -> list[str]:
    """Slots 0..n-1 and nothing after, chained, signed by ``signer``: the body IDs."""
    st, sch = client.get(url, f"/{pid}/schedule?from=0&to={n + 5}", timeout=TIMEOUT)
    assert st == "ok", sch
    asg = sch["assignments"]
    assert sorted(int(k) for k in asg) == list(range(n))
    chain, ids = b"", []
    for i in range(n):
        a = asg[str(i)]
        assert int(a["slot"]) == i and hb.verify(a) and hb.signers(a) == [signer]
        ids.append(hb.id(a["body"], "all"))
        chain = hashlib.sha256(chain + _d(ids[-1])).digest()
        assert _d(a["hash-chain"]) == chain, i
    st, cur = client.get(url, f"/{pid}/slot/current", timeout=TIMEOUT)
    assert (st, cur) == ("ok", n - 1)
    return ids


def test_one_scheduler_per_process_under_concurrent_pushes(node, wallets):
    _, w1, w2 = wallets
    procs = [_process_owned_by(w1, 0), _process_owned_by(w1, 1)]
    for proc, _ in procs:
        _spawn(node.url, proc)
    per_thread, threads = 5, 8

    def push(job: tuple[str, int]) -> list[tuple[int, str]]:
        pid, t = job
        out = []
        for i in range(per_thread):
            m = hb.commit({"target": pid, "action": "Ping", "t": str(t), "i": str(i)}, w2)
            # half through the scheduler device (target in the body), half by the process's path
            path = "/~scheduler@1.0/schedule" if (t + i) % 2 else f"/{pid}/schedule"
            st, a = client.post(node.url, path, {"method": "POST", "body": m}, timeout=TIMEOUT)
            assert st == "ok", a
            assert _t(a["process"]) == pid and hb.signers(a) == [w1.address]
            out.append((int(a["slot"]), hb.id(m, "all")))
        return out

    jobs = [(pid, t) for _, pid in procs for t in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as ex:
        results = list(ex.map(push, jobs))
    for _, pid in procs:
        got = [r for (p, _), rs in zip(jobs, results, strict=True) if p == pid for r in rs]
        n = threads * per_thread
        assert sorted(s for s, _ in got) == list(range(1, n + 1))  # contiguous, no duplicate
        ids = _check_schedule(node.url, pid, w1.address, n + 1)
        assert {ids[s]: None for s, _ in got} == {m: None for _, m in got}  # its own slot


def _replies(url: str, path: str, want: int = 2, most: int = 200) -> list[tuple[str, dict]]:
    """Replies to ``GET path`` over fresh connections until ``want`` workers answered:
    ``(request-id prefix, message)`` each."""
    out: list[tuple[str, dict]] = []
    prefixes: set[str] = set()
    for _ in range(most):
        client._local.pool = {}  # a new connection: the kernel picks the worker that accepts
        status, headers, body = client.raw("GET", url, path, timeout=TIMEOUT)
        prefix = dict((k.lower(), v) for k, v in headers)["x-request-id"].split("-")[0]
        st, msg = response_to_message(status, headers, body)
        assert st == "ok", msg
        out.append((prefix, msg))
        prefixes.add(prefix)
        if len(prefixes) >= want and len(out) >= 10:
            break
    assert len(prefixes) == want, f"replies came from {len(prefixes)} worker(s)"
    return out


def test_rsa_signed_replies_from_both_workers(node, wallets):
    address = wallets[1].address
    for _, msg in _replies(node.url, "/~meta@1.0/info"):
        assert hb.signers(msg) == [address] and hb.verify(msg)
        assert _t(msg["address"]) == address


def test_hmac_signed_replies_from_both_workers(tmp_path, wallets):
    n = _start(tmp_path, wallets[0], "hmac", "force_signed: false\n")
    try:
        got = _replies(n.url, "/~meta@1.0/info")
        by_worker = {p: m for p, m in got}
        assert len(by_worker) == 2
        for msg in by_worker.values():  # an HMAC reply: unsigned, named by its ID
            assert not hb.signers(msg) and _t(msg["address"]) == wallets[1].address
        a, b = by_worker.values()
        assert hb.id(a, "none") == hb.id(b, "none")  # the same reply from either worker
    finally:
        assert n.stop() == 0


def test_a_killed_worker_is_restarted_and_shutdown_stops_all(tmp_path, wallets):
    _, w1, w2 = wallets
    n = _start(tmp_path, wallets[0], "restart")
    try:
        procs = [_process_owned_by(w1, 0), _process_owned_by(w1, 1)]
        for proc, _ in procs:
            _spawn(n.url, proc)
        first = _children(n.proc.pid)
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        log = _wait_log(n, "worker exited; restarting it")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _children(n.proc.pid)
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.05)
        assert len(now) == 2 and first[0] not in now and first[1] in now, log
        # both processes schedule on (the restarted owner reads its schedule back)
        for _, pid in procs:
            for i in range(3):
                m = hb.commit({"target": pid, "action": "Ping", "i": str(i)}, w2)
                st, a = client.post(
                    n.url, f"/{pid}/schedule", {"method": "POST", "body": m}, timeout=TIMEOUT
                )
                assert st == "ok" and int(a["slot"]) == i + 1, a
            _check_schedule(n.url, pid, w1.address, 4)
        workers = _children(n.proc.pid)
    finally:
        assert n.stop() == 0
    for pid in workers:  # every worker is gone with the supervisor
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in _state(pid)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as f:
            return f.read().lower()
    except OSError:
        return "zombie"


def test_workers_need_a_store_several_processes_open(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hyperbeam_fast",
            "serve",
            "--port",
            "0",
            "--workers",
            "2",
            "--store",
            str(tmp_path / "rocks"),
            "--key",
            str(tmp_path / "k.json"),
            "--generate-key",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert "--workers 2 needs a store that several processes open at once: lmdb:DIR" in r.stderr
    assert not (tmp_path / "k.json").exists() and not (tmp_path / "rocks").exists()


def test_worker_count_defaults(tmp_path):
    cores = os.cpu_count() or 1
    assert worker_count({"store": f"lmdb:{tmp_path}"}) == cores
    assert worker_count({"store": f"lmdb:{tmp_path}", "worker_processes": 3}) == 3
    assert worker_count({"store": str(tmp_path)}) == 1  # RocksDB: one process
    assert worker_count({"store": "memory"}) == 1
    assert worker_count({"store": "memory", "worker_processes": 1}) == 1
    with pytest.raises(hb.exceptions.ConfigError):
        worker_count({"store": "memory", "worker_processes": 2})
    with pytest.raises(hb.exceptions.ConfigError):
        worker_count({"store": f"lmdb:{tmp_path}", "worker_processes": -1})
    hooks = {"request": {"device": "p4@1.0"}}
    assert worker_count({"store": f"lmdb:{tmp_path}", "on": hooks}) == 1
    with pytest.raises(hb.exceptions.ConfigError, match="hooks"):
        worker_count({"store": f"lmdb:{tmp_path}", "on": hooks, "worker_processes": 2})


def test_node_message_changes_are_refused_with_workers(node, wallets):
    """Each worker holds its own node message: an operator-signed update is refused (400,
    saying why) by whichever worker takes it, and nothing changes."""
    _, w1, _ = wallets
    for i in range(4):
        client._local.pool = {}  # fresh connections: either worker may answer
        st, res = client.post(node.url, "/~meta@1.0/info", {"motd": f"hi {i}"}, wallet=w1)
        assert st == "error" and "not available with --workers 2" in _t(res["body"]), res
    st, info = client.get(node.url, "/~meta@1.0/info")
    assert st == "ok" and "motd" not in info


def test_aos_pushes_through_both_workers(node, wallets, aos_wasm):
    """``/<ProcID>/push`` of AOS messages, concurrently, to processes owned by each worker
    (half of them reach the other worker first and are relayed): each reply carries its own
    result, and the processes' states count every message once."""
    from hyperbeam_fast.devices.process import AOS_EXECUTION

    _, w1, _ = wallets
    up = hb.commit(
        {"path": "/content-type", "content-type": "application/wasm", "body": aos_wasm}, w1
    )
    assert client.request("POST", node.url, up, timeout=TIMEOUT) == ("ok", b"application/wasm")
    image = hb.id(hb.with_only_committed(up), "all")
    pids, i = [], 0
    while len(pids) < 2:
        proc = hb.commit(
            {
                "device": "process@1.0",
                "type": "Process",
                "image": image,
                "scheduler": w1.address,
                "authority": w1.address,
                "n": str(i),
                **AOS_EXECUTION,
            },
            w1,
        )
        i += 1
        if owner_of(hb.id(proc, "all"), 2) == len(pids):
            _spawn(node.url, proc)
            pids.append(hb.id(proc, "all"))

    def push(job: tuple[str, int]) -> tuple[str, int, bytes]:
        pid, k = job
        code = f"C = (C or 0) + 1; return {k} * 3"
        m = hb.commit({"target": pid, "action": "Eval", "data": code}, w1)
        st, r = client.post(
            node.url, f"/{pid}/push", {"method": "POST", "body": m}, timeout=TIMEOUT
        )
        assert st == "ok", r
        return pid, int(r["slot"]), r["data"]

    jobs = [(pid, k) for pid in pids for k in range(6)]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        got = list(ex.map(push, jobs))
    for (pid, k), (p, _slot, data) in zip(jobs, got, strict=True):
        assert p == pid and _t(data) == str(k * 3)
    for pid in pids:
        assert sorted(s for p, s, _ in got if p == pid) == list(range(1, 7))
        ev = hb.commit({"target": pid, "action": "Eval", "data": "return C"}, w1)
        st, r = client.post(
            node.url, f"/{pid}/push", {"method": "POST", "body": ev}, timeout=TIMEOUT
        )
        assert st == "ok" and _t(r["data"]) == "6" and int(r["slot"]) == 7, r
    # an outbox message from a process of worker 0 to one of worker 1: the pushing worker
    # computes A, the owner of B assigns the delivered message its slot
    a, b = pids
    code = f'Send({{ Target = "{b}", Action = "Ping", Data = "hello" }})'
    m = hb.commit({"target": a, "action": "Eval", "data": code}, w1)
    st, r = client.post(node.url, f"/{a}/push", {"method": "POST", "body": m}, timeout=TIMEOUT)
    assert st == "ok" and _t(r["1"]["status"]) == "ok" and int(r["1"]["slot"]) == 8, r
    st, sch = client.get(node.url, f"/{b}/schedule?from=8", timeout=TIMEOUT)
    assert st == "ok" and sorted(sch["assignments"]) == ["8"], sch
    body = sch["assignments"]["8"]["body"]
    assert _t(body["action"]) == "Ping" and _t(body["from-process"]) == a, body
    _check_schedule(node.url, b, w1.address, 9)


def test_an_unopenable_lmdb_store_fails_before_any_worker_starts(tmp_path):
    (tmp_path / "file").write_bytes(b"not a directory")
    r = subprocess.run(
        [sys.executable, "-m", "hyperbeam_fast", "serve", "--port", "0", "--workers", "2"]
        + ["--store", f"lmdb:{tmp_path / 'file'}", "--key", str(tmp_path / "k.json")]
        + ["--generate-key"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode != 0 and "cannot open LMDB store" in r.stderr, r.stderr[-2000:]
    assert '"listening"' not in r.stderr + r.stdout


def test_a_relayed_request_with_expect_100_continue(node, wallets):
    """A request with ``expect: 100-continue`` (the accepting worker has read its body) gets
    the owner's final reply through the relay (the relay drops ``expect`` and would skip an
    interim 1xx reply)."""
    _, w1, w2 = wallets
    procs = [_process_owned_by(w1, 0), _process_owned_by(w1, 1)]
    for proc, pid in procs:
        st, a = client.get(node.url, f"/{pid}/slot/current")
        if st != "ok":
            _spawn(node.url, proc)
    for _, pid in procs:  # one of the two is owned by the worker that did not accept
        m = hb.commit({"target": pid, "action": "Ping", "e": "100"}, w2)
        _, path, headers, body = client.encode_request(
            {"method": "POST", "path": f"/{pid}/schedule", "body": m}, None
        )
        status, rh, rb = client.raw(
            "POST", node.url, path, {**headers, "expect": "100-continue"}, body, timeout=TIMEOUT
        )
        st, a = response_to_message(status, rh, rb)
        assert (status, st) == (200, "ok") and _t(a["process"]) == pid, rb[:300]
