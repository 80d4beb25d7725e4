"""AO-Core resolution (spec runtime §2): ``resolve``, ``resolve_many``, ``get``, ``set``, ...

``resolve(base, request, opts)`` applies ``request`` to ``base`` through the device that
``base`` names in its ``device`` key (``message@1.0`` when absent) and returns
``(status, value)``. Statuses are plain strings: ``"ok"``, ``"error"``, ``"skip"``, ``"pass"``,
``"created"``, ``"failure"``, ``"not_found"``, ``"unavailable"``. A missing key is
``("error", NOT_FOUND)`` exactly as HyperBEAM's ``{error, not_found}``.

The pipeline for one (base, request) pair (runtime §2.4): normalisation (``As`` device switches,
``Resolve`` sub-resolutions, lists to numbered maps, top-level key normalisation), validation,
device lookup (``handler`` > named function > ``default`` > ``message@1.0``, honouring
``exports``/``excludes``), execution with arity truncation, the ``step`` hook, sub-resolution of
``Resolve`` results, and the hashpath update (``hashpath`` option ``update``/``reset``/``ignore``).
A multi-part path is a chain: each step's result is the next step's base.

Options (``opts``, a ``dict``; every key optional):

* ``hashpath``: ``"update"`` (default), ``"reset"`` or ``"ignore"``;
* ``store``: a :mod:`hyperbeam_fast.store` store; with it, ``cache_control`` directives (runtime
  §2.9: ``always``, ``no-cache``, ``no-store``, ``only-if-cached``, ...) decide whether results are
  looked up before execution (stage 2) and written after it (stage 10);
* ``error_strategy``: ``"throw"`` (default: a device exception is re-raised as
  :class:`~hyperbeam_fast.exceptions.DeviceError`, a ``HyperbeamError`` passes through) or
  anything else (the exception becomes an ``("error", {...})`` status);
* ``max_depth`` (default 64): nested resolutions (devices resolving inside devices, sub-paths);
  deeper is ``("error", {"status": 508, ...})``, never a stack overflow;
* ``max_steps`` (default 100000): resolution steps per top-level call (or per unit of work run
  under :func:`step_budget`, e.g. one process slot); more is an error status, so a device loop
  (``pass`` forever, a self-referencing path) cannot hang;
* ``preloaded_devices``: a ``{name: device}`` mapping replacing the global registry (an operator
  restricts or extends the devices a node can load); ``force_message``; ``on`` (hooks, §6);
  ``loader``: ``callable(id) -> message | None`` used where a message must be read by ID (the
  cache of issue 5 plugs in here).

Not implemented here: in-flight grouping and persistent workers (stages 4, 11, 12; the
recursion guard is the depth/step limit of :mod:`.limits` instead). The result cache (stages 2
and 10) is :mod:`hyperbeam_fast.cache`, used when ``opts["store"]`` is set.
"""

from __future__ import annotations

from typing import Any, cast

from ..exceptions import DeviceError, DeviceNotFound, HyperbeamError, ResolveError
from .devices import MESSAGE_DEVICE_KEYS, call, message_to_fun, norm_result, user_opts
from .hashpaths import apply_hashpath, key_hashpath, with_hashpath, without_hashpath
from .hooks import run_step_hook
from .keys import (
    AO_CORE_KEYS,
    ci_get,
    is_id,
    is_id_length,
    is_private,
    normalize_key,
    normalize_keys,
    path_parts,
    text,
    text_of,
)
from .limits import MAX_STEPS, guarded, limit_error, take_step
from .values import EMPTY, ERROR, NOT_FOUND, OK, As, Resolve, err, marker


def internal(opts: dict[str, Any]) -> dict[str, Any]:
    """``hb_ao`` internal opts: hashpath ignored (set/remove/keys and device plumbing)."""
    if opts.get("hashpath") == "ignore" and "force_message" not in opts:
        return opts
    out = {k: v for k, v in opts.items() if k != "force_message"}
    out["hashpath"] = "ignore"
    return out


def _force_message(status: str, value: Any) -> Any:
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value, 1)}
    if isinstance(value, Resolve):
        return value
    if not isinstance(value, dict):
        return {"ao-result": "body", "body": value}
    if value.keys() == {"status", "body"} and text(value["status"]) == status:
        return {**value, "ao-result": "body"}
    return value


def _load(ident: Any, opts: dict[str, Any]) -> Any:
    loader = opts.get("loader")
    msg = loader(ident) if callable(loader) else None
    if msg is None:
        raise ResolveError(f"necessary_message_not_found: {ident!r}")
    return msg


def _subresolve(base: Any, dev: Any, req: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """``hb_ao:subresolve`` (runtime §2.8): the ``~device`` switch."""
    if isinstance(req, (str, bytes)):
        req = {"path": req}
    if is_id(base):
        base = _load(base, opts)
    if isinstance(dev, Resolve):
        st, dev = resolve_many(dev.messages, opts)
        if st != OK:
            return st, dev
    if not isinstance(base, dict):
        base = normalize_keys(base) if isinstance(base, list) else base
        if not isinstance(base, dict):
            return ERROR, NOT_FOUND
    if dev is not None:
        base = set(base, {"device": dev}, opts=opts)
    if not isinstance(req, dict):
        return ERROR, NOT_FOUND
    path = req.get("path")
    if path is None or path == "" or path == b"":
        rest = {k: v for k, v in req.items() if k != "path"}
        if rest:
            base = set(base, rest, opts={k: v for k, v in opts.items() if k != "force_message"})
        return OK, base
    return resolve(base, req, opts)


def _pair(msg1: Any, msg2: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """One (base, request) pair through stages 1-9 of runtime §2.4."""
    over = take_step(opts)
    if over is not None:
        return over
    # Stage 1: normalisation.
    while True:
        m1 = marker(msg1)
        if isinstance(m1, As):
            dev, inner = m1.device, m1.msg
            if is_id(inner):
                inner = {"path": inner}
            if isinstance(inner, dict) and is_id(inner.get("path")):
                loaded = _load(inner["path"], opts)
                params = {k: v for k, v in inner.items() if k != "path"}
                loaded = {**loaded, **params} if isinstance(loaded, dict) else loaded
                msg1 = set(loaded, {"device": dev}, opts=opts)
                continue
            st, res = _subresolve({}, dev, inner, opts)
            if st != OK:
                return st, res
            msg1 = res
            continue
        if isinstance(m1, Resolve):
            st, res = resolve_many(m1.messages, opts)
            if st != OK:
                return st, res
            msg1 = res
            continue
        break
    m2 = marker(msg2)
    if isinstance(m2, As):
        msg2 = {"path": m2}
    elif isinstance(m2, Resolve):
        sub_opts = {k: v for k, v in opts.items() if k != "force_message"}
        st, res = resolve_many(m2.messages, sub_opts)
        if st != OK:
            return st, res
        msg2 = res if isinstance(res, dict) else {"path": res}
    if isinstance(msg2, dict):
        inner_as = marker(msg2.get("path"))
        if isinstance(inner_as, As):
            inner = inner_as.msg
            inner = inner if isinstance(inner, dict) else {"path": inner}
            return _subresolve(msg1, inner_as.device, {**msg2, **inner}, opts)
    if isinstance(msg1, list):
        msg1 = normalize_keys(msg1)
    if not isinstance(msg2, dict):
        msg2 = {"path": msg2}
    msg1 = normalize_keys(msg1)
    msg2 = normalize_keys(msg2)
    # Stage 3: validation.
    if not isinstance(msg1, dict) or not isinstance(msg2, dict):
        return ERROR, NOT_FOUND
    # Stage 2: cache lookup (runtime §2.9), when a store is configured (opts["store"]).
    store = opts.get("store")
    if store is not None:
        from .. import cache

        cst, cval = cache.lookup(msg1, msg2, store, opts)
        if cst == "hit":
            return OK, apply_hashpath(OK, cval, msg1, msg2, opts)
        if cst == "error":
            return ERROR, cval
        if cst == "loaded" and isinstance(cval, dict):
            msg1 = cval
    # Stage 5: device lookup.
    parts = path_parts(msg2.get("path"))
    if not parts:
        return err(400, "The request has no path: nothing to resolve.")
    key = parts[0]
    if isinstance(key, (As, Resolve)):
        return err(400, "A path element cannot be a sub-resolution here.")
    key = normalize_key(key)
    status, value = _execute(msg1, msg2, key, opts)
    if status is _FAILED:
        return cast("tuple[str, Any]", value)
    if opts.get("force_message"):
        value = _force_message(status, value)
    # Stage 7: the step hook.
    on = opts.get("on")
    if on and isinstance(on, dict) and on.get("step") is not None:
        hooked = run_step_hook(msg1, msg2, status, value, opts)
        if hooked is not None:
            status, value = hooked
    # Stage 8: sub-resolution of {resolve, ...} results.
    if status == OK and isinstance(value, Resolve):
        return resolve_many(value.messages, opts)
    # Stage 9: hashpath.
    value = apply_hashpath(status, value, msg1, msg2, opts)
    # Stage 10: cache the result (runtime §2.9, cache-control permitting).
    if store is not None and status == OK:
        cache.store_result(msg1, msg2, value, store, opts)
    return status, value


_FAILED: Any = object()  # _execute's status for a device failure turned into an error status


def _execute(
    msg1: dict[str, Any], msg2: dict[str, Any], key: str, opts: dict[str, Any]
) -> tuple[Any, Any]:
    """Stages 5-6: the device function for ``key`` called; a failure is ``(_FAILED, status)``."""
    dopts = user_opts(opts)
    try:
        fn, add_key = message_to_fun(msg1, key, dopts)
        args = (key, msg1, msg2, dopts) if add_key else (msg1, msg2, dopts)
        return norm_result(call(fn, args))
    except RecursionError:
        return _FAILED, limit_error("recursion")
    except Exception as exc:  # noqa: BLE001 - every device failure becomes typed
        if opts.get("error_strategy", "throw") == "throw":
            if isinstance(exc, HyperbeamError):
                raise
            raise DeviceError(f"device call for key {key!r} failed: {exc!r}") from exc
        if isinstance(exc, DeviceNotFound):  # an unknown device is a 404 naming it
            body = f"loading_device: DeviceNotFound: {exc}"
            return _FAILED, err(404, body, **{"error-class": "loading_device"})
        body = f"device_call: {type(exc).__name__}: {exc}"
        return _FAILED, err(500, body, **{"error-class": "device_call"})


def resolve_key(base: Any, request: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """``resolve(base, request, opts)`` for a caller that built both messages and resolves
    one key many times (process@1.0's executor: a state and each slot's assignment): when
    they are plain messages with normal keys, the request's path is one key and ``opts``
    has ``hashpath: ignore`` and no store, step hook or ``force_message``, stages 1-4, 7
    and 10 of runtime §2.4 have nothing to do, and only the step count, the device call
    (stages 5-6), stage 8 and stage 9 run; anything else is :func:`resolve`."""
    path = request.get("path") if type(request) is dict else None
    if (
        type(base) is dict
        and (type(path) is str or type(path) is bytes)
        and opts.get("hashpath") == "ignore"
        and opts.get("store") is None
        and not opts.get("on")
        and not opts.get("force_message")
        and normalize_keys(base) is base
        and normalize_keys(request) is request
    ):
        key = path.decode("utf-8", "surrogateescape") if type(path) is bytes else path
        if key and "/" not in key:
            return guarded(_one_key, base, request, normalize_key(key), opts)
    return resolve(base, request, opts)


def _one_key(
    msg1: dict[str, Any], msg2: dict[str, Any], key: str, opts: dict[str, Any]
) -> tuple[str, Any]:
    over = take_step(opts)
    if over is not None:
        return over
    status, value = _execute(msg1, msg2, key, opts)
    if status is _FAILED:
        return cast("tuple[str, Any]", value)
    if status == OK and isinstance(value, Resolve):
        return resolve_many(value.messages, opts)
    return status, apply_hashpath(status, value, msg1, msg2, opts)


def _fast_get(base: dict[str, Any], key: str, opts: dict[str, Any]) -> tuple[str, Any] | None:
    """``resolve(base, key)`` for a plain message@1.0 base and a plain key, or ``None``."""
    try:
        joined = "".join(base)
    except TypeError:
        return None
    if not joined.isascii() or joined != joined.lower() or "device" in base:
        return None
    nkey = key if key.islower() or not key.isascii() else normalize_key(key)
    if nkey in MESSAGE_DEVICE_KEYS or nkey.startswith("priv") or not nkey.isascii():
        return None
    value = base.get(nkey, _MISSING)
    if value is _MISSING:
        return ERROR, NOT_FOUND
    if type(value) is dict:
        mode = opts.get("hashpath", "update")
        if mode == "update":
            return OK, with_hashpath(value, key_hashpath(base, key))
        if mode == "reset":
            return OK, without_hashpath(value)
    return OK, value


def _fast_chain(base: dict[str, Any], path: str, opts: dict[str, Any]) -> tuple[str, Any] | None:
    """A ``/`` path of plain keys over plain messages; hands over to the full pipeline at the
    first step the fast path cannot take (a device, a function key, ...)."""
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > opts.get("max_steps", MAX_STEPS):
        return None
    current: Any = base
    for i, key in enumerate(parts):
        if type(current) is not dict:
            return None if i == 0 else resolve_many([current, *parts[i:]], opts)
        step = _fast_get(current, key, opts)
        if step is None:
            return None if i == 0 else resolve_many([current, *parts[i:]], opts)
        status, current = step
        if status != OK:
            return step
    return OK, current


_MISSING = object()


def resolve(
    base: Any, request: Any = _MISSING, opts: dict[str, Any] | None = None
) -> tuple[str, Any]:
    """Apply ``request`` to ``base`` (runtime §2.1): ``(status, value)``.

    ``request`` is a message with a ``path`` (``"a/b/c"`` or a list of keys: a chain, each step
    carrying the request's other keys), a bare key or path (``"a/b"``), or an :class:`As`.
    Without ``request``, ``base`` is a singleton (an HTTP-style message whose ``path`` is a
    HyperPATH, runtime §5) that is parsed with :func:`hyperbeam_fast.path.parse_path` first.
    """
    if opts is None:
        opts = EMPTY
    if type(request) is str and type(base) is dict and request:
        # the fast paths skip stage 7 (the step hook): only a step hook rules them out, the
        # other hooks (request, response, start) run in the pipeline, not per step
        on = opts.get("on")
        if opts is EMPTY or not (
            (on and isinstance(on, dict) and on.get("step") is not None)
            or opts.get("force_message")
            or opts.get("store") is not None
        ):
            if "/" not in request:
                fast = _fast_get(base, request, opts)
                if fast is not None:
                    return fast
            else:
                fast = _fast_chain(base, request, opts)
                if fast is not None:
                    return fast
    if request is _MISSING:
        from ..path import parse_path

        return resolve_many(parse_path(base, opts), opts)
    return guarded(_resolve_request, base, request, opts)


def _resolve_request(base: Any, request: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """``resolve`` once the fast paths did not apply: the request's path as a chain."""
    if isinstance(request, (As, Resolve)) or marker(request) is not None:
        return _resolve_many([base, request], opts)
    if not isinstance(request, dict):
        request = {"path": request}
    path = request.get("path", _MISSING)
    if path is _MISSING:
        path = ci_get(request, "path", _MISSING)
    if path is _MISSING:
        return err(400, "The request has no path: nothing to resolve.")
    parts = path_parts(path)
    if parts is None:
        return err(400, "The request has an empty path: nothing to resolve.")
    if len(parts) == 1 and (
        (isinstance(path, str) and "/" not in path)
        or (isinstance(path, bytes) and b"/" not in path)
    ):  # one key (text or binary, as a scheduler's assignment carries it): the request as is
        return _resolve_many([base, request], opts)
    rest = {k: v for k, v in request.items() if k != "path" and normalize_key(k) != "path"}
    return _resolve_many([base, *({**rest, "path": p} for p in parts)], opts)


def resolve_many(messages: Any, opts: dict[str, Any] | None = None) -> tuple[str, Any]:
    """``hb_ao:resolve_many`` (runtime §2.3): fold a list of messages, stopping at non-ok."""
    return guarded(_resolve_many, messages, EMPTY if opts is None else opts)


def _resolve_many(messages: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    m = marker(messages)
    if isinstance(m, As):
        return _subresolve({}, m.device, m.msg, opts)
    if isinstance(m, Resolve):
        return _resolve_many(m.messages, opts)
    if isinstance(messages, dict):
        try:
            ordered = sorted(messages.items(), key=lambda kv: int(kv[0]))
        except (TypeError, ValueError):
            raise ResolveError("resolve_many_error: a map of messages needs integer keys") from None
        messages = [v for _, v in ordered]
    if not isinstance(messages, (list, tuple)):
        raise ResolveError(f"resolve_many_error: expected a list, got {type(messages).__name__}")
    if not messages:
        return err(400, "Nothing to resolve: the message list is empty.")
    if len(messages) == 1:
        only = messages[0]
        if is_id(only) or is_id_length(only):  # resolve_many([ID]) is by ?IS_ID: length only
            loader = opts.get("loader")
            msg = loader(only) if callable(loader) else None
            return (OK, msg) if msg is not None else (ERROR, NOT_FOUND)
        if isinstance(marker(only), Resolve):
            return _resolve_many(marker(only).messages, opts)
        if isinstance(marker(only), As):
            return _resolve_many(only, opts)
        return OK, only
    current = messages[0]
    if is_id(current):
        current = _load(current, opts)
    for req in messages[1:]:
        status, current = _pair(current, req, opts)
        if status != OK:
            return status, current
    return OK, current


# --- get / set / remove / keys (runtime §2.1, §2.6) -----------------------------------------------


def get(base: Any, path: Any, opts: dict[str, Any] | None = None, default: Any = None) -> Any:
    """``hb_ao:get``: the value at ``path`` (a key, ``"a/b/c"`` or a list), else ``default``.

    ``base`` may be ``As(device, msg)`` to read through another device.
    """
    if opts is None:
        opts = EMPTY
    m = marker(base)
    if isinstance(m, As):
        base = _with_device(m.msg, m.device)
    status, value = resolve(base, {"path": path} if not isinstance(path, str) else path, opts)
    return value if status == OK else default


def _with_device(msg: Any, device: Any) -> dict[str, Any]:
    """``msg`` re-typed as ``device`` (a plain key write: the old device is not consulted)."""
    msg = normalize_keys(msg)
    if not isinstance(msg, dict):
        raise ResolveError(f"cannot read a {type(msg).__name__} as a message")
    out = dict(msg)
    out["device"] = device
    return out


def keys(base: Any, opts: dict[str, Any] | None = None, remove: bool = False) -> list[str]:
    """``hb_ao:keys``: the keys of ``base`` as its device lists them (private keys hidden)."""
    if opts is None:
        opts = EMPTY
    status, value = resolve(base, {"path": "keys"}, internal(opts))
    if status != OK:
        raise ResolveError(f"keys failed with status {status}: {value!r}")
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        raise ResolveError(f"keys returned {type(value).__name__}, not a list")
    out = [normalize_key(k) for k in value]
    if remove:
        out = [k for k in out if k not in AO_CORE_KEYS]
    return out


def set(
    base: Any, key_or_values: Any, *args: Any, opts: dict[str, Any] | None = None
) -> dict[str, Any]:  # noqa: A001
    """``hb_ao:set``: ``set(msg, {k: v, "a/b": v2}, opts)`` or ``set(msg, key, value, opts)``.

    Keys may be paths (``"a/b"`` or lists): nested messages are created or updated through each
    level's own device. The value ``UNSET`` deletes a key; ``UNDEFINED`` is ignored.
    """
    if (
        isinstance(key_or_values, dict)
        and not args
        or (isinstance(key_or_values, dict) and len(args) == 1 and isinstance(args[0], dict))
    ):
        if args:
            opts = args[0]
        opts = internal(opts or EMPTY)
        msg = normalize_keys(base)
        values = normalize_keys(key_or_values)
        batch: dict[str, Any] = {}  # consecutive plain keys, set in one message@1.0 ``set``
        for k in sorted(values, key=str):
            if k in ("hashpath", "priv") or is_private(k):
                continue
            parts = path_parts(k) or []
            if len(parts) == 1 and _batchable(msg, parts[0]):
                batch[normalize_key(parts[0])] = values[k]
                continue
            if batch:
                msg, batch = _device_set(msg, "/", batch, opts, explicit=False), {}
            msg = _deep_set(msg, parts, values[k], opts)
        if batch:
            msg = _device_set(msg, "/", batch, opts, explicit=False)
        return cast("dict[str, Any]", msg)
    if not args:
        raise ResolveError("set(base, key, value): a value is needed")
    value = args[0]
    if len(args) > 1:
        opts = args[1]
    opts = internal(opts or EMPTY)
    parts = path_parts(key_or_values) or []
    return _deep_set(normalize_keys(base), parts if parts is not None else [], value, opts)


#: Keys a message@1.0 ``set`` request reads as instructions, not as values to set.
_SET_CONTROL_KEYS = frozenset({"path", "device", "set-mode"})


def _batchable(msg: Any, key: Any) -> bool:
    """Whether setting ``key`` on ``msg`` may join one batched message@1.0 ``set``: the same
    result as HyperBEAM's one ``set`` per key (deep merge of distinct keys), in one copy of
    ``msg`` instead of one per key (issue 11: 100k keys were quadratic)."""
    if not isinstance(msg, dict) or not isinstance(key, str):
        return False
    dev = msg.get("device")
    if dev is not None and text_of(dev).lower() != "message@1.0":
        return False
    return normalize_key(key) not in _SET_CONTROL_KEYS


def _deep_set(msg: Any, parts: list[Any], value: Any, opts: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(msg, dict):
        msg = normalize_keys(msg) if isinstance(msg, list) else {}
    if not parts:
        return _device_set(msg, "/", value, opts, explicit=False)
    key = normalize_key(parts[0])
    if len(parts) == 1:
        return _device_set(msg, key, value, opts, explicit=False)
    status, sub = resolve(msg, {"path": key}, opts)
    if status == OK and isinstance(sub, (dict, list)):
        inner = _deep_set(sub, parts[1:], value, opts)
        return _device_set(msg, key, inner, opts, explicit=True)
    out = dict(msg)
    out[key] = _deep_set({}, parts[1:], value, opts)
    return out


def _device_set(
    msg: dict[str, Any], key: str, value: Any, opts: dict[str, Any], explicit: bool
) -> dict[str, Any]:
    if key == "path":
        req: dict[str, Any] = {"path": "set_path", "value": value}
    elif key == "/" and isinstance(value, dict):
        req = {**normalize_keys(value), "path": "set"}
    else:
        req = {"path": "set", key: value}
    if explicit:
        req["set-mode"] = "explicit"
    status, out = _resolve_many([msg, req], opts)
    if status != OK or not isinstance(out, dict):
        if isinstance(out, dict) and out.get("error-class") == "loading_device":
            raise DeviceNotFound(text(out.get("body")) or "device_not_loadable")
        raise ResolveError(f"set of {key!r} failed: {status} {out!r:.200}")
    return out


def remove(base: Any, key: Any, opts: dict[str, Any] | None = None) -> dict[str, Any]:
    """``hb_ao:remove``: ``base`` without ``key`` (through its device's ``remove``)."""
    status, out = resolve(base, {"path": "remove", "item": key}, internal(opts or EMPTY))
    if status != OK or not isinstance(out, dict):
        raise ResolveError(f"remove of {key!r} failed: {status} {out!r:.200}")
    return out
