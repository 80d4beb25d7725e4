"""genesis-wasm@1.0, delegated-compute@1.0 and the aos-2 schedule format over a real node
(issue 12 item 3), driven over HTTP only.

* genesis-wasm@1.0: the AOS module is uploaded as a signed ANS-104 data item (the node stores
  signed requests), a process names it as its ``Module``; Evals compute on the node's own WASM
  stack (state across messages, a restart on the same RocksDB store included) and
  ``results/json`` is the compute unit's JSON.
* delegated-compute@1.0: the same process shape, computed by a legacy compute unit stand-in
  on ``@permaweb/ao-loader`` (tests/interop/cu, started here) that the node reaches through its
  routes (``^/result/``); the stand-in reads the process and the slots from the node in the
  ``application/aos-2`` format, as the ao CU does. Its results match genesis-wasm@1.0's.
* Bad modules: a ``Module`` that is not stored, or not WASM, gets a 4xx with a body naming why,
  and nothing is stored or scheduled for that process.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import time
from pathlib import Path

import hyperbeam_fast as hb
import installed
import orjson
import pytest
from hyperbeam_fast import _native
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.node import client
from node_util import NodeProc, free_port

pytest.importorskip("wasmtime")

TIMEOUT = 120.0
CU_DIR = Path(__file__).parent / "interop" / "cu"
MODULE_TAGS = [
    (b"Data-Protocol", b"ao"),
    (b"Variant", b"ao.TN.1"),
    (b"Type", b"Module"),
    (b"Module-Format", b"wasm64-unknown-emscripten-draft_2024_02_15"),
    (b"Input-Encoding", b"JSON-1"),
    (b"Output-Encoding", b"JSON-1"),
    (b"Memory-Limit", b"1-gb"),
    (b"Compute-Limit", b"9000000000000"),
]


def raw(url: str, method: str, path: str, headers=None, body=b""):
    host, port = url.removeprefix("http://").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    c.request(method, path, body=body or None, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def upload_item(url: str, w: hb.Wallet, data: bytes, tags=MODULE_TAGS) -> str:
    """POST a signed data item (as a client uploads a module); its ID is the data item's."""
    item = _native.ans104_serialize(
        _native.ans104_sign({"tags": tags, "data": data, "target": b"", "anchor": b""}, w._key)
    )
    hdrs = {"codec-device": "ans104@1.0", "content-type": "application/ans104"}
    st, body = raw(url, "POST", "/data-protocol", hdrs, item)
    assert st == 200 and body == b"ao", (st, body[:300])
    return hb.id(ans104.decode(item), "all")


def spawn_msg(w: hb.Wallet, module: str, device: str) -> dict:
    return hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "module": module,
            "scheduler": w.address,
            "authority": w.address,
            "execution-device": device,
            "data-protocol": "ao",
            "variant": "ao.N.1",
            "data": "1984",
        },
        w,
    )


def spawn(url: str, proc: dict) -> tuple[str, dict]:
    return client.post(url, "/~scheduler@1.0/schedule", {"method": "POST", "body": proc})


def ev(url: str, pid: str, w: hb.Wallet, code: str) -> int:
    m = hb.commit({"target": pid, "action": "Eval", "data": code, "type": "Message"}, w)
    st, a = client.post(url, f"/{pid}/schedule", {"method": "POST", "body": m}, timeout=TIMEOUT)
    assert st == "ok", a
    return a["slot"]


def result(url: str, pid: str, slot: int, key: str = "data"):
    return client.get(url, f"/{pid}/compute/results/{key}?slot={slot}", timeout=TIMEOUT)


def aos2(url: str, pid: str, frm: int = 0, to: int | None = None) -> dict:
    q = f"target={pid}&from={frm}" + (f"&to={to}" if to is not None else "")
    st, body = raw(url, "GET", f"/~scheduler@1.0/schedule?{q}&accept=application/aos-2")
    assert st == 200, body
    return json.loads(body)


def test_genesis_wasm_over_http_restart_and_aos2(aos_wasm, wallets, tmp_path):
    keyfile, w1, w2 = wallets
    store = str(tmp_path / "db")
    node = NodeProc(tmp_path / "node", key=keyfile, store=store)
    try:
        url = node.url
        mid = upload_item(url, w2, aos_wasm)  # a stranger's upload: any signed item is stored
        proc = spawn_msg(w1, mid, "genesis-wasm@1.0")
        pid = hb.id(proc, "all")
        st, a = spawn(url, proc)
        assert st == "ok" and a["slot"] == 0, a
        s = ev(url, pid, w1, "return 1 + 1")
        assert result(url, pid, s) == ("ok", b"2")
        st, js = result(url, pid, s, "json/body")
        cu = orjson.loads(js)
        assert st == "ok" and cu["Output"]["data"] == "2" and cu["Messages"] == []
        assert set(cu) == {"Output", "Messages", "Spawns", "Assignments", "GasUsed"}
        ev(url, pid, w1, "Counter = 41")
        s = ev(url, pid, w1, "return Counter + 1")
        assert result(url, pid, s) == ("ok", b"42")
        # the legacy CU's schedule format: an edge per slot, the message and its assignment
        page = aos2(url, pid)
        assert [e["cursor"] for e in page["edges"]] == list(range(s + 1))
        assert page["page_info"]["process"] == pid and page["page_info"]["has_next_page"] is False
        node0 = page["edges"][0]["node"]
        assert node0["message"]["Id"] == pid and node0["message"]["Owner"] == w1.address
        tags = {t["name"]: t["value"] for t in node0["message"]["Tags"]}
        assert tags["Module"] == mid and tags["Execution-Device"] == "genesis-wasm@1.0"
        atags = {t["name"]: t["value"] for t in page["edges"][s]["node"]["assignment"]["Tags"]}
        assert atags["Process"] == pid and atags["Slot"] == str(s) and atags["Hash-Chain"]
        assert [e["cursor"] for e in aos2(url, pid, 1, 2)["edges"]] == [1, 2]
    finally:
        assert node.stop() == 0
    node = NodeProc(tmp_path / "node", key=keyfile, store=store)
    try:
        s2 = ev(node.url, pid, w1, "return Counter * 2")
        assert s2 == s + 1 and result(node.url, pid, s2) == ("ok", b"82")
    finally:
        assert node.stop() == 0


def test_bad_modules_get_4xx_and_nothing_is_stored(aos_wasm, wallets, tmp_path):
    keyfile, w1, _ = wallets
    node = NodeProc(tmp_path / "node", key=keyfile)
    try:
        url = node.url
        not_wasm = upload_item(url, w1, b"return 'I am Lua, not WASM'")
        for module, status, why in (
            ("z" * 43, 404, "not stored"),
            (not_wasm, 422, "not a WASM module"),
        ):
            proc = spawn_msg(w1, module, "genesis-wasm@1.0")
            pid = hb.id(proc, "all")
            st, body = raw(url, "POST", "/~scheduler@1.0/schedule", *_body(proc))
            assert st == status and why.encode() in body, (st, body[:300])
            assert aos2(url, pid)["edges"] == []
            assert raw(url, "GET", f"/{pid}")[0] == 404
        # a WASM header on bytes that do not compile: scheduled, but its compute is a 422
        broken = upload_item(url, w1, b"\0asm\x01\0\0\0 not a module")
        proc = spawn_msg(w1, broken, "genesis-wasm@1.0")
        assert spawn(url, proc)[0] == "ok"
        st, body = raw(url, "GET", f"/{hb.id(proc, 'all')}/compute/results/data?slot=0")
        assert st == 422 and b"does not compile" in body, (st, body[:300])
        assert raw(url, "GET", "/~meta@1.0/info/address")[0] == 200  # the node goes on
    finally:
        assert node.stop() == 0


def _body(proc: dict) -> tuple[dict, bytes]:
    """Headers and body of ``POST /~scheduler@1.0/schedule`` with ``proc`` as its body."""
    _, _, headers, body = client.encode_request(
        {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, None
    )
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()}, body


# ---- delegated-compute@1.0 against a compute unit on @permaweb/ao-loader ---------------------


def _ensure_cu() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        installed.missing("Node.js/npm are not installed: the CU stand-in needs them")
    if not (CU_DIR / "node_modules" / "@permaweb" / "ao-loader").is_dir():
        r = subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CU_DIR,
            capture_output=True,
            timeout=600,
        )
        if r.returncode != 0:
            installed.missing(f"npm ci failed in tests/interop/cu: {r.stderr.decode()[-500:]}")


class ComputeUnit:
    def __init__(self, hb_url: str, wasm_path: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [
                "node",
                "--experimental-wasm-memory64",
                str(CU_DIR / "cu_standin.cjs"),
                str(self.port),
                hb_url,
                str(wasm_path),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if raw(self.url, "GET", "/status")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the CU stand-in did not start: " + log.read_text()[-2000:])

    def seen(self) -> list:
        return json.loads(raw(self.url, "GET", "/seen")[1])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def test_delegated_compute_relays_to_an_ao_loader_cu(aos_wasm, fxdir, wallets, tmp_path):
    _ensure_cu()
    keyfile, w1, _ = wallets
    node = NodeProc(tmp_path / "node", key=keyfile)
    cu = None
    try:
        url = node.url
        cu = ComputeUnit(url, fxdir / "aos-2-pure-xs.wasm", tmp_path / "cu.log")
        route = {"template": "^/result/", "node": cu.url, "priority": 1}
        st, v = client.post(url, "/~router@1.0/routes", route, wallet=w1)  # the operator's
        assert st == "ok", v
        mid = upload_item(url, w1, aos_wasm)
        codes = ["return 1 + 1", "Counter = 41", "return Counter + 1", "return Counter +"]
        outs = {}
        for device in ("delegated-compute@1.0", "genesis-wasm@1.0"):
            proc = spawn_msg(w1, mid, device)
            pid = hb.id(proc, "all")
            st, a = spawn(url, proc)
            assert st == "ok", a
            slots = [ev(url, pid, w1, c) for c in codes]
            got = []
            for s in slots:
                st, js = result(url, pid, s, "json/body")
                assert st == "ok", js
                doc = orjson.loads(js)
                got.append((doc["Output"], doc.get("Error"), doc["Messages"]))
            outs[device] = got, pid, slots
        remote, pid, slots = outs["delegated-compute@1.0"]
        local, _, _ = outs["genesis-wasm@1.0"]
        assert remote[0][0]["data"] == "2" and remote[2][0]["data"] == "42"
        assert remote[3][1] and "unexpected symbol" in remote[3][1]
        assert remote == local  # the same Output, Error and Messages from both compute units
        assert result(url, pid, slots[2]) == ("ok", b"42")
        seen = cu.seen()
        posts = [x for x in seen if x["path"].startswith("/result/")]
        want = [f"/result/{s}?process-id={pid}" for s in [0, *slots]]  # slot 0: the process
        assert [x["path"] for x in posts] == want, seen
        assert all(x["edges"] == 1 and x["contentType"] == "application/json" for x in posts)
        assert any(x["path"] == "schedule 0-0" for x in seen)  # read the process in aos-2
    finally:
        if cu is not None:
            cu.stop()
        assert node.stop() == 0


def test_delegated_compute_without_a_cu_is_a_502(aos_wasm, wallets, tmp_path):
    keyfile, w1, _ = wallets
    node = NodeProc(tmp_path / "node", key=keyfile)
    try:
        url = node.url
        route = {"template": "^/result/", "node": f"http://127.0.0.1:{free_port()}"}
        assert client.post(url, "/~router@1.0/routes", route, wallet=w1)[0] == "ok"
        mid = upload_item(url, w1, aos_wasm)
        proc = spawn_msg(w1, mid, "delegated-compute@1.0")
        pid = hb.id(proc, "all")
        assert spawn(url, proc)[0] == "ok"
        st, body = raw(url, "GET", f"/{pid}/compute/results/data?slot=0")
        assert st == 502 and b"compute unit" in body, (st, body[:300])
    finally:
        assert node.stop() == 0
