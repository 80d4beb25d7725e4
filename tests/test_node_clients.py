"""The request contract AO clients follow (issue 12 items 2, 4, 5), in process: path segments
``Part=Value`` and ``%3F``, plain JSON replies with ``raw``, raw 32-byte IDs, the scheduler
scheduling only what was signed, and replies that never break the connection."""

from __future__ import annotations

import logging

import hyperbeam_fast as hb
import orjson
import pytest
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.commitments import proven
from hyperbeam_fast.exceptions import CodecError
from hyperbeam_fast.message import human_id
from hyperbeam_fast.node.http import (
    PLAIN_JSON,
    accept_to_codec,
    plain_json,
    request_to_singleton,
    response_to_message,
)
from hyperbeam_fast.node.pipeline import Node
from hyperbeam_fast.path import parse_path

PID = "A" * 43


def test_part_equals_value_segments_and_encoded_question_mark():
    msgs = parse_path({"path": f"/{PID}~process@1.0/compute/results=5"})
    assert msgs[1] == {"path": "compute"} and msgs[2] == {"path": "results", "results": "5"}
    msgs = parse_path({"path": f"/{PID}~process@1.0/as=execution/compute&Action=Eval"})
    assert msgs[1] == {"path": "as", "as": "execution"}
    assert msgs[2] == {"path": "compute", "action": "Eval"}
    assert parse_path({"path": f"/{PID}/compute%3Fslot=5"}) == [
        PID,
        {"path": "compute", "slot": "5"},
    ]
    # b2743e4a's meaning for what clients do not send: a literal `(` is still text
    assert parse_path("/a(?x=1") == [{}, {"path": "a(?x=1"}]


def test_human_id_takes_raw_and_text_ids_never_decodes_binaries_as_text():
    raw = bytes(range(32))
    assert human_id(raw) == hb.human_id(raw) and len(human_id(raw)) == 43
    assert human_id(PID) == PID and human_id(PID.encode()) == PID
    with pytest.raises(CodecError):
        human_id(b"\xff" * 20)


def test_plain_json_replies_carry_the_compute_units_json_as_raw():
    cu = {"Output": {"data": "2"}, "Messages": [], "GasUsed": 7}
    msg = {
        "slot": 3,
        "process": PID,
        "json": {"content-type": "application/json", "body": orjson.dumps(cu)},
        "bin": b"\xff\x00",
        "priv": {"secret": 1},
    }
    out = orjson.loads(plain_json(msg))
    assert out["raw"] == cu and out["slot"] == 3 and out["process"] == PID
    assert out["bin"] == hb.b64url_encode(b"\xff\x00") and "priv" not in out
    assert accept_to_codec({"require-codec": "application/json"}) == PLAIN_JSON


def _item(w: hb.Wallet, fields: dict) -> bytes:
    return ans104.encode(hb.commit(fields, w, "ans104@1.0"))


def test_scheduler_schedules_only_the_signed_keys_and_raw_targets(tmp_path):
    w = hb.Wallet.generate()
    node = Node({"store": "memory"}, wallet=w)
    proc = {"device": "process@1.0", "type": "Process", "scheduler": w.address}
    hdrs = [(b"codec-device", b"ans104@1.0")]
    st, h, body = node.handle("POST", "/push", hdrs, _item(w, proc))
    pid = dict(h)[b"process"].decode()
    assert st == 200, body
    msg = {"type": "Message", "action": "Ping", "target": hb.native_id(pid)}
    path = f"/{pid}~process@1.0/schedule&extra=unsigned"
    st, h, body = node.handle("POST", path, hdrs, _item(w, msg))
    assert st == 200, body
    js = [(b"require-codec", b"application/json")]
    a = node.handle("GET", f"/{pid}/schedule?from=1&to=1", js, b"")[2]
    got = orjson.loads(a)["assignments"]["1"]["body"]
    # the node's method and path, and the path's key, are not part of what was scheduled
    assert "extra" not in got and "method" not in got and "path" not in got
    assert got["action"] == "Ping"
    # the assignment's process is the 43-character form of the data item's raw target
    assert orjson.loads(a)["assignments"]["1"]["process"] == pid


def test_replies_never_break_the_connection(caplog):
    node = Node({"store": "memory", "force_signed": False})
    st, h, body = node.handle("GET", "/~message@1.0&prompt=%1B%5B32maos%0Ax", [], b"")
    assert st == 200 and b"multipart/form-data" in dict(h)[b"content-type"]
    assert not any(b"\x1b" in v or b"\n" in v for _, v in h)
    _, got = response_to_message(st, [(k.decode(), v.decode()) for k, v in h], body)
    assert got["prompt"] == b"\x1b[32maos\nx"
    with caplog.at_level(logging.ERROR):
        st, _, body = node.handle("GET", "/~message@1.0&a%01b=1", [], b"")
    assert st == 500 and b"cannot be sent over HTTP" in body
    assert any("request failed" in r.getMessage() for r in caplog.records)
    st, _, body = node.handle("GET", "/~nosuch@1.0/x", [], b"")
    assert st == 404 and b"nosuch@1.0" in body


def test_an_ans104_request_keeps_the_proof_of_what_was_signed():
    w = hb.Wallet.generate()
    msg, signed = request_to_singleton(
        "POST", "/push", [(b"codec-device", b"ans104@1.0")], _item(w, {"type": "Message"})
    )
    assert signed and msg["method"] == "POST" and msg["path"] == "/push"
    part = proven(msg)
    assert part is not None and "method" not in part and "path" not in part
    assert hb.verify(part) and hb.signers(part) == [w.address]


def test_a_dry_run_leaves_no_trace(fxdir):
    from hyperbeam_fast.devices.process import AOS_EXECUTION
    from hyperbeam_fast.store import MemoryStore

    w = hb.Wallet.from_file(str(fxdir / "key-1.json"))
    store = MemoryStore()
    node = Node({"store": store}, wallet=w)
    hdrs = [(b"codec-device", b"ans104@1.0")]
    wasm = (fxdir / "aos-2-pure-xs.wasm").read_bytes()
    mod = hb.commit({"content-type": "application/wasm", "data": wasm}, w, "ans104@1.0")
    assert node.handle("POST", "/content-type", hdrs, ans104.encode(mod))[0] == 200
    proc = {"device": "process@1.0", "type": "Process", "scheduler": w.address}
    proc.update({**AOS_EXECUTION, "image": hb.id(mod, "all"), "authority": w.address})
    st, h, _ = node.handle("POST", "/push", hdrs, _item(w, proc))
    pid = dict(h)[b"process"].decode()
    aoc = {"type": "Message", "require-codec": "application/json", "target": hb.native_id(pid)}
    st, _, out = node.handle(
        "POST",
        f"/{pid}~process@1.0/push",
        hdrs,
        _item(w, {**aoc, "action": "Eval", "data": "C = 41"}),
    )
    assert st == 200, out
    before = repr(store)
    dry = f"/{pid}~process@1.0/as=execution/compute&Action=Eval"
    st, _, out = node.handle("POST", dry, hdrs, _item(w, {**aoc, "data": "C = C + 1; return C"}))
    assert st == 200 and orjson.loads(out)["raw"]["Output"]["data"] == "42", out
    assert repr(store) == before  # nothing written: no slot, no state, not the request
    # the live state did not move: the same dry run answers the same
    st, _, out = node.handle("POST", dry, hdrs, _item(w, {**aoc, "data": "C = C + 1; return C"}))
    assert orjson.loads(out)["raw"]["Output"]["data"] == "42"
    # a dry run by a key that is not the owner: AOS does not evaluate it
    other = hb.Wallet.generate()
    st, _, out = node.handle("POST", dry, hdrs, _item(other, {**aoc, "data": "return C"}))
    assert st == 200 and orjson.loads(out)["raw"]["Output"].get("data") != "41"
