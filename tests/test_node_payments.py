"""p4@1.0 with simple-pay@1.0 and faff@1.0 over a running node (`hyperbeam-fast serve`),
configured in config.flat as HyperBEAM configures them; HyperBEAM's own scenarios
(``dev_simple_pay:get_balance_and_top_up_test``: balance 100, a charged request leaves 80, a
top-up gives 180; ``dev_p4:faff_test``, ``non_chargable_route_test``), the refusals, and the
ledger kept across a restart."""

from __future__ import annotations

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.node import client
from node_util import NodeProc


def _p4_config(pricing: str, ledger: str, extra: str = "") -> str:
    lines = []
    for hook in ("request", "response"):
        lines += [
            f"on/{hook}/device: p4@1.0",
            f"on/{hook}/pricing-device: {pricing}",
            f"on/{hook}/ledger-device: {ledger}",
        ]
    return "\n".join(lines) + "\n" + extra


@pytest.fixture(scope="module")
def wallets(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    op = hb.Wallet.generate()
    op.save(d / "operator.json")
    return d / "operator.json", op, hb.Wallet.generate(), hb.Wallet.generate()


def _status(res):
    st, msg = res
    return msg.get("status") if isinstance(msg, dict) else (200 if st == "ok" else None)


def test_simple_pay_balance_charge_topup_and_restart(tmp_path, wallets):
    keyfile, op, user, other = wallets
    cfg = _p4_config(
        "simple-pay@1.0",
        "simple-pay@1.0",
        f"simple_pay_price: 10\nsimple_pay_ledger/{user.address}: 100\n",
    )
    store = f"rocksdb:{tmp_path / 'db'}"
    node = NodeProc(tmp_path / "n1", config=cfg, key=keyfile, store=store)
    try:
        # the balance is read before the request is charged: 100; it costs 2 messages x 10
        assert client.get(node.url, "/~simple-pay@1.0/balance", wallet=user) == ("ok", 100)
        # /~p4@1.0/balance is a free route: it shows the 80 left
        assert client.get(node.url, "/~p4@1.0/balance", wallet=user) == ("ok", 80)
        # the operator's top-up is free and gives 180
        topup = hb.commit(
            {
                "path": "/~simple-pay@1.0/topup",
                "amount": 100,
                "recipient": user.address,
            },
            op,
        )
        assert client.request("POST", node.url, topup) == ("ok", 180)
        assert client.get(node.url, "/~simple-pay@1.0/balance", wallet=user) == ("ok", 180)
        # a replayed top-up (the same signature) is refused and credits nothing
        st, msg = client.request("POST", node.url, topup)
        assert st == "error" and msg["status"] == 409 and b"already applied" in msg["body"]
        # a top-up by anyone else is refused (and costs them: they pay for the request)
        st, msg = client.post(
            node.url,
            "/~simple-pay@1.0/topup",
            {"amount": 1000, "recipient": user.address},
            wallet=user,
        )
        assert st == "error" and msg["status"] == 403 and b"operator" in msg["body"]
        # ... the failed top-up was charged 20: 180 - 20 (balance) - 20 (topup) = 140
        assert client.get(node.url, "/~p4@1.0/balance", wallet=user) == ("ok", 140)
        # debit is the hook's alone
        st, msg = client.get(
            node.url, f"/~simple-pay@1.0/debit?quantity=50&account={other.address}", wallet=user
        )
        assert st == "error" and msg["status"] == 403
        # an unfunded signer and an unsigned request: 429 with the price and the balance
        st, msg = client.get(node.url, "/~message@1.0&greeting=hi/greeting", wallet=other)
        assert st == "error" and msg["status"] == 429
        assert msg["body"] == b"Insufficient funds" and msg["price"] == 20 and msg["balance"] == 0
        st, msg = client.get(node.url, "/~message@1.0&greeting=hi/greeting")
        assert st == "error" and msg["status"] == 429
        # free routes stay free for anyone; the operator pays nothing
        assert client.get(node.url, "/~meta@1.0/info/address") == ("ok", op.address.encode())
        assert client.get(node.url, "/~message@1.0&greeting=hi/greeting", wallet=op) == (
            "ok",
            b"hi",
        )
        # a free template is not a way around the price: the query and later devices count
        st, msg = client.get(node.url, "/~message@1.0&greeting=hi/greeting?x=/~meta@1.0/info")
        assert st == "error" and msg["status"] == 429
        assert client.get(node.url, "/~p4@1.0/balance", wallet=user) == ("ok", 120)
    finally:
        node.stop()
    # the ledger lives in the node's store: the balance survives a restart
    node = NodeProc(tmp_path / "n2", config=cfg, key=keyfile, store=store)
    try:
        assert client.get(node.url, "/~p4@1.0/balance", wallet=user) == ("ok", 120)
        st, msg = client.request("POST", node.url, topup)
        assert st == "error" and msg["status"] == 409  # replay refused after a restart too
    finally:
        node.stop()


def test_faff_allow_list(tmp_path, wallets):
    keyfile, op, good, bad = wallets
    cfg = _p4_config("faff@1.0", "faff@1.0", f"faff_allow_list: {good.address}\n")
    node = NodeProc(tmp_path / "n", config=cfg, key=keyfile)
    try:
        path = "/~message@1.0&greeting=Hello/greeting"
        assert client.get(node.url, path, wallet=good) == ("ok", b"Hello")
        st, msg = client.get(node.url, path, wallet=bad)
        assert st == "error" and msg["status"] == 403
        assert b"under any circumstances" in msg["body"]
        st, msg = client.get(node.url, path)  # unsigned: refused (faff_allow_unsigned unset)
        assert st == "error" and msg["status"] == 403
        assert client.get(node.url, "/~meta@1.0/info/address")[0] == "ok"  # a free route
    finally:
        node.stop()


def test_faff_allow_unsigned_and_custom_free_routes(tmp_path, wallets):
    keyfile, op, good, bad = wallets
    cfg = _p4_config(
        "faff@1.0",
        "faff@1.0",
        "faff_allow_unsigned: true\np4_non_chargable_routes/1/template: /~test-device@1.0/*\n",
    )
    node = NodeProc(tmp_path / "n", config=cfg, key=keyfile)
    try:
        assert client.get(node.url, "/~message@1.0&a=b/a") == ("ok", b"b")
        st, msg = client.get(node.url, "/~message@1.0&a=b/a", wallet=bad)  # not in the list
        assert st == "error" and msg["status"] == 403
        # the operator's free routes replace the defaults
        assert client.get(node.url, "/~test-device@1.0/test_func", wallet=bad) == (
            "ok",
            b"GOOD_FUNCTION",
        )
        st, msg = client.get(node.url, "/~meta@1.0/info/address", wallet=bad)
        assert st == "error" and msg["status"] == 403
    finally:
        node.stop()


def test_unpriced_route_is_402_naming_the_pricing_device(tmp_path, wallets):
    keyfile, op, user, _ = wallets
    node = NodeProc(tmp_path / "n", config=_p4_config("meta@1.0", "simple-pay@1.0"), key=keyfile)
    try:
        st, msg = client.get(node.url, "/~message@1.0&a=b/a", wallet=user)
        assert st == "error" and msg["status"] == 402
        assert b"meta@1.0" in msg["body"] and b"no price" in msg["body"]
        assert b"/~message@1.0&a=b/a" in msg["body"]
        assert client.get(node.url, "/~meta@1.0/info/address")[0] == "ok"
    finally:
        node.stop()
