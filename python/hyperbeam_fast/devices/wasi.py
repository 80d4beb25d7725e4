"""``wasi@1.0`` (HyperBEAM ``dev_wasi``, spec runtime §14.6): the WASI preview-1 subset AOS needs.

``init`` installs itself as ``wasm/stdlib/wasi_snapshot_preview1`` and creates a virtual stdio
(``file-descriptors`` 0-2, ``vfs/dev/{stdin,stdout,stderr}``). Import functions get the library
message (whose ``state`` is the process state) and the import request (``args``, ``func-sig``,
``priv.instance``) and return ``{state, results}``. Guest memory goes through the Rust bridge;
iovecs are 16 bytes (memory64) when the import's pointer parameters are i64, else 8 bytes.

Deviations from HyperBEAM, which are fixes of its quirks (§16 item 7): ``fd_write``/``fd_read``
implement the intended semantics (write into / read from ``vfs/<filename>`` at the descriptor's
offset). ``clock_time_get`` answers errno 1 and writes nothing, like HyperBEAM, which keeps AOS
deterministic. ``proc_exit`` ends the call with an error (a WASI process must not continue).
"""

from __future__ import annotations

from typing import Any

from .. import ao
from ..wasm.errors import WasmTrap
from .wasm64 import deep_put, walk

NAME = "wasi@1.0"
STDLIB = ["wasm", "stdlib", "wasi_snapshot_preview1"]


def _inst(request: dict[str, Any]) -> Any:
    priv = request.get("priv")
    inst = priv.get("instance") if isinstance(priv, dict) else None
    if inst is None:
        raise WasmTrap("wasi@1.0 import called without a live instance")
    return inst


def _args(request: dict[str, Any]) -> list[Any]:
    a = request.get("args") or []
    return list(a.values()) if isinstance(a, dict) else list(a)


def _wide(request: dict[str, Any], index: int) -> bool:
    sig = request.get("func-sig") or ""
    if isinstance(sig, bytes):
        sig = sig.decode()
    params = sig[1 : sig.find(")")] if "(" in sig else ""
    return index < len(params) and params[index] == "I"


def _vfs_path(filename: str) -> list[str]:
    return ["vfs", *[s for s in filename.split("/") if s]]


class WasiDevice:
    """``wasi@1.0``: the WASI preview-1 imports a WASM image needs, over a virtual file system."""

    name = NAME

    def init(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``init``: the standard file descriptors and an empty virtual file system."""
        out = deep_put(base, STDLIB, {"device": NAME})
        out["file-descriptors"] = {
            "0": {"filename": "/dev/stdin", "offset": 0},
            "1": {"filename": "/dev/stdout", "offset": 0},
            "2": {"filename": "/dev/stderr", "offset": 0},
        }
        out["vfs"] = {"dev": {"stdin": b"", "stdout": b"", "stderr": b""}}
        return "ok", out

    def compute(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``compute``: the state as it is."""
        return "ok", base

    def stdout(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``stdout``: what the image wrote to ``/dev/stdout``."""
        return "ok", walk(base, ["vfs", "dev", "stdout"]) or b""

    # ---- imports (base = library message with `state`) --------------------------------------

    def fd_write(self, base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """The ``fd_write`` import: append the gathered buffers to the file."""
        state = base.get("state") or {}
        fd, iovs, n, nwritten = (_args(request) + [0, 0, 0, 0])[:4]
        inst = _inst(request)
        data = inst.gather(iovs, n, _wide(request, 1))
        fdesc = walk(state, ["file-descriptors", str(fd)])
        if not isinstance(fdesc, dict):
            return "ok", {"state": state, "results": [8]}  # EBADF
        fname = fdesc.get("filename")
        fname = fname.decode() if isinstance(fname, bytes) else str(fname)
        off = int(fdesc.get("offset", 0))
        cur = walk(state, _vfs_path(fname))
        cur = cur.encode() if isinstance(cur, str) else bytes(cur or b"")
        new = cur[:off] + data + cur[off + len(data) :]
        state = deep_put(state, _vfs_path(fname), new)
        state = deep_put(state, ["file-descriptors", str(fd), "offset"], off + len(data))
        inst.write_uint(nwritten, len(data), 8 if _wide(request, 3) else 4)
        return "ok", {"state": state, "results": [0]}

    def fd_read(self, base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """The ``fd_read`` import: read from the file at its offset into the buffers."""
        state = base.get("state") or {}
        fd, iovs, n, nread = (_args(request) + [0, 0, 0, 0])[:4]
        inst = _inst(request)
        fdesc = walk(state, ["file-descriptors", str(fd)])
        if not isinstance(fdesc, dict):
            return "ok", {"state": state, "results": [8]}
        fname = fdesc.get("filename")
        fname = fname.decode() if isinstance(fname, bytes) else str(fname)
        off = int(fdesc.get("offset", 0))
        content = walk(state, _vfs_path(fname))
        content = content.encode() if isinstance(content, str) else bytes(content or b"")
        done = inst.scatter(iovs, n, content[off:], _wide(request, 1))
        state = deep_put(state, ["file-descriptors", str(fd), "offset"], off + done)
        inst.write_uint(nread, done, 8 if _wide(request, 3) else 4)
        return "ok", {"state": state, "results": [0]}

    def clock_time_get(self, base: dict[str, Any]) -> tuple[str, Any]:
        """The ``clock_time_get`` import: errno 1, no time written (AOS stays deterministic)."""
        return "ok", {"state": base.get("state"), "results": [1]}

    def environ_sizes_get(self, base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """The ``environ_sizes_get`` import: no environment variables."""
        inst = _inst(request)
        a = _args(request)
        if len(a) >= 2:
            inst.write_uint(a[0], 0, 8 if _wide(request, 0) else 4)
            inst.write_uint(a[1], 0, 8 if _wide(request, 1) else 4)
        return "ok", {"state": base.get("state"), "results": [0]}

    def proc_exit(self, request: dict[str, Any]) -> tuple[str, Any]:
        """The ``proc_exit`` import: a trap that ends the call."""
        code = (_args(request) or [0])[0]
        raise WasmTrap(f"proc_exit({code})")

    info: dict[str, Any] | None = None  # set below


def _stub(key: str, base: dict[str, Any], request: Any = None) -> tuple[str, Any]:
    """An unimplemented WASI import answers 0. Only import calls (wasm-64@1.0's, which carry
    ``func-sig``): any other key (``normalize``, ``snapshot`` through a stack) is not found, so
    the stack passes over this device as HyperBEAM's ``dev_wasi`` (no default handler) does."""
    if not isinstance(request, dict) or "func-sig" not in request:
        return "error", ao.NOT_FOUND
    return "ok", {"state": base.get("state"), "results": [0]}


WasiDevice.info = {"default": _stub, "excludes": ["set", "keys"]}
DEVICE = WasiDevice()
