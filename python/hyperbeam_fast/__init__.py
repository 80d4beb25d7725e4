"""hyperbeam_fast: a Rust-accelerated implementation of the AO-Core protocol (HyperBEAM).

The data layer of spec core.md: messages, TABM/structured@1.0, httpsig@1.0 encoding, flat@1.0,
json@1.0, unsigned IDs and hashpaths. Hot paths run in the native module ``_native``.

``__all__`` leaves out ``id`` and ``set`` so that ``from hyperbeam_fast import *`` does not shadow
the builtins of those names; use them as ``hyperbeam_fast.id`` and ``hyperbeam_fast.set``.
"""

from . import ao, cache, codecs, devices, node, store
from ._native import (
    accumulate,
    b64url_decode,
    b64url_encode,
    human_id,
    native_id,
    sha256_chain,
)
from .ao import (
    NOT_FOUND,
    UNDEFINED,
    UNSET,
    As,
    Device,
    Resolve,
    device_info,
    get,
    keys,
    load_device,
    register_device,
    registered_devices,
    remove,
    resolve,
    resolve_many,
    unregister_device,
)
from .ao import (
    set as set,  # an attribute, not in __all__ (the builtin)
)
from .atom import Atom
from .commitments import (
    commit,
    committed,
    committers,
    signers,
    verify,
    verify_many,
    with_only_committed,
)
from .exceptions import (
    CodecError,
    DeviceError,
    DeviceNotFound,
    HashPathError,
    HyperbeamError,
    NotFound,
    PathError,
    ResolveError,
    SignatureError,
    StructuredFieldError,
)
from .hashpath import hashpath
from .match import match
from .message import CODECS, convert, id_many
from .message import id as id  # an attribute, not in __all__ (the builtin)
from .path import parse_path, to_singleton
from .version import __version__
from .wallet import Wallet

__all__ = [
    "CODECS",
    "NOT_FOUND",
    "UNDEFINED",
    "UNSET",
    "As",
    "Device",
    "DeviceError",
    "DeviceNotFound",
    "PathError",
    "Resolve",
    "ResolveError",
    "ao",
    "cache",
    "node",
    "store",
    "devices",
    "device_info",
    "get",
    "keys",
    "load_device",
    "parse_path",
    "to_singleton",
    "register_device",
    "registered_devices",
    "remove",
    "resolve",
    "resolve_many",
    "unregister_device",
    "Atom",
    "CodecError",
    "HashPathError",
    "HyperbeamError",
    "NotFound",
    "SignatureError",
    "StructuredFieldError",
    "Wallet",
    "__version__",
    "accumulate",
    "b64url_decode",
    "b64url_encode",
    "codecs",
    "commit",
    "committed",
    "committers",
    "convert",
    "hashpath",
    "human_id",
    "id_many",
    "match",
    "native_id",
    "sha256_chain",
    "signers",
    "verify",
    "verify_many",
    "with_only_committed",
]
