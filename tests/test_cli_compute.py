"""`hyperbeam-fast compute PROCESS_ID --slot N --store DIR` (issue 7 part 8), as a subprocess.

A test-64 (`fac`) process is spawned and scheduled in-process into an on-disk store; the CLI
then opens that store, computes to the slot with a progress bar on stderr, and prints the
results as JSON. A second run resumes from the cached slots and snapshots.
"""

from __future__ import annotations

import subprocess
import sys

import hyperbeam_fast as hb
import orjson
import pytest
from hyperbeam_fast import ao, cache
from hyperbeam_fast.devices.process import register_process_devices
from hyperbeam_fast.store import FSStore, RocksDBStore

register_process_devices()

N = 240


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hyperbeam_fast", *args], capture_output=True, timeout=300
    )


@pytest.fixture(scope="module")
def wallet(shared_dir):
    p = shared_dir / "fixtures" / "hyperbeam" / "key-1.json"
    if not p.exists():
        pytest.skip("fixtures missing from ../shared/fixtures/hyperbeam")
    return hb.Wallet.from_file(str(p))


@pytest.fixture(scope="module")
def fac_image(shared_dir):
    p = shared_dir / "fixtures" / "hyperbeam" / "test-64.wasm"
    if not p.exists():
        pytest.skip("fixtures missing from ../shared/fixtures/hyperbeam")
    return p.read_bytes()


def _spawn(store, image: bytes, n: int, wallet: hb.Wallet) -> str:
    try:
        return _spawn_in(store, image, n, wallet)
    finally:
        store.close()  # RocksDB: one process at a time


def _spawn_in(store, image: bytes, n: int, wallet: hb.Wallet) -> str:
    """A signed process and ``n`` signed messages (the scheduler takes signed ones only)."""
    opts = {"priv_store": store}
    img = cache.write({"body": image}, store)
    proc = {
        "device": "process@1.0",
        "type": "Process",
        "image": img,
        "execution-device": "stack@1.0",
        "device-stack": ["wasm-64@1.0"],
    }
    proc = hb.commit(proc, wallet)
    cache.write(proc, store)
    pid = hb.id(proc, "all")
    for i in range(n):
        x = float(i % 10 + 1)
        m = {"type": "Message", "target": pid, "function": "fac", "parameters": [x]}
        m = hb.commit(m, wallet)
        s, a = ao.resolve(proc, {"path": "schedule", "method": "POST", "body": m}, opts)
        assert s == "ok", a
    return pid


def test_compute_with_progress_and_resume(fac_image, tmp_path, wallet):
    d = tmp_path / "store"
    pid = _spawn(
        RocksDBStore(str(d)), fac_image, N, wallet
    )  # the default store of serve and compute
    r = run("compute", pid, "--slot", str(N - 1), "--store", str(d), "--snapshot-interval", "50")
    assert r.returncode == 0, r.stderr.decode()
    out = orjson.loads(r.stdout)
    assert out["process"] == pid and out["at-slot"] == N - 1
    # slot N-1 computes fac((N-1) % 10 + 1)
    import math

    assert out["results"]["output"] == [float(math.factorial((N - 1) % 10 + 1))]
    err = r.stderr.decode()
    assert f"{N}/{N} slots" in err and "100.0%" in err and "[" + "#" * 30 + "]" in err
    assert "\r" in err
    # results and snapshots are cached: a lower slot is read back, a higher one resumes
    store = RocksDBStore(str(d))
    try:
        assert cache.list_numbered(f"computed/{pid}/slot", store)[-1] == N - 1
        # runtime §12.4: each state is linked by slot and by its own ID
        uid = store.read_link(f"computed/{pid}/slot/3")
        assert uid and store.read_link(f"computed/{pid}/{uid}") == uid
        snaps = cache.list_numbered(f"computed/{pid}/snapshot", store)
        assert snaps == list(range(0, N, 50))
        (key,) = cache.list(f"computed/{pid}/snapshot/200", store)  # the wasm-64 stack member
        size = int(cache.read(f"computed/{pid}/snapshot/200/{key}/size", store))
        assert size % 65536 == 0  # test-64.wasm exports no memory: 0
    finally:
        store.close()
    r = run("compute", pid, "--slot", "3", "--store", str(d), "--no-progress")
    assert r.returncode == 0 and r.stderr == b"", r.stderr.decode()
    assert orjson.loads(r.stdout)["results"]["output"] == [24.0]


def test_compute_latest_slot_default(fac_image, tmp_path, wallet):
    d = tmp_path / "store"
    pid = _spawn(FSStore(d), fac_image, 5, wallet)
    r = run("compute", pid, "--store", f"fs:{d}", "--full")
    assert r.returncode == 0, r.stderr.decode()
    out = orjson.loads(r.stdout)
    assert out["at-slot"] == 4 and out["results"]["output"] == [120.0]
    assert "device-stack" in out and "snapshot" not in out


def test_compute_errors(tmp_path):
    d = tmp_path / "store"
    FSStore(d)
    r = run("compute", "x" * 43, "--store", f"fs:{d}")
    assert r.returncode == 2 and b"not found" in r.stderr
    r = run("compute")
    assert r.returncode == 2 and b"usage" in r.stderr.lower()


def test_compute_takes_an_id_that_starts_with_a_dash(tmp_path):
    """One ID in 64 starts with "-": it is the process, not an unknown option."""
    d = tmp_path / "store"
    FSStore(d)
    for argv in (["-" + "P" * 42, "--store", f"fs:{d}"], ["--store", f"fs:{d}", "--", "-" * 43]):
        r = run("compute", *argv)
        assert r.returncode == 2 and b"not found" in r.stderr, r.stderr.decode()
    r = run("compute", "-P", "--store", f"fs:{d}")  # not ID-shaped: still a usage error
    assert r.returncode == 2 and b"usage" in r.stderr.lower()
