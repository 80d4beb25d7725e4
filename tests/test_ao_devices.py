"""stack@1.0, multipass@1.0, dedup@1.0, patch@1.0 and test-device@1.0 (spec runtime §9, §13)."""

import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.devices.message import MessageDevice
from hyperbeam_fast.exceptions import ResolveError


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


def test_simple_stack():
    out = run(stack(append_device("!D1"), append_device("_D2")), "2")
    assert out["result"] == "INIT!D12_D22"
    assert out["device"] == "stack@1.0"
    assert "pass" not in out and "device-key" not in out


def test_many_devices():
    devs = [append_device(f"+D{i}") for i in range(1, 9)]
    assert run(stack(*devs), "2")["result"] == "INIT" + "".join(f"+D{i}2" for i in range(1, 9))


def test_reinvocation():
    msg = run(stack(append_device("+D1"), append_device("+D2")), "2")
    assert run(msg, "3")["result"] == "INIT+D12+D22+D13+D23"


def test_skip():
    def skipper(m1, m2):
        return "skip", {**m1, "result": m1["result"] + "+D1" + m2["bin"]}

    out = run(stack({"append": skipper}, append_device("+D2")), "2")
    assert out["result"] == "INIT+D12"


def test_pass():
    def passer(m1, m2):
        if m1.get("pass") == 3:
            return "ok", m1
        return "pass", {**m1, "result": m1["result"] + "+D1" + m2["bin"]}

    assert run(stack({"append": passer}), "_")["result"] == "INIT+D1_+D1_"


def test_not_found_skips_device_and_special_key():
    d2 = append_device("+D2", {"special": lambda m1: ("ok", {**m1, "output": 1337})})
    out = run(stack(append_device("+D1"), d2), "_")
    assert out["result"] == "INIT+D1_+D2_"
    assert ao.get(out, "special/output") == 1337


def test_map_mode():
    st, out = ao.resolve(
        stack(append_device("+D1"), append_device("+D2")),
        {"path": "append", "mode": "Map", "bin": "/"},
    )
    assert st == "ok"
    assert out["1"]["result"] == "INIT+D1/" and out["2"]["result"] == "INIT+D2/"


def _prefix_set(m1, m2, opts):
    inp = _s(ao.get(m1, "input-prefix", opts) or "")
    outp = _s(ao.get(m1, "output-prefix", opts) or "")
    value = ao.get(m2, f"{inp}example", opts)
    return "ok", ao.set(m1, f"{outp}example", value, opts)


PREFIX = {"prefix_set": _prefix_set}


def test_prefixes():
    base = {"device": "stack@1.0", "device-stack": {"1": PREFIX, "2": PREFIX}}
    st, out = ao.resolve(base, {"path": "prefix_set", "example": 1})
    assert out["example"] == 1
    base2 = {**base, "output-prefixes": {"1": "out1/", "2": "out2/"}}
    st, out = ao.resolve(base2, {"path": "prefix_set", "example": 1})
    assert out["out1"]["example"] == 1 and out["out2"]["example"] == 1
    base3 = {**base2, "input-prefixes": {"1": "in1/", "2": "in2/"}}
    req = {"path": "prefix_set", "in1": {"example": 1}, "in2": {"example": 2}}
    st, out = ao.resolve(base3, req)
    assert out["out1"]["example"] == 1 and out["out2"]["example"] == 2
    base4 = {**base, "input-prefix": "combined-in/", "output-prefix": "combined-out/"}
    st, out = ao.resolve(base4, {"path": "prefix_set", "combined-in": {"example": 1}})
    assert out["combined-out"]["example"] == 1


def test_transform_path():
    def cool(key, m1):
        return "ok", {key: _s(m1[key]) + "-Cool"}

    dev = {"info": {"handler": cool}}
    msg = {"device": "stack@1.0", "device-stack": {"make-cool": dev}, "value": "Super"}
    st, out = ao.resolve(msg, "/transform/make-cool/value")
    assert st == "ok" and ao.get(out, "value") == "Super-Cool"


def test_stack_error_strategy():
    bad = {"append": lambda m1: ("error", "boom")}
    with pytest.raises(ResolveError):
        run(stack(bad), "x")
    st, out = ao.resolve(stack(bad, **{"error-strategy": "stop"}), {"path": "append", "bin": "x"})
    assert st == "error" and out["body"] == "stack_call_failed"


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
