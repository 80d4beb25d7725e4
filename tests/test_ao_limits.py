"""Limits and bad input: error statuses or typed errors, never a hang or a crash (runtime §2)."""

import sys

import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.exceptions import DeviceError, DeviceNotFound, HyperbeamError


def test_self_recursive_device_is_an_error_status():
    def loop(m1, m2, opts):
        return ao.resolve(m1, "loop", opts)

    st, out = ao.resolve({"device": {"loop": loop}}, "loop")
    assert st == "error" and out["status"] == 508


def test_mutual_recursion_through_paths():
    def bounce(m1, m2, opts):
        return ao.resolve(m1, {"path": "bounce/bounce"}, opts)

    st, out = ao.resolve({"device": {"bounce": bounce}}, "bounce", {"max_depth": 500})
    assert st == "error" and out["status"] == 508


def test_endless_pass_loop_hits_step_limit():
    forever = {"info": {"handler": lambda k, m1: ("pass", m1), "excludes": ["set", "keys"]}}
    msg = {"device": "stack@1.0", "device-stack": {"1": forever}}
    st, out = ao.resolve(msg, "compute", {"max_steps": 2000})
    assert st == "error" and out["status"] == 508


def test_long_path_is_fine_and_bounded():
    msg = {"a": {}}
    cur = msg["a"]
    for _ in range(500):
        cur["a"] = {}
        cur = cur["a"]
    cur["v"] = 1
    assert ao.get(msg, "/".join(["a"] * 501) + "/v", {"hashpath": "ignore"}) == 1
    st, out = ao.resolve(msg, "/".join(["a"] * 501), {"max_steps": 100, "hashpath": "ignore"})
    assert st == "error" and out["status"] == 508
    # too deep to hash: a typed error, not a crash
    with pytest.raises(HyperbeamError):
        ao.resolve(msg, "/".join(["a"] * 501))


def test_unknown_device():
    with pytest.raises(DeviceNotFound):
        ao.resolve({"device": "nope@9.9"}, "x")
    st, out = ao.resolve({"device": "nope@9.9"}, "x", {"error_strategy": "continue"})
    assert st == "error" and "device_not_loadable" in out["body"]
    with pytest.raises(DeviceNotFound):
        ao.resolve({"device": "A" * 43}, "x")
    with pytest.raises(DeviceNotFound):
        ao.resolve({"device": 12}, "x")


def test_device_exception_is_typed():
    dev = {"boom": lambda m: 1 / 0}
    with pytest.raises(DeviceError) as info:
        ao.resolve({"device": dev}, "boom")
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    st, out = ao.resolve({"device": dev}, "boom", {"error_strategy": "return"})
    assert st == "error" and out["status"] == 500


def test_non_message_bases_and_requests():
    assert ao.resolve("binary", "a") == ("error", ao.NOT_FOUND)
    assert ao.resolve(12, "a") == ("error", ao.NOT_FOUND)
    assert ao.resolve({"a": "x"}, "a/b") == ("error", ao.NOT_FOUND)
    st, out = ao.resolve({"a": 1}, {"no": "path"})
    assert st == "error" and out["status"] == 400
    st, out = ao.resolve({"a": 1}, "")
    assert st == "error"
    assert ao.resolve_many([{"a": 1}]) == ("ok", {"a": 1})
    with pytest.raises(HyperbeamError):
        ao.resolve_many(42)
    with pytest.raises(HyperbeamError):
        ao.resolve_many({"x": {}})


def test_python_recursion_limit_is_not_reached():
    depth = sys.getrecursionlimit()

    def deep(m1, m2, opts):
        return ao.resolve(m1, "deep", opts)

    st, out = ao.resolve({"device": {"deep": deep}}, "deep", {"max_depth": depth * 2})
    assert st == "error" and out["status"] == 508
