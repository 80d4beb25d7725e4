"""HyperPATH / singleton parsing (spec runtime §5.5 vectors) and bad paths."""

import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.ao import As, Resolve
from hyperbeam_fast.exceptions import HyperbeamError, PathError
from hyperbeam_fast.path import parse_path, split_depth

ID = "e5ohB7TgMYRoc0BLllkmAqkqLy1SrliEkOPJlNPXBQ8"
XYZ = Resolve([{}, {"path": "x"}, {"path": "y"}, {"path": "z"}])


def test_explicit_message():
    assert parse_path({"path": "/a", "a": "b"}) == [{"a": "b"}, {"path": "a", "a": "b"}]
    assert parse_path({"path": f"/{ID}/a"}) == [ID, {"path": "a"}]
    assert parse_path({"path": f"/{ID}/a", "a": "b"}) == [ID, {"path": "a", "a": "b"}]


def test_global_keys_everywhere():
    msgs = parse_path({"path": "/a/b/c", "test-key": "test-value"})
    assert len(msgs) == 4 and all(m["test-key"] == "test-value" for m in msgs)


def test_scoped_keys():
    msgs = parse_path({"path": "/a/b/c", "2.test-key": "v"})
    assert [("test-key" in m) for m in msgs] == [False, False, True, False]
    msgs = parse_path({"path": "/a/b/c", "2.test-key+integer": "123"})
    assert msgs[2] == {"path": "b", "test-key": 123}
    msgs = parse_path({"path": "/a/b/c", "2.test-key+resolve": "/x/y/z"})
    assert msgs[2] == {"path": "b", "test-key": XYZ}
    assert parse_path({"path": "/a", "0.k": "v"})[0] == {"k": "v"}


def test_subpath_in_path():
    assert parse_path("/a/(x/y/z)/z") == [{}, {"path": "a"}, XYZ, {"path": "z"}]
    assert split_depth("/a/b&c=(/d/e)/f", "/") == ["", "a", "b&c=(/d/e)", "f"]


def test_inlined_keys():
    msgs = parse_path({"path": "/a/b&k1=v1/c&k2=v2", "method": "POST"})
    assert msgs[2]["k1"] == "v1" and "k1" not in msgs[1] and "k1" not in msgs[3]
    assert msgs[3]["k2"] == "v2" and "k2" not in msgs[2]
    msgs = parse_path("/a/b&k1=v1&k2=v2")
    assert len(msgs) == 3 and msgs[2] == {"path": "b", "k1": "v1", "k2": "v2"}
    msgs = parse_path("/part1/part2&test=1&b=(/x/y)/part3")
    assert msgs[2] == {
        "path": "part2",
        "test": "1",
        "b": Resolve([{}, {"path": "x"}, {"path": "y"}]),
    }
    assert parse_path("/a/b&flag")[2] == {"path": "b", "flag": True}


def test_device_switch():
    msgs = parse_path("/~message@1.0&greeting=hi/greeting")
    assert msgs[0] == As("message@1.0", {"path": "", "greeting": "hi"})
    msgs = parse_path(f"/{ID}~process@1.0/now")
    assert msgs == [As("process@1.0", {"path": ID}), {"path": "now"}]
    msgs = parse_path("/a/k~(/x/y/z)&p=1")
    assert msgs[2] == As(XYZ, {"path": "k", "p": "1"})


def test_query_and_types():
    msgs = parse_path({"path": "/a?x=1&y+integer=2&z&f+float=1.5&t+atom=ok"})
    assert msgs[1] == {"path": "a", "x": "1", "y": 2, "z": True, "f": 1.5, "t": ao.Atom("ok")}
    msgs = parse_path({"path": "/a", "l+list": '"apple", 1', "m+map": 'k="v", n=?1'})
    assert msgs[1]["l"] == [b"apple", 1] and msgs[1]["m"] == {"k": b"v", "n": True}


def test_percent_decoding():
    assert parse_path("/a%2Fb/c%20d") == [{}, {"path": "a"}, {"path": "b"}, {"path": "c d"}]


def test_resolve_singletons_end_to_end():
    assert ao.resolve({"path": '/~message@1.0&greeting="Hello"&count+integer=42/count'}) == (
        "ok",
        42,
    )
    # (`~message@1.0&items+list="apple",1,"banana"` is 42 bytes: an ID, so one more item)
    st, v = ao.resolve({"path": '/~message@1.0&items+list="apple",1,"banana",2/items/2'})
    assert (st, v) == ("ok", 1)
    assert ao.resolve({"path": "/~test-device@1.0/test_func"}) == ("ok", "GOOD_FUNCTION")


@pytest.mark.parametrize(
    "bad",
    [
        "/+a",
        "/a+integer",
        "/a/k~",
        {"path": "/a", "x.y": "1"},
        {"path": "/a", "k+nosuchtype": "zz"},
        {"path": "/" + "a" * 600},
        {"path": 12},
        "/a/%ff",
        "/" + "(ab/" * 40 + ")" * 40,  # (no level is 32, 42 or 43 bytes: that is an ID)
    ],
)
def test_bad_paths_raise_typed_errors(bad):
    with pytest.raises(PathError):
        parse_path(bad)
    with pytest.raises(HyperbeamError):
        ao.resolve(bad if isinstance(bad, dict) else {"path": bad})
