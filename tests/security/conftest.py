"""Fixtures for the attack tests (issue 11): the operator's and the attacker's wallets, and a
real node served as ``hyperbeam-fast serve --key key-1.json`` (operator key-1)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import hyperbeam_fast as hb
import pytest
from node_util import NodeProc


@pytest.fixture(scope="session")
def key1_path(shared_dir: Path) -> Path:
    p = shared_dir / "fixtures" / "hyperbeam" / "key-1.json"
    if not p.exists():
        pytest.skip("../shared/fixtures/hyperbeam/key-1.json missing")
    return p


@pytest.fixture(scope="session")
def operator_wallet(key1_path: Path) -> hb.Wallet:
    """key-1: the node's wallet and (by default) its operator."""
    return hb.Wallet.from_file(str(key1_path))


@pytest.fixture(scope="session")
def attacker_wallet(shared_dir: Path) -> hb.Wallet:
    """key-2: a stranger's key."""
    p = shared_dir / "fixtures" / "hyperbeam" / "key-2.json"
    if not p.exists():
        pytest.skip("../shared/fixtures/hyperbeam/key-2.json missing")
    return hb.Wallet.from_file(str(p))


def start_node(tmp: Path, key1_path: Path, config: str = "", **kw: object) -> NodeProc:
    """A node run with a copy of key-1 as its wallet (the file is never written to)."""
    tmp.mkdir(parents=True, exist_ok=True)
    key = tmp / "key-1.json"
    shutil.copy(key1_path, key)
    return NodeProc(tmp, config=config, key=key, **kw)  # type: ignore[arg-type]


@pytest.fixture()
def node(tmp_path: Path, key1_path: Path) -> Iterator[NodeProc]:
    """A fresh node per test (memory store, operator key-1)."""
    n = start_node(tmp_path / "node", key1_path)
    try:
        yield n
    finally:
        n.stop()
