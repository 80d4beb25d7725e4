"""``stack@1.0`` (spec runtime §9): run a request through a stack of devices.

The base message holds ``device-stack`` (a list, or a map keyed ``1``, ``2``, ... or by name).
``Fold`` mode (default) passes the message through each device in turn: ``skip`` stops,
``pass`` restarts from the first device with ``pass + 1``, ``("error", NOT_FOUND)`` skips a
device that lacks the key. ``Map`` mode runs every device on the same base and returns
``{stack-key: result}``. ``input-prefixes``/``output-prefixes`` give each device its prefixes;
``/transform/<stack-key>/...`` runs one member. ``stack-keys`` restricts the routed keys.
"""

from __future__ import annotations

from typing import Any


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


class StackDevice:
    """``dev_stack``."""

    name = "stack@1.0"

    def info(self, msg: Any = None) -> dict:
        out: dict = {"handler": self.router, "excludes": ["set", "keys"]}
        if isinstance(msg, dict) and msg.get("stack-keys") is not None:
            out["exports"] = msg["stack-keys"]
        return out

    def router(self, key: str, base: dict, request: dict, opts: dict) -> tuple[str, Any]:
        if key == "keys":
            return ao.resolve(base, "keys", opts)
        if key == "transform":
            stack_base = base

            def handler(k: str, *_: Any) -> tuple[str, Any]:
                return transform(stack_base, k, opts)

            return "ok", {**base, "device": {"info": {"handler": handler}}}
        mode = _text(request.get("mode")) or _text(ao.get(base, "mode", _plain(opts))) or "Fold"
        if mode.lower() == "map":
            return resolve_map(base, request, opts)
        return resolve_fold(base, request, opts)


def _plain(opts: dict) -> dict:
    return {**opts, "hashpath": "ignore"}


def _read_stack(base: dict, opts: dict) -> tuple[str, Any]:
    status, stack = _message_get("device-stack", base)
    if status != "ok":
        return "error", {"status": 400, "body": "no_valid_device_stack"}
    return "ok", stack


def _as_message(base: dict, key: str, opts: dict) -> Any:
    """A key of ``base`` read as a plain message@1.0 key."""
    return ao.get(ao.As("message@1.0", base), key, _plain(opts))


def transform(base: dict, key: Any, opts: dict) -> tuple[str, Any]:
    """Make stack member ``key`` the active device of ``base`` (``dev_stack:transform``)."""
    status, stack = _read_stack(base, opts)
    if status != "ok":
        return status, stack
    nkey = ao.normalize_key(key)
    if isinstance(stack, list):
        stack = ao.normalize_keys(stack)
    if not isinstance(stack, dict):
        return "error", {"status": 400, "body": "no_valid_device_stack"}
    status, dev = ao.resolve(stack, {"path": nkey}, _plain(opts))
    if status != "ok":
        return status, dev
    plain = _plain(opts)
    updates = {
        "device": dev,
        "device-key": nkey,
        "input-prefix": ao.get(ao.As("message@1.0", base), ["input-prefixes", nkey], plain),
        "output-prefix": ao.get(ao.As("message@1.0", base), ["output-prefixes", nkey], plain),
        "previous-device": base.get("device"),
        "previous-input-prefix": base.get("input-prefix"),
        "previous-output-prefix": base.get("output-prefix"),
    }
    updates = {k: (ao.UNDEFINED if v is None else v) for k, v in updates.items()}
    return ao.MESSAGE_DEVICE.set(base, updates, opts)


def resolve_fold(base: dict, request: dict, opts: dict) -> tuple[str, Any]:
    start_device = base.get("device")
    start_pass = base.get("pass")
    msg = {**base, "pass": 1}
    n = 1
    while True:
        status, msg3 = transform(msg, n, opts)
        if status != "ok":
            if msg3 == ao.NOT_FOUND:
                break
            return status, msg3
        status, res = ao.resolve(msg3, request, opts)
        if _is_limit(res):
            return status, res
        if status == "ok" and isinstance(res, dict):
            msg, n = res, n + 1
        elif status == "error" and res == ao.NOT_FOUND:
            msg, n = msg3, n + 1
        elif status == "ok":
            return "ok", res
        elif status == "skip" and isinstance(res, dict):
            msg = res
            break
        elif status == "pass" and isinstance(res, dict):
            msg = {**res, "pass": _int(res.get("pass"), 1) + 1}
            n = 1
        else:
            strategy = _text(msg3.get("error-strategy")) or "throw"
            info = {"status": 500, "body": "stack_call_failed", "dev-num": n, "reason": res}
            if strategy == "stop":
                return "error", info
            raise ao.ResolveError(
                f"device_failed: device {n} of the stack -> {status} {res!r:.200}"
            )
    restore = {
        "device": start_device,
        "input-prefix": msg.get("previous-input-prefix"),
        "output-prefix": msg.get("previous-output-prefix"),
        "device-key": ao.UNSET,
        "device-stack-previous": ao.UNSET,
        "pass": ao.UNSET if start_pass is None else start_pass,
    }
    restore = {k: (ao.UNDEFINED if v is None else v) for k, v in restore.items()}
    return ao.MESSAGE_DEVICE.set(msg, restore, opts)


def resolve_map(base: dict, request: dict, opts: dict) -> tuple[str, Any]:
    stack = _read_stack(base, opts)[1]
    if isinstance(stack, list):
        stack = ao.normalize_keys(stack)
    if not isinstance(stack, dict):
        return "error", {"status": 400, "body": "no_valid_device_stack"}
    out = {}
    for key in stack:
        if key in ("path", "hashpath", "priv"):
            continue
        status, msg3 = transform(base, key, opts)
        if status != "ok":
            continue
        status, res = ao.resolve(msg3, request, opts)
        if status == "ok":
            out[key] = res
    return "ok", out


def _is_limit(res: Any) -> bool:
    return isinstance(res, dict) and res.get("status") == 508


def _int(v: Any, default: int) -> int:
    if isinstance(v, bool) or v is None:
        return default
    if isinstance(v, int):
        return v
    try:
        return int(_text(v) or "")
    except ValueError:
        return default


DEVICE = StackDevice()

from .. import ao  # noqa: E402
from .message import get as _message_get  # noqa: E402
