"""The direct conversion path of ``LuaVM.invoke`` (lupa's table builder in, a raw table reader
out) gives exactly what the MessagePack path (``pack`` + the prelude's ``mp_decode``,
``mp_encode`` + ``unpack``) gives, for generated messages and for Lua tables with every key
shape: the two paths are compared byte for byte through the prelude's encoder."""

from __future__ import annotations

import pytest
from hyperbeam_fast.lua.convert import ConvertError, lua_value, pack, unpack
from hyperbeam_fast.lua.vm import LuaVM
from hypothesis import given, settings
from hypothesis import strategies as st

_VM = LuaVM()
_ENC = _VM.ctl[b"encode"]
_DEC = _VM.ctl[b"decode"]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.binary(max_size=8),
)
_keys = st.one_of(st.text(max_size=4), st.sampled_from(["1", "2", "3", "0", "01"]))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=20,
)


def _ref(v):
    """The reference input: integers past 64 bits as their text, as ``pack`` sends them (Lua
    has no bignums; 2**63..2**64-1 travel as uint64 and mp_decode writes them as text too)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and not -(1 << 63) <= v < 1 << 64:
        return str(v)
    if isinstance(v, dict):
        return {k: _ref(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_ref(x) for x in v]
    return v


def _direct_in(v):
    return _VM.rt.table_from(lua_value([v]), recursive=True)[1]


@settings(max_examples=300, deadline=None)
@given(_values)
def test_host_to_lua_same_as_messagepack(v):
    assert _ENC(_direct_in(v)) == _ENC(_DEC(pack(_ref(v))))


@settings(max_examples=300, deadline=None)
@given(_values)
def test_lua_to_host_same_as_messagepack(v):
    t = _DEC(pack(_ref(v)))
    assert _VM.reader.value(t) == unpack(_ENC(t))


@pytest.mark.parametrize(
    "code",
    [
        "return {1, 2, 3}",
        "return {}",
        "return {a = 1, b = {2.5, 'x'}, c = true}",
        "return {1, print, 3}",  # a function in the array part
        "return {1, print, 3, a = 1}",  # mp_encode's quirk: still an array of 3
        "return {[1] = 'a', [3] = 'c'}",  # holes: a map keyed by text
        "return {[1.5] = 'f', [true] = 't', x = 'y'}",
        "return {['\\xff'] = '\\xfe', ok = 'fine'}",  # not UTF-8: binaries
        "return setmetatable({a = 1}, {__index = function() error('ran') end})",
        "return setmetatable({}, {__index = {1, 2}})",  # read raw: empty
        "local t = {a = {b = {c = {}}}, f = function() end}; return t",
        "return {math.maxinteger, math.mininteger, 1e300, -0.0}",
        "return {[1] = 'one', [true] = 'yes'}",  # equal keys in Python (1 == True)
        "return {[true] = 'yes'}",
        "return {[2] = print, a = 'x'}",  # a number key holding a function only
        "return {a = print, b = print}",  # only functions: an empty list
        "return {[{}] = 1, b = 2}",  # a table key beside text
        "return {[1] = 'a', [2] = 'b', x = print}",  # an array once the function is left out
        "return {[1] = 'a', b = 'c'}",
    ],
)
def test_lua_tables_read_raw_as_the_encoder_writes_them(code):
    (t,) = _VM.run(_VM.rt.execute(b"return function() " + code.encode() + b" end"))
    assert _VM.reader.value(t) == unpack(_ENC(t))


def test_unsigned_64_bit_integers_become_text():
    for v in (1 << 63, (1 << 64) - 1, (1 << 63) + 12345):
        assert unpack(_ENC(_DEC(pack(v)))) == str(v) == _VM.reader.value(_direct_in(v))


def test_cycles_and_depth_are_refused():
    (t,) = _VM.run(_VM.rt.execute(b"return function() local t = {}; t.t = t; return t end"))
    with pytest.raises(ConvertError):
        _VM.reader.value(t)
    deep: dict = {}
    d = deep
    for _ in range(200):
        d["x"] = {}
        d = d["x"]
    with pytest.raises(ConvertError):
        lua_value(deep)
