"""``genesis-wasm@1.0`` (HyperBEAM ``dev_genesis_wasm``): legacynet AO processes, run locally.

HyperBEAM starts an external Node.js compute unit (the ao CU in ``hbu`` mode) and computes each
slot through delegated-compute@1.0, then applies patch@1.0 to the outbox. Here the compute unit
is in process, on the node's own wasm-64@1.0 + wasi@1.0 stack: the same slots give the same
results JSON, without a second server.

* The module is the process's ``Module``: the ID of a message stored on the node (a signed data
  item uploaded like any client does) whose ``data`` (or ``body``) is the WASM binary.
  :meth:`GenesisWasmDevice.check_definition` refuses a process whose module is not stored (404),
  not WASM (422) or missing (400) before it is scheduled (scheduler@1.0 asks the execution
  device), so nothing is stored or scheduled for it.
* Each slot calls AOS's ``handle(msg, env)`` with the JSON the legacy CU builds from the aos-2
  schedule (``servers/cu/src/effects/hb``'s ``mapNode``): ``msg`` = the message's ``Id``,
  ``Signature``, ``Data``, ``Owner``, ``Anchor``, ``From`` (``From-Process`` tag, else the
  owner), ``Forwarded-By`` (when tagged), ``Tags`` (without ``From``/``Owner`` tags), then the
  assignment's ``Target`` (the process), ``Epoch``, ``Nonce`` (the slot), ``Skip``,
  ``Timestamp``, ``Block-Height``, ``Hash-Chain`` and ``Cron: false``; ``env`` =
  ``{Process: {Id, Owner, Tags}, Module: {Id, Owner, Tags}}``.
* The result is the CU's JSON: ``Output``, ``Messages``, ``Spawns``, ``Assignments``,
  ``GasUsed`` (the wasmtime fuel ``handle`` used) and ``Error`` when there is one (a reply with
  ``ok: false``, output that is not JSON, or a trap). It is turned into ``results`` exactly as
  delegated-compute@1.0 does (:func:`.delegated_compute.results`: ``data``, ``outbox``,
  ``patches``, ``json``), then patch@1.0 moves the outbox's ``PATCH`` messages into the state
  (without the keys the process machinery owns, :data:`_RESERVED` and ``priv*``: HyperBEAM
  applies them all).
* As in the CU, a slot with an ``Error`` leaves the memory as it was before the slot: the slot
  is recorded as failed (process@1.0's rollback: the state before it plus this result).

* The module's limits, as the CU reads them (``servers/cu`` ``loadModule``'s
  ``setModuleOptions``): ``Memory-Limit`` (bytes, ``1-gb`` style, the npm ``bytes`` units) and
  ``Compute-Limit`` (an integer), each the process's tag if it has one, else the module's. A
  process without them, or over the node's ``genesis_wasm_memory_max`` (default 1 GiB) /
  ``genesis_wasm_compute_max`` (default 9e12, the CU's ``PROCESS_WASM_*_MAX_LIMIT``), is refused
  when it is scheduled (400 / 413). ``Memory-Limit`` bounds the instance's linear memory (the
  smaller of it and ``wasm_memory_limit``); ``Compute-Limit`` bounds each message's fuel (the
  smaller of it and ``wasm_fuel``; ``GasUsed`` is that fuel) for the metered module formats
  (``...-metering``), the only ones ao-loader counts gas for: other formats run unmetered, as
  there, under the node's ``wasm_timeout``. A message past a limit is a failed slot with an
  ``Error``, as ao-loader's ``out of gas!``.

``init`` instantiates the module (wasi@1.0 as its ``wasi_snapshot_preview1``), ``snapshot``
gives the WASM memory (``{wasm: {body}}``) and ``normalize`` restores it, so process@1.0's
snapshots and replays work as for stack@1.0 processes.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .. import cache
from ..exceptions import HyperbeamError, InvalidModule, NotFound
from ..message import id as msg_id
from ..wasm import DEFAULT_FUEL, DEFAULT_MEMORY_LIMIT, WasmError, load_module
from ..wasm.errors import WasmCompileError
from . import delegated_compute, scheduler_formats, wasi, wasm64
from .patch import DEVICE as PATCH
from .patch import is_patch
from .scheduler import store_of

NAME = "genesis-wasm@1.0"
#: The wasm-64 output prefix (its instance at ``priv.wasm/instance``, its raw results at
#: ``results/wasm``; wasi@1.0 installs itself at ``wasm/stdlib``).
PREFIX = "wasm"
_IMAGE = "genesis-module"  # a transient input prefix holding the WASM bytes for wasm-64's init
_PRIV_ENV = "genesis/env"
_PRIV_MODULE = "genesis/module"
#: State keys a module's PATCH may not set (their values are the node's: :func:`_safe`).
_RESERVED = frozenset(
    {
        "process",
        "device",
        "results",
        "at-slot",
        "state-hashpath",
        "initialized",
        "snapshot",
        "commitments",
        "wasm",
        "file-descriptors",
        "vfs",
        "input-prefix",
        "output-prefix",
        "device-key",
        "function",
        "parameters",
        "from-process",
        "from-image",
        "target",
    }
)
#: The assignment keys the CU reads (as its aos-2 tags ``Process``, ``Epoch``, ``Slot``, ...).
_ASSIGNMENT_FIELDS = frozenset(
    {"process", "epoch", "slot", "nonce", "skip", "timestamp", "block-height", "hash-chain"}
)


#: The most bytes of ``handle``'s two strings put on the guest's stack (ao-loader puts any size
#: there; AOS's stack is 8 MiB and Emscripten's default 64 KiB): larger ones go to ``malloc``
#: rather than overflow the stack into the module's data.
STACK_STRINGS_MAX = 32 * 1024


def _definition(base: dict[str, Any]) -> dict[str, Any]:
    p = base.get("process")
    return p if isinstance(p, dict) else base


def module_of(process: dict[str, Any], opts: dict[str, Any]) -> tuple[str, dict[str, Any], bytes]:
    """``(ID, message, WASM bytes)`` of the process's ``Module``; :class:`InvalidModule` when
    it is missing (400), not stored here (404) or not WASM (422)."""
    raw = process.get("module")
    if raw is None or raw == b"" or raw == "":
        raise InvalidModule("the process names no Module (the ID of its WASM module)", 400)
    mid = scheduler_formats.id_text(raw)
    if len(mid) != 43:
        raise InvalidModule(f"Module {mid[:64]!r} is not a message ID", 400)
    try:
        msg = cache.read(mid, store_of(opts))
    except (NotFound, HyperbeamError):
        msg = None
    if msg is None:
        raise InvalidModule(f"Module {mid} is not stored on this node: upload it first", 404)
    data: Any = msg
    if isinstance(msg, dict):
        data = msg.get("data")
        if data is None:
            data = msg.get("body")
    if not isinstance(data, (bytes, bytearray)) or not bytes(data[:4]) == b"\0asm":
        raise InvalidModule(f"Module {mid} is not a WASM module (no \\0asm header)", 422)
    return mid, msg if isinstance(msg, dict) else {"data": data}, bytes(data)


#: The CU's defaults for the largest limits it runs (``PROCESS_WASM_MEMORY_MAX_LIMIT`` = 1 GiB,
#: ``PROCESS_WASM_COMPUTE_MAX_LIMIT`` = 9e12); node options ``genesis_wasm_memory_max`` and
#: ``genesis_wasm_compute_max``.
MEMORY_MAX = 1 << 30
COMPUTE_MAX = 9_000_000_000_000
_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
_BYTES = re.compile(r"^([+-]?\d+(?:\.\d+)?) *(kb|mb|gb|tb|pb)$", re.IGNORECASE)
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")


def parse_bytes(text: str) -> int | None:
    """``Memory-Limit`` as the CU parses it: the first ``-`` dropped, then npm ``bytes``'s
    ``parse`` (``1gb`` = 2**30, a bare number is bytes); None when it is not one."""
    t = text.replace("-", "", 1).strip()
    m = _BYTES.match(t)
    if m:
        return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    m = _LEADING_INT.match(t)  # bytes falls back to parseInt: leading digits
    return int(m.group(1)) if m else None


def parse_int(text: str) -> int | None:
    """``Compute-Limit`` as the CU parses it (JavaScript ``parseInt``: leading digits)."""
    m = _LEADING_INT.match(text)
    return int(m.group(1)) if m else None


def _tag(process: dict[str, Any], module: dict[str, Any], key: str) -> str | None:
    for src in (process, module):  # the process's tag wins (the CU's pathOr)
        v = src.get(key) if isinstance(src, dict) else None
        if v is not None and v != b"" and v != "":
            return scheduler_formats.text(v)
    return None


def module_limits(
    process: dict[str, Any], module: dict[str, Any], opts: dict[str, Any]
) -> tuple[int, int]:
    """``(Memory-Limit bytes, Compute-Limit)`` of the process; :class:`InvalidModule` when one
    is missing or not a number (400) or over the node's largest (413), as the CU refuses it."""
    out = []
    for key, parse, opt, top in (
        ("memory-limit", parse_bytes, "genesis_wasm_memory_max", MEMORY_MAX),
        ("compute-limit", parse_int, "genesis_wasm_compute_max", COMPUTE_MAX),
    ):
        name = scheduler_formats.header_case(key)
        raw = _tag(process, module, key)
        if raw is None:
            raise InvalidModule(f"the process and its module set no {name}", 400)
        n = parse(raw)
        if n is None or n <= 0:
            raise InvalidModule(f"{name} {raw[:64]!r} is not a positive number", 400)
        most = wasm64.limit_option(opts, opt, top, int)
        if most is not None and n > most:
            raise InvalidModule(f"{name} {n} exceeds this node's supported limit {most}", 413)
        out.append(n)
    return out[0], out[1]


def metered(process: dict[str, Any], module: dict[str, Any]) -> bool:
    """Whether the module's ``Module-Format`` is a metered one (``...-metering``): only those
    count gas against ``Compute-Limit`` in ao-loader."""
    fmt = _tag(process, module, "module-format") or ""
    return fmt.strip().lower().endswith("-metering")


def limited_opts(memory: int, compute: int | None, opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` with the node's WASM limits narrowed to the module's (the smaller wins); the
    fuel only when ``compute`` is given (a metered format), else the node's own."""
    node_mem = wasm64.limit_option(opts, "wasm_memory_limit", DEFAULT_MEMORY_LIMIT, int)
    out = {**opts, "wasm_memory_limit": memory if node_mem is None else min(memory, node_mem)}
    if compute is not None:
        node_fuel = wasm64.limit_option(opts, "wasm_fuel", DEFAULT_FUEL, int)
        out["wasm_fuel"] = compute if node_fuel is None else min(compute, node_fuel)
    return out


def cu_message(assignment: dict[str, Any]) -> dict[str, Any]:
    """The message the legacy CU hands AOS for ``assignment`` (module docstring): its aos-2
    node mapped as the CU maps it. (Only the assignment's fields are read, not its json
    struct: its ID and signer are not part of the message.)"""
    body = assignment.get("body")
    m = scheduler_formats.json_struct(body) if isinstance(body, dict) else {}
    a = {
        scheduler_formats.header_case(k): scheduler_formats.text(v)
        for k, v in assignment.items()
        if k in _ASSIGNMENT_FIELDS
    }
    mtags = m.get("Tags") or []
    names = {t["name"]: t["value"] for t in mtags}
    owner = m.get("Owner", "")
    out: dict[str, Any] = {
        "Id": m.get("Id", ""),
        "Signature": m.get("Signature", ""),
        "Data": m.get("Data", ""),
        "Owner": owner,
        "Anchor": m.get("Anchor", ""),
        "From": names.get("From-Process") or m.get("From") or owner,
    }
    if "Forwarded-By" in names:
        out["Forwarded-By"] = names["Forwarded-By"]
    out["Tags"] = [t for t in mtags if t["name"] not in ("From", "Owner")]
    out.update(
        {
            "Target": a.get("Process", ""),
            "Epoch": _int(a.get("Epoch")),
            "Nonce": _int(a.get("Slot", a.get("Nonce"))),
            "Skip": a.get("Skip", "false"),
            "Timestamp": _int(a.get("Timestamp")),
            "Block-Height": _int(a.get("Block-Height")),
            "Hash-Chain": a.get("Hash-Chain", ""),
            "Cron": False,
        }
    )
    return out


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def env_json(process: dict[str, Any], module_id: str, module: dict[str, Any]) -> bytes:
    """``{Process: {Id, Owner, Tags}, Module: {Id, Owner, Tags}}`` (the CU's ``AoGlobal``)."""
    p = scheduler_formats.json_struct(process)
    m = scheduler_formats.json_struct(module)
    return orjson.dumps(
        {
            "Process": {"Id": msg_id(process, "all"), "Owner": p["Owner"], "Tags": p["Tags"]},
            "Module": {"Id": module_id, "Owner": m["Owner"], "Tags": m["Tags"]},
        }
    )


def cu_result(resp: dict[str, Any], gas: int | None) -> dict[str, Any]:
    """The CU's result for AOS's ``response`` (ao-loader plus the CU's ``mergeOutput``)."""
    out: dict[str, Any] = {
        "Output": resp.get("Output", ""),
        "Messages": resp.get("Messages") or [],
        "Spawns": resp.get("Spawns") or [],
        "Assignments": resp.get("Assignments") or [],
    }
    if resp.get("Error") is not None:
        out["Error"] = resp["Error"]
    if gas is not None:
        out["GasUsed"] = gas
    return out


def error_results(why: str, process: dict[str, Any]) -> dict[str, Any]:
    """``results`` for a slot that failed with ``why`` (an ``Error`` or a trap)."""
    if why.startswith("out of fuel"):  # past Compute-Limit (or wasm_fuel): ao-loader's words
        why = f"out of gas! {why}"
    raw = orjson.dumps(cu_result({"Error": why}, None))
    pid = msg_id(process, "all")
    res = delegated_compute.results(orjson.loads(raw), raw, pid, process.get("module"))
    return {**res, "error": why}


def _safe(patch: dict[str, Any]) -> dict[str, Any]:
    """A module's PATCH message without the keys of the process machinery (:data:`_RESERVED`,
    ``priv*``): a module may add state, not rewrite its definition, instance or chain."""
    return {
        k: v
        for k, v in patch.items()
        if k == "device" or (k not in _RESERVED and not k.startswith("priv"))
    }


def _with_image(state: dict[str, Any], wasm: bytes) -> dict[str, Any]:
    return {**state, "input-prefix": _IMAGE, "output-prefix": PREFIX, _IMAGE: {"image": wasm}}


def _without_image(out: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in out.items() if k != _IMAGE}
    for k in ("input-prefix", "output-prefix"):
        if k in like:
            out[k] = like[k]
        else:
            out.pop(k, None)
    return out


def _priv(state: dict[str, Any], **items: Any) -> dict[str, Any]:
    priv = state.get("priv")
    priv = dict(priv) if isinstance(priv, dict) else {}
    priv.update(items)
    return {**state, "priv": priv}


class GenesisWasmDevice:
    """``genesis-wasm@1.0``: a legacy AO process's execution run in this node's wasm-64@1.0."""

    name = NAME
    info = {"excludes": ["set", "keys"]}

    @staticmethod
    def check_definition(definition: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any] | None:
        """Why ``definition`` cannot run here (its ``Module``), or None (scheduler@1.0)."""
        try:
            _, module, _ = module_of(definition, opts)
            module_limits(definition, module, opts)
        except InvalidModule as e:
            return {"status": e.status, "body": str(e)}
        return None

    @staticmethod
    def failed_results(state: dict[str, Any], why: str) -> dict[str, Any]:
        """The ``results`` of a failed slot (process@1.0's rollback)."""
        return error_results(why, _definition(state))

    def init(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``init``: instantiate the process's module."""
        return self._instantiate(base, None, opts)

    def _instantiate(
        self, base: dict[str, Any], snapshot: Any, opts: dict[str, Any]
    ) -> tuple[str, Any]:
        d = _definition(base)
        try:
            mid, module, wasm = module_of(d, opts)
            memory, compute = module_limits(d, module, opts)
            opts = limited_opts(memory, compute if metered(d, module) else None, opts)
        except InvalidModule as e:
            return "error", {"status": e.status, "body": str(e)}
        try:  # compiled (and cached) here, so that a module that does not compile is a 422
            load_module(wasm, metered=wasm64.fuel_limit(opts) is not None)
        except WasmCompileError as e:
            return "error", {"status": 422, "body": f"Module {mid} does not compile: {e}"}
        except WasmError as e:  # e.g. the exnref translator is missing: the node's problem
            return "error", {"status": 500, "body": f"Module {mid} cannot be loaded: {e}"}
        _, st = wasi.DEVICE.init(base)
        tmp = _with_image(st, wasm)
        if snapshot is None:
            status, out = wasm64.DEVICE.init(tmp, {}, opts)
        else:
            tmp = {**tmp, "snapshot": snapshot, "device-key": PREFIX}
            status, out = wasm64.DEVICE.normalize(tmp, {}, opts)
        if status != "ok":
            return status, out
        out = {k: v for k, v in out.items() if k not in ("snapshot", "device-key")}
        out = _without_image(out, base)
        return "ok", _priv(out, **{_PRIV_MODULE: (mid, module)})

    def normalize(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``normalize``: a live instance, restored from ``snapshot`` when there is none."""
        ctx = wasm64.context(base, PREFIX)
        if ctx is not None and ctx.instance is not None:
            return "ok", base
        snap = base.get("snapshot")
        if not isinstance(snap, dict):
            return "error", {"status": 500, "body": "genesis-wasm@1.0: no instance or snapshot"}
        status, out = self._instantiate(base, snap, opts)
        if status == "ok":
            out = {k: v for k, v in out.items() if k != "snapshot"}
        return status, out

    def snapshot(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``snapshot``: the instance's memory, to restore from later."""
        ctx = wasm64.context(base, PREFIX)
        if ctx is None or ctx.instance is None:
            return "error", {"status": 500, "body": "genesis-wasm@1.0: no live instance"}
        return "ok", {PREFIX: {"body": ctx.instance.snapshot()}}

    def compute(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``compute``: run the slot's message through the module's ``handle``."""
        st = {k: v for k, v in base.items() if k != "results"}
        ctx = wasm64.context(st, PREFIX)
        if ctx is None or ctx.instance is None:
            status, st = self.normalize(st, request, opts)
            if status != "ok":
                return status, st
            ctx = wasm64.context(st, PREFIX)
        assert ctx is not None and ctx.instance is not None
        d = _definition(st)
        priv = st["priv"] if isinstance(st.get("priv"), dict) else {}
        cached = priv.get(_PRIV_ENV)
        if cached is not None and cached[0] is d:
            ej = cached[1]
        else:  # the same for every slot of the process: built once per live state
            mid, module = priv.get(_PRIV_MODULE) or module_of(d, opts)[:2]
            ej = env_json(d, mid, module)
            st = _priv(st, **{_PRIV_ENV: (d, ej)})
        mj = orjson.dumps(cu_message(request))
        try:  # on the guest's stack, as ao-loader's cwrap("handle", ..., ["string", "string"])
            params, sp = ctx.write_call_strings([mj, ej], STACK_STRINGS_MAX)
        except WasmError as e:  # the guest's malloc trapped: process@1.0 rolls the slot back
            return "ok", {**st, "results": error_results(f"WASM write failed: {e}", d)}
        call = {**st, "output-prefix": PREFIX, "function": "handle", "parameters": params}
        call.pop("pass", None)
        status, out = wasm64.DEVICE.compute(call, {}, opts)
        gas = ctx.instance.fuel_consumed() if ctx.instance is not None else 0
        ctx.restore_stack(sp)  # before the output is read, as ccall's onDone
        if status != "ok":
            return status, out
        out = {k: v for k, v in out.items() if k not in ("function", "parameters")}
        out = _without_image(out, st)
        raw_res = wasm64.walk(out, ["results", PREFIX]) or {}
        if raw_res.get("type") == "error":  # a trap or a limit (ctx.broken is set)
            why = scheduler_formats.text(raw_res.get("error") or "trap")
            return "ok", {**out, "results": error_results(why, d)}
        try:
            doc = orjson.loads(ctx.read(raw_res.get("output")))
        except (WasmError, orjson.JSONDecodeError, TypeError, ValueError) as e:
            doc = {"ok": False, "response": f"the module's output is not JSON: {e}"}
        if not isinstance(doc, dict) or doc.get("ok") is not True:
            resp = {"Error": doc.get("response") if isinstance(doc, dict) else doc}
        else:
            resp = doc["response"] if isinstance(doc.get("response"), dict) else {}
        cu = cu_result(resp, gas)
        if "Error" in cu:  # the CU keeps the memory from before an erroring message
            ctx.broken = scheduler_formats.text(cu["Error"]) or "Error"
        raw = orjson.dumps(cu)
        pid = msg_id(d, "all")
        try:
            res = delegated_compute.results(cu, raw, pid, d.get("module"))
        except ValueError as e:
            res = error_results(str(e), d)
        state = {**out, "results": res}
        if not any(is_patch(m) for m in res["outbox"].values()):
            return "ok", state  # what patch@1.0 would give: nothing to move
        res = {
            **res,
            "outbox": {k: _safe(m) if is_patch(m) else m for k, m in res["outbox"].items()},
        }
        state = {**out, "results": res}
        dev = state.get("device")
        status, patched = PATCH.patches(
            {**state, "device": "message@1.0"}, {"patch-from": "/results/outbox"}, opts
        )
        if status == "ok" and isinstance(patched, dict):
            state = {**patched, "device": dev} if dev is not None else patched
        return "ok", state


DEVICE = GenesisWasmDevice()
