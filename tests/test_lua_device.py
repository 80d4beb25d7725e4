"""lua@5.3a as a device (HyperBEAM dev_lua's tests on test/test.lua, issue 14 items 1, 3, 4):
calls, statuses, modules by value, list and ID, the sandbox, the ao library, the limits, bad
modules, and what Lua can never reach (Python, files, the host)."""

from __future__ import annotations

import pytest
from hyperbeam_fast import ao, cache
from hyperbeam_fast.devices import lua as lua_dev
from hyperbeam_fast.devices.process import register_process_devices
from hyperbeam_fast.store import MemoryStore

register_process_devices()


@pytest.fixture(scope="module")
def test_lua(fxdir):
    return (fxdir / "test.lua").read_text()


def _pub(r):
    s, v = r
    return s, {k: x for k, x in v.items() if k != "priv"} if isinstance(v, dict) else v


def _base(code, **extra):
    return {
        "device": "lua@5.3a",
        "module": {"content-type": "application/lua", "body": code},
        **extra,
    }


def test_simple_invocation(test_lua):
    assert ao.get(_base(test_lua, parameters=[]), "assoctable/b") == 2


def test_status_and_error_response(test_lua):
    assert ao.resolve(_base(test_lua, parameters=[]), "error_response") == (
        "error",
        "Very bad, but Lua caught it.",
    )
    s, v = ao.resolve(_base(test_lua, parameters=[]), {"path": "x", "function": "ListTable"})
    assert (s, v) == ("ok", [1, 2, 3])


def test_multiple_modules_list_and_map(test_lua):
    second = "function test_second_script() return 4 end"
    mods = [
        {"content-type": "application/lua", "body": test_lua},
        {"content-type": "application/lua", "body": second},
    ]
    base = {"device": "lua@5.3a", "module": mods, "parameters": []}
    assert ao.get(base, "assoctable/b") == 2
    assert ao.resolve(base, "test_second_script") == ("ok", 4)
    by_map = {**base, "module": {"a": mods[0], "b": mods[1]}}
    assert ao.resolve(by_map, "test_second_script") == ("ok", 4)


def test_module_by_id_and_missing_id(test_lua):
    store = MemoryStore()
    opts = {"priv_store": store}
    mid = cache.write({"content-type": "application/lua", "body": test_lua}, store)
    base = {"device": "lua@5.3a", "module": mid, "parameters": []}
    assert _pub(ao.resolve(base, "assoctable", opts))[1] == {"a": 1, "b": 2, "c": 3}
    missing = {**base, "module": "A" * 43}
    s, v = ao.resolve(missing, "assoctable", opts)
    assert s == "error" and v["status"] == 404 and "not found" in v["body"]


def test_non_compute_key_gets_base_and_request(test_lua):
    base = _base(test_lua, **{"test-value": 42})
    s, r = ao.resolve(base, "hello")
    assert s == "ok" and r["test-value"] == 42 and r["hello"] == "world"
    s, r = ao.resolve(base, {"path": "hello", "name": "Alice"})
    assert r["hello"] == "Alice"
    # keys of the base message are read as keys, not Lua calls
    assert ao.get(base, "test-value") == 42


def test_ao_resolve_and_device_sandbox(test_lua):
    base = _base(test_lua, parameters=[])
    assert ao.resolve(base, "ao_resolve") == ("ok", "Hello, AO world!")
    boxed = {**base, "device-sandbox": ["message@1.0"]}
    assert ao.resolve(boxed, "ao_resolve")[0] == "ok"
    s, v = ao.resolve(boxed, "ao_relay")
    assert s == "error" and v["status"] == 500 and "relay@1.0" in v["body"]


def test_ao_set_get_event():
    code = """
    function go()
      local m = ao.set({a = 1}, "b", 2)
      local m2 = ao.set(m, {c = "x"})
      return {b = ao.get("b", m2), c = m2.c, e = ao.event("hello")}
    end
    """
    assert _pub(ao.resolve(_base(code, parameters=[]), "go")) == (
        "ok",
        {"b": 2, "c": "x", "e": "ok"},
    )


def test_ao_table_is_copied_at_install():
    """dev_lua_lib:install replaces the global ``ao`` with a copy: the module's own table
    (seen by its functions) and the global one no longer share ``authorities``."""
    code = """
    local mine = { authorities = {} }
    function mine.add(a) table.insert(mine.authorities, a) end
    ao = mine
    function go() ao.add("x"); return { global = #ao.authorities, module = #mine.authorities } end
    """
    s, v = _pub(ao.resolve(_base(code, parameters=[]), "go"))
    assert s == "ok" and v == {"global": 0, "module": 1}


def test_conversion_keeps_types_and_lists():
    code = """
    function echo(base, req) return { i = req.i, f = req.f, s = req.s, l = req.l,
      e = {}, n = req.nested, t = math.type(req.i) .. math.type(req.f) } end
    """
    req = {"path": "echo", "i": 3, "f": 3.0, "s": "x", "l": ["a", "b"], "nested": {"1": "p"}}
    s, v = ao.resolve(_base(code), req)
    assert s == "ok"
    assert v["i"] == 3 and isinstance(v["i"], int) and v["f"] == 3.0 and isinstance(v["f"], float)
    assert v["l"] == ["a", "b"] and v["e"] == [] and v["n"] == ["p"] and v["t"] == "integerfloat"


def test_sandbox_true_removes_what_dev_lua_removes(test_lua):
    base = _base(test_lua, parameters=[], sandbox=True)
    s, v = ao.resolve(base, "sandboxed_fail")
    assert s == "error" and v["status"] == 500
    code = """function probe() return type(io) .. type(require) .. type(load) .. type(os.exit)
      .. type(os.time) end"""
    assert ao.resolve(_base(code, parameters=[], sandbox=True), "probe") == (
        "ok",
        "stringstringstringstringfunction",
    )


@pytest.mark.parametrize(
    "body, needle",
    [
        ("os.exit(1)", "os.exit is not available"),
        ("return io.open('/etc/passwd')", "attempt to call a nil value"),
        ("return require('os').execute('id')", "os.execute is not available"),
        ("return require('socket')", "module 'socket' not found"),
        ("return python.eval('1')", "attempt to index a nil value"),
        ("return dofile('/etc/passwd')", "no file access"),
        ("error(select(2, load('\\27Lua\\83\\0')))", "binary chunk"),
        ("return debug.getinfo(1)", "attempt to call a nil value"),
    ],
)
def test_no_host_access_even_unsandboxed(body, needle):
    s, v = ao.resolve(_base(f"function go() {body} end", parameters=[]), "go")
    assert s == "error" and v["status"] == 500 and needle in v["body"], v


def test_python_objects_unreachable():
    code = """function go()
      local found = {}
      for k, v in pairs(_G) do if type(v) == "userdata" then found[#found + 1] = k end end
      for k, v in pairs(ao) do
        if type(v) ~= "function" and type(v) ~= "table" then found[#found + 1] = k end
        if type(v) == "function" then
          local ok = pcall(function() return v.__class__ end)
          if ok then found[#found + 1] = "attr:" .. k end
        end
      end
      return {n = #found, python = type(python), loaded = type(package.loaded.python)}
    end"""
    s, v = _pub(ao.resolve(_base(code, parameters=[]), "go"))
    assert s == "ok" and v == {"n": 0, "python": "nil", "loaded": "nil"}


def test_instruction_limit_ends_runaway_loops():
    code = """function spin() while true do end end
    function spin_pcall() while true do pcall(function() while true do end end) end end
    function fine() return 1 end"""
    opts = {"lua_instructions": 2000}
    for fn in ("spin", "spin_pcall"):
        s, v = ao.resolve(_base(code, parameters=[]), fn, opts)
        assert s == "error" and "instruction limit" in v["body"], v
    assert ao.resolve(_base(code, parameters=[]), "fine", opts) == ("ok", 1)


def test_memory_limit_ends_memory_bombs():
    code = """function bomb() local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 64) .. i end end
    function rep() return #string.rep("x", 1 << 40) end
    function caught() return pcall(bomb) end"""
    opts = {"lua_memory": 32 << 20}
    for fn in ("bomb", "rep", "caught"):
        s, v = ao.resolve(_base(code, parameters=[]), fn, opts)
        assert s == "error" and v["status"] == 500, (fn, v)
        assert "memory" in v["body"] or "too large" in v["body"], v


@pytest.mark.parametrize(
    "code, needle",
    [
        ("function f( return end", "failed to load"),
        ("\x00\x01\x02 not lua at all \xff", "failed to load"),
        ("\x1bLua\x53\x00 binary chunk", "failed to load"),
        ("error('boom at load')", "boom at load"),
    ],
)
def test_bad_modules_are_error_statuses(code, needle):
    s, v = ao.resolve(_base(code, parameters=[]), "anything")
    assert s == "error" and v["status"] == 500 and needle in v["body"], v


def test_module_without_code_is_404():
    s, v = ao.resolve(
        {"device": "lua@5.3a", "module": {"content-type": "application/lua", "name": "x"}}, "go"
    )
    assert s == "error" and v["status"] == 404 and "body" in v["body"]
    s, v = ao.resolve({"device": "lua@5.3a"}, "go")
    assert s == "error" and "no-modules-found" in str(v)


def test_deep_or_cyclic_values_are_errors():
    code = "function go() local t = {} t.t = t return t end"
    s, v = ao.resolve(_base(code, parameters=[]), "go")
    assert s == "error" and "too deep" in v["body"]


def test_hyper_aos_json_encoder_is_stable(fxdir):
    src = (fxdir / "hyper-aos.lua").read_text()
    code = (
        src
        + """
    function enc() local json = require('.json')
      return json.encode({zeta = 1, alpha = {3, 2, 1}, mid = {b = true, a = "x"}, n = 0.5}) end"""
    )
    outs = {ao.resolve(_base(code, parameters=[]), "enc")[1] for _ in range(4)}
    assert outs == {
        '{"alpha":[3.0000000000000,2.0000000000000,1.0000000000000],'
        '"mid":{"a":"x","b":true},"n":0.50000000000000,"zeta":1.0000000000000}'
    }


def test_state_moves_on_only_with_a_returned_message():
    """Luerl states are values: a call's state is kept only when it returns a message (the
    result carries it in priv); after an error, or a non-message result, the state from before
    the call is used. Here the C Lua state is then rebuilt from the module."""
    code = """X = 0
    function bump(base) X = X + 1 if X == 3 then error('three') end base.x = X return base end
    function peek() X = X + 100 return X end"""
    s, st = ao.resolve(_base(code), "init")
    assert s == "ok"
    s, st1 = ao.resolve(st, "bump")
    assert st1["x"] == 1
    s, st2 = ao.resolve(st1, "bump")
    assert st2["x"] == 2
    s, v = ao.resolve(st2, "bump")
    assert s == "error" and "three" in v["body"] and lua_dev.broken(st2) is not None
    s, st3 = ao.resolve(st2, "bump")  # rebuilt: X starts again from the module
    assert s == "ok" and st3["x"] == 1
    assert ao.resolve(st3, "peek") == ("ok", 101)
    # Luerl would answer 101 again (st3's state is a value); a C Lua state that moved on
    # without returning its state is rebuilt from the module (docs/lua.md, "Differences")
    assert ao.resolve(st3, "peek") == ("ok", 100)


def test_checkpoint_round_trip_and_forged_checkpoints_are_refused(test_lua):
    opts = {"priv_wallet": None}
    code = "X = {n = 1} function bump(base) X.n = X.n + 1 base.n = X.n return base end"
    s, st = ao.resolve(_base(code), "init", opts)
    s, st = ao.resolve(st, "bump", opts)
    s, snap = ao.resolve(st, "snapshot", opts)
    assert s == "ok" and isinstance(snap["body"], bytes)
    fresh = {k: v for k, v in st.items() if k != "priv"}
    s, back = ao.resolve({**fresh, "snapshot": {"state": snap}}, "normalize", opts)
    assert s == "ok"
    assert ao.resolve(back, "bump", opts)[1]["n"] == 3
    forged = snap["body"][:40] + b"x" + snap["body"][41:]
    s, v = ao.resolve({**fresh, "snapshot": {"state": {"body": forged}}}, "normalize", opts)
    assert s == "error" and "not written by this node" in v["body"]


def test_too_many_modules_is_a_400():
    mods = [{"content-type": "application/lua", "body": "X = 1"}] * 65
    s, v = ao.resolve({"device": "lua@5.3a", "module": mods}, "go")
    assert s == "error" and v["status"] == 400 and "too many" in v["body"]
