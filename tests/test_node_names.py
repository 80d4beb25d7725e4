"""local-name@1.0, name@1.0 and node-process@1.0 over a running node: names registered by the
operator only (``dev_local_name:unauthorized_test``, ``http_test``), resolved through the
``name_resolvers`` chain with and without ``load`` (``dev_name:load_and_execute_test``), node
processes signed and scheduled on first use and the same after a restart
(``dev_node_process:lookup_spawn_test``, ``lookup_execute_test``)."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.node import client
from node_util import NodeProc

CONFIG = (
    "name_resolvers/1/device: local-name@1.0\n"
    "node_processes/ledger/device: process@1.0\n"
    "node_processes/ledger/type: Process\n"
    "node_processes/ledger/execution-device: test-device@1.0\n"
    "node_processes/ledger/scheduler-device: scheduler@1.0\n"
)


@pytest.fixture(scope="module")
def wallets(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    op = hb.Wallet.generate()
    op.save(d / "operator.json")
    return d / "operator.json", op, hb.Wallet.generate()


def _register(url, key, value, wallet):
    return client.post(
        url, "/~local-name@1.0/register", {"key": key, "value": value}, wallet=wallet
    )


def test_names_operator_only_resolvers_and_restart(tmp_path, wallets):
    keyfile, op, other = wallets
    store = f"rocksdb:{tmp_path / 'db'}"
    node = NodeProc(tmp_path / "n1", config=CONFIG, key=keyfile, store=store)
    try:
        for w in (other, None):
            st, res = _register(node.url, "name1", "value1", w)
            assert st == "error" and res["status"] == 403 and b"operator" in res["body"]
        st, res = client.get(node.url, "/~local-name@1.0/lookup?key=name1")
        assert st == "error" and res["status"] == 404 and b"name1" in res["body"]
        assert _register(node.url, "name1", "value1", op) == ("ok", b"Registered.")
        assert client.get(node.url, "/~local-name@1.0/lookup?key=name1") == ("ok", b"value1")
        assert client.get(node.url, "/~local-name@1.0/name1") == ("ok", b"value1")
        st, res = _register(node.url, "../evil", "x", op)
        assert st == "error" and res["status"] == 400
        # a name pointing at a message: name@1.0 loads it (its keys are then reachable)
        target = hb.commit({"path": "/deep", "deep": "PING"}, other)  # stored: signed request
        assert client.request("POST", node.url, target) == ("ok", b"PING")
        tid = hb.id(target, "all")
        assert _register(node.url, "pinger", tid, op) == ("ok", b"Registered.")
        assert client.get(node.url, "/~name@1.0/pinger/deep") == ("ok", b"PING")
        assert client.get(node.url, "/~name@1.0/pinger?load=false") == ("ok", tid.encode())
        st, res = client.get(node.url, "/~name@1.0/nobody")
        assert st == "error" and res["status"] == 404
        # the operator repoints a name
        assert _register(node.url, "name1", "value2", op) == ("ok", b"Registered.")
        assert client.get(node.url, "/~local-name@1.0/name1") == ("ok", b"value2")
    finally:
        node.stop()
    node = NodeProc(tmp_path / "n2", config=CONFIG, key=keyfile, store=store)
    try:  # names live in the store
        assert client.get(node.url, "/~local-name@1.0/name1") == ("ok", b"value2")
        assert client.get(node.url, "/~name@1.0/pinger/deep") == ("ok", b"PING")
    finally:
        node.stop()


def test_node_process_spawned_once_and_scheduled(tmp_path, wallets):
    keyfile, op, other = wallets
    store = f"rocksdb:{tmp_path / 'db'}"
    node = NodeProc(tmp_path / "n1", config=CONFIG, key=keyfile, store=store)
    try:
        st, res = client.get(node.url, "/~node-process@1.0/nosuch?spawn=false")
        assert st == "error" and res["status"] == 404
        st, res = client.get(node.url, "/~node-process@1.0/nosuch")
        assert st == "error" and res["status"] == 404  # not in node_processes
        st, proc = client.get(node.url, "/~node-process@1.0/ledger")
        assert st == "ok", proc
        assert hb.verify(proc) and hb.signers(proc) == [op.address]
        assert proc["scheduler"] == op.address.encode() and proc["device"] == b"process@1.0"
        pid = hb.id(proc, "all")
        st, again = client.get(node.url, "/~node-process@1.0/ledger")
        assert st == "ok" and hb.id(again, "all") == pid  # a singleton
        # it was scheduled (slot 0): a signed message takes slot 1
        msg = hb.commit({"target": pid, "type": "Message", "test-key": "v"}, other)
        st, a = client.post(node.url, "/ledger~node-process@1.0/schedule", {"body": msg})
        assert st == "ok" and a["slot"] == 1, a
    finally:
        node.stop()
    node = NodeProc(tmp_path / "n2", config=CONFIG, key=keyfile, store=store)
    try:  # the name is registered: the same process after a restart
        st, proc = client.get(node.url, "/~node-process@1.0/ledger?spawn=false")
        assert st == "ok" and hb.id(proc, "all") == pid
    finally:
        node.stop()
