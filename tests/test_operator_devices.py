"""The operator's devices in process (the node tests are test_node_payments.py, test_node_cron.py,
test_node_names.py): the edges that are quicker to reach without HTTP."""

from __future__ import annotations

import copy

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import ao
from hyperbeam_fast.devices.cron import parse_interval
from hyperbeam_fast.devices.local_name import DEVICE as LOCAL_NAME
from hyperbeam_fast.devices.p4 import DEVICE as P4
from hyperbeam_fast.devices.p4 import is_chargeable
from hyperbeam_fast.devices.simple_pay import DEVICE as SIMPLE_PAY
from hyperbeam_fast.node import authority
from hyperbeam_fast.node.config import DEFAULTS
from hyperbeam_fast.node.pipeline import Node


@pytest.fixture(scope="module")
def node():
    n = Node(copy.deepcopy(DEFAULTS), hb.Wallet.generate(), "memory")
    yield n
    n.close()


def _as(node, who, keys=("path", "key", "value")):
    o = node._opts()
    o[authority.CALLER] = authority.Caller({who: frozenset(keys)}, {who: "tag"})
    return o


@pytest.mark.parametrize(
    ("text", "ms"),
    [("500-milliseconds", 500), ("1-second", 1000), ("2-minutes", 120_000), ("1-day", 86_400_000)],
)
def test_intervals(text, ms):
    assert parse_interval(text) == ms


@pytest.mark.parametrize(
    "bad", ["", "5", "five-seconds", "0-seconds", "-1-seconds", "1-weeks", "1"]
)
def test_bad_intervals(bad):
    with pytest.raises(ValueError):
        parse_interval(bad)


@pytest.mark.parametrize(
    ("path", "free"),
    [
        ("/~meta@1.0/info", True),
        ("/~meta@1.0/info/address", True),
        ("/~p4@1.0/balance", True),
        ("/~p4@1.0/balance/x", False),
        ("/~meta@1.0/info/x~process@1.0/now", False),  # another device after a free prefix
        ("/~meta@1.0/info&device=x", False),
        ("/~meta@1.0/(/~process@1.0/now)", False),
        ("/x?y=/~meta@1.0/info", False),  # the query is not the path
        ("/a/~meta@1.0/info", False),
    ],
)
def test_free_routes_match_whole_paths(path, free):
    assert is_chargeable({"path": path}, {}) is not free


def test_prices_must_be_non_negative(node):
    neg = {"estimate": lambda base, req: -5}
    ao.register_device("negative-price@1.0", neg)
    try:
        hook = {"pricing-device": "negative-price@1.0", "ledger-device": "simple-pay@1.0"}
        st, res = P4.request(hook, {"request": {"path": "/x"}, "body": []}, node._opts())
        assert st == "error" and res["status"] == 402 and "negative-price@1.0" in res["body"]
    finally:
        ao.unregister_device("negative-price@1.0")


def test_debit_is_the_hooks_alone(node):
    st, res = SIMPLE_PAY.debit({}, {"account": "a" * 43, "quantity": 5}, node._opts())
    assert st == "error" and res["status"] == 403


def test_topup_needs_amount_and_recipient_signed(node):
    op = node.address
    user = hb.Wallet.generate().address
    req = {"amount": 5, "recipient": user}
    st, res = SIMPLE_PAY.topup({}, req, _as(node, op, ("path", "amount")))
    assert st == "error" and res["status"] == 403
    for bad in ({"amount": 0, "recipient": user}, {"amount": "x", "recipient": user}):
        st, res = SIMPLE_PAY.topup({}, bad, _as(node, op, ("path", "amount", "recipient")))
        assert st == "error" and res["status"] == 400
    st, res = SIMPLE_PAY.topup(
        {}, {"amount": 5, "recipient": "../x"}, _as(node, op, ("amount", "recipient"))
    )
    assert st == "error" and res["status"] == 400


def test_names_refuse_unverifiable_values_and_bad_keys(node):
    op = node.address
    v = hb.commit({"a": "b"}, hb.Wallet.generate())
    v["a"] = "tampered"
    st, res = LOCAL_NAME.register({}, {"key": "k", "value": v}, _as(node, op))
    assert st == "error" and res["status"] == 400 and "does not verify" in res["body"]
    for key in ("", "a/b", "..", "x" * 300):
        st, res = LOCAL_NAME.register({}, {"key": key, "value": "v"}, _as(node, op))
        assert st == "error" and res["status"] == 400
    st, res = LOCAL_NAME.register({}, {"key": "k", "value": "v"}, _as(node, op, ("path", "key")))
    assert st == "error" and res["status"] == 403  # the value was not signed
    assert LOCAL_NAME.lookup({}, {"key": "k"}, node._opts())[0] == "error"
