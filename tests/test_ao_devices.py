"""stack@1.0 (with dedup; the rest is in test_stack.py), multipass@1.0, dedup@1.0, patch@1.0
and test-device@1.0 (spec runtime §9, §13)."""

import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.devices.message import MessageDevice


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


def append_device(sep, extra=None):
    def append(m1, m2):
        if m1.get("pass") == 3:
            return "ok", m1
        return "ok", {**m1, "result": _s(m1.get("result", "")) + sep + _s(m2["bin"])}

    dev = {"append": append}
    dev.update(extra or {})
    return dev


def stack(*devices, **extra):
    return {
        "device": "stack@1.0",
        "device-stack": {str(i): d for i, d in enumerate(devices, 1)},
        "result": "INIT",
        **extra,
    }


def run(msg, bin_, **req):
    status, out = ao.resolve(msg, {"path": "append", "bin": bin_, **req})
    assert status == "ok", out
    return out


def test_transform_path():
    def cool(key, m1):
        return "ok", {key: _s(m1[key]) + "-Cool"}

    dev = {"info": {"handler": cool}}
    msg = {"device": "stack@1.0", "device-stack": {"make-cool": dev}, "value": "Super"}
    st, out = ao.resolve(msg, "/transform/make-cool/value")
    assert st == "ok" and ao.get(out, "value") == "Super-Cool"


def test_stack_keys_exports():
    msg = stack(append_device("+D1"), **{"stack-keys": ["append"], "other": "plain"})
    assert run(msg, "1")["result"] == "INIT+D11"
    assert ao.get(msg, "other") == "plain"


def test_multipass():
    assert ao.resolve({"device": "multipass@1.0", "passes": 2, "pass": 1}, "compute")[0] == "pass"
    assert ao.resolve({"device": "multipass@1.0", "passes": 2, "pass": 2}, "compute")[0] == "ok"


def test_dedup_in_stack():
    msg = stack("dedup@1.0", append_device("+D2"), append_device("+D3"))
    for b in ("_", "_", "/", "/"):
        msg = run(msg, b)
    assert msg["result"] == "INIT+D2_+D3_+D2/+D3/"


def test_dedup_with_multipass():
    msg = stack("dedup@1.0", append_device("+D2"), append_device("+D3"), "multipass@1.0", passes=2)
    for b in ("_", "_", "/", "/"):
        msg = run(msg, b)
    assert msg["result"] == "INIT+D2_+D3_+D2_+D3_+D2/+D3/+D2/+D3/"


OUTBOX = {
    "1": {"method": "PATCH", "prices": {"apple": 100, "banana": 200}},
    "2": {"method": "GET", "prices": {"apple": 1000}},
}


def test_patch_compute():
    state = {
        "device": "patch@1.0",
        "results": {"outbox": OUTBOX},
        "patch-to": "/",
        "patch-from": "/results/outbox",
    }
    st, out = ao.resolve(state, "compute", {"hashpath": "ignore"})
    assert st == "ok"
    assert ao.get(out, "prices/apple") == 100
    assert ao.get(out, "results/outbox/1") is None
    assert ao.get(out, "results/outbox/2/method") == "GET"


def test_patch_to_state_and_all():
    state = {
        "device": "patch@1.0",
        "results": {"outbox": OUTBOX},
        "patch-to": "/state",
        "patch-from": "/results/outbox",
    }
    st, out = ao.resolve(state, "patches", {"hashpath": "ignore"})
    assert ao.get(out, "state/prices/apple") == 100
    zones = {
        "1": {"method": "PATCH", "prices": {"apple": 100}},
        "2": {"method": "PATCH", "prices": {"orange": 300}},
    }
    msg = {"device": "patch@1.0", "input": {"zones": zones}}
    req = {"path": "all", "patch-from": "/input/zones", "patch-to": "/state"}
    st, out = ao.resolve(msg, req, {"hashpath": "ignore"})
    assert ao.get(out, "state/1/prices/apple") == 100
    assert ao.get(out, "state/2/prices/orange") == 300
    assert ao.get(out, "input/zones") is None


def test_patch_from_request():
    msg = {"device": "patch@1.0", "patch-to": "/state"}
    req = {"path": "all", "patch-from": "req:/results/outbox/1", "results": {"outbox": OUTBOX}}
    st, out = ao.resolve(msg, req, {"hashpath": "ignore"})
    assert ao.get(out, "state/prices/apple") == 100
    assert ao.get(out, "state/prices/banana") == 200


def test_test_device_compute_restore():
    st, m = ao.resolve({"device": "test-device@1.0"}, "init")
    st, m = ao.resolve(m, {"path": "compute", "slot": 1})
    assert ao.get(m, "results/assignment-slot") == 1
    st, m = ao.resolve(m, {"path": "compute", "slot": 2})
    assert ao.get(m, "results/assignment-slot") == 2
    assert m["already-seen"] == [2, 1]
    assert ao.resolve({"device": "test-device@1.0"}, "restore")[0] == "error"
    st, r = ao.resolve(m, "restore")
    assert st == "ok" and "started-state" in r["priv"]["test-key"]


def test_registry_extend_and_restrict():
    class Echo:
        name = "echo@1.0"

        def echo(self, m1, m2):
            return "ok", m2

        def pass_(self, m1):
            return "ok", "python keywords work with a trailing underscore"

    ao.register_device("Echo@1.0", Echo())
    try:
        assert ao.get({"device": "ECHO@1.0"}, "echo/param", {"hashpath": "ignore"}) is None
        st, v = ao.resolve({"device": "echo@1.0"}, {"path": "echo/param", "param": "example"})
        assert (st, v) == ("ok", "example")
        assert ao.resolve({"device": "echo@1.0"}, "pass")[1].startswith("python")
        only_message = {"preloaded_devices": {"message@1.0": ao.MESSAGE_DEVICE}}
        with pytest.raises(ao.DeviceNotFound):
            ao.resolve({"device": "echo@1.0"}, "echo", only_message)
    finally:
        ao.unregister_device("echo@1.0")
    with pytest.raises(ao.DeviceNotFound):
        ao.resolve({"device": "echo@1.0"}, "echo")


def test_setting_a_committed_key_to_its_same_value_keeps_commitments(shared_dir):
    """``~dev@1.0`` on a signed message whose device already is ``dev`` (a str set over the
    bytes the codec produced) must not drop its commitments (spec core §2.7)."""
    import hyperbeam_fast as hb

    wallet = hb.Wallet.from_file(shared_dir / "fixtures" / "hyperbeam" / "key-1.json")
    signed = hb.convert(hb.commit({"device": "message@1.0", "a": "1"}, wallet), "structured@1.0")
    assert signed["device"] == b"message@1.0"
    same = hb.set(signed, {"device": "message@1.0"})
    assert same.get("commitments") == signed["commitments"] and hb.verify(same)
    changed = hb.set(signed, {"a": "2"})
    assert "commitments" not in changed


# message@1.0 `remove` (dev_message:remove/2): `maps:without` is an exact, case-sensitive match


def _remove(base: dict, **req) -> tuple:
    st, out = ao.resolve(base, {"path": "remove", **req})
    return st, {k: v for k, v in out.items() if k != "priv"} if st == "ok" else out


def test_remove_is_case_sensitive():
    assert _remove({"key": 1, "other": 2}, item="Key") == ("ok", {"key": 1, "other": 2})
    assert _remove({"key": 1, "other": 2}, items=["KEY", "other"]) == ("ok", {"key": 1})


def test_remove_matches_the_exact_key():
    base = {"Key": 1, "key": 2}  # the device itself: resolve lower-cases the base's keys first
    assert MessageDevice.remove(base, {"item": "Key"}) == ("ok", {"key": 2})
    assert MessageDevice.remove(base, {"item": b"key"}) == ("ok", {"Key": 1})


def test_remove_item_wins_over_items():
    assert _remove({"a": 1, "b": 2}, item="a", items=["b"]) == ("ok", {"b": 2})


def test_remove_items_not_a_list_is_an_error():
    st, out = _remove({"a": 1}, items="a")
    assert st == "error" and out["status"] == 400
