"""The gateway store without a gateway, and manifest@1.0 over the local cache (issue 16 items
5 and 6; the arlocal tests are tests/test_store_gateway_arlocal.py).

* GatewayStore: only single IDs are asked for; an unreachable gateway and one that never
  answers are typed StoreErrors within the timeout (never a hang); the subindex filter's tags
  are JSON-quoted into the query; the store spec ``+gateway[:URL]`` and the node's default
  chain (the local store, then the gateway, written through).
* manifest@1.0: HyperBEAM's ``dev_manifest`` test (a manifest message with ``paths`` and
  ``index``), a fallback, nested paths, and a malformed manifest (422), over a running Node.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.exceptions import StoreError
from hyperbeam_fast.node.config import ConfigError
from hyperbeam_fast.node.pipeline import DEFAULT_STORE, Node, open_store
from hyperbeam_fast.store import GatewayStore, MemoryStore, StoreChain
from hyperbeam_fast.store.gateway import read_query, subindex_tags
from node_util import free_port

ID = "p45HPD-ENkLS7Ykqrx6p_DYGbmeHDeeF8LJ09N2K53g"


def test_non_ids_are_misses_without_a_request():
    gw = GatewayStore(f"http://127.0.0.1:{free_port()}", timeout=0.5)  # nothing listens
    for key in ("data/abc", f"{ID}/{ID}", "short", ID + "x", ID + "\n", "a" * 42 + "!"):
        assert gw.read_message(key) is None
    with pytest.raises(StoreError, match="unreachable"):
        gw.read_message(ID)
    with pytest.raises(StoreError, match="read-only"):
        gw.write("x", b"y")


def test_a_silent_gateway_times_out():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)  # accepts, never answers
    try:
        gw = GatewayStore(f"http://127.0.0.1:{srv.getsockname()[1]}", timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="unreachable"):
            gw.read_message(ID)
        assert time.monotonic() - t0 < 5
        # in a chain: a miss naming the error, not a hang
        with pytest.raises(hb.NotFound, match="timed out"):
            cache.read(ID, StoreChain([MemoryStore(), gw], write_through=True))
    finally:
        srv.close()


def test_subindex_and_query():
    assert subindex_tags([{"name": "Data-Protocol", "value": "ao"}]) == [("Data-Protocol", "ao")]
    assert subindex_tags({"1": {"name": "A", "value": "b"}}) == [("A", "b")]
    assert subindex_tags({"Type": "Module"}) == [("Type", "Module")]
    with pytest.raises(StoreError):
        subindex_tags([{"name": "x"}])
    q = read_query(ID, [('a"b', "c\\d")])
    assert q["variables"] == {"transactionIds": [ID]}
    # names and values are JSON (= GraphQL) string literals: a quote cannot end the string
    assert '{ name: "a\\"b", values: ["c\\\\d"] }' in q["query"]
    assert "first: 1" in q["query"] and "owner { key }" in q["query"]


def test_store_specs_and_the_default_chain(tmp_path):
    s = open_store("memory+gateway:http://127.0.0.1:1", opts={"gateway_timeout": 2})
    assert isinstance(s, StoreChain) and s.write_through
    assert [type(x).__name__ for x in s.stores] == ["MemoryStore", "GatewayStore"]
    assert s.stores[1].url == "http://127.0.0.1:1" and s.stores[1].timeout == 2.0
    s = open_store("memory+gateway", opts={"gateway": "http://gw.invalid"})
    assert s.stores[1].url == "http://gw.invalid"
    assert open_store("memory+gateway").stores[1].url == "https://arweave.net"
    sub = open_store("memory+gateway", opts={"gateway_subindex": {"Data-Protocol": "ao"}})
    assert sub.stores[1].tags == [("Data-Protocol", "ao")]
    for bad in ("memory+gateway:", "memory+gateway:ftp://x"):
        with pytest.raises(ConfigError):
            open_store(bad)
    assert DEFAULT_STORE == "cache-mainnet+gateway"
    d = open_store(f"{tmp_path / 'db'}+gateway")
    try:
        assert [type(x).__name__ for x in d.stores] == ["RocksDBStore", "GatewayStore"]
    finally:
        d.close()


@pytest.fixture()
def node():
    n = Node({"force_signed": False}, hb.Wallet.generate(), "memory")
    yield n
    n.close()


def _write(n: Node, msg: dict) -> str:
    return cache.write(msg, n.store)


def test_manifest_resolve_hyperbeam_scenario(node):
    # dev_manifest's resolve_test: pages written to the cache, a manifest message naming them
    index = _write(node, {"content-type": "text/html", "body": "<h1>Hello, World!</h1>"})
    page2 = _write(node, {"content-type": "text/html", "body": "<h1>Page 2</h1>"})
    missing = "M" * 43
    fallback = _write(node, {"content-type": "text/plain", "body": "fallback"})
    doc = {
        "paths": {
            "page1": {"id": index},
            "page2": {"id": page2},
            "gone": {"id": missing},
            "css/site.css": {"id": page2},
        },
        "index": {"path": "page1"},
        "fallback": {"id": fallback},
    }
    mid = _write(node, {"device": "manifest@1.0", "body": json.dumps(doc)})

    def get(path: str) -> tuple[int, dict, bytes]:
        st, h, b = node.handle("GET", path, [], b"")
        return st, dict(h), b

    st, h, b = get(f"/{mid}/page2")
    assert (st, h[b"content-type"], b) == (200, b"text/html", b"<h1>Page 2</h1>")
    assert get(f"/{mid}/index")[2] == b"<h1>Hello, World!</h1>"
    assert get(f"/{mid}")[2] == b"<h1>Hello, World!</h1>"  # the ID alone: its index
    assert get(f"/{mid}/css/site.css")[2] == b"<h1>Page 2</h1>"
    # an entry whose item is nowhere, and a path not in the manifest: the fallback
    assert get(f"/{mid}/gone")[2] == b"fallback"
    assert get(f"/{mid}/nope")[2] == b"fallback"
    # an Arweave manifest by content type (no device key), without a fallback: 404 naming it
    arw = json.dumps({"manifest": "arweave/paths", "paths": {"a.html": {"id": index}}})
    aid = _write(node, {"content-type": "application/x.arweave-manifest+json", "body": arw})
    assert get(f"/{aid}/a.html")[2] == b"<h1>Hello, World!</h1>"
    st, _, b = get(f"/{aid}/b.html")
    assert st == 404 and b"'b.html'" in b and b"not in the manifest" in b
    st, _, b = get(f"/{aid}")
    assert st == 404 and b"no index" in b
    # malformed manifests: a 422 naming the problem
    for body in ("not json", "[1, 2]", json.dumps({"paths": []})):
        bad = _write(node, {"device": "manifest@1.0", "body": body})
        st, _, b = get(f"/{bad}/x")
        assert st == 422 and b.startswith(b"manifest@1.0: the manifest"), b
    bad_entry = _write(node, {"device": "manifest@1.0", "body": json.dumps({"paths": {"x": {}}})})
    st, _, b = get(f"/{bad_entry}/x")
    assert st == 422 and b"no valid id" in b


def test_gateway_reads_do_not_block_the_event_loop_path():
    # a chain with a gateway keeps the event-loop fast path over its local part
    n = Node({"force_signed": False}, hb.Wallet.generate(), "memory+gateway:http://127.0.0.1:1")
    try:
        mid = cache.write({"a": "1"}, n.store)
        got = n.handle_inline("GET", f"/{mid}/a", [])
        assert isinstance(got, tuple) and got[0] == 200 and got[2] == b"1"
        # a local miss is not read on the event loop: it goes to the pool (the gateway)
        d = n.handle_inline("GET", f"/{ID}/a", [])
        assert d is not None and not isinstance(d, tuple)
        # where nothing listens: a 404, not a crash or a hang
        done: list = []
        t = threading.Thread(target=lambda: done.append(n.finish(d)))
        t.start()
        t.join(30)
        assert done and done[0][0] == 404
    finally:
        n.close()


class _Liar:
    """A gateway whose GraphQL reply and raw data the test sets (``graphql``, ``raw``)."""

    def __init__(self) -> None:
        import http.server

        self.graphql: tuple[int, bytes] = (200, b"{}")
        self.raw: tuple[int, bytes] = (200, b"")
        liar = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def _send(self, got: tuple[int, bytes]) -> None:
                self.send_response(got[0])
                self.send_header("content-length", str(len(got[1])))
                self.end_headers()
                self.wfile.write(got[1])

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self._send(liar.graphql)

            def do_GET(self) -> None:  # noqa: N802
                self._send(liar.raw)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, node: dict) -> None:
        body = {"data": {"transactions": {"edges": [{"node": node}]}}}
        self.graphql = (200, json.dumps(body).encode())


def test_lying_and_broken_gateways_are_refused():
    import base64

    from hyperbeam_fast import _native
    from hyperbeam_fast.codecs import ans104
    from hyperbeam_fast.exceptions import StoreCorrupt

    w = hb.Wallet.generate()
    raw = _native.ans104_serialize(
        _native.ans104_sign(
            {"tags": [(b"Type", b"Module")], "data": b"real", "target": b"", "anchor": b""}, w._key
        )
    )
    tx = ans104.parse(raw)

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    ident = b64(tx["id"])
    good = {
        "id": ident,
        "anchor": "",
        "signature": b64(tx["signature"]),
        "recipient": "",
        "owner": {"key": b64(tx["owner"])},
        "tags": [{"name": "Type", "value": "Module"}],
        "data": {"size": "4"},
    }
    liar = _Liar()
    gw = GatewayStore(liar.url, timeout=5, max_size=1000)
    try:
        liar.answer(good)
        liar.raw = (200, b"real")
        assert gw.read_message(ident)["data"] == b"real"  # the honest answer reads
        refused = [
            ({**good, "id": "B" * 43}, b"real", "is about"),
            ({**good, "signature": "!!"}, b"real", "not base64url"),
            ({**good, "signature": b64(b"x" * 65)}, b"real", "only RSA data items"),
            ({**good, "signature": b64(b"\1" * 512)}, b"real", "not that ID's"),
            ({**good, "tags": [{"name": "Type", "value": "Process"}]}, b"real", "does not verify"),
            ({**good, "tags": "nope"}, b"real", "malformed tags"),
            ({**good, "owner": None}, b"real", "owner is not a string"),
            (good, b"fake", "does not verify"),
            (good, b"real!", "GraphQL says 4"),
            ({**good, "recipient": b64(b"\1" * 5)}, b"real", "no data item"),
        ]
        for node, data, why in refused:
            liar.answer(node)
            liar.raw = (200, data)
            with pytest.raises(StoreCorrupt, match=why):
                gw.read_message(ident)
            local = MemoryStore()
            with pytest.raises(hb.NotFound):
                cache.read(ident, StoreChain([local, gw], write_through=True))
            assert not local.exists(ident)  # nothing of a refused answer is cached
        liar.answer(good)
        for graphql, raw_reply, why in [
            ((500, b"oops"), (200, b"real"), "HTTP 500"),
            ((200, b"not json"), (200, b"real"), "no transactions"),
            ((200, b'{"errors": [1]}'), (200, b"real"), "no transactions"),
            ((200, b"x" * (2 << 20)), (200, b"real"), "over"),
            (liar.graphql, (200, b"x" * 1001), "over 1000 bytes"),
            (liar.graphql, (404, b""), "no data at"),
        ]:
            liar.graphql, liar.raw = graphql, raw_reply
            with pytest.raises(StoreError, match=why):
                gw.read_message(ident)
        liar.graphql = (200, b'{"data": {"transactions": {"edges": []}}}')
        assert gw.read_message(ident) is None  # unknown to the gateway: a miss
    finally:
        liar.server.shutdown()
        liar.server.server_close()
