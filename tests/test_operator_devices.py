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
from hyperbeam_fast.devices.simple_pay import get_balance
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


def _p4_node(price=1, ledger=None):
    opts = copy.deepcopy(DEFAULTS)
    hook = {
        "device": "p4@1.0",
        "pricing-device": "simple-pay@1.0",
        "ledger-device": "simple-pay@1.0",
    }
    # two equal handler messages, as config.flat gives them
    opts.update(
        {
            "force_signed": False,
            "on": {"request": dict(hook), "response": dict(hook)},
            "simple_pay_price": price,
            "simple_pay_ledger": ledger or {},
        }
    )
    return Node(opts, hb.Wallet.generate(), "memory")


def _signed_get(node, wallet, path):
    from hyperbeam_fast.node import client

    method, p, headers, body = client.encode_request({"path": path}, wallet)
    return node.handle(method, p, [(k.encode(), v) for k, v in headers.items()], body)


def test_p4_debits_each_request_exactly_its_own_price():
    user = hb.Wallet.generate()
    n = _p4_node(price=3, ledger={user.address: 1000})
    try:
        uid = hb.cache.write({"a": {"b": "deep"}, "k": "v"}, n.store)
        paths = [f"/{uid}/k", f"/{uid}/a/b", f"/{uid}/k", "/~message@1.0&x=1/x"]
        expected = 1000
        for path in paths:
            st, _, _ = _signed_get(n, user, path)
            assert st == 200
            expected -= 3 * len(hb.parse_path({"path": path}))
            assert get_balance(user.address, n._opts()) == expected
        # the hooks called out of order (a response without its request): priced afresh
        other = {"path": f"/{uid}/a/b"}
        o = n._opts()
        o[authority.CALLER] = authority.Caller({user.address: frozenset({"path"})}, {})
        hook = n.node_msg["on"]["response"]
        assert P4.request(hook, {"request": {"path": f"/{uid}/k"}, "body": []}, o)[0] == "ok"
        assert P4.response(hook, {"request": other, "body": {}}, o)[0] == "ok"
        assert get_balance(user.address, o) == expected - 3 * 3  # /<ID>/a/b: 3 messages
    finally:
        n.close()


def test_p4_ledger_entry_is_not_a_device_key():
    user = hb.Wallet.generate()
    n = _p4_node(ledger={user.address: 100})
    try:
        expected = 100
        for key in ("p4-ledger", "p4_ledger", "p4-ledger/debit", "p4_direct"):
            path = f"/~simple-pay@1.0/{key}?account={user.address}&quantity=50"
            st, _, body = _signed_get(n, user, path)
            assert (st, body) == (404, b"not_found")
            # the request was charged its price (the hook ran), never the 50
            expected -= len(hb.parse_path({"path": path}))
            assert get_balance(user.address, n._opts()) == expected
        assert not callable(SIMPLE_PAY.p4_ledger)
    finally:
        n.close()


def test_p4_follows_a_node_message_change():
    user = hb.Wallet.generate()
    n = _p4_node(price=5, ledger={user.address: 100})
    try:
        uid = hb.cache.write({"k": "v"}, n.store)
        assert _signed_get(n, user, f"/{uid}/k")[0] == 200
        assert get_balance(user.address, n._opts()) == 90
        # the operator switches to faff@1.0 with an empty allow-list: the user is refused
        faff = {"device": "p4@1.0", "pricing-device": "faff@1.0", "ledger-device": "faff@1.0"}
        n.node_msg = {**n.node_msg, "on": {"request": faff, "response": faff}}
        assert _signed_get(n, user, f"/{uid}/k")[0] == 403
        # ... and back to simple-pay at another price, on the same ledger
        sp = {
            "device": "p4@1.0",
            "pricing-device": "simple-pay@1.0",
            "ledger-device": "simple-pay@1.0",
        }
        n.node_msg = {**n.node_msg, "simple_pay_price": 1, "on": {"request": sp, "response": sp}}
        assert _signed_get(n, user, f"/{uid}/k")[0] == 200
        assert get_balance(user.address, n._opts()) == 88
    finally:
        n.close()


def test_simple_pay_keeps_no_copy_of_the_ledger_in_a_worker_of_several():
    user = hb.Wallet.generate().address
    n = _p4_node(ledger={user: 10})
    try:
        o = n._opts()
        o["priv_process_owner"] = object()  # serve --workers: another worker may write
        assert get_balance(user, o) == 10
        n.store.write(f"simple-pay@1.0/ledger/{user}", b"7")  # another worker's debit
        assert get_balance(user, o) == 7
        # one process: the record it wrote itself is what it reads back, across instances
        assert SIMPLE_PAY.p4_ledger.debit(user, 2, n._opts()) == ("ok", True)
        assert (
            get_balance(user, n._opts()) == 5
            and n.store.read(f"simple-pay@1.0/ledger/{user}") == b"5"
        )
    finally:
        n.close()


def test_the_pipeline_hook_follows_the_device_registry():
    """The request pipeline prepares each hook once per node message: a device registered
    again under the same name (or removed) takes effect at the next request."""

    class Stamp:
        name = "stamp@1.0"
        hook_direct = True

        def __init__(self, mark):
            self.mark = mark

        def request(self, base, hook, opts=None):
            return "error", {"status": 418, "body": self.mark}

    ao.register_device("stamp@1.0", Stamp("first"))
    opts = copy.deepcopy(DEFAULTS)
    opts.update({"force_signed": False, "on": {"request": {"device": "stamp@1.0"}}})
    n = Node(opts, hb.Wallet.generate(), "memory")
    try:
        assert n.handle("GET", "/~meta@1.0/info/address", [], b"")[::2] == (418, b"first")
        ao.register_device("stamp@1.0", Stamp("second"))
        assert n.handle("GET", "/~meta@1.0/info/address", [], b"")[::2] == (418, b"second")
        ao.unregister_device("stamp@1.0")
        st, _, _ = n.handle("GET", "/~meta@1.0/info/address", [], b"")
        assert st != 418  # the handler's device is gone: the hook fails, never the old one
    finally:
        ao.unregister_device("stamp@1.0")
        n.close()
