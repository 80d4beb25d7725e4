"""``lua@5.3a`` (HyperBEAM ``dev_lua`` / ``dev_lua_lib``, spec runtime §13.6): AO-Core keys
answered by the functions of a Lua 5.3 module, on C Lua 5.3 (lupa) with the Luerl prelude of
:mod:`hyperbeam_fast.lua` (docs/lua.md).

Keys: ``init`` (load the modules, sandbox, install the ``ao`` library, keep the state in
``priv/state``), ``normalize`` (restore the state from ``snapshot[/<device-key>]/body``),
``snapshot`` (``{body: checkpoint}``), ``functions``; every other key not in the base message
calls the Lua function ``body/function | function | base.function | <key>`` with
``body/parameters | parameters | base.parameters | [base without priv, request, {}]``. One
return value is ``ok``; two are ``status, message``; a Lua error is ``{status: 500, body}``.

Options: ``lua_instructions`` (per call, in thousands of VM instructions, default
:data:`~hyperbeam_fast.lua.vm.DEFAULT_INSTRUCTIONS`), ``lua_memory`` (bytes per state, default
:data:`~hyperbeam_fast.lua.vm.DEFAULT_MEMORY`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, cast

from .. import ao, cache
from ..exceptions import HyperbeamError, NotFound
from ..lua import checkpoint
from ..lua.convert import ConvertError, from_lua, to_lua
from ..lua.vm import DEFAULT_INSTRUCTIONS, DEFAULT_MEMORY, LuaError, LuaVM
from ..path import parse_path
from .scheduler import store_of

NAME = "lua@5.3a"
LUA_TYPES = ("application/lua", "text/x-lua")
MAX_MODULES = 64
#: dev_lua's DEFAULT_SANDBOX: each path is replaced by the string "sandboxed".
DEFAULT_SANDBOX = (
    "io", "file", "os/execute", "os/exit", "os/getenv", "os/remove", "os/rename", "os/tmpname",
    "package", "loadfile", "require", "dofile", "load", "loadstring",
)  # fmt: skip
_EXCLUDES = ["keys", "set", "encode", "decode"]

# Lua helpers run inside each state (never reachable from _G: they are held by Python).
_HELPERS = b"""
local function copy(v, seen)
  if type(v) ~= "table" then return v end
  if seen[v] then return seen[v] end
  local t = {}
  seen[v] = t
  for k, x in next, v do t[k] = copy(x, seen) end
  return t
end
local h = {}
function h.install(lib)
  local base = ao
  local t = {}
  if type(base) == "table" then t = copy(base, {}) end
  ao = t
  for name, f in next, lib do t[name] = f end
end
function h.set_path(path, value)
  local t = _G
  for i = 1, #path - 1 do
    local nxt = rawget(t, path[i])
    if type(nxt) ~= "table" then return end
    t = nxt
  end
  rawset(t, path[#path], value)
end
function h.functions()
  local out = {}
  for k, v in pairs(_G) do
    if type(v) == "function" then table.insert(out, k) end
  end
  return out
end
return h
"""


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _err(status: int, body: Any, **extra: Any) -> tuple[str, dict[str, Any]]:
    return "error", {"status": status, "body": body, **extra}


def state_of(base: Any) -> LuaVM | None:
    """The live Lua state in ``base``'s private keys, if any."""
    priv = base.get("priv") if isinstance(base, dict) else None
    st = priv.get("state") if isinstance(priv, dict) else None
    return st if isinstance(st, LuaVM) else None


def broken(state: Any) -> str | None:
    """Why the Lua state in ``state`` stopped mid-update (process@1.0 rolls the slot back)."""
    vm = state_of(state)
    return vm.broken if vm is not None else None


def _with_state(base: dict[str, Any], vm: LuaVM | None) -> dict[str, Any]:
    priv = base.get("priv")
    priv = dict(priv) if isinstance(priv, dict) else {}
    if vm is None:
        priv.pop("state", None)
    else:
        priv["state"] = vm
    return {**base, "priv": priv}


def _public(base: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in base.items() if not ao.is_private(k)}


def _get(base: dict[str, Any], key: str, opts: dict[str, Any]) -> Any:
    v = base.get(key)
    if v is None:
        for k, x in base.items():
            if isinstance(k, str) and k.lower() == key:
                return x
    return v


# ---- modules (dev_lua find_modules / load_modules) ----------------------------------------


def _module_list(mod: Any) -> list[Any]:
    if isinstance(mod, (str, bytes)):
        return [mod]
    if isinstance(mod, dict):
        ct = _get(mod, "content-type", {})
        if ct is not None and _text(ct) in LUA_TYPES:
            return [mod]
        if all(isinstance(k, str) and k.isdigit() for k in mod):
            return [mod[k] for k in sorted(mod, key=int)]
        return [mod[k] for k in sorted(mod)]
    if isinstance(mod, (list, tuple)):
        return list(mod)
    return [mod]


def load_modules(base: dict[str, Any], opts: dict[str, Any]) -> list[tuple[str, bytes]]:
    """``[(name, code)]`` of ``base.module``; raises :class:`LuaError` with a status."""
    mod = _get(base, "module", opts)
    if mod is None:
        raise _ModuleError(404, "no-modules-found")
    out: list[tuple[str, bytes]] = []
    todo = _module_list(mod)
    if len(todo) > MAX_MODULES:
        raise _ModuleError(400, f"too many Lua modules ({len(todo)} > {MAX_MODULES})")
    for m in todo:
        if isinstance(m, (str, bytes)) and ao.is_id(_text(m)):
            mid = _text(m)
            try:
                got = cache.read(mid, store_of(opts))
            except (NotFound, HyperbeamError):
                got = None
            if got is None:
                raise _ModuleError(404, f"Lua module '{mid}' not found.")
            if isinstance(got, (bytes, str)):
                out.append((mid, got.encode() if isinstance(got, str) else got))
                continue
            m = got
        if isinstance(m, (str, bytes)):
            out.append(("module", m.encode() if isinstance(m, str) else m))
            continue
        if not isinstance(m, dict):
            raise _ModuleError(404, "Lua module not loadable: not a binary or a message.")
        code = _get(m, "body", opts)
        if code is None:
            code = _get(m, "data", opts)
        if not isinstance(code, (str, bytes)):
            raise _ModuleError(
                404,
                "Lua module not loadable. Lua modules must have a `body' element set to a "
                "binary of the code to load.",
            )
        name = _get(m, "name", opts) or _get(m, "id", opts) or "module"
        out.append((_text(name), code.encode() if isinstance(code, str) else code))
    return out


class _ModuleError(HyperbeamError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def _limits(opts: dict[str, Any]) -> tuple[int, int]:
    mem = opts.get("lua_memory", DEFAULT_MEMORY)
    ins = opts.get("lua_instructions", DEFAULT_INSTRUCTIONS)
    return int(_text(mem)), int(_text(ins))


def new_vm(opts: dict[str, Any]) -> LuaVM:
    """A fresh Lua state with the memory and instruction limits of ``opts``, its helpers loaded."""
    mem, ins = _limits(opts)
    vm = LuaVM(memory=mem, instructions=ins)
    vm.helpers = vm.rt.execute(_HELPERS)
    return vm


def _sandbox(vm: LuaVM, spec: Any) -> None:
    if spec is True or _text(spec).lower() == "true":
        items: list[tuple[str, Any]] = [(p, "sandboxed") for p in DEFAULT_SANDBOX]
    elif spec is False or spec is None or _text(spec).lower() == "false":
        return
    elif isinstance(spec, dict) and not all(k.isdigit() for k in spec):
        items = [(k, v) for k, v in spec.items()]
    else:
        vals = spec.values() if isinstance(spec, dict) else spec
        items = [
            (_text(p), "sandboxed") for p in (vals if isinstance(vals, (list, tuple)) else [vals])
        ]
        items = list(items) if not isinstance(vals, str) else items
    for p, val in items:
        parts = [x for x in _text(p).replace(".", "/").split("/") if x and x != "_G"]
        if parts:
            vm.helpers[b"set_path"](to_lua(vm, parts), to_lua(vm, val))


def initialize(base: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """dev_lua ``initialize``: a fresh state with the modules, the sandbox and the library."""
    try:
        mods = load_modules(base, opts)
    except _ModuleError as e:
        return _err(e.status, e.body)
    vm = new_vm(opts)
    for name, code in mods:
        try:
            vm.load(code, name)
        except LuaError as e:
            return _err(500, f"Lua module '{name}' failed to load: {e}")
    _sandbox(vm, _get(base, "sandbox", opts))
    _install_library(vm, base, opts)
    checkpoint.mark(vm)
    return "ok", _with_state(base, vm)


def ensure_initialized(base: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """``base`` with a working Lua state: kept when live, else (re)initialised."""
    vm = state_of(base)
    if vm is not None and vm.broken is None:
        return "ok", base
    return initialize(base, opts)


# ---- the ao library (dev_lua_lib) ----------------------------------------------------------


def _exec_opts(base: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    spec = _get(base, "device-sandbox", opts)
    o = dict(opts)
    if spec is None or spec is False:
        return o
    names = list(spec.values()) if isinstance(spec, dict) else spec
    if isinstance(names, (str, bytes)):
        names = [names]
    allowed = {}
    reg = opts.get("preloaded_devices") or ao.registered_devices()
    for n in names:
        key = _text(n).lower()
        for name, dev in dict(reg).items():
            if name.lower() == key:
                allowed[name.lower()] = dev
    o["preloaded_devices"] = allowed
    return o


def _as(m: Any) -> Any:
    if isinstance(m, list) and len(m) == 3 and m[0] == "as":
        return ao.As(_text(m[1]), m[2])
    return m


def _install_library(vm: LuaVM, base: dict[str, Any], opts: dict[str, Any]) -> None:
    eopts = _exec_opts(base, opts)

    def resolve(a: list[Any]) -> tuple[bool, Any]:
        if len(a) == 1 and isinstance(a[0], dict):
            msgs = parse_path(a[0], eopts)
        elif len(a) == 2 and isinstance(a[1], str):
            msgs = [a[0], *cast(list[Any], ao.path_parts(a[1]))]
        elif len(a) == 1 and isinstance(a[0], list):
            msgs = a[0]
        else:
            msgs = a
        status, res = ao.resolve_many([_as(m) for m in msgs], eopts)
        return True, [status, _plain(res)]

    def get(a: list[Any]) -> tuple[bool, Any]:
        if len(a) < 2:
            return False, "ao.get takes (key, base)"
        v = ao.get(_as(a[1]), _as(a[0]), eopts)
        return True, ["not_found" if v is None else _plain(v)]

    def set_(a: list[Any]) -> tuple[bool, Any]:
        if len(a) == 3:
            return True, [_plain(ao.set(a[0], a[1], a[2], opts=eopts))]
        if len(a) == 2:
            return True, [_plain(ao.set(a[0], a[1], opts=eopts))]
        return False, "ao.set takes (base, key, value) or (base, values)"

    def event(a: list[Any]) -> tuple[bool, Any]:
        return True, ["ok"]

    lib = vm.table()
    for name, fn in ((b"resolve", resolve), (b"get", get), (b"set", set_), (b"event", event)):
        lib[name] = vm.host(fn)
    vm.helpers[b"install"](lib)


def _plain(v: Any) -> Any:
    """A resolution result with what cannot enter Lua (private keys, host objects) left out."""
    if isinstance(v, dict):
        return {
            k: _plain(x) for k, x in v.items() if not (isinstance(k, str) and k.startswith("priv"))
        }
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (str, bytes, int, float, bool)):
        return v
    if isinstance(v, ao.As):
        return None
    return str(v)


# ---- the device ----------------------------------------------------------------------------


def _first(req: dict[str, Any], base: dict[str, Any], key: str) -> Any:
    body = req.get("body")
    if isinstance(body, dict) and body.get(key) is not None:
        return body[key]
    if req.get(key) is not None:
        return req[key]
    return base.get(key)


def _params(p: Any) -> list[Any]:
    if isinstance(p, list):
        return p
    if isinstance(p, dict):
        if not p:
            return []
        if all(isinstance(k, str) and k.isdigit() for k in p):
            return [p[k] for k in sorted(p, key=int)]
    return [p]


class LuaDevice:
    """``lua@5.3a``: processes and functions written in Lua (docs/lua.md)."""

    name = NAME
    #: process@1.0 writes the states with a checkpoint (and the newest), not every slot's:
    #: the live state is in memory, a crash recomputes whole slots from the newest checkpoint.
    state_writes = "checkpoint"
    #: Slots between checkpoints when ``process_snapshot_interval`` is not set: a checkpoint of
    #: hyper-aos costs ~2 ms (~15 calls, ~2 us a slot at this interval); a restart replays at
    #: most this many slots, or 0.5 s of compute (``process_snapshot_seconds``), ~0.3 s.
    snapshot_interval = 1000

    def info(self, msg: Any = None) -> dict[str, Any]:
        """Every key but the device's own calls the Lua function of that name."""
        keys = list(msg.keys()) if isinstance(msg, dict) else []
        return {"default": self.call, "excludes": _EXCLUDES + keys}

    def init(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``init``: load the message's Lua modules into a new state."""
        return ensure_initialized(base, opts)

    def normalize(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``normalize``: a live state, restored from this node's sealed ``snapshot`` if needed."""
        vm = state_of(base)
        if vm is not None and vm.broken is None:
            return "ok", base
        sealed = _snapshot_body(base)
        if sealed is None:
            return _err(500, "no_lua_state_snapshot_found")
        body = _unseal(sealed, opts)
        if body is None:
            return _err(500, "Lua snapshot refused: not written by this node")
        status, out = initialize({k: v for k, v in base.items() if k != "snapshot"}, opts)
        if status != "ok":
            return status, out
        vm = state_of(out)
        assert vm is not None
        try:
            checkpoint.restore(vm, body)
        except (LuaError, checkpoint.CheckpointError) as e:
            return _err(500, f"Lua snapshot restore failed: {e}")
        return "ok", out

    def snapshot(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``snapshot``: the state as a checkpoint, sealed by this node."""
        vm = state_of(base)
        if vm is None or vm.broken is not None:
            return _err(500, "Cannot snapshot Lua state: state not initialized.")
        try:
            return "ok", {"body": _seal(checkpoint.save(vm), opts)}
        except (LuaError, checkpoint.CheckpointError) as e:
            return _err(500, f"Cannot snapshot Lua state: {e}")

    def functions(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``functions``: the names of the state's global functions."""
        vm = state_of(base)
        if vm is None:
            return "error", "not_found"
        (out,) = vm.run(vm.helpers[b"functions"])
        return "ok", from_lua(vm, out)

    def call(
        self, key: str, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """Call the Lua function ``function`` (default: ``key``) with the message, the request
        and the options."""
        status, base = ensure_initialized(base, opts)
        if status != "ok":
            return status, base
        vm = state_of(base)
        assert vm is not None
        req = request if isinstance(request, dict) else {}
        fn = _first(req, base, "function") or key
        params = _first(req, base, "parameters")
        args = [_public(base), req, {}] if params is None else _params(params)
        try:
            ok, out = vm.invoke(_text(fn).encode(), args)
        except LuaError as e:
            vm.broken = vm.broken or f"lua@5.3a: {e}"
            return _err(500, str(e))
        except ConvertError as e:
            vm.broken = vm.broken or str(e)
            return _err(500, str(e))
        if not ok:
            vm.broken = vm.broken or f"lua@5.3a: {out}"
            return _err(500, out if isinstance(out, (str, dict, list)) else str(out))
        if len(out) == 1:
            st, res = "ok", out[0]
        elif len(out) == 2:
            st, res = _text(out[0]), out[1]
        else:
            vm.broken = "lua@5.3a: function returned no status"
            return _err(500, f"Lua function {_text(fn)} returned {len(out)} values, not 1 or 2")
        if isinstance(res, dict):
            priv = base["priv"] if isinstance(base.get("priv"), dict) else {}
            return st, {**res, "priv": {**priv, "state": vm}}
        vm.broken = "lua@5.3a: state not returned"  # Luerl drops the call's state: so do we
        return st, res


_LOCAL_SECRET = os.urandom(32)
_mac_keys: dict[str, bytes] = {}


def _mac_key(opts: dict[str, Any]) -> bytes:
    """The key of the checkpoints' MAC: derived from the node's wallet (so checkpoints survive a
    restart of the same node), else a secret of this Python process."""
    w = opts.get("priv_wallet")
    jwk = getattr(w, "to_jwk", None)
    if jwk is None:
        return _LOCAL_SECRET
    addr = str(getattr(w, "address", ""))
    key = _mac_keys.get(addr)
    if key is None:
        d = str(jwk().get("d", "")).encode()
        key = hashlib.sha256(b"hyperbeam_fast lua@5.3a checkpoint\0" + d).digest()
        _mac_keys[addr] = key
    return key


def _seal(body: bytes, opts: dict[str, Any]) -> bytes:
    """A checkpoint holds bytecode: only what this node wrote is ever loaded back (a peer or a
    shared store cannot hand it crafted bytecode)."""
    return hmac.new(_mac_key(opts), body, hashlib.sha256).digest() + body


def _unseal(sealed: bytes, opts: dict[str, Any]) -> bytes | None:
    mac, body = sealed[:32], sealed[32:]
    good = hmac.new(_mac_key(opts), body, hashlib.sha256).digest()
    return body if len(sealed) > 32 and hmac.compare_digest(mac, good) else None


def _snapshot_body(base: dict[str, Any]) -> bytes | None:
    snap = base.get("snapshot")
    if not isinstance(snap, dict):
        return None
    dk = base.get("device-key")
    holder = snap.get(_text(dk)) if dk is not None else snap
    if isinstance(holder, dict) and isinstance(holder.get("body"), (bytes, bytearray)):
        return bytes(holder["body"])
    for v in snap.values():
        if isinstance(v, dict) and isinstance(v.get("body"), (bytes, bytearray)):
            return bytes(v["body"])
    return None


DEVICE = LuaDevice()
