"""The conformance cases of ``hb_ao_test_vectors`` (spec runtime §4) and ``dev_message`` (§3).

Every case runs under the option sets of the Erlang suite that matter for a store-less
resolver: ``no_cache`` (hashpath ignore), ``only_store`` (hashpath update), ``normal``
(defaults: hashpath update), plus ``reset``.
"""

import pytest
from hyperbeam_fast import Atom, ao
from hyperbeam_fast.ao import NOT_FOUND, UNDEFINED, UNSET, As
from hyperbeam_fast.hashpath import hashpath_base

OPTION_SETS = {
    "no_cache": {"hashpath": "ignore", "cache_control": ["no-cache", "no-store"]},
    "only_store": {"hashpath": "update", "cache_control": ["no-cache"]},
    "normal": {},
    "reset": {"hashpath": "reset"},
}


@pytest.fixture(params=list(OPTION_SETS), ids=list(OPTION_SETS))
def opts(request):
    return dict(OPTION_SETS[request.param])


def strip_priv(v):
    if isinstance(v, dict):
        return {k: strip_priv(x) for k, x in v.items() if not k.startswith("priv")}
    return v


MSG = {"device": "test-device@1.0", "test_func": {"test_key": "MESSAGE"}}
NESTED = {
    "key1": "value1",
    "key2": {"key3": "value3", "key4": {"key5": "value5", "key6": {"key7": "value7"}}},
}


def test_resolve_simple(opts):
    assert ao.resolve({"a": "RESULT"}, "a", opts) == ("ok", "RESULT")


def test_resolve_id(opts):
    out = ao.get({"test_key": "1"}, "id", opts)
    assert isinstance(out, str) and len(out) == 43


def test_start_as(opts):
    got = ao.resolve_many([As("test-device@1.0", {"path": ""}), {"path": "test_func"}], opts)
    assert got == ("ok", "GOOD_FUNCTION")


def test_start_as_with_parameters(opts):
    got = ao.resolve_many([As("message@1.0", MSG), {"path": "test_func"}], opts)
    assert got == ("ok", "GOOD_FUNCTION")


def test_load_as_with_loader(opts):
    msg_id = "A" * 43
    store = {msg_id: MSG}
    o = {**opts, "loader": store.get}
    got = ao.resolve_many([As("message@1.0", {"path": msg_id}), "test_func", "test_key"], o)
    assert got == ("ok", "MESSAGE")
    assert ao.resolve_many([msg_id], o) == ("ok", MSG)
    assert ao.resolve_many(["B" * 43], o) == ("error", NOT_FOUND)


def test_as_path(opts):
    assert ao.get(MSG, "test_func", opts) == "GOOD_FUNCTION"
    status, value = ao.resolve(MSG, As("message@1.0", {"path": "test_func"}), opts)
    assert status == "ok" and strip_priv(value) == {"test_key": "MESSAGE"}


def test_continue_as(opts):
    got = ao.resolve_many([MSG, As("message@1.0", ""), {"path": "test_func"}, "test_key"], opts)
    assert got == ("ok", "MESSAGE")


def test_resolve_key_twice(opts):
    assert ao.resolve({"a": "1"}, "a", opts) == ("ok", "1")
    assert ao.resolve({"a": "1"}, "a", opts) == ("ok", "1")


def test_resolve_from_multiple_keys(opts):
    assert ao.resolve({"a": "1", "priv_a": "2"}, "keys", opts) == ("ok", ["a"])


def test_resolve_path_element(opts):
    assert ao.resolve({"path": ["test_path"]}, "path", opts) == ("ok", ["test_path"])
    assert ao.resolve({"Path": ["a"]}, "Path", opts) == ("ok", ["a"])


def test_resolve_binary_key(opts):
    assert ao.resolve({Atom("a"): "RESULT"}, "a", opts) == ("ok", "RESULT")
    assert ao.resolve({"Test-Header": "1"}, "Test-Header", opts) == ("ok", "1")
    assert ao.resolve({"Test-Header": "1"}, "test-header", opts) == ("ok", "1")


def test_key_to_binary():
    assert ao.normalize_key(Atom("a")) == "a"
    assert ao.normalize_key("a") == "a"
    assert ao.normalize_key([97]) == "a"
    assert ao.normalize_key(b"Content-Type") == "content-type"
    assert ao.normalize_key("X" * 43) == "X" * 43  # an ID keeps its case


ARG_DEVICE = {
    "key_using_only_state": lambda state: ("ok", state["state_key"]),
    "key_using_state_and_msg": lambda state, msg: ("ok", state["state_key"] + msg["msg_key"]),
    "key_using_all": lambda s, m, o: ("ok", s["state_key"] + m["msg_key"] + o["opts_key"]),
}


def test_key_from_id_device_with_args(opts):
    msg = {"device": ARG_DEVICE, "state_key": "1"}
    assert ao.resolve(msg, {"path": "key_using_only_state"}, opts) == ("ok", "1")
    assert ao.resolve(msg, {"path": "key_using_state_and_msg", "msg_key": "3"}, opts) == (
        "ok",
        "13",
    )
    o = {**opts, "opts_key": "37"}
    req = {"path": "key_using_all", "msg_key": "3"}
    assert ao.resolve(msg, req, o) == ("ok", "1337")


HANDLER_DEVICE = {
    "info": lambda: {"handler": lambda key, m1: ("ok", "HANDLER VALUE")},
}


def test_device_with_handler_function(opts):
    msg = {"device": HANDLER_DEVICE, "test_key": "BAD"}
    assert ao.resolve(msg, "test_key", opts) == ("ok", "HANDLER VALUE")


DEFAULT_DEVICE = {
    "info": {"default": lambda key, state: ("ok", "DEFAULT")},
    "state_key": lambda state: ("ok", "STATE"),
}


def test_device_with_default_handler_function(opts):
    msg = {"device": DEFAULT_DEVICE}
    assert ao.resolve(msg, "state_key", opts) == ("ok", "STATE")
    assert ao.resolve(msg, "any_random_key", opts) == ("ok", "DEFAULT")


def test_basic_get(opts):
    msg = {"key1": "value1", "key2": "value2"}
    assert ao.get(msg, "key1", opts) == "value1"
    assert ao.get(msg, "key2", opts) == "value2"
    assert ao.get(msg, ["key2"], opts) == "value2"


def test_recursive_get(opts):
    assert ao.resolve(NESTED, {"path": ["key2", "key3"]}, opts) == ("ok", "value3")
    assert ao.get(NESTED, "key2/key3", opts) == "value3"
    assert ao.get(NESTED, "key2/key4/key6/key7", opts) == "value7"


def test_basic_set(opts):
    out = ao.set({"key1": "value1", "key2": "value2"}, {"key1": "new_value1"}, opts)
    assert out == {"key1": "new_value1", "key2": "value2"}


def test_get_with_device(opts):
    msg = {"device": ARG_DEVICE, "state_key": "STATE"}
    assert ao.get(msg, "state_key", opts) == "STATE"
    assert ao.get(msg, "key_using_only_state", opts) == "STATE"


def test_get_as_with_device(opts):
    msg = {"device": HANDLER_DEVICE, "test_key": "ACTUAL VALUE"}
    assert ao.get(msg, "test_key", opts) == "HANDLER VALUE"
    assert ao.get(As("message@1.0", msg), "test_key", opts) == "ACTUAL VALUE"


SET_COUNT_DEVICE = {
    "set": lambda state, _req: ("ok", {**state, "set_count": state.get("set_count", "") + "."}),
}


def test_set_with_device(opts):
    msg = {"device": SET_COUNT_DEVICE, "state_key": "STATE"}
    once = ao.set(msg, {"state_key": "SET"}, opts)
    assert once["set_count"] == "."
    twice = ao.set(once, {"state_key": "SET"}, opts)
    assert twice["set_count"] == ".."
    assert twice["state_key"] == "STATE"


def test_deep_set(opts):
    assert ao.set({"a": {"b": "RESULT"}}, "a/b", "RESULT2", opts) == {"a": {"b": "RESULT2"}}
    assert ao.set({"a": {"b": "RESULT"}}, ["a", "b"], "RESULT2", opts) == {"a": {"b": "RESULT2"}}
    three = ao.set({"a": {"b": {"c": "1"}}}, ["a", "b", "c"], "2", opts)
    assert three == {"a": {"b": {"c": "2"}}}
    new = ao.set(ao.set(three, "d/e", "3", opts), "d/f", "4", opts)
    assert new["d"] == {"e": "3", "f": "4"}
    z = ao.set({}, {"z/a": "0", "z/b": "1", "z/y/x": "2"}, opts)
    assert z == {"z": {"a": "0", "b": "1", "y": {"x": "2"}}}


def _modifying_set(state, req):
    key = next(k for k in req if k not in ("path", "set-mode"))
    return "ok", {**state, key: req[key], "modified": True}


MOD_DEVICE = {"set": _modifying_set}


def test_deep_set_with_device(opts):
    msg = {
        "device": MOD_DEVICE,
        "a": {"b": {"device": MOD_DEVICE, "c": "1", "modified": False}, "modified": False},
        "modified": False,
    }
    out = ao.set(msg, "a/b/c", "2", opts)
    assert out["a"]["b"]["c"] == "2"
    assert out["modified"] is True
    assert out["a"]["modified"] is False
    assert out["a"]["b"]["modified"] is True


EXPORTS_DEVICE = {
    "info": {
        "exports": ["test1", "Test2"],
        "handler": lambda key, m1: ("ok", "Handler-Value"),
    }
}


def test_device_exports(opts):
    msg = {"device": EXPORTS_DEVICE, "test3": "GOOD3"}
    assert ao.get(msg, "test1", opts) == "Handler-Value"
    assert ao.get(msg, "test2", opts) == "Handler-Value"
    assert ao.get(msg, "test3", opts) == "GOOD3"
    msg2 = ao.set(msg, "Test4", "GOOD4", opts)
    assert ao.get(msg2, "test4", opts) == "GOOD4"
    assert ao.get(msg, "test5", opts, default=NOT_FOUND) == NOT_FOUND
    assert ao.is_exported({"exports": ["set"]}, "info")
    assert ao.is_exported({"exports": ["set"]}, "set")
    assert not ao.is_exported({"exports": ["set"]}, "not_exported")


def test_device_excludes(opts):
    dev = {"info": {"excludes": ["set"], "handler": lambda key, m1: ("ok", "Handler-Value")}}
    msg = {"device": dev}
    assert ao.get(msg, "test-key2", opts) == "Handler-Value"
    out = ao.set(msg, "test-key2", "2", opts)
    assert out["test-key2"] == "2"


def test_denormalized_device_key(opts):
    msg = {"Device": "test-device@1.0"}
    assert ao.get(msg, "device", opts) == "test-device@1.0"
    assert ao.get(msg, "test_func", opts) == "GOOD_FUNCTION"


def test_list_transform(opts):
    for i, v in enumerate("ABCDE", 1):
        assert ao.get(list("ABCDE"), i, opts) == v
        assert ao.get(list("ABCDE"), str(i), opts) == v


def test_step_hook(opts):
    calls = []

    def step(_m1, req):
        calls.append(req["status"])
        return "ok", req

    o = {**opts, "on": {"step": {"device": {"step": step}}}}
    assert ao.resolve({"a": {"b": {"c": "1"}}}, "a/b/c", o) == ("ok", "1")
    assert calls == ["ok", "ok", "ok"]


def test_hashpath_modes():
    base = {"a": {"b": "1"}}
    _, up = ao.resolve(base, "a")
    assert up["priv"]["hashpath"] == f"{hashpath_base(base).decode()}/a"
    _, ign = ao.resolve({"a": {"b": "1", "priv": {"hashpath": "X/y"}}}, "a", {"hashpath": "ignore"})
    assert ign["priv"]["hashpath"] == "X/y"
    _, rst = ao.resolve({"a": {"b": "1", "priv": {"hashpath": "X/y"}}}, "a", {"hashpath": "reset"})
    assert "hashpath" not in rst["priv"]
    # a non-ok status never carries a hashpath
    dev = {"k": lambda m: ("skip", {"priv": {"hashpath": "X/y"}})}
    st, v = ao.resolve({"device": dev}, "k")
    assert st == "skip" and "hashpath" not in v["priv"]


# --- message@1.0 (§3) ------------------------------------------------------------------------


def test_message_keys_hide_private():
    assert ao.resolve({"a": 1}, "keys") == ("ok", ["a"])
    assert ao.resolve({"a": 1, "private": 2}, "keys") == ("ok", ["a"])
    assert ao.resolve({"a": 1, "priv_foo": 4}, "keys") == ("ok", ["a"])
    assert ao.resolve({"a": 1, "private_key": 2}, "private_key") == ("error", NOT_FOUND)
    assert ao.keys({"a": 1, "path": "x", "b": 2}, remove=True) == ["a", "b"]


def test_message_case_insensitive():
    for k in ("a", "A"):
        for q in ("a", "A"):
            assert ao.resolve({k: 1}, q) == ("ok", 1)


def test_message_remove():
    st, out = ao.resolve({"key1": 1, "key2": 2}, {"path": "remove", "item": "key1"})
    assert (st, strip_priv(out)) == ("ok", {"key2": 2})
    st, out = ao.resolve({"key1": 1, "key2": 2}, {"path": "remove", "items": ["key1", "key2"]})
    assert (st, strip_priv(out)) == ("ok", {})


def test_message_set_unset_undefined():
    o = {"hashpath": "ignore"}
    assert ao.set({"dangerous": 1}, {"dangerous": 2}, o) == {"dangerous": 2}
    assert ao.set({"dangerous": 1}, {"dangerous": UNSET}, o) == {}
    msg = {"test-key1": 1, "deep": {"test-key2": 2, "test-key3": 3}}
    m = ao.set(msg, {"deep/test-key2": UNSET}, o)
    assert m == {"test-key1": 1, "deep": {"test-key3": 3}}
    m = ao.set(m, "deep/test-key3", UNSET, o)
    assert m == {"test-key1": 1, "deep": {}}
    assert ao.set(m, {"deep": UNSET}, o) == {"test-key1": 1}
    assert ao.set({"test-key": 1}, {"test-key": UNDEFINED}, o) == {"test-key": 1}


def test_message_set_keeps_priv_and_path_only_via_set_path():
    base = {"a": 1, "priv": {"secret": 1}}
    st, out = ao.resolve(base, {"path": "set", "b": 2, "priv": {"x": 1}}, {"hashpath": "ignore"})
    assert out == {"a": 1, "b": 2, "priv": {"secret": 1}}
    assert ao.set({"a": 1}, "path", "new")["path"] == "new"


def test_message_deep_merge_and_explicit():
    o = {"hashpath": "ignore"}
    base = {"m": {"x": 1, "y": 2}}
    st, deep = ao.resolve(base, {"path": "set", "m": {"y": 3}}, o)
    assert deep == {"m": {"x": 1, "y": 3}}
    st, flat = ao.resolve(base, {"path": "set", "m": {"y": 3}, "set-mode": "explicit"}, o)
    assert flat == {"m": {"y": 3}}


def test_message_commitment_keys_unsigned():
    assert ao.resolve({"a": "b"}, "committers") == ("ok", [])
    st, _ = ao.resolve({"a": "b"}, "verify")
    assert st in ("ok", "error")


def test_message_id_modes():
    import hyperbeam_fast

    m = {"a": "b"}
    assert ao.get(m, "id") == hyperbeam_fast.id(m)
    assert ao.resolve(m, {"path": "id", "committers": "none"}) == ("ok", hyperbeam_fast.id(m))
