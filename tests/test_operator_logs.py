"""Logs and errors an operator can act on (issue 17 item 2): error replies logged at
warning/error with reason and request ID, the ID as a reply header, --log-level/--log-format,
a start-up banner after the bind."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
from hyperbeam_fast.node import logs
from hyperbeam_fast.node.app import App
from hyperbeam_fast.node.pipeline import Node
from node_util import NodeProc


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.startswith(b"{")]


def _wait_for(path: Path, pred: Any, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [x for x in _lines(path) if pred(x)]
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("no such log line: " + path.read_text()[-2000:])


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = NodeProc(tmp_path_factory.mktemp("oplogs"))
    yield n
    n.stop()


def test_every_reply_has_its_request_id_and_errors_are_logged_with_it(node):
    st, h, _ = _get(node.url + "/~meta@1.0/info")
    assert st == 200
    ok_id = h["x-request-id"]
    st, h, body = _get(node.url + "/~no-such-device@1.0/x")
    assert st == 404
    rid = h["x-request-id"]
    assert rid != ok_id
    line = _wait_for(node.logpath, lambda x: x.get("request_id") == rid)[0]
    assert line["level"] == "warning" and line["msg"] == "request" and line["status"] == 404
    assert "no-such-device@1.0" in line["reason"]
    ok = _wait_for(node.logpath, lambda x: x.get("request_id") == ok_id)[0]
    assert ok["level"] == "info" and "reason" not in ok
    st, h, _ = _get(node.url + "/metrics")  # answered without a resolution: an ID too
    assert st == 200 and h["x-request-id"]


def test_banner_after_bind_names_the_settings(node):
    banner = _wait_for(node.logpath, lambda x: x["msg"] == "listening")
    assert len(banner) == 1
    b = banner[0]
    assert b["port"] == node.port and b["url"] == node.url
    assert b["wallet"] == f"generated at {node.key}"
    assert b["store"].startswith("MemoryStore") and b["workers"] >= 1
    assert b["address"] == b["operator"] and len(b["address"]) == 43
    gen = [x for x in _lines(node.logpath) if x["msg"] == "generated a new operator wallet"]
    assert gen and gen[0]["level"] == "warning"


def test_port_zero_logs_the_real_port_and_text_format(tmp_path):
    key = tmp_path / "k.json"
    log = tmp_path / "node.log"
    with open(log, "wb") as out:
        p = subprocess.Popen(
            [sys.executable, "-m", "hyperbeam_fast", "serve", "--port", "0", "--store", "memory"]
            + ["--key", str(key), "--generate-key", "--log-format", "text"]
            + ["--log-level", "warning", "--config", str(tmp_path / "none.flat")],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        # the explicit config file is missing: an error before anything is started
        assert p.wait(30) == 2
        assert b"does not exist" in log.read_bytes()
        (tmp_path / "none.flat").write_bytes(b"zzz: 1\n")
        with open(log, "wb") as out:
            p = subprocess.Popen(p.args, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
        deadline = time.time() + 30
        while b"listening" not in log.read_bytes():
            assert time.time() < deadline and p.poll() is None, log.read_text()
            time.sleep(0.05)
        text = log.read_text()
        assert not text.lstrip().startswith("{")
        assert "WARNING config problem=" in text and "none.flat:1: unknown option 'zzz'" in text
        banner = [ln for ln in text.splitlines() if " listening " in ln]
        assert (
            len(banner) == 1
            and f"url=http://127.0.0.1:{banner[0].split('port=')[1].split()[0]}" in banner[0]
        )
        assert "port=0" not in banner[0]
        # --log-level warning: the banner is always shown, other info lines are not
        assert [ln for ln in text.splitlines() if " INFO " in ln] == banner
    finally:
        p.terminate()
        p.wait(15)


def test_busy_port_is_an_error_and_never_listening(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "hyperbeam_fast", "serve", "--port", str(port)]
            + ["--store", "memory", "--key", str(tmp_path / "k.json"), "--generate-key"],
            capture_output=True,
            cwd=tmp_path,
            timeout=60,
        )
    assert r.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use".encode() in r.stderr
    assert b"listening" not in r.stderr and b"Traceback" not in r.stderr
    assert not (tmp_path / "k.json").exists()


class _Boom(Exception):
    pass


def _call(app: App, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), sent[1]["body"]


def test_a_500_is_logged_as_an_error_with_its_reason(monkeypatch):
    out = io.StringIO()
    logs.setup("info", stream=out)
    try:
        node = Node(None, None, "memory")
        app = App(node)

        def fail(*a: Any) -> Any:
            raise _Boom("the store is on fire")

        monkeypatch.setattr(node, "_resolve", fail)
        st, h, body = _call(app, "/~meta@1.0/info")
        node.close()
        assert st == 500 and b"the store is on fire" in body
        rid = h[b"x-request-id"].decode()
        lines = [orjson.loads(x) for x in out.getvalue().splitlines()]
        mine = [x for x in lines if x.get("request_id") == rid]
        failed = [x for x in mine if x["msg"] == "request failed"]
        assert failed and failed[0]["level"] == "error" and "_Boom" in failed[0]["error"]
        req = [x for x in mine if x["msg"] == "request"][0]
        assert req["level"] == "error" and req["status"] == 500
        assert "_Boom: the store is on fire" in req["reason"]
    finally:
        logging.getLogger("hyperbeam_fast.node").handlers.clear()


def test_error_lines_even_without_log_requests():
    out = io.StringIO()
    logs.setup("info", stream=out)
    try:
        node = Node({"log_requests": False, "force_signed": False}, None, "memory")
        app = App(node)
        assert _call(app, "/~meta@1.0/info")[0] == 200
        assert _call(app, "/~nosuch@1.0/x")[0] == 404
        node.close()
        lines = [orjson.loads(x) for x in out.getvalue().splitlines()]
        reqs = [x for x in lines if x["msg"] == "request"]
        assert [x["status"] for x in reqs] == [404]
    finally:
        logging.getLogger("hyperbeam_fast.node").handlers.clear()


def test_text_lines():
    line = logs.text_line(0.5, "warning", "request", {"status": 404, "reason": 'a "b" c'})
    assert line == '1970-01-01T00:00:00.500Z WARNING request status=404 reason="a \\"b\\" c"'
    # a client's bytes cannot forge a line or send terminal escapes
    forged = logs.text_line(0.0, "info", "request", {"path": "/x\n2026 ERROR fake\x1b[31m"})
    assert "\n" not in forged and "\x1b" not in forged
    assert forged.endswith('path="/x\\n2026 ERROR fake\\u001b[31m"')
    with pytest.raises(ValueError):
        logs.setup("loud")
    with pytest.raises(ValueError):
        logs.setup("info", fmt="xml")
