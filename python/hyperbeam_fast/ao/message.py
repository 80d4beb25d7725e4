"""``message@1.0`` (spec runtime §3): the identity device, and the fallback of every other one.

Keys: ``get`` (the default: case-insensitive map access; private keys are invisible), ``keys``,
``set`` (deep merge; ``UNSET`` deletes, ``UNDEFINED`` is ignored; ``set-mode: explicit`` merges
shallowly), ``set_path``, ``remove`` (``item`` / ``items``), ``id``, and the commitment keys
``commit``, ``verify``, ``committers``, ``committed``, which call
:mod:`hyperbeam_fast.commitments` (an ``("error", ...)`` status where a function is missing).

It lives in the resolver package because every device falls back to it (``hb_ao``'s default
device); :mod:`hyperbeam_fast.devices.message` re-exports it. ``commit`` with the node's wallet
asks :mod:`hyperbeam_fast.node.authority` whether the caller is the operator.
"""

from __future__ import annotations

from typing import Any

from ..atom import Atom
from .keys import normalize_key, text, text_of
from .values import NOT_FOUND

_RESERVED = frozenset(
    {"id", "commitments", "committers", "keys", "path", "set", "remove", "verify", "set-mode"}
)

FUNCTION_KEYS = frozenset(
    {
        "id",
        "commit",
        "committed",
        "committers",
        "verify",
        "set",
        "set_path",
        "set-path",
        "remove",
        "keys",
        "info",
    }
)


def _exact_key(k: Any) -> Any:
    """A key as ``maps:without`` compares it: text as is (no case folding), bytes as text."""
    if isinstance(k, bytes):
        return k.decode("utf-8", "surrogateescape")
    return k


def _is_atom(v: Any, name: str) -> bool:
    return type(v) is Atom and v == name


def _commitments_api(name: str) -> Any:
    """The commitments API function ``name`` (imported on first use: it loads the codecs)."""
    from .. import commitments

    return getattr(commitments, name, None)


def _unavailable(what: str) -> tuple[str, dict[str, Any]]:
    return "error", {"status": 503, "body": f"{what}: commitments are unavailable in this build."}


def _merge(a: dict[str, Any], b: dict[str, Any], deep: bool) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if _is_atom(v, "unset"):
            out.pop(k, None)
        elif _is_atom(v, "undefined"):
            continue
        elif deep and type(v) is dict and type(out.get(k)) is dict:
            # hb_util:deep_merge; a device map's members are functions in HyperBEAM (an `info`
            # mapping here stands for `info/0`), so a device merges one level deep
            out[k] = {**out[k], **v} if k == "device" else _merge(out[k], v, True)
        else:
            out[k] = v
    return out


class MessageDevice:
    """The ``message@1.0`` device (``dev_message``)."""

    name = "message@1.0"

    @staticmethod
    def _get(
        key: str, base: dict[str, Any], request: Any = None, opts: Any = None
    ) -> tuple[str, Any]:
        if key.startswith("priv"):
            return "error", NOT_FOUND
        if key in base:
            return "ok", base[key]
        nkey = normalize_key(key)
        if nkey in base:
            return ("error", NOT_FOUND) if nkey.startswith("priv") else ("ok", base[nkey])
        try:
            joined = "".join(base)
        except TypeError:
            joined = None
        if joined is not None and joined.isascii() and joined == joined.lower():
            return "error", NOT_FOUND  # every key is its own normal form: nothing else matches
        for k, v in base.items():
            try:
                if normalize_key(k) == nkey:
                    return ("error", NOT_FOUND) if nkey.startswith("priv") else ("ok", v)
            except Exception:  # noqa: BLE001, S112 - unusable keys are simply not matches
                continue
        return "error", NOT_FOUND

    @staticmethod
    def keys(base: dict[str, Any]) -> tuple[str, list[Any]]:
        """The message's public keys, sorted."""
        return "ok", sorted(k for k in base if isinstance(k, str) and not k.startswith("priv"))

    @staticmethod
    def set(
        base: dict[str, Any], request: dict[str, Any], opts: Any = None
    ) -> tuple[str, dict[str, Any]]:
        """Deep merge (``set-mode: explicit``: shallow); commitments survive unless a committed
        key's value really changes (a ``str`` equals its UTF-8 bytes, spec core §2.7)."""
        new = {
            k: v
            for k, v in request.items()
            if k not in _RESERVED and not k.startswith("priv") and not _is_atom(v, "undefined")
        }
        explicit = text(request.get("set-mode")) == "explicit"
        out = _merge(base, new, deep=not explicit)
        if "commitments" in base and any(
            k in base and not _same(out.get(k, _GONE), base[k]) for k in new
        ):
            committed = _commitments_api("committed")
            covered = None
            if committed is not None:
                try:
                    covered = {str(k).lower() for k in committed(base)}
                except Exception:  # noqa: BLE001 - unknown coverage: be conservative
                    covered = None
            if covered is None or any(
                k in covered and not _same(out.get(k, _GONE), base.get(k, _GONE)) for k in new
            ):
                out.pop("commitments", None)
        if "priv" in base:
            out["priv"] = base["priv"]
        else:
            out.pop("priv", None)
        return "ok", out

    @staticmethod
    def set_path(base: dict[str, Any], request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``set_path``: the message with ``path`` set to the request's ``value`` (or removed)."""
        value = request.get("value")
        out = dict(base)
        if value is None or _is_atom(value, "unset"):
            out.pop("path", None)
        else:
            out["path"] = value
        return "ok", out

    @staticmethod
    def remove(base: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
        """``remove``: the message without the request's ``item`` or ``items``."""
        # dev_message:remove: `item` wins over `items`; `maps:without` matches keys exactly
        # (case-sensitive: `item: Key` keeps `key`)
        if "item" in request:
            items = [request["item"]]
        elif "items" in request:
            items = request["items"]
        else:
            return "error", {"status": 400, "body": "remove needs `item` or `items`."}
        if isinstance(items, dict):
            items = list(items.values())
        elif not isinstance(items, (list, tuple)):
            # maps:without/2 of a non-list is a badarg crash in HyperBEAM
            return "error", {"status": 400, "body": "remove: `items` must be a list of keys."}
        drop = {_exact_key(k) for k in items}
        return "ok", {k: v for k, v in base.items() if k not in drop}

    @staticmethod
    def id(base: dict[str, Any], request: Any = None) -> tuple[str, Any]:
        """``id``: the message's ID for the request's ``committers`` (default ``all``)."""
        from ..message import id as message_id

        committers: Any = "all"
        if isinstance(request, dict) and "committers" in request:
            c = request["committers"]
            committers = text(c) if text(c) is not None else c
        body = {k: v for k, v in base.items() if not k.startswith("priv")}
        return "ok", message_id(body, committers)

    @staticmethod
    def committers(base: dict[str, Any]) -> tuple[str, Any]:
        """``committers``: the addresses whose commitments on the message verify."""
        if not base.get("commitments"):
            return "ok", []
        fn = _commitments_api("signers") or _commitments_api("committers")
        if fn is None:
            return _unavailable("committers")
        return "ok", list(fn(base))

    @staticmethod
    def committed(base: dict[str, Any]) -> tuple[str, Any]:
        """``committed``: the keys the message's commitments cover."""
        fn = _commitments_api("committed")
        if fn is None:
            return _unavailable("committed")
        return "ok", list(fn(base))

    @staticmethod
    def verify(base: dict[str, Any], request: Any = None) -> tuple[str, Any]:
        """``verify``: whether every commitment on the message (or the request's
        ``body``/``target``) verifies."""
        target = base
        if isinstance(request, dict):
            for k in ("body", "target"):
                if isinstance(request.get(k), dict):
                    target = request[k]
                    break
        fn = _commitments_api("verify")
        if fn is None:
            return _unavailable("verify")
        return "ok", bool(fn(target))

    @staticmethod
    def commit(base: dict[str, Any], request: Any = None, opts: Any = None) -> tuple[str, Any]:
        """``commit``: the message committed with the caller's wallet (the node's only for its
        operator)."""
        fn = _commitments_api("commit")
        if fn is None:
            return _unavailable("commit")
        opts = opts if isinstance(opts, dict) else {}
        wallet = opts.get("priv_wallet")
        if opts.get("priv_node") is not None:  # the node's wallet signs for its operator only
            from ..node import authority

            if not authority.is_operator(opts):
                return authority.refused("Signing with the node's wallet (commit)")
        if wallet is None:
            return "error", {"status": 400, "body": "commit needs opts['priv_wallet']."}
        codec = "httpsig@1.0"
        if isinstance(request, dict) and text(request.get("commitment-device")):
            codec = text_of(request["commitment-device"])
        return "ok", fn(base, wallet, codec)


_GONE = object()
MessageDevice.info = {"default": MessageDevice._get}  # type: ignore[attr-defined]
DEVICE = MessageDevice()
#: message@1.0's key lookup (the ``default`` handler): ``get(key, base) -> (status, value)``
get = MessageDevice._get


def _same(a: Any, b: Any) -> bool:
    """Message-model equality for ``set``: a ``str`` equals its UTF-8 bytes; maps use ``match``."""
    if isinstance(a, str) and not _is_atom(a, str(a)):
        a = a.encode()
    if isinstance(b, str) and not _is_atom(b, str(b)):
        b = b.encode()
    if isinstance(a, dict) and isinstance(b, dict):
        from ..match import match

        return match(a, b)
    return type(a) is type(b) and a == b
