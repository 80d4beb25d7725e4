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

from .. import ao
from ..ao import text as _text
from ..ao import to_int as _int
from ..exceptions import DeviceError, HyperbeamError
from .message import get as _message_get


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
        if key == "compute":
            fast = fast_fold(base, request, opts)
            if fast is not None:
                return fast
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
        outcome = _step_outcome(status, res, msg3, n)
        if outcome[0] == "return":
            return outcome[1]
        _, msg, n = outcome
        if n is None:
            break
    return _restore(msg, start_device, start_pass, opts)


# ---- the fast path for the standard AOS stack ------------------------------------------------
#
# ``[wasi@1.0, json-iface@1.0, wasm-64@1.0, multipass@1.0]`` without per-member prefixes is the
# stack every AOS process runs, once per slot. ``fast_fold`` runs exactly the Fold above for it,
# but with the member devices bound once: each ``transform`` is one message@1.0 ``set`` (no
# AO-Core reads of ``device-stack``/``input-prefixes``/``output-prefixes``), and each member is
# called directly instead of through a full AO-Core resolution (key normalisation, device and
# function lookup, hashpath stage). It declines (``None``: the generic path runs) whenever any of
# that could differ: another stack, prefixes maps, ``mode``, a step hook, ``force_message``, a
# result cache, a non-throwing error strategy, or a device registry that maps the names elsewhere.

FAST_STACK = ("wasi@1.0", "json-iface@1.0", "wasm-64@1.0", "multipass@1.0")
_FAST_OPT_BLOCKERS = ("on", "force_message", "store", "trace")
_fast_enabled = True


def _fast_members(opts: dict) -> tuple | None:
    from . import json_iface, multipass, wasi, wasm64

    try:
        devs = tuple(ao.load_device(n, opts) for n in FAST_STACK)
    except ao.DeviceNotFound:
        return None
    if devs != (wasi.DEVICE, json_iface.DEVICE, wasm64.DEVICE, multipass.DEVICE):
        return None
    d_wasi, d_json, d_wasm, _ = devs
    # The arities the generic dispatcher would use: compute(base) / (base, req, opts) / handler.
    return (
        lambda b, r, o: d_wasi.compute(b),
        d_json.compute,
        d_wasm.compute,
        lambda b, r, o: multipass.MultipassDevice._handle("compute", b),
    )


def fast_fold(base: dict, request: dict, opts: dict) -> tuple[str, Any] | None:
    """``resolve_fold(base, request)`` for ``compute`` on the standard AOS stack, or ``None``."""
    if not _fast_enabled or type(base) is not dict or type(request) is not dict:
        return None
    stack = base.get("device-stack")
    if type(stack) is not list or len(stack) != len(FAST_STACK):
        return None
    for v, name in zip(stack, FAST_STACK, strict=True):
        t = _text(v)
        if t is None or t.lower() != name:
            return None
    for k in ("input-prefixes", "output-prefixes", "mode", "commitments", "device-stack-previous"):
        if k in base:
            return None
    if "mode" in request or any(o in opts for o in _FAST_OPT_BLOCKERS):
        return None
    if opts.get("error_strategy", "throw") != "throw" or opts.get("hashpath") != "ignore":
        return None
    if not all(type(k) is str for k in base) or ao.normalize_keys(base) is not base:
        return None
    if ao.normalize_keys(request) is not request:
        return None
    members = _fast_members(opts)
    if members is None:
        return None
    dopts = ao.user_opts(opts)
    start_device = base.get("device")
    start_pass = base.get("pass")
    msg = {**base, "pass": 1}
    n = 1
    set_ = ao.MESSAGE_DEVICE.set
    undefined = ao.UNDEFINED
    while True:
        if n > len(stack):
            break
        prev_dev = msg.get("device")
        prev_in = msg.get("input-prefix")
        prev_out = msg.get("output-prefix")
        _, msg3 = set_(
            msg,
            {
                "device": stack[n - 1],
                "device-key": str(n),
                "previous-device": undefined if prev_dev is None else prev_dev,
                "previous-input-prefix": undefined if prev_in is None else prev_in,
                "previous-output-prefix": undefined if prev_out is None else prev_out,
            },
            opts,
        )
        msg3 = ao.normalize_keys(msg3)
        try:
            res = members[n - 1](msg3, request, dopts)
        except HyperbeamError:
            raise
        except RecursionError:
            return ao.limit_error("recursion")
        except Exception as exc:  # noqa: BLE001 - typed like the generic dispatcher does
            raise DeviceError(f"device call for key 'compute' failed: {exc!r}") from exc
        status, res = ao.norm_result(res)
        outcome = _step_outcome(status, res, msg3, n)
        if outcome[0] == "return":
            return outcome[1]
        _, msg, n = outcome
        if n is None:
            break
    return _restore(msg, start_device, start_pass, opts)


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


DEVICE = StackDevice()


def _step_outcome(status: str, res: Any, msg3: dict, n: int) -> tuple:
    """What one fold step's result means (runtime §9.1): ``("next", msg, n)`` to go on
    (``n`` None: stop folding, the stack was skipped), or ``("return", (status, value))``."""
    if _is_limit(res):
        return "return", (status, res)
    if status == "ok" and isinstance(res, dict):
        return "next", res, n + 1
    if status == "error" and res == ao.NOT_FOUND:
        return "next", msg3, n + 1
    if status == "ok":
        return "return", ("ok", res)
    if status == "skip" and isinstance(res, dict):
        return "next", res, None
    if status == "pass" and isinstance(res, dict):
        return "next", {**res, "pass": _int(res.get("pass"), 1) + 1}, 1
    strategy = _text(msg3.get("error-strategy")) or "throw"
    info = {"status": 500, "body": "stack_call_failed", "dev-num": n, "reason": res}
    if strategy == "stop":
        return "return", ("error", info)
    raise ao.ResolveError(f"device_failed: device {n} of the stack -> {status} {res!r:.200}")


def _restore(msg: dict, start_device: Any, start_pass: Any, opts: dict) -> tuple[str, Any]:
    """Put back the device, prefixes and pass the fold started with."""
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
