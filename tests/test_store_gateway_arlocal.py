"""The gateway store and manifest@1.0 against a real local Arweave (issue 16 items 5 and 6).

``arlocal`` (npm, tests/interop/arlocal) is started on a free port. Data items are signed here
(our ANS-104 code), bundled in the standard layout and posted to arlocal as a layer-1
transaction (arweave-js, tests/interop/arlocal/post_bundle.js); arlocal unbundles and indexes
them in its GraphQL. The node reads them by ID through ``--store DIR+gateway:URL``.

arlocal has no ``/raw/<id>`` (and its ``/<id>`` serves a manifest's index, not the manifest),
so the test puts a shim in front of it (:class:`Shim`, the smallest we found): ``/graphql`` is
passed through; ``/raw/<id>`` reads the bundles this test posted from arlocal
(``/tx/<bundle>/data``) and answers the item's data. The shim can also alter one item's data
(a gateway lying about an ID) and go down (the local copy must serve then). The bundle's own
layer-1 transaction is served from ``/tx/<id>/data``: it is refused (only data items are read).
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import hyperbeam_fast as hb
import installed
import pytest
from hyperbeam_fast import _native, cache
from hyperbeam_fast.codecs import ans104
from hyperbeam_fast.exceptions import StoreCorrupt, StoreError
from hyperbeam_fast.store import GatewayStore, MemoryStore, StoreChain
from node_util import NodeProc, free_port

HERE = Path(__file__).parent / "interop" / "arlocal"
TIMEOUT = 120.0
MODULE_TAGS = [
    (b"Data-Protocol", b"ao"),
    (b"Variant", b"ao.TN.1"),
    (b"Type", b"Module"),
    (b"Module-Format", b"wasm64-unknown-emscripten-draft_2024_02_15"),
    (b"Input-Encoding", b"JSON-1"),
    (b"Output-Encoding", b"JSON-1"),
    (b"Memory-Limit", b"1-gb"),
    (b"Compute-Limit", b"9000000000000"),
]


def _ensure_npm() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        installed.missing("Node.js/npm are not installed: the arlocal gateway test needs them")
    if not (HERE / "node_modules" / "arlocal" / "bin" / "index.js").exists():
        # sqlite3 (arlocal's database) is compiled from source where its prebuilt binary cannot
        # be fetched: a Debug (-O0) build takes half the CPU time of the -O3 one, and arlocal's
        # few queries do not notice
        env = {**os.environ, "npm_config_debug": "true"}
        r = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            timeout=900,
            env=env,
        )
        if r.returncode != 0:
            installed.missing(f"npm ci (arlocal) failed: {r.stderr.decode()[-500:]}")


def item(w: hb.Wallet, data: bytes, tags: list[tuple[bytes, bytes]]) -> tuple[str, bytes]:
    """A signed binary data item and its ID."""
    raw = _native.ans104_serialize(
        _native.ans104_sign({"tags": tags, "data": data, "target": b"", "anchor": b""}, w._key)
    )
    return hb.id(ans104.decode(raw), "all"), raw


def _b64url_decode(s: bytes) -> bytes:
    s = s.strip()
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


class Arlocal:
    """arlocal on a free port (its database in ``workdir``), and the bundles posted to it."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.bundles: list[str] = []
        self.log = open(workdir / "arlocal.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["node", str(HERE / "node_modules" / "arlocal" / "bin" / "index.js"), str(self.port)],
            cwd=workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/info", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"arlocal did not start: {(workdir / 'arlocal.log').read_text()[-2000:]}"
        )

    def post(self, items: list[bytes], wallet_file: Path) -> str:
        """Post ``items`` as one bundle; wait until arlocal's GraphQL has each of them."""
        bundle = self.workdir / f"bundle-{len(self.bundles)}.bin"
        bundle.write_bytes(ans104.bundle(items, layout="standard"))
        r = subprocess.run(
            ["node", str(HERE / "post_bundle.js"), self.url, str(wallet_file), str(bundle)],
            capture_output=True,
            timeout=TIMEOUT,
        )
        assert r.returncode == 0, r.stderr.decode()[-2000:]
        out = json.loads(r.stdout.decode().strip().splitlines()[-1])
        assert out["status"] == 200, out
        self.bundles.append(out["id"])
        ids = [hb.id(ans104.decode(i), "all") for i in items]
        deadline = time.time() + 60
        while time.time() < deadline:  # chunked bundles are unpacked after the post returns
            if all(self.graphql_has(i) for i in ids):
                return out["id"]
            time.sleep(0.3)
        raise AssertionError("arlocal did not index the bundle's items")

    def graphql_has(self, ident: str) -> bool:
        edges = "edges { node { id } }"
        q = {"query": f'{{ transactions(ids: ["{ident}"], first: 1) {{ {edges} }} }}'}
        req = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps(q).encode(),
            headers={"content-type": "application/json"},
        )
        return bool(
            json.loads(urllib.request.urlopen(req, timeout=10).read())["data"]["transactions"][
                "edges"
            ]
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Shim:
    """``/graphql`` passed to arlocal; ``/raw/<id>``: the item's data, read from the bundles
    posted to arlocal. ``tamper``: IDs whose data is altered; ``down``: every request gets 503.
    ``hits`` counts the requests."""

    def __init__(self, ar: Arlocal) -> None:
        self.ar = ar
        self.tamper: set[str] = set()
        self.down = False
        self.hits = 0
        shim = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                shim.hits += 1
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if shim.down or self.path != "/graphql":
                    return self._reply(503 if shim.down else 404, b"no")
                req = urllib.request.Request(
                    f"{ar.url}/graphql", data=body, headers={"content-type": "application/json"}
                )
                self._reply(200, urllib.request.urlopen(req, timeout=30).read(), "application/json")

            def do_GET(self) -> None:  # noqa: N802
                shim.hits += 1
                if shim.down or not self.path.startswith("/raw/"):
                    return self._reply(503 if shim.down else 404, b"no")
                ident = self.path[len("/raw/") :]
                data = shim.raw(ident)
                if data is None:
                    return self._reply(404, b"not found")
                if ident in shim.tamper:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                self._reply(200, data, "application/octet-stream")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def raw(self, ident: str) -> bytes | None:
        want = _b64url_decode(ident.encode())
        for b in self.ar.bundles:
            blob = urllib.request.urlopen(f"{self.ar.url}/tx/{b}/data", timeout=30).read()
            if b == ident:  # a layer-1 transaction: its data is the bundle
                return _b64url_decode(blob)
            for tx in ans104.unbundle(_b64url_decode(blob)):
                if tx["id"] == want:
                    return tx["data"]
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def net(tmp_path_factory, wallets):
    """arlocal with one bundle of plain items and a permaweb app, and the shim before it."""
    _ensure_npm()
    work = tmp_path_factory.mktemp("arlocal")
    ar = Arlocal(work)
    shim = Shim(ar)
    _, w1, w2 = wallets
    wfile = work / "poster.json"
    w2.save(wfile)
    ids: dict[str, str] = {}
    items = []
    for name, data, tags in [
        ("hello", b"Hello World", [(b"Data-Protocol", b"ao"), (b"Content-Type", b"text/plain")]),
        ("plain", b"no ao tag here", [(b"Content-Type", b"text/plain")]),
        ("lied", b"the gateway alters these bytes", [(b"Content-Type", b"text/plain")]),
        (
            "index",
            b"<html><body><h1>Hello, permaweb</h1></body></html>",
            [(b"Content-Type", b"text/html")],
        ),
        ("js", b"console.log('app');", [(b"Content-Type", b"application/javascript")]),
        ("404", b"<html>not here</html>", [(b"Content-Type", b"text/html")]),
    ]:
        ids[name], raw = item(w1, data, tags)
        items.append(raw)
    manifest = {
        "manifest": "arweave/paths",
        "version": "0.2.0",
        "index": {"path": "index.html"},
        "fallback": {"id": ids["404"]},
        "paths": {"index.html": {"id": ids["index"]}, "assets/app.js": {"id": ids["js"]}},
    }
    ids["manifest"], raw = item(
        w1,
        json.dumps(manifest).encode(),
        [(b"Content-Type", b"application/x.arweave-manifest+json")],
    )
    items.append(raw)
    ids["bundle"] = ar.post(items, wfile)
    yield ar, shim, ids, wfile
    shim.stop()
    ar.stop()


def test_gateway_store_reads_verified_items_and_refuses_lies(net):
    ar, shim, ids, _ = net
    gw = GatewayStore(shim.url, timeout=10)
    msg = gw.read_message(ids["hello"])
    assert msg["data"] == b"Hello World" and msg["content-type"] == b"text/plain"
    assert hb.id(msg, "all") == ids["hello"]
    assert hb.verify(msg)
    # not an ID, a hashpath, an unknown ID: misses, the last after one GraphQL query
    assert gw.read_message("data/abc") is None
    assert gw.read_message(f"{ids['hello']}/{ids['plain']}") is None
    assert gw.read_message("A" * 43) is None
    # the bundle itself is a layer-1 transaction: not rebuilt, so refused (docs/devices.md)
    with pytest.raises(StoreCorrupt, match="layer-1 transaction"):
        gw.read_message(ids["bundle"])
    # the subindex filter: only items with Data-Protocol: ao
    ao_only = GatewayStore(shim.url, subindex=[{"name": "Data-Protocol", "value": "ao"}])
    assert ao_only.read_message(ids["hello"])["data"] == b"Hello World"
    assert ao_only.read_message(ids["plain"]) is None
    # a gateway whose data does not match the ID: refused, and a chain caches nothing
    shim.tamper.add(ids["lied"])
    try:
        with pytest.raises(StoreCorrupt, match="does not verify"):
            gw.read_message(ids["lied"])
        local = MemoryStore()
        chain = StoreChain([local, gw], write_through=True)
        with pytest.raises(hb.NotFound, match="does not verify"):
            cache.read(ids["lied"], chain)
        assert not local.exists(ids["lied"])
    finally:
        shim.tamper.discard(ids["lied"])
    # through a chain: read once, written through, then served locally with the gateway down
    local = MemoryStore()
    chain = StoreChain([local, gw], write_through=True)
    assert cache.read(ids["lied"], chain)["data"] == b"the gateway alters these bytes"
    shim.down = True
    try:
        assert cache.read(ids["lied"], StoreChain([local]))["data"].startswith(b"the gateway")
        with pytest.raises(StoreError, match="HTTP 503"):
            gw.read_message(ids["hello"])
    finally:
        shim.down = False


def _get(url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_node_reads_through_the_gateway_and_serves_a_manifest_app(net, tmp_path):
    ar, shim, ids, _ = net
    store = f"{tmp_path / 'db'}+gateway:{shim.url}"
    node = NodeProc(tmp_path / "node", store=store)
    try:
        st, _, body = _get(node.url, f"/{ids['hello']}/data")
        assert (st, body) == (200, b"Hello World")
        # the permaweb app: the index, a nested path, the fallback, with the items' types
        st, h, body = _get(node.url, f"/{ids['manifest']}/index.html")
        assert st == 200 and h["content-type"] == "text/html" and b"Hello, permaweb" in body
        st, h, body2 = _get(node.url, f"/{ids['manifest']}")
        assert st == 200 and h["content-type"] == "text/html" and body2 == body
        st, h, body = _get(node.url, f"/{ids['manifest']}/assets/app.js")
        assert (st, h["content-type"], body) == (
            200,
            "application/javascript",
            b"console.log('app');",
        )
        st, h, body = _get(node.url, f"/{ids['manifest']}/nowhere.html")
        assert (st, body) == (200, b"<html>not here</html>")
        # HyperBEAM's explicit form
        st, _, body = _get(node.url, f"/{ids['manifest']}~manifest@1.0/index.html")
        assert st == 200 and b"Hello, permaweb" in body
        # a gateway answer that does not match its ID: a 404 naming why, nothing cached
        shim.tamper.add(ids["lied"])
        try:
            st, _, body = _get(node.url, f"/{ids['lied']}/data")
            assert st == 404 and b"does not verify" in body, body
        finally:
            shim.tamper.discard(ids["lied"])
        # with the gateway down, what was read is served from the local store; the rest is not
        shim.down = True
        try:
            st, _, body = _get(node.url, f"/{ids['hello']}/data")
            assert (st, body) == (200, b"Hello World")
            st, _, body = _get(node.url, f"/{ids['manifest']}/assets/app.js")
            assert (st, body) == (200, b"console.log('app');")
            st, _, _ = _get(node.url, f"/{ids['lied']}/data")
            assert st == 404  # the altered answer was not cached
        finally:
            shim.down = False
        st, _, body = _get(node.url, f"/{ids['lied']}/data")
        assert (st, body) == (200, b"the gateway alters these bytes")
    finally:
        node.stop()


def test_process_with_a_module_only_the_gateway_has(net, aos_wasm, wallets, tmp_path):
    from hyperbeam_fast.node import client

    ar, shim, _, wfile = net
    _, w1, _ = wallets
    mid, raw = item(w1, aos_wasm, MODULE_TAGS)
    ar.post([raw], wfile)
    # the gateway named by config.flat's `gateway` key, after the local store
    node = NodeProc(
        tmp_path / "node",
        config=f"gateway: {shim.url}\ngateway_timeout: 30\n",
        store=f"{tmp_path / 'db'}+gateway",
    )
    try:
        proc = hb.commit(
            {
                "device": "process@1.0",
                "type": "Process",
                "module": mid,
                "scheduler": w1.address,
                "authority": w1.address,
                "execution-device": "genesis-wasm@1.0",
                "data-protocol": "ao",
                "variant": "ao.N.1",
            },
            w1,
        )
        pid = hb.id(proc, "all")
        st, a = client.post(
            node.url, "/~scheduler@1.0/schedule", {"method": "POST", "body": proc}, timeout=TIMEOUT
        )
        assert st == "ok" and a["slot"] == 0, a
        m = hb.commit(
            {"target": pid, "action": "Eval", "data": "return 1 + 1", "type": "Message"}, w1
        )
        st, a = client.post(
            node.url, f"/{pid}/schedule", {"method": "POST", "body": m}, timeout=TIMEOUT
        )
        assert st == "ok", a
        got = client.get(node.url, f"/{pid}/compute/results/data?slot={a['slot']}", timeout=TIMEOUT)
        assert got == ("ok", b"2")
    finally:
        node.stop()
