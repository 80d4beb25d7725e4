"""``wasm-64@1.0`` (HyperBEAM ``dev_wasm``, spec runtime §14.1): WASM execution on wasmtime.

Keys: ``init`` (instantiate ``<input-prefix>/image``: an ID read from the cache store, a map's
``body`` or raw bytes; compiled modules are cached by image), ``compute`` (call ``function`` with
numeric ``parameters``; results at ``results/<output-prefix>/type|output``), ``normalize``
(restore an instance from ``snapshot/<device-key>/body``), ``snapshot`` (``{body: memory}``),
``terminate``, ``instance``, ``import``. Imports resolve as AO-Core calls on
``<output-prefix>/stdlib/<module>/<func>`` (the library message gets the whole state under
``state`` and returns ``{state, results}``); unknown imports return 0 and are recorded under
``results/<output-prefix>/undefined-calls``. An import may call back into the instance.

Options (limits per outermost call; ``none`` for no limit): ``wasm_fuel`` (default none: no
fuel metering, the module runs on the unmetered engine; a number: deterministic fuel on the
metered one), ``wasm_timeout`` (wall-clock seconds, default
:data:`~hyperbeam_fast.wasm.DEFAULT_TIMEOUT`), ``wasm_memory_limit`` (bytes per instance, default
:data:`~hyperbeam_fast.wasm.DEFAULT_MEMORY_LIMIT`); ``store`` (the cache store used to load an
image given by ID). A call that traps or hits a limit gives ``results/<p>/type = "error"`` and
marks the context :attr:`WasmContext.broken` (its memory stopped mid-call: process@1.0 rolls the
slot back, see :func:`broken`).
"""

from __future__ import annotations

import threading
from typing import Any, cast

from .. import ao
from ..wasm import (
    DEFAULT_FUEL,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT,
    Instance,
    WasmError,
    load_module,
)
from ..wasm.engine import MODULE_CACHE_MAX
from ..wasm.errors import WasmCompileError, WasmImportError, WasmMemoryError, WasmTrap

NAME = "wasm-64@1.0"

_modules_by_id: dict[tuple[str, bool], Any] = {}  # (image ID, metered) -> module
#: Errors raised while the guest runs: its memory may be mid-update.
_MID_CALL = (WasmTrap, WasmImportError, WasmMemoryError)


class ComputeGate:
    """At most ``process_compute_workers`` threads compute (a process, or a WASM call) at once;
    a nested compute, in a thread that already computes, always enters. As many more may wait
    up to ``process_compute_wait`` seconds (default 2) for a turn; past that, or when that many
    already wait, a compute gets a 503 at once. The default limit is a quarter of the node's
    resolver threads (``priv_resolver_threads``, four per core), so computing and waiting
    together hold at most half of them: slow or looping processes cannot take every thread of
    the node (GET /~meta@1.0/info keeps answering)."""

    def __init__(self) -> None:
        self._guard = threading.Condition()
        self._running = 0
        self._waiting = 0
        self._mine = threading.local()

    @staticmethod
    def limit(opts: dict[str, Any]) -> int:
        """How many computations may run at once under ``opts``."""
        n = opts.get("process_compute_workers")
        if n is not None:
            return max(1, int(n))
        threads = int(opts.get("priv_resolver_threads") or 0) or ao.default_resolver_threads()
        return max(1, threads // 4)

    def enter(self, opts: dict[str, Any]) -> bool:
        """Wait for a free place (a nested call has one); ``False`` when none comes in time."""
        depth = getattr(self._mine, "depth", 0)
        if depth == 0:
            limit = self.limit(opts)
            wait = float(opts.get("process_compute_wait", 2.0) or 0)
            with self._guard:
                if self._running >= limit:
                    if self._waiting >= limit:
                        return False
                    self._waiting += 1
                    try:
                        ok = self._guard.wait_for(lambda: self._running < limit, timeout=wait)
                    finally:
                        self._waiting -= 1
                    if not ok:
                        return False
                self._running += 1
        self._mine.depth = depth + 1
        return True

    def leave(self) -> None:
        """Give back the place :meth:`enter` took."""
        self._mine.depth -= 1
        if self._mine.depth == 0:
            with self._guard:
                self._running -= 1
                self._guard.notify()


GATE = ComputeGate()


def _text(v: Any, default: str = "") -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else default


def prefixes(base: dict[str, Any]) -> tuple[str, str]:
    """``(input-prefix, output-prefix)`` as plain keys (runtime §9)."""
    return _text(base.get("input-prefix")), _text(base.get("output-prefix"))


def join(*parts: str) -> list[str]:
    """The non-empty ``/``-separated segments of ``parts``, as one path list."""
    out: list[str] = []
    for p in parts:
        out.extend(s for s in p.split("/") if s)
    return out


def walk(msg: Any, path: list[str]) -> Any:
    """Plain nested lookup (case-insensitive on a miss); ``None`` when absent."""
    for k in path:
        if not isinstance(msg, dict):
            return None
        v = msg.get(k)
        if v is None:
            lk = k.lower()
            for kk, vv in msg.items():
                if isinstance(kk, str) and kk.lower() == lk:
                    v = vv
                    break
        msg = v
    return msg


def deep_put(msg: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """A copy of ``msg`` with ``value`` at ``path`` (maps merged level by level)."""
    if not path:
        return cast("dict[str, Any]", value)
    out = dict(msg)
    sub = out.get(path[0])
    out[path[0]] = deep_put(sub if isinstance(sub, dict) else {}, path[1:], value)
    return out


def _priv_key(p: str) -> str:
    return f"{p}/instance" if p else "instance"


class WasmContext:
    """What ``priv.<p>/instance`` holds: the live instance plus the state an import sees."""

    __slots__ = ("instance", "prefix", "state", "opts", "image", "broken", "_rest", "_layout")

    def __init__(self, prefix: str, opts: dict[str, Any], image: str) -> None:
        self.prefix = prefix
        self.opts = opts
        self.state: dict[str, Any] = {}
        self.image = image
        self.instance: Instance | None = None
        #: Why the last call did not finish (a trap or a limit), else None: the guest's memory
        #: is then mid-update and the instance must not run the next message.
        self.broken: str | None = None
        #: ``(instance, stack pointer)`` after :meth:`restore_stack` gave the stack back (the
        #: pointer the next call's stackSave would return), else None.
        self._rest: tuple[Instance, int] | None = None
        #: The instance whose stackAlloc was seen to lay strings out as :func:`stack_layout`.
        self._layout: Instance | None = None

    # HB's priv <p>/write and <p>/read
    def write(self, data: bytes | str) -> int:
        """Write ``data`` into the instance's memory (its ``malloc``): the pointer."""
        assert self.instance is not None
        try:
            return self.instance.write_string(data)  # runs the guest's malloc
        except _MID_CALL as e:
            self.broken = str(e)
            raise

    def write_call_strings(self, data: list[bytes], stack_max: int) -> tuple[list[int], int | None]:
        """Write the string arguments of one call as ao-loader's ``ccall`` does (on the guest's
        stack, in order: ``stringToUTF8OnStack``) when they total at most ``stack_max`` bytes and
        the guest exports its stack functions, else with its ``malloc`` (:meth:`write`, as
        HyperBEAM's ``hb_beamr_io:write_string``, never freed). Returns the pointers and the stack
        pointer to give back to :meth:`restore_stack` after the call (``None``: heap).

        One guest call instead of ``2 + len(data)`` once the instance's layout is known (each
        guest call gives up the GIL and waits to take it back, under the process's lock): the
        stack pointer is the one :meth:`restore_stack` gave back last (what ``stackSave`` would
        return), the strings lie where the guest's ``stackAlloc`` puts them
        (:func:`stack_layout`, checked against the guest's own on this instance's first call)
        and one ``stackRestore`` moves the stack pointer below them, where those
        ``stackAlloc`` calls leave it. The memory and the stack pointer are as ao-loader's."""
        inst = self.instance
        assert inst is not None
        names = inst.stack_exports()
        rest, self._rest = self._rest, None  # good for one call (any call may move the stack)
        if names is None or sum(len(d) + 1 for d in data) > stack_max:
            return [self.write(d) for d in data], None
        try:
            if rest is not None and rest[0] is inst and self._layout is inst:
                sp = rest[1]
                ptrs = stack_layout(sp, data)
                inst.call(names[1], ptrs[-1])
                for p, d in zip(ptrs, data, strict=True):
                    inst.write_cstr(p, d)
                return ptrs, sp
            (sp,) = inst.call(names[0])
            sp = int(sp)
            ptrs = [inst.write_string_on_stack(d, names[2]) for d in data]
            if ptrs == stack_layout(sp, data):
                self._layout = inst
            return ptrs, sp
        except _MID_CALL as e:
            self.broken = str(e)
            raise

    def restore_stack(self, sp: int | None) -> None:
        """Give the stack back after a call whose strings :meth:`write_call_strings` put there (as
        ``ccall``'s ``stackRestore``); nothing for heap strings or a broken instance."""
        inst = self.instance
        names = inst.stack_exports() if inst is not None else None
        if sp is None or inst is None or names is None or self.broken is not None:
            return
        try:
            inst.call(names[1], sp)
        except _MID_CALL as e:
            self.broken = str(e)
            return
        self._rest = (inst, sp)

    def read(self, ptr: Any) -> bytes:
        """The NUL-terminated string at ``ptr`` in the instance's memory."""
        assert self.instance is not None
        if isinstance(ptr, list):
            ptr = ptr[0]
        return self.instance.read_string(int(ptr))

    def handle_import(
        self, inst: Instance, module: str, func: str, args: list[Any], sig: str
    ) -> list[Any]:
        """Resolve the call of an import through the stdlib device at ``prefix/stdlib/module``."""
        state = self.state
        lib_path = join(self.prefix, "stdlib", module)
        lib = walk(state, lib_path)
        if isinstance(lib, dict) and lib.get("device") is not None:
            req = {
                "path": func,
                "module": module,
                "func": func,
                "args": args,
                "func-sig": sig,
                "priv": {"instance": inst, "context": self},
            }
            opts = {**self.opts, "hashpath": "ignore"}
            status, res = ao.resolve({**lib, "state": state}, req, opts)
            if status == "ok" and isinstance(res, dict):
                new_state = res.get("state")
                if isinstance(new_state, dict):
                    self.state = new_state
                r = res.get("results", [])
                if isinstance(r, dict):
                    r = list(r.values())
                return r if isinstance(r, list) else [r]
            if not _is_not_found(status, res):
                raise WasmImportError(f"import {module}.{func} failed: {status} {res!r:.300}")
        # stub: record the call and answer 0 (runtime §14.1 step 4)
        path = join("results", self.prefix, "undefined-calls")
        prev = walk(state, path)
        calls = list(prev.values()) if isinstance(prev, dict) else list(prev or [])
        calls.append({"module": module, "func": func, "args": list(args), "func-sig": sig})
        self.state = deep_put(state, path, calls)
        return [0]


def stack_layout(sp: int, data: list[bytes]) -> list[int]:
    """Where Emscripten's ``stackAlloc`` (``_emscripten_stack_alloc``: the stack pointer less
    the size, rounded down to 16 bytes) puts each of ``data`` + NUL, in order, from ``sp``."""
    out = []
    for d in data:
        sp = (sp - (len(d) + 1)) & ~15
        out.append(sp)
    return out


def _is_not_found(status: str, res: Any) -> bool:
    if status == "not_found":
        return True
    return isinstance(res, dict) and res.get("status") in (404, "404")


def context(base: dict[str, Any], prefix: str | None = None) -> WasmContext | None:
    """The live :class:`WasmContext` of ``base`` (``prefix`` defaults to its output-prefix)."""
    if prefix is None:
        prefix = prefixes(base)[1]
    priv = base.get("priv")
    if not isinstance(priv, dict):
        return None
    c = priv.get(_priv_key(prefix))
    return c if isinstance(c, WasmContext) else None


def _contexts(state: Any) -> list[WasmContext]:
    priv = state.get("priv") if isinstance(state, dict) else None
    if not isinstance(priv, dict):
        return []
    return [c for c in priv.values() if isinstance(c, WasmContext)]


def broken(state: Any) -> str | None:
    """Why a WASM call of ``state`` stopped mid-way (a trap, fuel, deadline or memory limit), or
    None when every instance of ``state`` finished its last call."""
    for c in _contexts(state):
        if c.broken is not None:
            return c.broken
    return None


def release(state: Any) -> None:
    """Close every live instance of ``state`` now (its memory goes back to the OS)."""
    for c in _contexts(state):
        if c.instance is not None:
            c.instance.close()
            c.instance = None


def memory_in_use(state: Any) -> int:
    """Bytes of linear memory held by the live instances of ``state``."""
    return sum(c.instance.memory_size() for c in _contexts(state) if c.instance is not None)


def _with_priv(base: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    priv = base.get("priv")
    priv = dict(priv) if isinstance(priv, dict) else {}
    if value is None:
        priv.pop(key, None)
    else:
        priv[key] = value
    out = dict(base)
    out["priv"] = priv
    return out


def _image(base: dict[str, Any], in_prefix: str, opts: dict[str, Any]) -> tuple[bytes, str]:
    img = walk(base, join(in_prefix, "image"))
    if img is None:
        body = base.get("body")
        if isinstance(body, (bytes, bytearray)):
            return bytes(body), ""
        raise WasmCompileError(f"wasm_init_error: No viable image found in {in_prefix}/image.")
    if isinstance(img, dict):
        img = img.get("body")
    if isinstance(img, bytes) and len(img) == 43 and not img.startswith(b"\0asm"):
        img = img.decode("ascii", "replace")
    if isinstance(img, str) and len(img) == 43:
        from .. import cache
        from .scheduler import store_of

        store = store_of(opts)

        msg = cache.read(img, store)
        body = msg.get("body") if isinstance(msg, dict) else msg
        if isinstance(msg, dict) and not isinstance(body, (bytes, bytearray)):
            body = msg.get("data")  # a module uploaded as an ANS-104 data item: its data
        if not isinstance(body, (bytes, bytearray)):
            raise WasmCompileError(f"image message {img} has no binary body")
        return bytes(body), img
    if isinstance(img, str):
        img = img.encode()
    if not isinstance(img, (bytes, bytearray)):
        raise WasmCompileError(f"unusable image of type {type(img).__name__}")
    return bytes(img), ""


def _load(
    base: dict[str, Any], in_prefix: str, opts: dict[str, Any], metered: bool
) -> tuple[Any, str]:
    img = walk(base, join(in_prefix, "image"))
    if isinstance(img, bytes) and len(img) == 43:
        img = img.decode("ascii", "replace")
    if isinstance(img, str) and (img, metered) in _modules_by_id:
        return _modules_by_id[(img, metered)], img
    data, ident = _image(base, in_prefix, opts)
    mod = load_module(data, metered=metered)
    if ident:
        _modules_by_id[(ident, metered)] = mod
        while len(_modules_by_id) > MODULE_CACHE_MAX:  # oldest first
            _modules_by_id.pop(next(iter(_modules_by_id)), None)
    return mod, ident


def fuel_limit(opts: dict[str, Any]) -> int | None:
    """``wasm_fuel`` (default none: the module runs on the engine without fuel metering)."""
    return cast("int | None", _limit(opts, "wasm_fuel", DEFAULT_FUEL, int))


def _new_context(base: dict[str, Any], opts: dict[str, Any]) -> WasmContext:
    in_p, out_p = prefixes(base)
    fuel = fuel_limit(opts)
    mod, ident = _load(base, in_p, opts, fuel is not None)
    ctx = WasmContext(out_p, opts, ident)
    ctx.instance = Instance(
        mod,
        ctx.handle_import,
        fuel=fuel,
        memory_limit=_limit(opts, "wasm_memory_limit", DEFAULT_MEMORY_LIMIT, int),
        timeout=_limit(opts, "wasm_timeout", DEFAULT_TIMEOUT, float),
    )
    return ctx


def _limit(opts: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    """A limit option: a number (or its text), ``None``/``none`` for no limit."""
    v = opts.get(key, default)
    if isinstance(v, bytes):
        v = _text(v)
    if v is None or (isinstance(v, str) and v.strip().lower() in ("none", "infinity", "")):
        return None
    try:
        return kind(v)
    except (TypeError, ValueError):
        raise WasmError(f"option {key} must be a number or none, not {v!r:.40}") from None


#: A limit option as :func:`_limit` reads it (genesis-wasm@1.0 narrows the node's limits).
limit_option = _limit


def _numbers(params: Any) -> list[Any] | None:
    if params is None:
        return []
    if isinstance(params, dict):
        params = list(params.values())
    if not isinstance(params, list):
        params = [params]
    out = []
    for p in params:
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            return None
        out.append(p)
    return out


class Wasm64Device:
    """``wasm-64@1.0``: run WASM images (memory64 included) with wasmtime."""

    name = NAME

    def init(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``init``: instantiate the image of the message."""
        try:
            ctx = _new_context(base, opts)
        except WasmError as e:
            return "error", {"status": 500, "body": f"wasm_init_error: {e}"}
        return "ok", _with_priv(base, _priv_key(ctx.prefix), ctx)

    def normalize(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``normalize``: a live instance, restored from ``snapshot`` when there is none."""
        p = prefixes(base)[1]
        live = context(base, p)
        if live is not None and live.instance is not None:  # (None: closed, see release)
            return "ok", base
        snap = base.get("snapshot")
        dk = base.get("device-key")
        body = None
        if isinstance(snap, dict):
            holder = snap.get(_text(dk) if dk is not None else "") if dk is not None else snap
            if dk is not None and not isinstance(holder, dict):
                holder = snap.get(str(dk))
            body = holder.get("body") if isinstance(holder, dict) else None
        if not isinstance(body, (bytes, bytearray)):
            return "error", {"status": 500, "body": "no_wasm_instance_or_snapshot"}
        status, out = self.init(base, request, opts)
        if status != "ok":
            return status, out
        ctx = context(out, p)
        assert ctx is not None and ctx.instance is not None
        try:
            ctx.instance.restore(bytes(body))
        except WasmError as e:
            return "error", {"status": 500, "body": f"snapshot restore failed: {e}"}
        out = {k: v for k, v in out.items() if k != "snapshot"}
        return "ok", out

    def compute(
        self, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """``compute``: call ``function`` with ``parameters``; the results under ``results``."""
        status, base = self.normalize(base, request, opts)
        if status != "ok":
            return status, base
        pass_ = base.get("pass", 1)
        if pass_ not in (1, "1", None):
            return "ok", base
        body = request["body"] if isinstance(request.get("body"), dict) else {}
        fn = body.get("function") or request.get("function") or base.get("function")
        if fn is None:
            return "ok", base
        params = body.get("parameters")
        if params is None:
            params = request.get("parameters")
        if params is None:
            params = base.get("parameters")
        nums = _numbers(params)
        p = prefixes(base)[1]
        ctx = context(base, p)
        if ctx is None or ctx.instance is None:
            return "error", {"status": 500, "body": "no_wasm_instance (closed)"}
        if nums is None:
            return "error", {"status": 400, "body": "WASM parameters must be integers or floats"}
        if not GATE.enter(opts):
            return "error", {
                "status": 503,
                "body": f"busy: {GATE.limit(opts)} computes are running (process_compute_workers)",
            }
        ctx.state = base
        ctx.opts = opts
        try:
            out = ctx.instance.call(_text(fn), *nums)
            typ: str = "ok"
        except WasmError as e:
            out, typ = [], "error"
            err = str(e)
            if isinstance(e, _MID_CALL):
                ctx.broken = err
        finally:
            GATE.leave()
        after = ctx.state
        ctx.state = {}
        res_path = join("results", p)
        res = walk(after, res_path)
        res = dict(res) if isinstance(res, dict) else {}
        res["type"] = typ
        res["output"] = out
        if typ == "error":
            res["error"] = err
        return "ok", deep_put(after, res_path, res)

    def snapshot(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``snapshot``: the instance's memory, to restore from later."""
        ctx = context(base)
        if ctx is None or ctx.instance is None:
            return "error", {"status": 500, "body": "no_wasm_instance"}
        return "ok", {"body": ctx.instance.snapshot()}

    def terminate(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``terminate``: drop the live instance."""
        return "ok", _with_priv(base, _priv_key(prefixes(base)[1]), None)

    def instance(self, base: dict[str, Any]) -> tuple[str, Any]:
        """``instance``: the live instance (404 when there is none)."""
        ctx = context(base)
        if ctx is None:
            return "error", {"status": 404, "body": "no_wasm_instance"}
        return "ok", ctx.instance

    def import_(self, base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """``import``: run one import call of the instance through its handler."""
        ctx = context(base)
        if ctx is None or ctx.instance is None:
            return "error", {"status": 404, "body": "no_wasm_instance"}
        ctx.state = base
        args = request.get("args") or []
        r = ctx.handle_import(
            ctx.instance,
            _text(request.get("module")),
            _text(request.get("func")),
            list(args),
            _text(request.get("func-sig")),
        )
        return "ok", {"state": ctx.state, "results": r}


DEVICE = Wasm64Device()
