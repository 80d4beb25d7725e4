"""The gateway store's miss cache (issue 16, p4 item 2): an ID the gateway said it does not
have is not asked for again within ``gateway_miss_ttl`` seconds; after it, it is; an error
(a 5xx, an unreachable gateway, a 404 of the GraphQL endpoint) is never remembered; the cache
is bounded (least recently missed dropped first). A loopback gateway counts the requests."""

from __future__ import annotations

import base64
import http.server
import json
import threading

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.exceptions import StoreError
from hyperbeam_fast.node.pipeline import Node, open_store
from hyperbeam_fast.store import GatewayStore, MemoryStore, StoreChain
from hyperbeam_fast.store.gateway import DEFAULT_MISS_TTL, MissCache
from node_util import free_port


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Gateway:
    """GraphQL (one ID) and ``/raw/<ID>`` over ``items``; ``fail``: answer every request with
    this status instead; ``hits``: requests served."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}
        self.fail: int | None = None
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
                if gw.fail is not None:
                    return self._reply(gw.fail, b"gateway trouble")
                tx = gw.items.get(q["variables"]["transactionIds"][0])
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
                body = json.dumps({"data": {"transactions": {"edges": edges}}}).encode()
                return self._reply(200, body)

            def do_GET(self) -> None:  # noqa: N802
                gw.hits += 1
                tx = gw.items.get(self.path.removeprefix("/raw/"))
                self._reply(404, b"") if tx is None else self._reply(200, tx["data"])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, body: str) -> str:
        """A new signed data item on the gateway; its ID."""
        item = ans104.encode(hb.commit({"data": body}, hb.Wallet.generate(), "ans104@1.0"))
        tx = ans104.parse(item)
        self.items[_b64(tx["id"])] = tx
        return _b64(tx["id"])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def gw():
    g = Gateway()
    yield g
    g.stop()


MISSING = "M" * 43


def test_a_miss_is_remembered_for_the_ttl_then_asked_again(gw):
    clock = Clock()
    store = GatewayStore(gw.url, miss_ttl=30, clock=clock)
    assert store.read_message(MISSING) is None
    assert gw.hits == 1
    for _ in range(3):  # within the TTL: no request
        assert store.read_message(MISSING) is None
        assert store.type(MISSING) is None
    assert gw.hits == 1
    clock.now += 29.9
    assert store.read_message(MISSING) is None and gw.hits == 1
    clock.now += 0.2  # past the TTL: asked again (and remembered again)
    assert store.read_message(MISSING) is None and gw.hits == 2
    assert store.read_message(MISSING) is None and gw.hits == 2
    # an item that reaches the gateway after a miss: found once the miss has expired
    ident = gw.add("late arrival")
    tx = gw.items.pop(ident)
    assert store.read_message(ident) is None
    gw.items[ident] = tx
    hits = gw.hits
    assert store.read_message(ident) is None and gw.hits == hits  # still remembered
    clock.now += 31
    assert store.read_message(ident)["data"] == b"late arrival"
    assert gw.hits == hits + 2  # GraphQL and /raw
    assert ident not in store.misses


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_an_error_is_never_remembered(gw, status):
    store = GatewayStore(gw.url, miss_ttl=60)
    gw.fail = status
    for n in range(1, 4):
        with pytest.raises(StoreError, match=f"HTTP {status}"):
            store.read_message(MISSING)
        assert gw.hits == n
    assert len(store.misses) == 0
    gw.fail = None  # the gateway recovers: a definite miss now, remembered
    assert store.read_message(MISSING) is None and gw.hits == 4
    assert store.read_message(MISSING) is None and gw.hits == 4


def test_a_graphql_404_and_an_unreachable_gateway_are_not_remembered(gw):
    store = GatewayStore(gw.url, miss_ttl=60)
    gw.fail = 404  # the GraphQL endpoint is missing: not an answer about the ID
    assert store.read_message(MISSING) is None
    assert store.read_message(MISSING) is None
    assert gw.hits == 2 and len(store.misses) == 0
    down = GatewayStore(f"http://127.0.0.1:{free_port()}", timeout=0.5, miss_ttl=60)
    for _ in range(2):
        with pytest.raises(StoreError, match="unreachable"):
            down.read_message(MISSING)
    assert len(down.misses) == 0


def test_the_cache_is_bounded_least_recently_missed_first(gw):
    store = GatewayStore(gw.url, miss_ttl=60, miss_max=3)
    ids = [c * 43 for c in "ABCDE"]
    for i in ids:
        assert store.read_message(i) is None
    assert len(store.misses) == 3 and gw.hits == 5
    for i in ids[2:]:  # the last three: remembered
        assert store.read_message(i) is None
    assert gw.hits == 5
    assert store.read_message(ids[0]) is None and gw.hits == 6  # dropped: asked again
    assert len(store.misses) == 3


def test_ttl_zero_remembers_nothing_and_bad_settings_are_refused(gw):
    store = GatewayStore(gw.url, miss_ttl=0)
    for n in (1, 2):
        assert store.read_message(MISSING) is None and gw.hits == n
    assert len(store.misses) == 0
    with pytest.raises(StoreError):
        MissCache(ttl=-1)
    assert GatewayStore(gw.url).misses.ttl == DEFAULT_MISS_TTL


def test_node_options_and_a_node_read(gw):
    s = open_store(f"memory+gateway:{gw.url}", opts={"gateway_miss_ttl": 5, "gateway_miss_max": 7})
    assert (s.stores[1].misses.ttl, s.stores[1].misses.max_size) == (5.0, 7)
    node = Node(
        {"force_signed": False},
        hb.Wallet.generate(),
        StoreChain([MemoryStore(), GatewayStore(gw.url, miss_ttl=60)], write_through=True),
    )
    try:
        st, _, _ = node.handle("GET", f"/{MISSING}", [], b"")
        assert st == 404
        hits = gw.hits
        assert hits >= 1
        for _ in range(3):  # the same missing ID again: 404, no gateway request
            st, _, _ = node.handle("GET", f"/{MISSING}", [], b"")
            assert st == 404
        assert gw.hits == hits
    finally:
        node.close()
