"""RemoteStore against a tiny loopback HTTP node serving ``~cache@1.0/read?target=<key>``."""

from __future__ import annotations

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import cache
from hyperbeam_fast.exceptions import NotFound, StoreError
from hyperbeam_fast.store import MemoryStore, RemoteStore, StoreChain


@pytest.fixture
def node():
    backing = MemoryStore()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def do_GET(self):  # noqa: N802
            u = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(u.query)
            if u.path != "/~cache@1.0/read" or "target" not in q:
                self.send_error(400)
                return
            key = q["target"][0]
            hits.append(key)
            if key == "boom":
                self.send_error(500)
                return
            try:
                got = cache.read(key, backing)
            except NotFound:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("x-request-id", "7")  # as our node sends on every reply
            if isinstance(got, bytes):
                body = got
                self.send_header("content-type", "application/octet-stream")
            else:
                enc = hb.convert(got, "httpsig@1.0")
                body = enc.pop("body", b"")
                for k, v in enc.items():
                    self.send_header(k, v.decode("latin-1"))
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", backing, hits
    srv.shutdown()
    srv.server_close()


def test_remote_reads(node):
    url, backing, hits = node
    msg = {"a": "1", "nested": {"b": 2, "big": "x" * 5000}, "n": 3}
    uid = cache.write(msg, backing)
    r = RemoteStore(url)
    assert r.scope == "remote" and not r.writable
    assert hb.match(cache.read(uid, r), msg)
    assert cache.read(f"{uid}/a", r) == b"1"
    assert r.read(f"{uid}/a") == b"1"
    assert r.type(uid) == "composite" and r.type(f"{uid}/a") == "simple"
    assert r.read("N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s") is None
    with pytest.raises(NotFound):
        cache.read("N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s", r)
    with pytest.raises(StoreError):
        r.write("x", b"1")
    with pytest.raises(StoreError):
        r.read("boom")


def test_remote_signed_message_verifies(node):
    url, backing, _ = node
    signed = hb.commit({"a": "1", "body": "hello"}, hb.Wallet.generate())
    cache.write(signed, backing)
    got = cache.read(hb.id(signed, "all"), RemoteStore(url))
    assert hb.match(got, signed) and hb.verify(got)


def test_chain_with_write_through(node):
    url, backing, hits = node
    uid = cache.write({"remote": "yes"}, backing)
    local = MemoryStore()
    chain = StoreChain([local, RemoteStore(url)], write_through=True)
    assert cache.read(uid, chain) == {"remote": b"yes"}
    n = len(hits)
    assert cache.read(uid, local) == {"remote": b"yes"}  # written through
    assert cache.read(uid, chain) == {"remote": b"yes"}
    assert len(hits) == n  # served locally the second time
    # Raw reads write through too.
    p = cache.write(b"raw", backing)
    assert chain.read(p) == b"raw" and local.read(p) == b"raw"


def test_unreachable_node_moves_on():
    dead = RemoteStore("http://127.0.0.1:9", timeout=0.5)
    with pytest.raises(StoreError):
        dead.read("x")
    local = MemoryStore()
    uid = cache.write({"a": "1"}, local)
    chain = StoreChain([dead, local])
    assert cache.read(uid, chain) == {"a": b"1"}
    with pytest.raises(StoreError):
        RemoteStore("file:///etc/passwd")


def test_a_remote_store_with_a_wallet_writes_through_the_peer_only_when_it_leads():
    """A wallet makes the store writable (signed cache@1.0 writes, tests/test_node_cache.py);
    in a chain the first writable store still takes the writes, and a chain's reset never
    reaches a peer."""
    from hyperbeam_fast.node.pipeline import open_store

    w = hb.Wallet.generate()
    chain = open_store("memory+http://127.0.0.1:9", wallet=w)
    local, remote = chain.stores
    assert remote.writable and remote.wallet is w and chain.primary is local
    uid = cache.write({"a": "1"}, chain)  # the local store: no request to the (dead) peer
    assert cache.read(uid, local) == {"a": b"1"}
    chain.reset()  # the local store only
    assert local.read_link(uid) is None and not local.exists(uid)
    assert not open_store("http://127.0.0.1:9").writable  # no wallet: read-only
    dead = RemoteStore("http://127.0.0.1:9", timeout=0.5, wallet=w)
    with pytest.raises(StoreError, match="unreachable"):
        cache.write({"a": "1"}, dead)
    with pytest.raises(StoreError):
        dead.reset()
