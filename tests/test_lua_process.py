"""hyper-aos on process@1.0 (issue 14 items 3, 5, 6): Eval by the owner, handlers and replies,
the Inbox, print output, state across slots; the same schedule computed twice and after a
restart gives byte-identical results and state IDs; a restart resumes from the newest Lua
checkpoint instead of replaying the history; a runaway slot fails alone."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import ao, cache
from hyperbeam_fast.devices import lua as lua_dev
from hyperbeam_fast.devices.process import forget_live, register_process_devices
from hyperbeam_fast.devices.process_compute import public_state
from hyperbeam_fast.store import MemoryStore

register_process_devices()

PING = (
    "Handlers.add('ping', function(m) return m.body.action == 'Ping' end, function(msg)"
    " Pings = (Pings or 0) + 1; print('ping ' .. Pings .. ' ' .. tostring(Pings / 3));"
    " msg.reply({data = 'pong ' .. Pings}) end)"
)


@pytest.fixture(scope="module")
def wallets(fxdir):
    return hb.Wallet.from_file(str(fxdir / "key-1.json")), hb.Wallet.from_file(
        str(fxdir / "key-2.json")
    )


@pytest.fixture(scope="module")
def aos_code(fxdir):
    return (fxdir / "hyper-aos.lua").read_text()


def _process(w, store, code):
    mod = cache.write({"content-type": "application/lua", "body": code}, store)
    proc = hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "scheduler": w.address,
            "execution-device": "lua@5.3a",
            "module": mod,
            "authority": w.address,
        },
        w,
    )
    return proc, hb.id(proc, "all")


def _send(proc, pid, w, opts, **fields):
    m = hb.commit({"target": pid, "type": "Message", **fields}, w)
    s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
    assert s == "ok", a
    return int(a["slot"]) if isinstance(a, dict) and "slot" in a else None


def _out(st):
    return st["results"]["output"]["data"]


def test_hyper_aos_flows(wallets, aos_code):
    w, guest = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w}
    proc, pid = _process(w, store, aos_code)
    _send(proc, pid, w, opts, action="Eval", data="1 + 1")
    _send(proc, pid, w, opts, action="Eval", data=PING)
    _send(proc, pid, guest, opts, action="Ping")
    _send(proc, pid, guest, opts, action="Eval", data="Pings = 99")  # not the owner
    _send(proc, pid, guest, opts, action="Hello", data="inbox me")
    _send(proc, pid, w, opts, action="Eval", data="return Pings .. ' ' .. #Inbox")
    _send(proc, pid, w, opts, action="Eval", data="print('printed'); return 'x'")
    s, st = ao.resolve(proc, {"path": "compute", "slot": 0}, opts)
    assert s == "ok" and _out(st) == "2"
    st = ao.resolve(proc, {"path": "compute", "slot": 2}, opts)[1]
    assert _out(st) == "ping 1 0.3333333333333333"  # Luerl's float printing
    (reply,) = st["results"]["outbox"].values()
    assert reply["data"] == "pong 1" and reply["target"] == guest.address
    # the guest's Eval is not run (hyper-aos: only the owner's Eval), it lands in the Inbox
    assert _out(ao.resolve(proc, {"path": "compute", "slot": 3}, opts)[1]) == "New Message"
    assert _out(ao.resolve(proc, {"path": "compute", "slot": 5}, opts)[1]) == "1 2"
    assert _out(ao.resolve(proc, "now", opts)[1]) == "printed\nx"


def test_untrusted_from_process_is_refused(wallets, aos_code):
    """HyperBEAM's aos_authority_not_trusted_test: a message claiming another from-process."""
    w, guest = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w}
    proc, pid = _process(w, store, aos_code)
    _send(proc, pid, guest, opts, action="Eval", data="1 + 1", **{"from-process": "1234"})
    assert _out(ao.resolve(proc, "now", opts)[1]) == "Message is not trusted."


def _schedule_200(proc, pid, w, guest, opts):
    _send(proc, pid, w, opts, action="Eval", data=PING)
    for i in range(199):
        if i % 4 == 0:
            data = (
                f"N{i} = {{z = {i}, a = {i / 7}, [{i}] = 'k'}}; local o = {{}}; "
                f"for k, v in pairs(N{i}) do o[#o + 1] = tostring(k) .. '=' .. tostring(v) end; "
                f"return table.concat(o, ',') .. ' ' .. math.random(100) .. ' ' .. tostring({{}})"
            )
            _send(proc, pid, w, opts, action="Eval", data=data)
        elif i % 4 == 1:
            _send(proc, pid, guest, opts, action="Ping", n=i)
        else:
            _send(proc, pid, guest, opts, action="Note", data=f"note {i}")


def _plain(v):
    """Results as text (a live state holds str, one read back from the store bytes)."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _states(proc, store, w, upto):
    opts = {"priv_store": store, "priv_wallet": w, "process_snapshot_interval": 50}
    forget_live()
    out = []
    for n in range(upto + 1):  # slot by slot: only checkpointed and newest states are stored
        s, st = ao.resolve(proc, {"path": "compute", "slot": n}, opts)
        assert s == "ok"
        out.append((hb.id(public_state(st), "all"), _plain(st["results"])))
    return out


def _copy(store):
    """A second store holding what ``store`` holds (the schedule, no computed state)."""
    out = MemoryStore()
    out._d = dict(store._d)
    out._kids = {k: set(v) for k, v in store._kids.items()}
    return out


def test_same_schedule_same_results_and_ids(wallets, aos_code):
    w, guest = wallets
    a = MemoryStore()
    proc, pid = _process(w, a, aos_code)
    _schedule_200(proc, pid, w, guest, {"priv_store": a, "priv_wallet": w})
    b, c = _copy(a), _copy(a)
    first = _states(proc, a, w, 199)
    second = _states(proc, b, w, 199)
    assert first == second
    assert len({i for i, _ in first}) == 200
    # a restart at slot 120 (checkpoints at 0, 50, 100), then on to 199 from the slot-100 one
    assert _states(proc, c, w, 120) == first[:121]
    calls = []
    orig = lua_dev.LuaDevice.call

    def counting(self, key, *args):
        calls.append(key)
        return orig(self, key, *args)

    lua_dev.LuaDevice.call = counting
    try:
        forget_live()
        opts = {"priv_store": c, "priv_wallet": w, "process_snapshot_interval": 50}
        s, st = ao.resolve(proc, {"path": "compute", "slot": 199}, opts)
    finally:
        lua_dev.LuaDevice.call = orig
    assert s == "ok" and hb.id(public_state(st), "all") == first[199][0]
    assert len(calls) == 199 - 100  # from the slot-100 checkpoint, not from slot 0
    ev = [r["output"]["data"] for _, r in first if "=" in str(r["output"].get("data", ""))]
    assert ev[0].startswith("0=k,a=0.0,z=0 ") and "table: 0x" in ev[0]


def test_runaway_slot_fails_alone(wallets, aos_code):
    w, _ = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w, "lua_instructions": 20000}
    proc, pid = _process(w, store, aos_code)
    _send(proc, pid, w, opts, action="Eval", data="X = 1")
    _send(proc, pid, w, opts, action="Eval", data="X = 2; while true do end")
    _send(
        proc,
        pid,
        w,
        opts,
        action="Eval",
        data="X = X + 10; local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 100) end",
    )
    _send(proc, pid, w, opts, action="Eval", data="return X")
    s, st = ao.resolve(proc, "now", {**opts, "lua_memory": 64 << 20})
    assert s == "ok" and _out(st) == "1"  # slots 1 and 2 rolled back
    r1 = _plain(ao.resolve(proc, {"path": "compute", "slot": 1}, opts)[1]["results"])
    assert r1["type"] == "error" and "instruction limit" in r1["error"]
    r2 = _plain(ao.resolve(proc, {"path": "compute", "slot": 2}, opts)[1]["results"])
    assert r2["type"] == "error" and "memory" in r2["error"]


def test_push_delivers_signed_outbox_to_lua_process(wallets, aos_code):
    """push@1.0 sends an outbox message as dev_push does: with ``from-process`` and the other
    ao keys set and signed by the node's wallet. An unsigned one failed the target's slot
    (hyper-aos reads ``commitments``); a signed one is computed by the target's hyper-aos."""
    from hyperbeam_fast.commitments import committers, verify
    from hyperbeam_fast.devices import push

    w, guest = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": guest}  # the node's wallet: not the owner's
    a, aid = _process(w, store, aos_code)
    b = hb.commit({**{k: v for k, v in a.items() if k != "commitments"}, "name": "B"}, w)
    bid = hb.id(b, "all")
    cache.write(b, store)
    _send(b, bid, w, opts, action="Eval", data="Seen = 0")  # B's slot 0
    code = f"Send({{target = '{bid}', action = 'Note', data = 'hello'}}); return 1"
    m = hb.commit({"target": aid, "type": "Message", "action": "Eval", "data": code}, w)
    s, r = push.push(a, {"body": m}, opts)
    assert s == "ok" and r["1"]["status"] == "ok" and r["1"]["slot"] == 1, r
    s, sch = ao.resolve(b, {"path": "schedule", "from": 1}, opts)
    body = sch["assignments"]["1"]["body"]
    body = {**body, **_plain({k: v for k, v in body.items() if k != "commitments"})}
    assert body["action"] == "Note" and body["from-process"] == aid and body["type"] == "Message"
    assert body["data-protocol"] == "ao" and body["variant"] == "ao.N.1"
    assert committers(body) == [guest.address] and verify(body)
    assert r["1"]["id"] == hb.id(body, "all")
    s, st = ao.resolve(b, {"path": "compute", "slot": 1}, opts)
    assert s == "ok" and st["results"].get("type") != "error", st["results"]
    # hyper-aos trusts its owner's messages only (ao.authorities: docs/lua.md): B's answer
    assert _out(st) == "Message is not trusted."
    assert lua_dev.broken(st) is None


def test_restart_replays_from_newest_checkpoint_not_slot_0(wallets, aos_code):
    """Issue 14 item 6: 260 slots computed in one go (states stored only with the checkpoints
    at 0, 100, 200 and the newest), then a node restart: the next message is answered after
    a replay from the slot-200 checkpoint (counted: 60 slots, not 261), and a slot between
    checkpoints reads back as it was computed."""
    w, guest = wallets
    store = MemoryStore()
    opts = {"priv_store": store, "priv_wallet": w, "process_snapshot_interval": 100}
    proc, pid = _process(w, store, aos_code)
    _send(proc, pid, w, opts, action="Eval", data=PING)
    for i in range(259):
        _send(proc, pid, guest, opts, action="Ping", n=i)
    s, st = ao.resolve(proc, "now", opts)
    assert s == "ok" and int(st["at-slot"]) == 259
    before = _plain(ao.resolve(proc, {"path": "compute", "slot": 137}, opts)[1]["results"])
    assert before["output"]["data"].startswith("ping 137 ")
    stored = cache.list_numbered(f"computed/{pid}/slot", store)
    assert stored == [0, 100, 137, 200, 259]  # 137: the read above recomputed it
    _send(proc, pid, w, opts, action="Eval", data="return Pings")
    calls = []
    orig = lua_dev.LuaDevice.call

    def counting(self, key, *args):
        calls.append(key)
        return orig(self, key, *args)

    forget_live()
    lua_dev.LuaDevice.call = counting
    try:
        s, st = ao.resolve(proc, "now", opts)
    finally:
        lua_dev.LuaDevice.call = orig
    assert s == "ok" and _out(st) == "259"
    assert calls == ["compute"] * 60  # slots 201..260 on the slot-200 checkpoint
    forget_live()
    got = _plain(ao.resolve(proc, {"path": "compute", "slot": 137}, opts)[1]["results"])
    assert got == before
