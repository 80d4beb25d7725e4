"""LMDBStore beyond the shared store contract (test_store_conformance.py, test_cache.py and
test_store_crash.py run it too): several processes open one store at once, see each other's
writes, and a reopened store holds everything (issue 15 item 2)."""

from __future__ import annotations

import subprocess
import sys

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.exceptions import StoreCorrupt, StoreError
from hyperbeam_fast.node.pipeline import open_store
from hyperbeam_fast.store import LMDBStore

WRITER = r"""
import sys
from hyperbeam_fast import cache
from hyperbeam_fast.store import LMDBStore

path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = LMDBStore(path)
for i in range(n):
    s.write(f"shared/{tag}-{i}", f"{tag}{i}".encode())
    cache.write({"who": tag, "i": i}, s)
print(s.read("from-parent").decode(), flush=True)
s.close()
"""


def test_two_processes_write_one_store_at_once(tmp_path):
    path = str(tmp_path / "db")
    parent = LMDBStore(path)  # held open the whole time, as a worker does
    parent.write("from-parent", b"hello")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, path, tag, "200"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["hello\n", "hello\n"]  # each child read what the open parent wrote
    names = parent.list("shared")
    assert len(names) == 400
    assert parent.read("shared/a-199") == b"a199" and parent.read("shared/b-0") == b"b0"
    for tag in ("a", "b"):
        uid = hb.id({"who": tag, "i": 7}, "none")
        assert hb.match(cache.read(uid, parent), {"who": tag, "i": 7})
    parent.close()


def test_restart_keeps_groups_links_and_messages(tmp_path):
    s = open_store(f"lmdb:{tmp_path / 'db'}")
    assert isinstance(s, LMDBStore)
    uid = cache.write({"a": 1, "b": {"c": b"x" * 500}}, s)
    s.make_link(uid, "named")
    s.close()
    with pytest.raises(StoreError):
        s.read("named")  # closed
    s = open_store(f"lmdb:{tmp_path / 'db'}")
    assert hb.match(cache.read("named", s), {"a": 1, "b": {"c": b"x" * 500}})
    assert s.type(uid) == "composite" and "b" in s.list(uid)
    s.close()


def test_corrupt_entries_are_typed(tmp_path):
    import lmdb

    path = str(tmp_path / "db")
    env = lmdb.open(path, map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(b"bad", b"\x09junk")
        txn.put(b"empty", b"\x00")
        txn.put(b"badlink", b"\x01\xff\xfe")
    env.close()
    with LMDBStore(path, capacity=1 << 24) as s:
        for k in ("bad", "empty", "badlink"):
            with pytest.raises(StoreCorrupt):
                s.read(k)


def test_an_unopenable_directory_is_a_store_error(tmp_path):
    f = tmp_path / "file"
    f.write_bytes(b"not a directory")
    with pytest.raises(StoreError):
        LMDBStore(str(f))
