"""aoconnect 0.0.98 (npm, mainnet mode) spawns, messages, reads and dry-runs an AOS process on a
node this test starts (RocksDB store), with a key that is not the operator's, then again after
a restart (issue 12). The module is uploaded as a signed ANS-104 data item.

The process runs on what aoconnect asks for (``execution-device: genesis-wasm@1.0``), and
again on the node's wasm-64 + json-iface stack (spawn tags override the execution device and
name the stack and its ``image``).

Also the bad input of issue 12's Proof: a data item with a bad signature, a push to an unknown
process, a module ID that is not stored, a module that is not WASM: a 4xx with a body each, and
nothing scheduled."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.devices.process import AOS_EXECUTION
from node_util import NodeProc
from test_node_aoconnect import HERE, _ensure_npm

STACK_TAGS = [
    {"name": "execution-device", "value": "stack@1.0"},
    {
        "name": "device-stack",
        "value": '"wasi@1.0", "json-iface@1.0", "wasm-64@1.0", "multipass@1.0"',
    },
    {"name": "output-prefix", "value": "wasm"},
    {"name": "passes", "value": "2"},
    {"name": "stack-keys", "value": '"init", "compute", "snapshot", "normalize"'},
    {"name": "ao-types", "value": 'device-stack="list", passes="integer", stack-keys="list"'},
]


def _step(tmp: Path, step: str, url: str, args: dict) -> dict:
    (tmp / "args.json").write_text(json.dumps(args))
    r = subprocess.run(
        ["node", str(HERE / "ao_process.mjs"), step, url, str(tmp / "args.json")],
        capture_output=True,
        timeout=300,
        cwd=HERE,
    )
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("execution", ["genesis-wasm", "stack"])
def test_aoconnect_spawn_message_result_dryrun_restart(
    execution,
    aos_wasm,  # noqa: F811
    wallets,  # noqa: F811
    tmp_path,
):
    _ensure_npm()
    keyfile, w1, w2 = wallets
    opkey = tmp_path / "operator.json"
    hb.Wallet.generate().save(opkey)  # the clients' keys are not the operator's
    k1, k2 = tmp_path / "k1.json", tmp_path / "k2.json"
    w1.save(k1)
    w2.save(k2)
    store = str(tmp_path / "db")
    wasm = tmp_path / "aos.wasm"
    wasm.write_bytes(aos_wasm)
    node = NodeProc(tmp_path / "node", key=opkey, store=store)
    try:
        up = _step(tmp_path, "upload", node.url, {"key": str(k1), "wasm": str(wasm)})
        assert up["status"] == 200, up
        args = {"key": str(k1), "other": str(k2), "module": up["id"]}
        if execution == "stack":
            args.update({"tags": STACK_TAGS, "image": True})
        out = _step(tmp_path, "flow", node.url, args)
    finally:
        assert node.stop() == 0
    pid = out["spawn"]
    assert isinstance(pid, str) and len(pid) == 43, out
    assert out["two"] == {"slot": 1, "output": "2", "error": None}, out
    assert out["counter"]["output"] == "42" and out["counter"]["slot"] == 3, out
    assert out["results"] == [{"cursor": "3", "output": "42"}], out
    # every slot's result, in pages, as the ao CU's `GET /results/<pid>` (legacy aoconnect)
    cu = out["cu_results"]
    assert "all" in cu, cu
    assert [e["slot"] for e in cu["all"]] == ["0", "1", "2", "3"], cu
    assert [e["output"] for e in cu["all"][1:]] == ["2", "", "42"], cu
    assert cu["page1"] == cu["all"][:2] and cu["page2"] == cu["all"][2:], cu
    assert cu["desc"] == cu["all"][::-1], cu
    assert cu["upto"] == cu["all"][:2], cu
    # a dry run computes against the latest state and schedules nothing
    assert out["dryrun"] == {"output": "82", "error": None}, out
    assert out["slot_before"] == out["slot_after"] == "3", out
    # an Eval from a key that is not the owner is not run by AOS (Counter unchanged)
    assert out["foreign"]["slot"] == 4 and "taken" not in out["foreign"]["output"], out
    assert out["counter_after_foreign"]["output"] == "41", out

    node = NodeProc(tmp_path / "node2", key=opkey, store=store)
    try:
        again = _step(tmp_path, "again", node.url, {"key": str(k1), "process": pid})
        # a whole results message (the AOS prompt has colour escapes): a reply, not a dropped
        # connection; values that cannot be headers travel in the multipart body
        # the CU's page info (aoconnect's schema drops it) and its results after the restart
        with urllib.request.urlopen(f"{node.url}/results/{pid}?limit=2&sort=DESC", timeout=60) as r:
            page = json.loads(r.read())
        assert page["pageInfo"] == {"hasNextPage": True}, page
        assert [e["node"]["Output"]["data"] for e in page["edges"]] == ["42", "41"], page
        for path in (f"/{pid}/compute/results?slot=1", f"/{pid}/now/results"):
            with urllib.request.urlopen(node.url + path, timeout=60) as r:
                body = r.read()
                assert r.status == 200 and (b"\x1b[" in body or b"\\u001b[" in body), path
    finally:
        assert node.stop() == 0
    assert again["counter"] == {"slot": 6, "output": "42", "error": None}, again


def _post_item(url: str, path: str, raw: bytes) -> tuple[int, bytes, dict]:
    req = urllib.request.Request(
        url + path,
        data=raw,
        method="POST",
        headers={"content-type": "application/ans104", "codec-device": "ans104@1.0"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


@pytest.fixture
def bad_node(tmp_path):
    node = NodeProc(tmp_path / "node", store=str(tmp_path / "db"))
    yield node
    node.stop()


def _item(w: hb.Wallet, fields: dict) -> bytes:
    return ans104.encode(hb.commit(fields, w, "ans104@1.0"))


def _slot(url: str, pid: str) -> bytes:
    try:
        with urllib.request.urlopen(f"{url}/{pid}/slot/current", timeout=60) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        return str(e.code).encode()


def test_bad_client_input_is_a_4xx_and_schedules_nothing(bad_node, wallets, aos_wasm):  # noqa: F811
    _, w1, _ = wallets
    url = bad_node.url
    msg = {"data-protocol": "ao", "type": "Message", "action": "Eval", "data": "return 1"}
    # a data item with a bad signature: 400 naming it
    raw = bytearray(_item(w1, {**msg, "target": hb.native_id("A" * 43)}))
    raw[5] ^= 0xFF  # inside the signature
    st, body, _ = _post_item(url, "/push", bytes(raw))
    assert st == 400 and b"signature" in body, (st, body)
    # a push to a process this node does not know: 404 with a body, nothing scheduled
    unknown = "B" * 43
    item = _item(w1, {**msg, "target": hb.native_id(unknown)})
    st, body, _ = _post_item(url, f"/{unknown}~process@1.0/push", item)
    assert 400 <= st < 500 and body, (st, body)
    assert _slot(url, unknown) in (b"-1", b"404")  # no slot assigned
    # a process whose module is not stored, and one whose module is not WASM: the spawn is
    # scheduled (as in HyperBEAM); its first message is answered with an error and a body
    up = hb.commit({"content-type": "text/plain", "data": "not wasm"}, w1, "ans104@1.0")
    assert _post_item(url, "/content-type", ans104.encode(up))[0] == 200
    for module in ("C" * 43, hb.id(up, "all")):
        proc = {"device": "process@1.0", "type": "Process", "scheduler": w1.address}
        proc.update({**AOS_EXECUTION, "image": module, "module": module})
        st, body, headers = _post_item(url, "/push", _item(w1, proc))
        pid = headers.get("process")
        assert st == 200 and pid, body
        item = _item(w1, {**msg, "target": hb.native_id(pid)})
        st, body, _ = _post_item(url, f"/{pid}~process@1.0/push", item)
        assert st >= 400 and body, (module, st, body)
