"""cron@1.0 over a running node: an ``every`` task fires N times then stops
(``dev_cron:stop_every_test``, ``every_worker_loop_test``), a ``once`` task fires once, tasks
survive a restart, a failing task is logged and retried while the node keeps answering, and the
refusals (a malformed interval, a non-operator). The task's target is a loopback HTTP server
reached through relay@1.0 (a full URL: the operator's authority, which the task carries)."""

from __future__ import annotations

import time

import hyperbeam_fast as hb
import orjson
import pytest
from hyperbeam_fast.node import client
from node_util import HitCounter, NodeProc, free_port


@pytest.fixture(scope="module")
def wallets(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    op = hb.Wallet.generate()
    op.save(d / "operator.json")
    return d / "operator.json", op, hb.Wallet.generate()


@pytest.fixture
def counter():
    c = HitCounter()
    yield c
    c.close()


def _every(url: str, interval: str, target: str) -> str:
    return f"/~cron@1.0/every?interval={interval}&cron-path=/~relay@1.0/call&relay-path={target}"


def _wait(pred, timeout: float = 15.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_every_fires_then_stops_and_survives_a_restart(tmp_path, wallets, counter):
    keyfile, op, _ = wallets
    store = f"rocksdb:{tmp_path / 'db'}"
    node = NodeProc(tmp_path / "n1", key=keyfile, store=store)
    try:
        st, tid = client.get(
            node.url, _every(node.url, "200-milliseconds", counter.url + "/every"), wallet=op
        )
        assert st == "ok" and len(tid) == 43, tid
        assert _wait(lambda: len(counter.hits) >= 3)
        assert set(counter.hits) == {"/every"}
    finally:
        node.stop()
    stopped_at = len(counter.hits)
    time.sleep(0.6)
    assert len(counter.hits) == stopped_at  # nothing runs while the node is down
    # the task is in the store: it resumes at the next start
    node = NodeProc(tmp_path / "n2", key=keyfile, store=store)
    try:
        assert _wait(lambda: len(counter.hits) >= stopped_at + 3)
        st, res = client.get(node.url, f"/~cron@1.0/stop?task={tid.decode()}", wallet=op)
        assert st == "ok" and res["body"]["message"] == b"Task stopped successfully", res
        time.sleep(0.5)  # a run already handed to the pool may still land
        n = len(counter.hits)
        time.sleep(1.0)
        assert len(counter.hits) == n  # stopped: no more runs
        st, res = client.get(node.url, f"/~cron@1.0/stop?task={tid.decode()}", wallet=op)
        assert st == "error" and res["status"] == 404 and res["body"] == b"Task not found."
        # the same signed request again schedules nothing new (its task has ended)
    finally:
        node.stop()
    node = NodeProc(tmp_path / "n3", key=keyfile, store=store)
    try:
        n = len(counter.hits)
        time.sleep(0.8)
        assert len(counter.hits) == n  # a stopped task does not come back
    finally:
        node.stop()


def test_once_fires_once(tmp_path, wallets, counter):
    keyfile, op, _ = wallets
    node = NodeProc(tmp_path / "n", key=keyfile)
    try:
        path = f"/~cron@1.0/once?cron-path=/~relay@1.0/call&relay-path={counter.url}/once"
        st, tid = client.get(node.url, path, wallet=op)
        assert st == "ok" and len(tid) == 43
        assert _wait(lambda: len(counter.hits) == 1)
        time.sleep(0.5)
        assert counter.hits == ["/once"]
        st, res = client.get(node.url, f"/~cron@1.0/stop?task={tid.decode()}", wallet=op)
        assert st == "error" and res["status"] == 404  # done: nothing left to stop
    finally:
        node.stop()


def test_failing_task_is_logged_and_retried(tmp_path, wallets, counter):
    keyfile, op, _ = wallets
    node = NodeProc(tmp_path / "n", key=keyfile)
    try:
        dead = f"http://127.0.0.1:{free_port()}/nobody"  # nothing listens there
        st, tid = client.get(node.url, _every(node.url, "100-milliseconds", dead), wallet=op)
        assert st == "ok"

        def failures() -> int:
            lines = [ln for ln in node.logpath.read_text().splitlines() if ln.startswith("{")]
            return sum(
                1
                for ln in lines
                if orjson.loads(ln).get("msg", orjson.loads(ln).get("message"))
                == "cron task failed; retrying"
            )

        assert _wait(lambda: failures() >= 3), node.logpath.read_text()[-2000:]
        # the node keeps answering while its task fails
        assert client.get(node.url, "/~meta@1.0/info/address") == ("ok", op.address.encode())
        assert client.get(node.url, f"/~cron@1.0/stop?task={tid.decode()}", wallet=op)[0] == "ok"
        assert node.proc.poll() is None
    finally:
        node.stop()


def test_refusals(tmp_path, wallets, counter):
    keyfile, op, other = wallets
    node = NodeProc(tmp_path / "n", key=keyfile)
    try:
        for bad, word in (
            ("1-fortnight", b"time unit"),
            ("10", b"N-unit"),
            ("0-seconds", b"more than 0"),
            ("-5-seconds", b"N-unit"),
        ):
            st, res = client.get(node.url, _every(node.url, bad, counter.url), wallet=op)
            assert st == "error" and res["status"] == 400 and word in res["body"], (bad, res)
        st, res = client.get(node.url, "/~cron@1.0/every?cron-path=/~meta@1.0/info", wallet=op)
        assert st == "error" and res["status"] == 400 and b"interval" in res["body"]
        st, res = client.get(node.url, "/~cron@1.0/once", wallet=op)
        assert st == "error" and res["status"] == 400 and b"cron path" in res["body"]
        # only the operator schedules or stops tasks
        for w in (other, None):
            st, res = client.get(node.url, _every(node.url, "1-second", counter.url), wallet=w)
            assert st == "error" and res["status"] == 403, res
        st, tid = client.get(node.url, _every(node.url, "1-hour", counter.url), wallet=op)
        assert st == "ok"
        st, res = client.get(node.url, f"/~cron@1.0/stop?task={tid.decode()}", wallet=other)
        assert st == "error" and res["status"] == 403
        assert client.get(node.url, f"/~cron@1.0/stop?task={tid.decode()}", wallet=op)[0] == "ok"
    finally:
        node.stop()
