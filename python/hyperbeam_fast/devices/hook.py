"""Hooks (spec runtime §6, ``dev_hook``): ``opts["on"][name]`` handler messages."""

from __future__ import annotations

from typing import Any

from .. import ao


def _handlers(opts: dict[str, Any], name: str) -> list[Any]:
    on = opts.get("on")
    if not isinstance(on, dict):
        return []
    hs = on.get(name)
    if hs is None:
        return []
    if isinstance(hs, dict) and not any(k.isdigit() for k in hs):
        return [hs]
    if isinstance(hs, dict):
        return [hs[k] for k in sorted(hs, key=int)]
    return list(hs) if isinstance(hs, list) else [hs]


def _direct(
    handler: dict[str, Any], req: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any] | None:
    """A named device that declares ``hook_direct`` (p4@1.0) has its hook key called without
    the resolver (the same function, no hashpath: hooks run with ``hashpath: ignore``)."""
    dev, key = handler.get("device"), req.get("path")
    if not isinstance(dev, str) or not isinstance(key, str) or key.startswith("_"):
        return None
    try:
        obj = ao.load_device(dev, opts)
    except ao.DeviceNotFound:
        return None
    fn = getattr(obj, key, None) if getattr(obj, "hook_direct", False) else None
    return ao.norm_result(fn(handler, req, opts)) if callable(fn) else None


def on(name: str, request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """Run hook ``name`` (runtime §6): each handler gets the previous handler's result."""
    handlers = _handlers(opts, name)
    if not handlers:
        return "ok", request
    inner_opts = {**opts, "hashpath": "ignore"}
    if name == "step":
        inner_opts["on"] = {k: v for k, v in opts["on"].items() if k != "step"}
    current = request
    for handler in handlers:
        if not isinstance(handler, dict):
            return "failure", f"Handler for hook `{name}` is not a message."
        req = {**current, "path": handler.get("path", name), "method": handler.get("method", "GET")}
        h = {k: v for k, v in handler.items() if k != "step"} if name == "step" else handler
        if name == "step" and isinstance(handler.get("device"), dict):
            h = handler
        try:
            status, res = _direct(h, req, inner_opts) or ao.resolve(h, req, inner_opts)
        except Exception as exc:  # noqa: BLE001 - reported as a failure status
            return "failure", (
                f"Handler for hook `{name}` raised an exception: {type(exc).__name__}:{exc}"
            )
        mode = (
            handler.get("hook", {}).get("result") if isinstance(handler.get("hook"), dict) else None
        )
        mode = mode.decode() if isinstance(mode, bytes) else (mode or "return")
        if status == "error":
            return "error", res
        if status != "ok":
            return "failure", f"Handler for hook `{name}` returned unexpected result."
        if mode == "ignore":
            continue
        if mode == "error":
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
