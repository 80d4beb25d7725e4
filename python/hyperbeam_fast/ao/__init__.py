"""AO-Core resolution (spec runtime §2): ``resolve``, ``resolve_many``, ``get``, ``set``, ...

The public API devices and the node use; see :mod:`.resolve` for the pipeline and its options.
The package, bottom up (no module imports one above it, none imports a device module):

* :mod:`.values`: statuses, ``NOT_FOUND``/``UNSET``/``UNDEFINED``, the ``As``/``Resolve`` markers;
* :mod:`.keys`: key normalisation, paths, private keys, the value helpers devices share;
* :mod:`.limits`: the depth and step limits, :class:`step_budget`, :func:`steps_taken`;
* :mod:`.message`: message@1.0, the default device every device falls back to;
* :mod:`.devices`: the ``Device`` protocol, the registry, ``load_device``, ``message_to_fun``;
* :mod:`.hooks`: the step hook slot (filled by :mod:`hyperbeam_fast.devices.hook`);
* :mod:`.hashpaths`: the hashpath of each resolved step;
* :mod:`.resolve`: ``resolve``, ``resolve_many``, the step loop, ``get``/``set``/``remove``.

The registry is filled by :mod:`hyperbeam_fast.devices` when the package is imported. The
functions ``resolve`` and ``keys`` are bound here after their modules of the same name, so
``ao.resolve`` and ``ao.keys`` are the functions (``from .keys import ...`` still reads the module).
"""

from __future__ import annotations

from ..atom import Atom
from ..exceptions import (
    CodecError,
    DeviceError,
    DeviceNotFound,
    HashPathError,
    HyperbeamError,
    ResolveError,
)
from .devices import (
    MESSAGE_DEVICE,
    MESSAGE_DEVICE_KEYS,
    TEMP_OPTS,
    Device,
    DeviceProtocol,
    call,
    device_info,
    is_exported,
    load_device,
    message_to_device,
    message_to_fun,
    norm_result,
    register_device,
    registered_devices,
    registry_version,
    unregister_device,
    user_opts,
)
from .hooks import register_step_hook
from .keys import (
    AO_CORE_KEYS,
    ci_get,
    hashable,
    is_id,
    is_private,
    normalize_key,
    normalize_keys,
    path_parts,
    text,
    text_of,
    to_int,
)
from .limits import (
    MAX_DEPTH,
    MAX_STEPS,
    default_resolver_threads,
    limit_error,
    step_budget,
    steps_taken,
)
from .resolve import get, internal, keys, remove, resolve, resolve_key, resolve_many, set
from .values import (
    EMPTY,
    ERROR,
    NOT_FOUND,
    OK,
    PASS,
    SKIP,
    STATUSES,
    UNDEFINED,
    UNSET,
    As,
    Resolve,
    err,
    marker,
)

__all__ = [
    "AO_CORE_KEYS",
    "EMPTY",
    "ERROR",
    "MAX_DEPTH",
    "MAX_STEPS",
    "MESSAGE_DEVICE",
    "MESSAGE_DEVICE_KEYS",
    "NOT_FOUND",
    "OK",
    "PASS",
    "SKIP",
    "STATUSES",
    "TEMP_OPTS",
    "UNDEFINED",
    "UNSET",
    "As",
    "Atom",
    "CodecError",
    "Device",
    "DeviceError",
    "DeviceNotFound",
    "DeviceProtocol",
    "HashPathError",
    "HyperbeamError",
    "Resolve",
    "ResolveError",
    "call",
    "ci_get",
    "device_info",
    "err",
    "get",
    "hashable",
    "internal",
    "is_exported",
    "is_id",
    "is_private",
    "keys",
    "default_resolver_threads",
    "limit_error",
    "load_device",
    "marker",
    "message_to_device",
    "message_to_fun",
    "norm_result",
    "normalize_key",
    "normalize_keys",
    "path_parts",
    "register_device",
    "register_step_hook",
    "registered_devices",
    "registry_version",
    "remove",
    "resolve",
    "resolve_key",
    "resolve_many",
    "set",
    "step_budget",
    "steps_taken",
    "text",
    "text_of",
    "to_int",
    "unregister_device",
    "user_opts",
]
