"""The web console (hyperbuddy@1.0, docs/node.md "Web console") in a real browser: headless
Chromium (Debian's ``chromium``) driven by npm ``playwright-core`` clicks through every view
against a node this test starts: node info, live metrics, the request console (unsigned, and
signed in the page with WebCrypto by the operator's key: the node applies the update), a Lua
process's slots, results and outbox, and the message viewer (HTML in a message shows as text).
Screenshots land in ``tests/artifacts/console/`` (gitignored).

Setup done here when missing: ``apt-get install chromium`` (as root), ``npm install`` in
tests/interop/console. Also, without a browser: the device's routes, content types and refusals,
and ``/`` for browsers and for API clients."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import hyperbeam_fast as hb
import installed
import pytest
from hyperbeam_fast.devices import hyperbuddy
from hyperbeam_fast.node import client
from hyperbeam_fast.node.pipeline import Node
from node_util import NodeProc

HERE = Path(__file__).parent / "interop" / "console"
ARTIFACTS = Path(__file__).parent / "artifacts" / "console"
TIMEOUT = 60.0
# A process module: each slot's output names the message; each slot sends one outbox message.
LUA = """
function compute(base, req)
  local m = req.body or {}
  Count = (Count or 0) + 1
  base.results = {
    output = { data = "seen " .. Count .. " " .. tostring(m.action) },
    outbox = { ["1"] = { target = base.authority, action = "Echo", data = "echo " .. Count } },
  }
  return base
end
"""
XSS = '<img src=x onerror="window.__hb_xss=true;alert(1)"><script>window.__hb_xss=true</script>'


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    if os.geteuid() == 0 and shutil.which("apt-get"):  # CI runs as root: install it
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
        r = subprocess.run(cmd, capture_output=True, env=env, timeout=900)
        if r.returncode != 0:  # package lists missing or stale
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=900)
            r = subprocess.run(cmd, capture_output=True, env=env, timeout=900)
        p = shutil.which("chromium")
        if r.returncode == 0 and p:
            return p
        installed.missing(f"apt-get install chromium failed: {r.stderr.decode()[-500:]}")
    installed.missing("Chromium is not installed (apt-get install chromium)")
    raise AssertionError("unreachable")


def _ensure_npm() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        installed.missing("Node.js/npm are not installed: the console browser test needs them")
    if not (HERE / "node_modules" / "playwright-core").exists():
        r = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, timeout=600
        )
        if r.returncode != 0:
            installed.missing(f"npm ci (playwright-core) failed: {r.stderr.decode()[-500:]}")


def _t(v):
    return v.decode() if isinstance(v, bytes) else v


def _lua_process(url: str, w: hb.Wallet) -> str:
    """A Lua process with two scheduled messages, computed: its ID."""
    mod = hb.commit({"path": "/content-type", "content-type": "application/lua", "body": LUA}, w)
    assert client.request("POST", url, mod, timeout=TIMEOUT) == ("ok", b"application/lua")
    proc = hb.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "scheduler": w.address,
            "execution-device": "lua@5.3a",
            "module": hb.id(hb.with_only_committed(mod), "all"),
            "authority": w.address,
        },
        w,
    )
    pid = hb.id(proc, "all")
    st, a = client.post(
        url, "/~scheduler@1.0/schedule", {"method": "POST", "body": proc}, timeout=TIMEOUT
    )
    assert st == "ok" and _t(a["process"]) == pid, a
    for action in ("Hello", "Again"):
        m = hb.commit({"target": pid, "type": "Message", "action": action}, w)
        st, a = client.post(url, f"/{pid}/schedule", {"method": "POST", "body": m}, timeout=TIMEOUT)
        assert st == "ok", a
    assert client.get(url, f"/{pid}/now/at-slot", timeout=TIMEOUT) == ("ok", 2)
    return pid


def _stored(url: str, w: hb.Wallet, msg: dict) -> str:
    """``msg`` signed and stored on the node (a signed request is kept): its ID."""
    signed = hb.commit({**msg, "path": "/~message@1.0/keys"}, w)
    st, _ = client.request("POST", url, signed, timeout=TIMEOUT)
    assert st == "ok"
    return hb.id(hb.with_only_committed(signed), "all")


def test_console_in_chromium(tmp_path):
    chromium = _chromium()
    _ensure_npm()
    op = hb.Wallet.generate()
    keyf = tmp_path / "operator.json"
    op.save(keyf)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    node = NodeProc(tmp_path / "node", key=keyf)
    try:
        pid = _lua_process(node.url, op)
        msg = _stored(node.url, op, {"greeting": "hello console", "n": 7})
        xss = _stored(node.url, op, {"note": XSS})
        args = {
            "url": node.url,
            "chromium": chromium,
            "key": str(keyf),
            "pid": pid,
            "msg": msg,
            "xss": xss,
            "outdir": str(ARTIFACTS),
        }
        r = subprocess.run(
            ["node", str(HERE / "console_driver.mjs"), json.dumps(args)],
            capture_output=True,
            timeout=240,
            cwd=HERE,
        )
        assert r.returncode == 0, r.stderr.decode()[-3000:]
        out = json.loads(r.stdout.decode().strip().splitlines()[-1])
        _, after = client.get(node.url, "/~meta@1.0/info", timeout=TIMEOUT)
    finally:
        node.stop()
    Path(tmp_path / "out.json").write_text(json.dumps(out, indent=1))
    # the only error reply the page got is the refused unsigned update (Chromium logs it as a
    # console error too); every file loaded, nothing else went wrong in the page
    assert out["failed"] == ["POST /~meta@1.0/info 400"], out["failed"]
    loads = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert out["page_errors"] == [] and out["console_errors"] == [loads], out
    assert "dialog" not in out, out
    # the page at / (a browser's Accept) is the console, node info filled in
    assert out["root_status"] == 200 and out["root_type"].startswith("text/html")
    assert out["title"] == "hyperbeam_fast console"
    n = out["node"]
    assert n["address"] == op.address and n["operator"] == op.address, n
    assert n["port"] == str(node.port) and n["tree_has_default_req"] and not n["error"]
    assert n["build"].startswith("hyperbeam_fast " + hb.__version__)
    # live metrics: the counter moved between two reads; the process computed 3 slots
    m = out["metrics"]
    assert m["requests"] > m["requests_first"] > 0 and not m["error"], m
    assert m["latency"].endswith(" ms") or m["latency"].endswith(" s"), m
    assert m["processes"] == "1" and m["slots"] == "3", m
    assert m["store"].endswith("B") and m["store"] != "0 B", m
    assert int(m["steps"]) > 0
    # request console: the reply as status, headers and body
    g = out["get"]
    assert g["status"] == "200" and "x-request-id" in g["headers"], g
    assert json.loads(g["body"])["address"] == op.address
    # an unsigned update is refused; signed in the browser by the operator it is applied
    assert out["unsigned_post"]["status"] == "400", out["unsigned_post"]
    assert out["key_address"] == op.address and out["sign_checked"]
    assert out["signed_post"]["status"] == "200", out["signed_post"]
    assert "Node message updated" in out["signed_post"]["body"]
    assert _t(after["console_note"]) == "signed-in-the-browser", sorted(after)
    sb = out["signed_body"]
    assert (sb["status"], sb["body"]) == ("200", "a body signed in the browser"), sb
    assert "cannot send the field host" in out["forbidden_field"]
    # process view: current slot, computed slot, latest results and the outbox
    p = out["process"]
    assert p["error"] is None, p
    assert (p["slot"], p["at_slot"]) == ("2", "2"), p
    assert '"seen 3 Again"' in p["results"], p
    assert p["outbox_items"] == 1 and '"echo 3"' in p["outbox"], p
    assert "43 base64url" in out["process_bad_id"]
    # message viewer: values shown as text, never as markup
    assert out["xss"]["img_elements"] == 0 and out["xss"]["fired"] is False
    assert json.dumps(XSS)[1:-1] in out["xss"]["text"] or XSS in out["xss"]["text"]
    assert '"hello console"' in out["message"]["text"] and "7" in out["message"]["text"]
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    assert shots == [
        "message.png",
        "metrics.png",
        "node.png",
        "process.png",
        "request-get.png",
        "request-signed.png",
    ]
    for s in shots:
        assert (ARTIFACTS / s).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- without a browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node():
    n = Node()
    yield n
    n.close()


@pytest.mark.parametrize("key", sorted(hyperbuddy.ROUTES))
def test_console_files_are_served_with_fixed_types(node, key):
    st, headers, body = node.handle("GET", f"/~hyperbuddy@1.0/{key}", [], b"")
    h = dict(headers)
    name = hyperbuddy.ROUTES[key]
    assert st == 200 and body == hyperbuddy.file_bytes(name) and body
    assert h[b"content-type"].decode() == hyperbuddy.CONTENT_TYPES[name[name.rfind(".") :]]


@pytest.mark.parametrize(
    "path",
    [
        "/~hyperbuddy@1.0/../../pyproject.toml",
        "/~hyperbuddy@1.0/..%2F..%2F__init__.py",
        "/~hyperbuddy@1.0/%2Fetc%2Fpasswd",
        "/~hyperbuddy@1.0/console",
        "/~hyperbuddy@1.0/__init__.py",
        "/~hyperbuddy@1.0/index.html%00.js",
    ],
)
def test_console_serves_only_its_files(node, path):
    st, headers, body = node.handle("GET", path, [], b"")
    assert st in (400, 404), (st, body)
    assert b"<html" not in body and b"import" not in body


def test_root_is_the_console_for_browsers_and_a_redirect_for_clients(tmp_path):
    node = NodeProc(tmp_path / "node")
    try:
        req = urllib.request.Request(node.url + "/", headers={"accept": "text/html,*/*;q=0.8"})
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            assert r.status == 200 and r.url == node.url + "/"
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            assert r.read() == hyperbuddy.file_bytes("index.html")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        for accept in ("*/*", "application/json", None):
            hdrs = {"accept": accept} if accept else {}
            req = urllib.request.Request(node.url + "/", headers=hdrs)
            with pytest.raises(urllib.error.HTTPError) as e:
                opener.open(req, timeout=TIMEOUT)
            assert e.value.code == 302 and e.value.headers["location"] == "/~meta@1.0/info"
    finally:
        node.stop()


def _strict_sign(w: hb.Wallet, fields: dict[str, str], path: str) -> list[tuple[bytes, bytes]]:
    """``fields`` signed as a strict RFC 9421 client does (``"@path"`` in the base, not
    HyperBEAM's ``"path"``), covering every field and ``@path``."""
    import base64

    n = base64.urlsafe_b64encode(w.modulus).rstrip(b"=").decode()
    label = "http-sig-" + base64.urlsafe_b64decode(w.address + "=")[1:9].hex()
    names = [*sorted(fields), "@path"]
    params = "(" + " ".join(f'"{x}"' for x in names) + f');alg="rsa-pss-sha512";keyid="{n}"'
    lines = [f'"{x}": {path if x == "@path" else fields[x]}' for x in names]
    sig = w.sign("\n".join([*lines, f'"@signature-params": {params}']).encode())
    signed = {
        **fields,
        "signature-input": f"{label}={params}",
        "signature": f"{label}=:{base64.b64encode(sig).decode()}:",
    }
    return [(k.encode(), v.encode()) for k, v in signed.items()]


def test_strict_rfc9421_signature_over_path_is_applied():
    """A request signed over ``@path`` with the RFC's base (not HyperBEAM's) is verified and
    keeps its path: before, the message rebuilt from the covered fields lost ``path`` (400)."""
    op = hb.Wallet.generate()
    n = Node(wallet=op)
    try:
        hdrs = _strict_sign(op, {"console-note": "strict"}, "/~meta@1.0/info")
        st, _, body = n.handle("POST", "/~meta@1.0/info", hdrs, b"")
        assert st == 200 and b"Node message updated" in body, body
        assert _t(n.node_msg["console_note"]) == "strict"
        # a `path` field beside the signed target changes nothing: the target is what was signed
        hdrs = _strict_sign(op, {"console-note": "again"}, "/~meta@1.0/info")
        st, _, body = n.handle("POST", "/~meta@1.0/info", [*hdrs, (b"path", b"/x/y")], b"")
        assert st == 200 and _t(n.node_msg["console_note"]) == "again", body
        # signed for another target: refused
        hdrs = _strict_sign(op, {"console-note": "moved"}, "/~meta@1.0/build")
        st, _, body = n.handle("POST", "/~meta@1.0/info", hdrs, b"")
        assert st == 400 and _t(n.node_msg["console_note"]) == "again", body
    finally:
        n.close()


def test_console_files_ship_in_the_wheel():
    """The installed distribution's RECORD lists every console file (maturin packs the whole
    ``python/hyperbeam_fast`` folder). Run on the installed package (CI: ``pip install .``);
    with the source tree on PYTHONPATH there is no wheel to look into."""
    import importlib.metadata

    dist = importlib.metadata.distribution("hyperbeam_fast")
    installed_root = Path(str(dist.locate_file("hyperbeam_fast"))).resolve()
    if Path(hb.__file__).resolve().parent != installed_root:
        if installed.in_ci():
            pytest.fail("CI must test the installed wheel, not a source tree on PYTHONPATH")
        pytest.skip("the package is imported from a source tree (PYTHONPATH), not a wheel")
    recorded = {str(f) for f in dist.files or ()}
    for name in sorted(set(hyperbuddy.ROUTES.values())):
        assert f"hyperbeam_fast/console/{name}" in recorded, name


def test_store_sizes_and_state_metrics(tmp_path):
    """``Store.size`` on each backend, and ``/metrics`` reporting it with the process gauges."""
    from hyperbeam_fast.store import FSStore, MemoryStore, RemoteStore, RocksDBStore, StoreChain

    mem, fs, rocks = MemoryStore(), FSStore(tmp_path / "fs"), RocksDBStore(tmp_path / "rocks")
    try:
        assert mem.size() == 0
        before = fs.size()
        payload = {"k": "v" * 5000}
        for s in (mem, fs, rocks):
            hb.cache.write(payload, s)
        assert mem.size() >= 5000 and fs.size() >= before + 5000
        tree = (tmp_path / "fs").rglob("*")  # links (ID -> message) are not counted twice
        files = sum(p.stat().st_size for p in tree if p.is_file() and not p.is_symlink())
        assert fs.size() == files
        rocks.close()  # flushed: its files hold the write
        assert RocksDBStore(tmp_path / "rocks").size() >= 5000
        remote = RemoteStore("http://127.0.0.1:9")
        assert remote.size() is None
        assert StoreChain([mem, remote]).size() == mem.size()
        assert StoreChain([remote]).size() is None
    finally:
        for s in (mem, fs, rocks):
            s.close()
    n = Node(store=MemoryStore())
    try:
        hb.cache.write(payload, n.store)
        text = n.metrics.render()[0].decode()
        assert f"hb_store_bytes {float(n.store.size())}" in text
        assert "hb_processes_live 0.0" in text and "hb_process_slots_computed_total 0.0" in text
    finally:
        n.close()
