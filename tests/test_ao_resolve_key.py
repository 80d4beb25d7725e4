"""``ao.resolve_key`` (process@1.0's per-slot resolution, issue 14 speed): the same result as
``ao.resolve`` for every pair, through the short path when the pair allows it and through
``resolve`` otherwise."""

from __future__ import annotations

import importlib

import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.exceptions import DeviceError

_resolve_mod = importlib.import_module("hyperbeam_fast.ao.resolve")


class _Dev:
    """A device like lua@5.3a: a default handler; the base's keys are excluded (message@1.0)."""

    name = "rk-test@1.0"

    def info(self, msg=None):
        keys = list(msg) if isinstance(msg, dict) else []
        return {"default": self.handle, "excludes": ["keys", "set", *keys]}

    def handle(self, key, base, req, opts):
        if key == "fail":
            return "error", {"status": 422, "body": "no", "priv": {"hashpath": "x"}}
        if key == "boom":
            raise ValueError("device broke")
        if key == "again":
            return "ok", ao.Resolve([{"a": 1}, "a"])
        return "ok", {**base, "seen": [key, req.get("n")], "priv": {"hashpath": "kept"}}


@pytest.fixture(autouse=True)
def _device():
    ao.register_device("rk-test@1.0", _Dev())
    yield
    ao.unregister_device("rk-test@1.0")


BASE = {"device": "rk-test@1.0", "at-slot": 3, "process": {"id": "p"}}
IGNORE = {"hashpath": "ignore"}
CASES = [
    (BASE, {"path": b"compute", "n": 1}, IGNORE),
    (BASE, {"path": "compute", "n": 2}, IGNORE),
    (BASE, {"path": "COMPUTE", "n": 2}, IGNORE),
    (BASE, {"path": "at-slot"}, IGNORE),  # a base key: message@1.0 answers
    (BASE, {"path": "fail"}, IGNORE),  # an error status loses its hashpath
    (BASE, {"path": "again"}, IGNORE),  # a Resolve result is resolved
    (BASE, {"path": "boom"}, {**IGNORE, "error_strategy": "continue"}),
    (BASE, {"path": "process/id"}, IGNORE),  # two keys: resolve
    (BASE, {"path": "compute", "n": 3}, {}),  # hashpath update: resolve
    ({**BASE, "Upper": 1}, {"path": "compute"}, IGNORE),  # keys not normal: resolve
    (BASE, {"path": "compute", "N": 4}, IGNORE),
]


def _plain(v):
    return v if not isinstance(v, ao.Resolve) else ("resolve", v.messages)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_as_resolve(case):
    base, req, opts = CASES[case]
    assert _plain(ao.resolve_key(base, req, opts)) == _plain(ao.resolve(base, req, opts))


def test_short_path_taken_only_when_allowed(monkeypatch):
    calls = []
    real = _resolve_mod._pair

    def spy(*a):
        calls.append(a[1].get("path") if isinstance(a[1], dict) else a[1])
        return real(*a)

    monkeypatch.setattr(_resolve_mod, "_pair", spy)
    st, out = ao.resolve_key(BASE, {"path": b"compute", "n": 5}, IGNORE)
    assert st == "ok" and out["seen"] == ["compute", 5] and calls == []
    ao.resolve_key(BASE, {"path": "compute"}, {**IGNORE, "on": {"step": {"device": "x"}}})
    ao.resolve_key(BASE, {"path": "compute"}, {**IGNORE, "force_message": True})
    ao.resolve_key(BASE, {"path": "compute"}, {})
    assert calls.count("compute") == 3  # (the step hook resolves its own "step" too)


def test_device_exception_is_raised_as_resolve_raises():
    with pytest.raises(DeviceError):
        ao.resolve(BASE, {"path": "boom"}, IGNORE)
    with pytest.raises(DeviceError):
        ao.resolve_key(BASE, {"path": "boom"}, IGNORE)


def test_step_limit_counts_the_short_path():
    with ao.step_budget():
        st, out = ao.resolve_key(BASE, {"path": "compute"}, {**IGNORE, "max_steps": 0})
    assert st == "error" and out["status"] == 508
