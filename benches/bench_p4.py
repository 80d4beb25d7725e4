"""The cost p4@1.0 adds per request (issue 16 item 1; target <= 10%).

One run, two in-process nodes (:class:`hyperbeam_fast.node.pipeline.Node`, the whole request
pipeline without the socket: the strictest measure, HTTP's fixed cost would hide part of it),
both with HMAC replies (``force_signed: false``), a memory store (``--rocksdb``: RocksDB, where
every debit is a store write) and the same stored message:

* anchor: ``GET /<ID>/key`` signed by a user, on a node without hooks;
* p4: the same request on a node whose ``request``/``response`` hooks are p4@1.0 over
  simple-pay@1.0 (estimate, balance check, price, debit of the user's ledger entry).

The two nodes take turns, one request each (the order swapped every turn), so both see the same
machine load; each request's CPU time (``time.thread_time``: ``Node.handle`` runs in the calling
thread, native code included) is measured, and the median of each node is compared. Wall time
on a shared machine would mostly measure the wait for a core. Checked: every
reply is 200 with the key's value, and the user's balance went down by exactly the price of
each charged request.
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time

import hyperbeam_fast as hb
from _common import Result, check, main
from hyperbeam_fast import cache
from hyperbeam_fast.devices.simple_pay import get_balance
from hyperbeam_fast.node import client
from hyperbeam_fast.node.config import DEFAULTS
from hyperbeam_fast.node.pipeline import Node

REQUESTS = 4000
PRICE = 1
START = 10**12


def _node(op: hb.Wallet, user: hb.Wallet, p4: bool, store: str) -> Node:
    opts = copy.deepcopy(DEFAULTS)
    opts.update({"force_signed": False, "log_requests": False})
    if p4:
        hook = {
            "device": "p4@1.0",
            "pricing-device": "simple-pay@1.0",
            "ledger-device": "simple-pay@1.0",
        }
        opts.update(
            {
                "on": {"request": hook, "response": hook},
                "simple_pay_price": PRICE,
                "simple_pay_ledger": {user.address: START},
            }
        )
    return Node(opts, op, store)


def run() -> list[Result]:
    rocks = "--rocksdb" in sys.argv
    op, user = hb.Wallet.generate(), hb.Wallet.generate()
    tmp = tempfile.mkdtemp()
    nodes = {
        name: _node(op, user, name == "p4", f"rocksdb:{tmp}/{name}" if rocks else "memory")
        for name in ("anchor", "p4")
    }
    msg = {"key": "value", "n": 1}
    uid = ""
    for n in nodes.values():
        uid = cache.write(msg, n.store)
    method, path, headers, body = client.encode_request({"path": f"/{uid}/key"}, user)
    hdrs = [(k.encode(), v) for k, v in headers.items()]
    steps = 2  # /<ID>/key: two messages

    def one(node: Node) -> None:
        st, _, out = node.handle(method, path, hdrs, body)
        check(st == 200 and out == b"value", f"reply {st} {out[:80]!r}")

    times: dict[str, list[float]] = {"anchor": [], "p4": []}
    for n in nodes.values():
        for _ in range(50):  # warm-up
            one(n)
    opts_p4 = nodes["p4"]._opts()
    before = get_balance(user.address, opts_p4)
    clock = time.thread_time  # CPU time of this thread: what the request costs, not the wait
    # for a core on a shared machine (Node.handle runs in the calling thread)
    for i in range(REQUESTS):  # one of each in turn (order swapped each time): same load
        order = ("anchor", "p4") if i % 2 else ("p4", "anchor")
        for name in order:
            n = nodes[name]
            t0 = clock()
            one(n)
            times[name].append(clock() - t0)
    charged = REQUESTS
    after = get_balance(user.address, opts_p4)
    check(before - after == charged * steps * PRICE, f"debited {before - after}, not {charged}")
    for n in nodes.values():
        n.close()
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    rate = {k: 1 / v for k, v in med.items()}
    cost_us = (med["p4"] - med["anchor"]) * 1e6
    store = "RocksDB" if rocks else "memory"
    print(
        f"  {store} store: anchor {med['anchor'] * 1e6:.0f} us/req, with p4 "
        f"{med['p4'] * 1e6:.0f} us/req: p4 adds {cost_us:.0f} us "
        f"({(med['p4'] / med['anchor'] - 1) * 100:.1f}%)"
    )
    return [
        Result("p4", f"signed cached-key GET, HMAC, no hooks ({store})", rate["anchor"]),
        Result(
            "p4",
            f"same with p4@1.0+simple-pay@1.0 ({store})",
            rate["p4"] / rate["anchor"],
            unit="x",
            target=1 / 1.10,
            vs=(("the anchor (rate ratio; >= 0.91x is <= 10% cost)", rate["p4"] / rate["anchor"]),),
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_p4"))
