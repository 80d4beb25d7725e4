"""stack@1.0 as HyperBEAM's dev_stack (b2743e4a) does it (spec runtime §9; issue 13 item 2).

The scenarios of dev_stack's eunit tests, re-implemented with inline devices, plus what those
tests do not pin down: ``previous-device`` (always the atom ``dev_message``, because HyperBEAM
reads ``device`` through ``{as, dev_message, Msg}``), ``mode`` read without going back into the
stack, ``transform`` leaving the ``stack-transformer`` device merged with the member's, and the
``error_strategy`` option.
"""

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import Atom, ao
from hyperbeam_fast.devices import stack as stack_dev
from hyperbeam_fast.exceptions import ResolveError

DEV_MESSAGE = Atom("dev_message")


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


def append_device(sep, status="ok", extra=None):
    """dev_stack:generate_append_device/2: appends ``sep`` + the request's ``bin``; stops on
    pass 3."""

    def append(m1, m2):
        if m1.get("pass") == 3:
            return "ok", m1
        return status, {**m1, "result": _s(m1.get("result", "")) + sep + _s(m2["bin"])}

    return {"append": append, **(extra or {})}


def stack(*devices, **extra):
    return {
        "device": "stack@1.0",
        "device-stack": {str(i): d for i, d in enumerate(devices, 1)},
        "result": "INIT",
        **extra,
    }


def run(msg, bin_, opts=None, **req):
    status, out = ao.resolve(msg, {"path": "append", "bin": bin_, **req}, opts)
    assert status == "ok", out
    return out


# ---- dev_stack's eunit scenarios ------------------------------------------------------------


def test_transform_internal_call_device():
    msg = {"device": "Stack@1.0", "device-stack": {"1": append_device("_"), "2": "Message@1.0"}}
    st, out = stack_dev.transform(msg, "2", {})
    assert st == "ok" and ao.get(out, "device") == "Message@1.0"
    assert out["device-key"] == "2" and out["previous-device"] == DEV_MESSAGE


def test_transform_external_call_device():
    def make_cool(key, m1):
        if key == "keys":
            return "ok", list(m1)
        _, value = ao.MESSAGE_DEVICE._get(key, m1)
        return ao.MESSAGE_DEVICE.set(m1, {key: _s(value) + "-Cool"})

    cool = {"info": lambda: {"handler": make_cool}, "suffix": "-Cool"}
    msg = {"device": "Stack@1.0", "device-stack": {"make-cool": cool}, "value": "Super"}
    st, out = ao.resolve(msg, {"path": "/transform/make-cool/value"})
    assert st == "ok" and out["value"] == "Super-Cool"
    # The transformer's device (type: stack-transformer) deep-merged with the member's.
    assert out["device"]["type"] == "stack-transformer" and out["device"]["suffix"] == "-Cool"
    assert out["device"]["info"] is cool["info"]
    assert out["device-key"] == "make-cool" and out["previous-device"] == DEV_MESSAGE


def test_example_device_for_stack():
    msg = {"device": append_device("_"), "result": "1"}
    assert ao.resolve(msg, {"path": "append", "bin": "2"})[1]["result"] == "1_2"


def test_simple_stack_execute():
    out = run(stack(append_device("!D1!"), append_device("_D2_")), "2")
    assert out["result"] == "INIT!D1!2_D2_2"
    assert out["device"] == "stack@1.0"
    assert "pass" not in out and "device-key" not in out


def test_many_devices():
    devs = [append_device(f"+D{i}") for i in range(1, 9)]
    assert run(stack(*devs), "2")["result"] == "INIT" + "".join(f"+D{i}2" for i in range(1, 9))


def test_list_stack():
    msg = {**stack(), "device-stack": [append_device("+D1"), append_device("+D2")]}
    assert run(msg, "2")["result"] == "INIT+D12+D22"


def test_reinvocation():
    msg = run(stack(append_device("+D1"), append_device("+D2")), "2")
    assert msg["result"] == "INIT+D12+D22"
    assert run(msg, "3")["result"] == "INIT+D12+D22+D13+D23"


def test_skip():
    out = run(stack(append_device("+D1", "skip"), append_device("+D2")), "2")
    assert out["result"] == "INIT+D12"
    assert out["device"] == "stack@1.0" and "pass" not in out


def test_pass():
    # `pass` restarts the stack with pass + 1; the device answers `ok` unchanged on pass 3
    assert run(stack(append_device("+D1", "pass")), "_")["result"] == "INIT+D1_+D1_"


def test_pass_keeps_a_starting_pass_value():
    base = {**stack(append_device("+D1")), "pass": 7}
    out = run(base, "_")
    assert out["pass"] == 7 and out["result"] == "INIT+D1_"


def test_not_found_skips_device():
    d2 = append_device("+D2", extra={"special": lambda m1: ("ok", {**m1, "output": 1337})})
    out = run(stack(append_device("+D1"), d2), "_")
    assert out["result"] == "INIT+D1_+D2_"
    assert ao.get(out, "special/output") == 1337


def test_simple_map():
    msg = stack(append_device("+D1"), append_device("+D2"))
    out = run(msg, "/", mode="Map")
    assert ao.get(out, "1/result") == "INIT+D1/" and ao.get(out, "2/result") == "INIT+D2/"
    assert out["1"]["previous-device"] == DEV_MESSAGE and out["2"]["device-key"] == "2"


def _prefix_set(m1, m2, opts):
    inp = _s(ao.get(ao.As("message@1.0", m1), "input-prefix", opts) or "")
    outp = _s(ao.get(ao.As("message@1.0", m1), "output-prefix", opts) or "")
    key = _s(ao.get(m2, "key", opts))
    value = ao.get(m2, f"{inp}/{key}", opts)
    return "ok", ao.set(m1, f"{outp}/{key}", value, opts)


PREFIX = {"prefix_set": _prefix_set}


def _prefix_msg(**extra):
    return {"device": "stack@1.0", "device-stack": {"1": PREFIX, "2": PREFIX}, **extra}


def test_no_prefix():
    st, out = ao.resolve(_prefix_msg(), {"path": "prefix_set", "key": "example", "example": 1})
    assert st == "ok" and ao.get(out, "example") == 1


def test_output_prefix():
    msg = _prefix_msg(**{"output-prefixes": {"1": "out1/", "2": "out2/"}})
    st, out = ao.resolve(msg, {"path": "prefix_set", "key": "example", "example": 1})
    assert ao.get(ao.As("message@1.0", out), "out1/example") == 1
    assert ao.get(ao.As("message@1.0", out), "out2/example") == 1


def test_input_and_output_prefixes():
    # integer keys in the prefix maps, as the eunit test writes them
    msg = _prefix_msg(
        **{"input-prefixes": {1: "in1/", 2: "in2/"}, "output-prefixes": {1: "out1/", 2: "out2/"}}
    )
    req = {"path": "prefix_set", "key": "example", "in1": {"example": 1}, "in2": {"example": 2}}
    st, out = ao.resolve(msg, req)
    assert ao.get(ao.As("message@1.0", out), "out1/example") == 1
    assert ao.get(ao.As("message@1.0", out), "out2/example") == 2


def test_input_output_prefixes_passthrough():
    msg = _prefix_msg(**{"output-prefix": "combined-out/", "input-prefix": "combined-in/"})
    req = {"path": "prefix_set", "key": "example", "combined-in": {"example": 1}}
    st, out = ao.resolve(msg, req)
    assert ao.get(ao.As("message@1.0", out), "combined-out/example") == 1
    # restored from previous-*-prefix after the fold
    assert out["output-prefix"] == "combined-out/" and out["input-prefix"] == "combined-in/"


# ---- previous-device, device-key and the merge of inline devices ----------------------------


def _recorder(tag):
    """A member that records what it sees: the previous device, its key, its device's keys."""

    def append(m1, m2):
        seen = {
            "prev": m1.get("previous-device"),
            "key": m1.get("device-key"),
            "dev-keys": sorted(m1["device"]),
        }
        return "ok", {**m1, f"seen-{tag}": seen}

    return append


def test_previous_device_is_always_dev_message():
    d1 = {"append": _recorder("1"), "only-in-1": lambda m1: ("ok", "one")}
    d2 = {"append": _recorder("2")}
    out = run(stack(d1, d2), "x")
    # each member sees previous-device = dev_message (never the real previous device) and its
    # position as an integer device-key (dev_stack:transform/3 records the key it was given)
    assert out["seen-1"] == {"prev": DEV_MESSAGE, "key": 1, "dev-keys": ["append", "only-in-1"]}
    # set deep-merges the device: member 2 runs with member 1's extra key still in its device
    assert out["seen-2"] == {"prev": DEV_MESSAGE, "key": 2, "dev-keys": ["append", "only-in-1"]}
    assert out["previous-device"] == DEV_MESSAGE
    assert type(out["previous-device"]) is Atom


class _Tagger:
    """A named device: ``append`` adds its tag to ``result``."""

    def __init__(self, name):
        self.name = name

    def append(self, m1, m2):
        return "ok", {**m1, "result": _s(m1.get("result", "")) + "+" + self.name}


@pytest.fixture
def named_devices():
    names = ["tag-a@1.0", "tag-b@1.0"]
    for n in names:
        hb.register_device(n, _Tagger(n))
    yield names
    for n in names:
        hb.unregister_device(n)


def test_stack_result_id_and_hashpath(named_devices):
    base = {"device": "stack@1.0", "device-stack": {"1": "tag-a@1.0", "2": "tag-b@1.0"}}
    req = {"path": "append"}
    st, out = ao.resolve(base, req)
    assert st == "ok"
    expected = {
        "device": "stack@1.0",
        "device-stack": {"1": "tag-a@1.0", "2": "tag-b@1.0"},
        "result": "+tag-a@1.0+tag-b@1.0",
        "previous-device": DEV_MESSAGE,
    }
    assert {k: v for k, v in out.items() if k != "priv"} == expected
    assert hb.id(out) == hb.id(expected)
    # the real previous device (what we wrote before) gives another ID
    assert hb.id(out) != hb.id({**expected, "previous-device": "tag-a@1.0"})
    # the hashpath is the stack call's: base then request (the inner steps do not leak)
    assert out["priv"]["hashpath"] == hb.hashpath(base, req)


# ---- mode -----------------------------------------------------------------------------------


def test_mode_on_the_base_runs_map():
    out = run(stack(append_device("+D1"), append_device("+D2"), mode="Map"), "/")
    assert set(out) - {"priv"} == {"1", "2"}
    assert out["1"]["result"] == "INIT+D1/" and out["2"]["result"] == "INIT+D2/"


def test_request_mode_wins_over_the_base():
    msg = stack(append_device("+D1"), append_device("+D2"), mode="Map")
    assert run(msg, "/", mode="Fold")["result"] == "INIT+D1/+D2/"


@pytest.mark.parametrize("mode", ["map", "fold", "Other", 3])
def test_other_modes_are_a_400(mode):
    st, out = ao.resolve(stack(append_device("+D1")), {"path": "append", "bin": "x", "mode": mode})
    assert st == "error" and out["status"] == 400 and "mode" in out["body"]


def test_a_stack_call_makes_a_bounded_number_of_reads(monkeypatch):
    calls = []
    router = stack_dev.DEVICE.router

    def counting(*args):
        calls.append(args[0])
        return router(*args)

    monkeypatch.setattr(stack_dev.DEVICE, "router", counting)
    msg = stack(append_device("+D1"), append_device("+D2"))
    assert run(msg, "2")["result"] == "INIT+D12+D22"
    assert calls == ["append"]  # mode is not read back through the stack (was 64 nested calls)
    # and a small step budget is enough: a recursion to the depth limit would not fit in it
    st, out = ao.resolve(msg, {"path": "append", "bin": "2"}, {"max_steps": 12})
    assert st == "ok" and out["result"] == "INIT+D12+D22"


# ---- error strategies -----------------------------------------------------------------------


def _failing(status="error", value="boom"):
    return {"append": lambda m1: (status, value)}


def test_error_strategy_throw_is_the_default():
    with pytest.raises(ResolveError, match="device_failed: device 2"):
        run(stack(append_device("+D1"), _failing()), "x")


def test_error_strategy_stop_from_the_options():
    msg = stack(append_device("+D1"), _failing())
    st, out = ao.resolve(msg, {"path": "append", "bin": "x"}, {"error_strategy": "stop"})
    assert st == "error" and out["body"] == "stack_call_failed"
    assert out["dev-num"] == 2 and out["reason"] == "boom"


def test_error_strategy_is_not_a_message_key():
    # dev_stack reads hb_opts:get(error_strategy), never a key of the message
    with pytest.raises(ResolveError):
        run(stack(_failing(), **{"error-strategy": "stop"}), "x")


def test_unexpected_results_go_to_the_error_strategy():
    msg = stack(_failing("skip", "not a message"))
    st, out = ao.resolve(msg, {"path": "append", "bin": "x"}, {"error_strategy": "stop"})
    assert st == "error" and out["dev-num"] == 1
    with pytest.raises(ResolveError):
        run(msg, "x")


def test_raw_ok_result_is_returned_at_once():
    seen = []
    d2 = {"append": lambda m1: seen.append(1) or ("ok", m1)}
    out = ao.resolve(stack(_failing("ok", 42), d2), {"path": "append", "bin": "x"})
    assert out == ("ok", 42) and seen == []


def test_no_device_stack_is_a_400():
    st, out = ao.resolve({"device": "stack@1.0"}, {"path": "append"})
    assert st == "error" and out["status"] == 400
