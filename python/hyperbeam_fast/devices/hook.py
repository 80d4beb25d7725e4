"""Hooks (spec runtime §6, ``dev_hook``): ``opts["on"][name]`` handler messages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .. import ao


def _handlers(opts: dict[str, Any], name: str) -> Any:
    """The handler messages of hook ``name`` (a numbered map, a list, or one message)."""
    on = opts.get("on")
    if not isinstance(on, dict):
        return None
    return on.get(name)


class _Handler:
    """One handler of a hook, as the hook runs it: the message the device sees, the device's
    hook function when the device declares ``hook_direct`` (p4@1.0: called without the
    resolver), and what becomes of its result (``hook/result``)."""

    __slots__ = ("direct", "handler", "message", "method", "mode", "path")

    def __init__(self, handler: Any, name: str, opts: dict[str, Any]) -> None:
        self.handler = handler
        self.message = handler
        self.direct: Any = None
        self.mode = "return"
        self.path: Any = name
        self.method: Any = "GET"
        if not isinstance(handler, dict):
            return
        self.path = handler.get("path", name)
        self.method = handler.get("method", "GET")
        if name == "step" and not isinstance(handler.get("device"), dict):
            self.message = {k: v for k, v in handler.items() if k != "step"}
        hook = handler.get("hook")
        mode = hook.get("result") if isinstance(hook, dict) else None
        self.mode = mode.decode() if isinstance(mode, bytes) else (mode or "return")
        dev, key = handler.get("device"), self.path
        if isinstance(dev, str) and isinstance(key, str) and not key.startswith("_"):
            try:
                obj = ao.load_device(dev, opts)
            except ao.DeviceNotFound:
                return
            fn = getattr(obj, key, None) if getattr(obj, "hook_direct", False) else None
            self.direct = fn if callable(fn) else None


#: ``(handlers value, preloaded_devices, registry version) -> its handlers``: a hook's
#: handlers are prepared once per node message (which is replaced, never changed in place).
_PLANS: dict[tuple[int, str], tuple[Any, Any, int, list[_Handler]]] = {}


#: The plan each hook name used last (most nodes have one configuration): looked up first.
_LAST: dict[str, tuple[Any, Any, int, list[_Handler]]] = {}


def _plan(opts: dict[str, Any], name: str) -> list[_Handler]:
    on = opts.get("on")
    hs = on.get(name) if type(on) is dict else _handlers(opts, name)
    if hs is None:
        return []
    reg, version = opts.get("preloaded_devices"), ao.registry_version()
    got = _LAST.get(name)
    if got is not None and got[0] is hs and got[1] is reg and got[2] == version:
        return got[3]
    key = (id(hs), name)
    got = _PLANS.get(key)
    if got is not None and got[0] is hs and got[1] is reg and got[2] == version:
        _LAST[name] = got
        return got[3]
    if isinstance(hs, dict) and not any(k.isdigit() for k in hs):
        items = [hs]
    elif isinstance(hs, dict):
        items = [hs[k] for k in sorted(hs, key=int)]
    else:
        items = list(hs) if isinstance(hs, list) else [hs]
    plan = [_Handler(h, name, opts) for h in items]
    if len(_PLANS) >= 256:
        _PLANS.clear()
    _PLANS[key] = _LAST[name] = (hs, reg, version, plan)
    return plan


def _run_direct(
    h: _Handler, name: str, request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    """Hook ``name`` whose one handler is ``h``, a ``hook_direct`` function whose result is
    the hook's (``hook/result: return``)."""
    req = {**request, "path": h.path, "method": h.method}
    try:
        out = h.direct(h.handler, req, opts)
        status, res = out if type(out) is tuple else ao.norm_result(out)
    except Exception as exc:  # noqa: BLE001 - reported as a failure status
        return "failure", (
            f"Handler for hook `{name}` raised an exception: {type(exc).__name__}:{exc}"
        )
    if status == "ok" or status == "error":
        return status, res
    return "failure", f"Handler for hook `{name}` returned unexpected result."


def runner(name: str, opts: dict[str, Any]) -> Callable[[dict[str, Any], dict[str, Any]], Any]:
    """Hook ``name`` under ``opts`` as a function of ``(request, opts)``, for a caller that
    runs it with options of the same node message many times (the request pipeline): the
    direct call of its one ``hook_direct`` handler (a payment hook), else :func:`on`. Valid
    while the node message (its ``on`` and ``preloaded_devices``) and the device registry
    (:func:`~hyperbeam_fast.ao.registry_version`) stay the same."""
    handlers = _plan(opts, name)
    if len(handlers) == 1 and name != "step":
        h = handlers[0]
        if h.direct is not None and h.mode == "return":
            return functools.partial(_run_direct, h, name)
    return functools.partial(on, name)


def on(name: str, request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """Run hook ``name`` (runtime §6): each handler gets the previous handler's result.
    Handlers run with ``hashpath: ignore``; a ``hook_direct`` device's hook function gets the
    caller's options as they are (it copies them before it resolves anything with them)."""
    handlers = _plan(opts, name)
    if not handlers:
        return "ok", request
    if len(handlers) == 1 and name != "step":  # one handler (a payment hook): no chain
        h = handlers[0]
        if h.direct is not None and h.mode == "return":
            return _run_direct(h, name, request, opts)
    inner_opts: dict[str, Any] | None = None
    current = request
    for h in handlers:
        handler = h.handler
        if not isinstance(handler, dict):
            return "failure", f"Handler for hook `{name}` is not a message."
        req = {**current, "path": h.path, "method": h.method}
        try:
            if h.direct is not None and name != "step":
                status, res = ao.norm_result(h.direct(handler, req, opts))
            else:
                if inner_opts is None:
                    inner_opts = {**opts, "hashpath": "ignore"}
                    if name == "step":
                        inner_opts["on"] = {k: v for k, v in opts["on"].items() if k != "step"}
                if h.direct is not None:
                    status, res = ao.norm_result(h.direct(h.message, req, inner_opts))
                else:
                    status, res = ao.resolve(h.message, req, inner_opts)
        except Exception as exc:  # noqa: BLE001 - reported as a failure status
            return "failure", (
                f"Handler for hook `{name}` raised an exception: {type(exc).__name__}:{exc}"
            )
        if status == "error":
            return "error", res
        if status != "ok":
            return "failure", f"Handler for hook `{name}` returned unexpected result."
        if h.mode == "ignore":
            continue
        if h.mode == "error":
            return "error", res
        current = res
    return "ok", current


def run_step_hook(
    base: dict[str, Any], request: dict[str, Any], status: str, body: Any, opts: dict[str, Any]
) -> tuple[str, Any] | None:
    """Stage 7 of the pipeline: ``{status, body}`` replaced by the hook's result."""
    st, res = on("step", {"base": base, "request": request, "status": status, "body": body}, opts)
    if st == "ok" and isinstance(res, dict) and "status" in res and "body" in res:
        return str(res["status"]), res["body"]
    if st == "ok":
        return None
    return st, res


ao.register_step_hook(run_step_hook)
