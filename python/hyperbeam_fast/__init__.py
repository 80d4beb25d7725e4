"""hyperbeam_fast: a Rust-accelerated implementation of the AO-Core protocol (HyperBEAM).

The data layer of spec core.md: messages, TABM/structured@1.0, httpsig@1.0 encoding, flat@1.0,
json@1.0, unsigned IDs and hashpaths. Hot paths run in the native module ``_native``.
"""

from . import codecs
from ._native import (
    accumulate,
    b64url_decode,
    b64url_encode,
    human_id,
    native_id,
    sha256_chain,
)
from .atom import Atom
from .exceptions import (
    CodecError,
    HashPathError,
    HyperbeamError,
    NotFound,
    StructuredFieldError,
)
from .hashpath import hashpath
from .match import match
from .message import CODECS, convert, id, id_many

__version__ = "0.1.0"

__all__ = [
    "CODECS",
    "Atom",
    "CodecError",
    "HashPathError",
    "HyperbeamError",
    "NotFound",
    "StructuredFieldError",
    "__version__",
    "accumulate",
    "b64url_decode",
    "b64url_encode",
    "codecs",
    "convert",
    "hashpath",
    "human_id",
    "id",
    "id_many",
    "match",
    "native_id",
    "sha256_chain",
]
