"""Pure-Python reference implementation, slow on purpose, used to cross-check the native code.

This module re-derives, from the specification alone (``../shared/spec/core.md``), the parts of
the AO-Core data layer that decide IDs and hashpaths:

* base64url and ID forms (core §1.1, §1.2) and the hash primitives (§1.3);
* key normalisation and private keys (§2.2, §2.3);
* ``structured@1.0`` rich message -> TABM (§3.1, §3.2);
* ``httpsig@1.0`` TABM -> HTTP encoding, including ``ao-ids`` and the multipart body (§6.1-6.3);
* the unsigned (HMAC) ID (§4.3, §7.2) and hashpaths (§5.1).

It uses only the standard library and favours readability over speed. The benchmarks use it as
the "pure-Python reference" that the Rust path is compared to, and the tests use it to check the
Rust path byte for byte.

Python message model: a message is a ``dict`` with ``str`` (or ``bytes``) keys. Values are
``bytes`` (a plain ``str`` means its UTF-8 bytes), ``int``, ``float``, ``True``/``False``/``None``
(the atoms true/false/null), an *Atom* (any ``str`` subclass instance whose class is named
``Atom``), ``list`` or ``dict``.

The package's modules, by what they implement: :mod:`.primitives` (§1.1-§1.3), :mod:`.keys`
(§2.2, §2.3), :mod:`.sf` (§1.5, §1.6), :mod:`.structured` (§3), :mod:`.httpsig` (§6),
:mod:`.message_ids` (§4.3, §4.4, §7.2), :mod:`.hashpaths` (§5.1) and :mod:`.map_order` (the
Erlang map order of maps above 32 keys, OTP 25 and OTP 27; docs/map-order.md).
"""

from __future__ import annotations

# The constants outside ``__all__`` stay public too (``X as X``), as before the split.
from .hashpaths import AO_CORE_KEYS as AO_CORE_KEYS
from .hashpaths import combine_hashpath, hashpath
from .httpsig import CRLF as CRLF
from .httpsig import MAX_HEADER_LENGTH as MAX_HEADER_LENGTH
from .httpsig import httpsig_to
from .keys import is_atom, is_private, normalize_key
from .map_order import FOLD, OTP25, OTP27, TO_LIST, fold_order, key_order, otp25_hash, otp27_hash
from .message_ids import DERIVED_COMPONENTS as DERIVED_COMPONENTS
from .message_ids import HMAC_KEY as HMAC_KEY
from .message_ids import (
    message_id,
    signature_base,
    unsigned_id,
    unsigned_signature_base,
)
from .primitives import (
    ID_SIZES,
    accumulate,
    b64url_decode,
    b64url_encode,
    human_id,
    native_id,
    sha256,
    sha256_chain,
)
from .sf import hb_escape, sf_dictionary, sf_inner_list, sf_list, sf_string
from .structured import REGEN_KEYS as REGEN_KEYS
from .structured import encode_value, structured_from

__all__ = [
    "FOLD",
    "ID_SIZES",
    "OTP25",
    "OTP27",
    "TO_LIST",
    "accumulate",
    "b64url_decode",
    "b64url_encode",
    "combine_hashpath",
    "encode_value",
    "fold_order",
    "hashpath",
    "hb_escape",
    "httpsig_to",
    "human_id",
    "is_atom",
    "is_private",
    "key_order",
    "message_id",
    "native_id",
    "otp25_hash",
    "otp27_hash",
    "normalize_key",
    "sf_dictionary",
    "sf_inner_list",
    "sf_list",
    "sf_string",
    "sha256",
    "sha256_chain",
    "signature_base",
    "structured_from",
    "unsigned_id",
    "unsigned_signature_base",
]
