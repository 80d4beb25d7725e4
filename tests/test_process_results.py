"""``GET /results/<ProcID>``: a process's results in pages, as the ao compute unit answers them
(devices/process_results.py; aoconnect's legacy ``results`` against a node is in
tests/test_node_aoconnect_process.py)."""

from __future__ import annotations

import base64
import json

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.devices.process import forget_live
from hyperbeam_fast.devices.process_results import cursor
from hyperbeam_fast.node import pipeline

pytest.importorskip("wasmtime")
ANS = [(b"content-type", b"application/ans104"), (b"codec-device", b"ans104@1.0")]


@pytest.fixture(scope="module")
def proc(aos_wasm, wallets):
    _, w, _ = wallets
    node = pipeline.Node({"store": "memory"}, wallet=w)
    limits = {"memory-limit": "1-gb", "compute-limit": "9000000000000"}
    mod = hb.commit(
        {"content-type": "application/wasm", "data": aos_wasm, **limits}, w, "ans104@1.0"
    )
    assert node.handle("POST", "/content-type", ANS, ans104.encode(mod))[0] == 200
    p = {"device": "process@1.0", "type": "Process", "scheduler": w.address, "data": "1984"}
    p |= {"authority": w.address, "module": hb.id(mod, "all")}
    p["execution-device"] = "genesis-wasm@1.0"
    st, h, _ = node.handle("POST", "/push", ANS, ans104.encode(hb.commit(p, w, "ans104@1.0")))
    pid = dict(h)[b"process"].decode()
    for code in ("return 1 + 1", "error('boom')", "return 'three'", "return 4"):
        m = {"action": "Eval", "data": code, "target": hb.native_id(pid), "type": "Message"}
        item = ans104.encode(hb.commit(m, w, "ans104@1.0"))
        assert node.handle("POST", f"/{pid}~process@1.0/push", ANS, item)[0] == 200
    yield node, pid
    forget_live()


def _page(node, pid, query="", headers=()):
    st, _, body = node.handle("GET", f"/results/{pid}{query}", list(headers), b"")
    return st, (json.loads(body) if st == 200 else body)


def _slots(page):
    return [int(json.loads(base64.b64decode(e["cursor"]))["ordinate"]) for e in page["edges"]]


def test_pages_sort_and_cursors(proc):
    node, pid = proc
    st, page = _page(node, pid, "", [(b"accept", b"application/json")])
    assert st == 200 and page["pageInfo"] == {"hasNextPage": False}
    assert _slots(page) == [0, 1, 3, 4]  # slot 2's result has an Error: left out, as by the CU
    assert [e["node"]["Output"]["data"] for e in page["edges"][1:]] == ["2", "three", "4"]
    assert set(page["edges"][1]["node"]) == {"Output", "Messages", "Assignments", "Spawns"}
    doc = json.loads(base64.b64decode(page["edges"][1]["cursor"]))
    assert set(doc) == {"timestamp", "ordinate", "sort"} and doc["sort"] == "ASC"
    assert page["edges"][1]["cursor"] == cursor(doc["timestamp"], 1, "ASC")
    # limit + from (exclusive) pages through; to is inclusive
    st, p1 = _page(node, pid, "?limit=2&from=" + page["edges"][0]["cursor"])
    assert _slots(p1) == [1, 3] and p1["pageInfo"]["hasNextPage"] is False  # (2: an Error)
    st, p1 = _page(node, pid, "?limit=1")
    assert _slots(p1) == [0] and p1["pageInfo"]["hasNextPage"] is True
    st, p2 = _page(node, pid, f"?limit=3&from={p1['edges'][-1]['cursor']}")
    assert _slots(p2) == [1, 3, 4] and p2["pageInfo"]["hasNextPage"] is False
    st, upto = _page(node, pid, f"?to={page['edges'][2]['cursor']}")
    assert _slots(upto) == [0, 1, 3]
    st, desc = _page(node, pid, "?sort=DESC&limit=3")
    assert _slots(desc) == [4, 3, 1] and desc["pageInfo"]["hasNextPage"] is False
    # a bare timestamp: from includes that millisecond (the CU's evaluation IDs), to too
    stamps = {
        n: json.loads(base64.b64decode(e["cursor"]))["timestamp"]
        for n, e in zip(_slots(page), page["edges"], strict=True)
    }
    ts = stamps[3]
    st, since = _page(node, pid, f"?from={ts}")
    assert _slots(since) == [n for n, t in stamps.items() if t >= ts]
    st, before = _page(node, pid, f"?to={ts}")
    assert _slots(before) == [n for n, t in stamps.items() if t <= ts]
    assert 3 in _slots(since) and 3 in _slots(before)


def test_bad_queries_are_400_and_unknown_processes_404(proc):
    node, pid = proc
    for q, why in (
        ("?sort=UP", b"sort"),
        ("?limit=many", b"limit"),
        ("?limit=0", b"limit"),
        ("?limit=inf", b"limit"),
        ("?limit=nan", b"limit"),
        ("?to=" + base64.b64encode(b'{"timestamp": 1e400}').decode(), b"cursor"),
        ("?from=not-a-cursor", b"neither a cursor nor a timestamp"),
    ):
        st, body = _page(node, pid, q)
        assert st == 400 and why in body, (q, st, body)
    st, body = _page(node, "Q" * 43)
    assert 400 <= st < 500, (st, body)
