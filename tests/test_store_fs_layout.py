"""The fs store's tree is HyperBEAM's layout (runtime §10.4, core §2.5)."""

from __future__ import annotations

import hashlib
import os

import hyperbeam_fast as hb
from hyperbeam_fast import _native, cache
from hyperbeam_fast.store import FSStore


def tree(root: str) -> dict[str, str]:
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".hbfast-tmp"]
        for name in dirs + files:
            full = os.path.join(d, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                out[rel] = "-> " + os.readlink(full)
            elif os.path.isdir(full):
                out[rel] = "dir"
            else:
                out[rel] = "file"
    return out


def h(b: bytes) -> str:
    return hb.b64url_encode(hashlib.sha256(b).digest())


def test_layout(tmp_path):
    prefix = str(tmp_path / "cache")
    s = FSStore(prefix)
    uid = hb.id({"a": "1", "sub": {"b": "2"}}, "none")
    cid = uid  # an HMAC commitment's ID is the unsigned ID
    hmac = {"alg": "hmac-sha256", "commitment-device": "httpsig@1.0"}
    msg = {"a": "1", "sub": {"b": "2"}, "commitments": {cid: hmac}}
    assert cache.write(msg, s) == uid
    # The unsigned ID leaves the commitments out: the group is named by all of its content.
    group = _native.cache_group_id(hb.convert(msg, "tabm"))
    sub = hb.id({"b": "2"}, "none")
    comms = hb.id({cid: hmac}, "none")
    commit_body = hb.id(hmac, "none")
    t = tree(prefix)
    expected = {
        "data": "dir",
        f"data/{h(b'1')}": "file",
        f"data/{h(b'2')}": "file",
        f"data/{h(b'hmac-sha256')}": "file",
        f"data/{h(b'httpsig@1.0')}": "file",
        group: "dir",
        f"{group}/a": f"-> {prefix}/data/{h(b'1')}",
        f"{group}/sub": f"-> {prefix}/{sub}",
        f"{group}/commitments": f"-> {prefix}/{comms}",
        sub: "dir",
        f"{sub}/b": f"-> {prefix}/data/{h(b'2')}",
        comms: "dir",
        f"{comms}/{cid}": f"-> {prefix}/{commit_body}",
        commit_body: "dir",
        f"{commit_body}/alg": f"-> {prefix}/data/{h(b'hmac-sha256')}",
        f"{commit_body}/commitment-device": f"-> {prefix}/data/{h(b'httpsig@1.0')}",
        uid: f"-> {prefix}/{group}",
    }
    assert t == expected
    with open(os.path.join(prefix, "data", h(b"1")), "rb") as f:
        assert f.read() == b"1"
    # Cached binary results: <HP1>/<HP2> -> data/<h>; process slots: computed/<P>/slot/<n>.
    hp = hb.hashpath({"a": "1"}, {"b": "2"})
    cache.write_binary(hp, b"r", s)
    assert os.readlink(os.path.join(prefix, hp)) == f"{prefix}/data/{h(b'r')}"
    cache.link(uid, f"computed/{'P' * 43}/slot/0", s)
    assert os.path.islink(os.path.join(prefix, "computed", "P" * 43, "slot", "0"))
    s.close()
    # Nothing left in staging after clean writes.
    assert os.listdir(os.path.join(prefix, ".hbfast-tmp")) == []
