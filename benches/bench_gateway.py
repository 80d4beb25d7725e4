"""Gateway read-through latency (issue 16 item 6): ``GET /<ID>/data`` of an item that only an
Arweave gateway has, with a cold and a warm local cache.

One run, in-process nodes (:class:`hyperbeam_fast.node.pipeline.Node`, the whole pipeline
without the node's socket), HMAC replies, RocksDB local stores. The gateway is a loopback HTTP
server in this script answering HyperBEAM's GraphQL query and ``/raw/<ID>`` from signed
1 KiB data items held in memory (an arlocal or a real gateway adds its own latency on top;
this measures ours). Per request, wall time (there is network I/O), medians:

* cold: each item read once through ``rocksdb:DIR+gateway:URL`` (GraphQL + raw + rebuild +
  verify + decode + write-through to RocksDB);
* warm: the same items read again on the same node (local hits), in turn with
* anchor (local): the same items on a node whose RocksDB store already holds them, no
  gateway in its chain;
* anchor (bare gateway): the two HTTP requests of a cold read alone (urllib, same server), in
  turn with the cold reads.

The miss path (``GET /<ID>`` of an ID the gateway does not have: a 404), same node:

* cold miss: each missing ID asked once (one GraphQL query answered with no transaction);
* cached miss: the same IDs again within ``gateway_miss_ttl`` (store/gateway.py
  ``MissCache``: no request), in turn with
* anchor (local miss): the same IDs on the local-only node (a 404 without a gateway).

Checked: every reply is 200 with the item's data; after the cold pass each item is in the
local store; the warm pass makes no gateway request; every miss is a 404, the cached misses
make no gateway request.
"""

from __future__ import annotations

import base64
import copy
import http.server
import json
import tempfile
import threading
import time
import urllib.request

import hyperbeam_fast as hb
from _common import Result, check, main
from hyperbeam_fast import _native, cache
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.node.config import DEFAULTS
from hyperbeam_fast.node.pipeline import Node

ITEMS = 150


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Gateway:
    """A loopback gateway: GraphQL (one ID) and ``/raw/<ID>`` over ``items`` (ID -> tx)."""

    def __init__(self, items: dict[str, dict]) -> None:
        self.hits = 0
        gw = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                gw.hits += 1
                q = json.loads(self.rfile.read(int(self.headers["content-length"])))
                tx = items.get(q["variables"]["transactionIds"][0])
                edges = []
                if tx is not None:
                    node = {
                        "id": _b64(tx["id"]),
                        "anchor": "",
                        "signature": _b64(tx["signature"]),
                        "recipient": "",
                        "owner": {"key": _b64(tx["owner"])},
                        "tags": [{"name": n.decode(), "value": v.decode()} for n, v in tx["tags"]],
                        "data": {"size": str(len(tx["data"]))},
                    }
                    edges = [{"node": node}]
                self._reply(200, json.dumps({"data": {"transactions": {"edges": edges}}}).encode())

            def do_GET(self) -> None:  # noqa: N802
                gw.hits += 1
                tx = items.get(self.path.removeprefix("/raw/"))
                self._reply(404, b"") if tx is None else self._reply(200, tx["data"])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _node(store: str) -> Node:
    opts = copy.deepcopy(DEFAULTS)
    opts.update({"force_signed": False, "log_requests": False})
    return Node(opts, hb.Wallet.generate(), store)


def run() -> list[Result]:
    w = hb.Wallet.generate()
    items: dict[str, dict] = {}
    raws: dict[str, bytes] = {}
    for i in range(ITEMS):
        data = (b"%06d" % i) * 171  # ~1 KiB
        raw = _native.ans104_serialize(
            _native.ans104_sign(
                {
                    "tags": [(b"Content-Type", b"text/plain")],
                    "data": data,
                    "target": b"",
                    "anchor": b"",
                },
                w._key,
            )
        )
        tx = ans104.parse(raw)
        ident = _b64(tx["id"])
        items[ident], raws[ident] = tx, raw
    gw = Gateway(items)
    tmp = tempfile.mkdtemp()
    through = _node(f"rocksdb:{tmp}/through+gateway:{gw.url}")
    local = _node(f"rocksdb:{tmp}/local")
    for raw in raws.values():
        cache.write(ans104.decode(raw), local.store)
    clock = time.perf_counter

    def get(node: Node, ident: str) -> float:
        t0 = clock()
        st, _, body = node.handle("GET", f"/{ident}/data", [], b"")
        dt = clock() - t0
        check(st == 200 and body == items[ident]["data"], f"reply {st} {body[:80]!r}")
        return dt

    def bare(ident: str) -> float:
        q = json.dumps({"query": "q", "variables": {"transactionIds": [ident]}}).encode()
        t0 = clock()
        req = urllib.request.Request(f"{gw.url}/graphql", data=q, method="POST")
        urllib.request.urlopen(req, timeout=10).read()
        urllib.request.urlopen(f"{gw.url}/raw/{ident}", timeout=10).read()
        return clock() - t0

    ids = list(items)
    for ident in ids[:5]:  # warm-up of the local node and the bare client
        get(local, ident)
        bare(ident)
    times: dict[str, list[float]] = {"cold": [], "warm": [], "local": [], "bare": []}
    for ident in ids:  # each cold read next to its bare round trips: the same load
        times["bare"].append(bare(ident))
        times["cold"].append(get(through, ident))
    local_store = through.store.stores[0]
    check(all(local_store.exists(i) for i in ids), "a cold read was not written through")
    hits = gw.hits
    for n, ident in enumerate(ids):  # warm reads and the local anchor in turn (order swapped)
        for name in ("warm", "local") if n % 2 else ("local", "warm"):
            times[name].append(get(through if name == "warm" else local, ident))
    check(gw.hits == hits, f"the warm pass asked the gateway {gw.hits - hits} times")

    def miss(node: Node, ident: str) -> float:
        t0 = clock()
        st, _, body = node.handle("GET", f"/{ident}", [], b"")
        dt = clock() - t0
        check(st == 404, f"a missing ID: {st} {body[:80]!r}")
        return dt

    missing = [_b64(b"%032d" % i) for i in range(ITEMS)]
    for ident in missing[:5]:  # warm-up of the local anchor's miss path
        miss(local, ident)
    for ident in missing:  # cold misses: one GraphQL query each
        times.setdefault("miss-cold", []).append(miss(through, ident))
    hits = gw.hits
    for n, ident in enumerate(missing):  # cached misses and the local anchor's in turn
        for name in ("miss-cached", "miss-local") if n % 2 else ("miss-local", "miss-cached"):
            times.setdefault(name, []).append(
                miss(through if name == "miss-cached" else local, ident)
            )
    check(gw.hits == hits, f"the cached misses asked the gateway {gw.hits - hits} times")
    through.close()
    local.close()
    gw.stop()
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    us = {k: v * 1e6 for k, v in med.items()}
    print(
        f"  per request (median of {ITEMS}): cold {us['cold']:.0f} us, warm {us['warm']:.0f} us, "
        f"local-only anchor {us['local']:.0f} us, bare gateway round trips {us['bare']:.0f} us"
    )
    print(
        f"  misses (median of {ITEMS}): cold {us['miss-cold']:.0f} us, cached "
        f"{us['miss-cached']:.0f} us, local-only node {us['miss-local']:.0f} us"
    )
    return [
        Result("gateway", "GET /<ID>/data, local-only node (anchor)", 1 / med["local"]),
        Result(
            "gateway",
            "warm local cache (gateway in the chain)",
            1 / med["warm"],
            vs=(("the local-only anchor", med["local"] / med["warm"]),),
        ),
        Result(
            "gateway",
            "cold local cache (gateway read-through)",
            1 / med["cold"],
            vs=(
                ("the local-only anchor", med["local"] / med["cold"]),
                ("the bare gateway round trips", med["bare"] / med["cold"]),
            ),
        ),
        Result(
            "gateway", "GET /<missing ID>, local-only node (404, anchor)", 1 / med["miss-local"]
        ),
        Result(
            "gateway",
            "missing ID, cold (one GraphQL query)",
            1 / med["miss-cold"],
            vs=(("the local-only anchor", med["miss-local"] / med["miss-cold"]),),
        ),
        Result(
            "gateway",
            "missing ID, cached miss (gateway_miss_ttl)",
            1 / med["miss-cached"],
            vs=(
                ("the local-only anchor", med["miss-local"] / med["miss-cached"]),
                ("the cold miss", med["miss-cold"] / med["miss-cached"]),
            ),
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main(run, "bench_gateway"))
