"""``stack@1.0`` (spec runtime §9, ``dev_stack``): run a request through a stack of devices.

The base message holds ``device-stack`` (a list, or a map keyed ``1``, ``2``, ... or by name).
``Fold`` mode (default) passes the message through each device in turn: ``skip`` stops,
``pass`` restarts from the first device with ``pass + 1``, ``("error", NOT_FOUND)`` skips a
device that lacks the key. ``Map`` mode runs every device on the same base and returns
``{stack-key: result}``. The request's ``mode`` wins over the base's; the base's is read as a
plain message@1.0 key (never through the stack itself); any other value than ``Fold``/``Map``
(exact case, as ``dev_stack:router/3`` matches it) is a 400. ``input-prefixes``/
``output-prefixes`` give each device its prefixes; ``/transform/<stack-key>/...`` runs one
member. ``stack-keys`` restricts the routed keys. A failing member is handled by the
``error_strategy`` *option*: ``stop`` returns ``stack_call_failed``, anything else raises.

As ``dev_stack:transform/3`` does, each member is activated by a message@1.0 ``set`` (a deep
merge: an inline device map merges into the one it replaces) that records the previous
prefixes and ``previous-device``. HyperBEAM reads that ``device`` through
``{as, dev_message, Msg}``, which first sets ``device`` to the atom ``dev_message``: so the
recorded value is always the atom ``dev_message`` (:data:`PREVIOUS_DEVICE`), never the real
previous device, and it stays in every stack result (and so in their IDs).
"""

from __future__ import annotations

from typing import Any, cast

from .. import ao
from ..ao import text as _text
from ..ao import to_int as _int
from ..atom import Atom
from ..exceptions import DeviceError, HyperbeamError
from .message import get as _message_get

#: What ``hb_ao:get(<<"device">>, {as, dev_message, Msg})`` returns, whatever ``Msg``'s device.
PREVIOUS_DEVICE = Atom("dev_message")
#: The device type ``dev_stack:transformer_message/2`` gives the transformer it returns.
TRANSFORMER_TYPE = "stack-transformer"
MODES = ("Fold", "Map")


class StackDevice:
    """``dev_stack``."""

    name = "stack@1.0"

    def info(self, msg: Any = None) -> dict[str, Any]:
        """Every key goes to :meth:`router`; ``stack-keys`` (if set) are the exports."""
        out: dict[str, Any] = {"handler": self.router, "excludes": ["set", "keys"]}
        if isinstance(msg, dict) and msg.get("stack-keys") is not None:
            out["exports"] = msg["stack-keys"]
        return out

    def router(
        self, key: str, base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        """Run ``key`` through the stack: fold (each member on the result of the last) or map."""
        if key == "keys":
            return ao.MESSAGE_DEVICE.keys(base)
        if key == "transform":
            return transformer_message(base, opts)
        if key == "compute":
            fast = fast_fold(base, request, opts)
            if fast is not None:
                return fast
        mode = _mode(base, request, opts)
        if mode == "Map":
            return resolve_map(base, request, opts)
        if mode == "Fold":
            return resolve_fold(base, request, opts)
        return "error", {
            "status": 400,
            "body": f"stack@1.0: mode must be 'Fold' or 'Map', not {mode!r:.80}.",
        }


def _plain(opts: dict[str, Any]) -> dict[str, Any]:
    return {**opts, "hashpath": "ignore"}


def _mode(base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]) -> Any:
    """``mode`` of the request (through its own device), else of the base read as message@1.0
    (``dev_stack:router/3``): one read each, never back into the stack."""
    mode = ao.NOT_FOUND
    if isinstance(request, dict):
        mode = ao.get(request, "mode", _plain(opts), ao.NOT_FOUND)
    if mode is ao.NOT_FOUND or mode is None:
        status, mode = _message_get("mode", base)
        if status != "ok":
            return "Fold"
    t = _text(mode)
    return t if t is not None else mode


def _read(base: dict[str, Any], key: str) -> Any:
    """``hb_ao:get(Key, {as, dev_message, Base}, undefined)``: a plain message@1.0 read."""
    status, value = _message_get(key, base)
    return value if status == "ok" else ao.UNDEFINED


def _read_prefix(base: dict[str, Any], which: str, key: str, opts: dict[str, Any]) -> Any:
    """``hb_ao:get([<which>, Key], {as, dev_message, Base}, undefined)``."""
    status, prefixes = _message_get(which, base)
    if status != "ok":
        return ao.UNDEFINED
    value = ao.get(prefixes, key, _plain(opts), ao.NOT_FOUND)
    return ao.UNDEFINED if value is ao.NOT_FOUND or value is None else value


def _read_stack(base: dict[str, Any]) -> tuple[str, Any]:
    status, stack = _message_get("device-stack", base)
    if status != "ok":
        return "error", {"status": 400, "body": "no_valid_device_stack"}
    return "ok", stack


def transformer_message(base: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """``dev_stack:transformer_message/2``: ``base`` with a device whose handler makes the key
    it is given the active stack member (``/transform/<member>/<key>``). Its ``info`` is the
    stack's (``excludes: [set, keys]``) with that handler; its ``type`` is
    ``stack-transformer``; the member's ``set`` deep-merges into it."""
    base_info = DEVICE.info(base)

    def handler(key: str, msg: dict[str, Any]) -> tuple[str, Any]:
        return transform(msg, key, opts)

    def info() -> dict[str, Any]:
        return {**base_info, "handler": handler}

    return "ok", {**base, "device": {"info": info, "type": TRANSFORMER_TYPE}}


def transform(base: dict[str, Any], key: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """Make stack member ``key`` the active device of ``base`` (``dev_stack:transform/3``)."""
    status, stack = _read_stack(base)
    if status != "ok":
        return status, stack
    nkey = ao.normalize_key(key)
    if isinstance(stack, list):
        stack = ao.normalize_keys(stack)
    if not isinstance(stack, dict):
        return "error", {"status": 400, "body": "no_valid_device_stack"}
    if "device" in stack or ao.normalize_keys(stack) is not stack:
        status, dev = ao.resolve(stack, {"path": nkey}, _plain(opts))
    else:  # what resolving a key of a device-less message is: a message@1.0 read
        status, dev = _message_get(nkey, stack)
    if status != "ok":
        return "error", ao.NOT_FOUND
    updates = {
        "device": dev,
        "device-key": key,  # as given: an integer in a fold, the member's name otherwise
        "input-prefix": _read_prefix(base, "input-prefixes", nkey, opts),
        "output-prefix": _read_prefix(base, "output-prefixes", nkey, opts),
        "previous-device": PREVIOUS_DEVICE,
        "previous-input-prefix": _read(base, "input-prefix"),
        "previous-output-prefix": _read(base, "output-prefix"),
    }
    return ao.MESSAGE_DEVICE.set(base, updates, opts)


def resolve_fold(
    base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    """``dev_stack:resolve_fold/3``."""
    start_device = _read(base, "device")
    start_pass = _read(base, "pass")
    _, msg = ao.MESSAGE_DEVICE.set(base, {"pass": 1}, opts)
    n = 1
    while True:
        status, msg3 = transform(msg, n, opts)
        if status != "ok":
            if msg3 == ao.NOT_FOUND:
                break
            return status, msg3
        status, res = ao.resolve(msg3, request, opts)
        outcome = _step_outcome(status, res, msg3, n, opts)
        if outcome[0] == "return":
            return cast("tuple[str, Any]", outcome[1])
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


def _fast_members(opts: dict[str, Any]) -> tuple[Any, ...] | None:
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


def fast_fold(
    base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any] | None:
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
    start_device = _read(base, "device")
    start_pass = _read(base, "pass")
    msg = {**base, "pass": 1}
    n = 1
    set_ = ao.MESSAGE_DEVICE.set
    undefined = ao.UNDEFINED
    while True:
        if n > len(stack):
            break
        prev_in = msg.get("input-prefix")
        prev_out = msg.get("output-prefix")
        _, msg3 = set_(
            msg,
            {
                "device": stack[n - 1],
                "device-key": n,
                "previous-device": PREVIOUS_DEVICE,
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
            return cast("tuple[str, Any] | None", ao.limit_error("recursion"))
        except Exception as exc:  # noqa: BLE001 - typed like the generic dispatcher does
            raise DeviceError(f"device call for key 'compute' failed: {exc!r}") from exc
        status, res = ao.norm_result(res)
        outcome = _step_outcome(status, res, msg3, n, opts)
        if outcome[0] == "return":
            return cast("tuple[str, Any] | None", outcome[1])
        _, msg, n = outcome
        if n is None:
            break
    return _restore(msg, start_device, start_pass, opts)


def resolve_map(
    base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    """``dev_stack:resolve_map/3``: every member on the same base; ``{stack-key: result}`` of
    the members that answered ``ok``."""
    status, stack = _read_stack(base)
    if isinstance(stack, list):
        stack = ao.normalize_keys(stack)
    if status != "ok" or not isinstance(stack, dict):
        return "error", {"status": 400, "body": "no_valid_device_stack"}
    out = {}
    for key in ao.normalize_keys(stack):
        if key in ao.AO_CORE_KEYS:
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


def _step_outcome(
    status: str, res: Any, msg3: dict[str, Any], n: int, opts: dict[str, Any]
) -> tuple[Any, ...]:
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
        # dev_stack:increment_pass/2
        _, passes = _message_get("pass", res)
        _, res = ao.MESSAGE_DEVICE.set(res, {"pass": _int(passes, 1) + 1}, opts)
        return "next", res, 1
    # dev_stack:maybe_error/5: the `error_strategy` option (hb_opts), not a message key
    strategy = opts.get("error_strategy", "throw")
    if _text(strategy) == "stop":
        info = {"status": 500, "body": "stack_call_failed", "dev-num": n, "reason": res}
        return "return", ("error", info)
    raise ao.ResolveError(f"device_failed: device {n} of the stack -> {status} {res!r:.200}")


def _restore(
    msg: dict[str, Any], start_device: Any, start_pass: Any, opts: dict[str, Any]
) -> tuple[str, Any]:
    """Put back the device, prefixes and pass the fold started with (``resolve_fold/3``)."""
    restore = {
        "device": start_device,
        "input-prefix": _read(msg, "previous-input-prefix"),
        "output-prefix": _read(msg, "previous-output-prefix"),
        "device-key": ao.UNSET,
        "device-stack-previous": ao.UNSET,
        "pass": ao.UNSET if start_pass is ao.UNDEFINED else start_pass,
    }
    return ao.MESSAGE_DEVICE.set(msg, restore, opts)
