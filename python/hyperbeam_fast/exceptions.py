"""The one exception hierarchy of hyperbeam_fast (the native module raises these too)."""


class HyperbeamError(Exception):
    """Base class for every error raised by hyperbeam_fast."""


class CodecError(HyperbeamError, ValueError):
    """A value, message or wire form is not valid for the codec (spec core §3, §6, §9, §10)."""


class StructuredFieldError(CodecError):
    """Malformed RFC 8941 structured-field text (spec core §1.6)."""


class HashPathError(HyperbeamError, ValueError):
    """A bad ID, hashpath or hashpath algorithm (spec core §1.2, §5)."""


class SignatureError(HyperbeamError, ValueError):
    """A key that cannot be used, or a commitment that cannot be checked (spec core §7, §11)."""


class NotFound(HyperbeamError, KeyError):
    """A message, key or path that is absent."""


class ResolveError(HyperbeamError):
    """AO-Core resolution failed (spec runtime §2): a device raised, or a result was unusable."""


class DeviceNotFound(ResolveError, LookupError):
    """A message names a device that is neither registered nor loadable (runtime §2.5)."""


class DeviceError(ResolveError):
    """A device function raised; the original exception is the ``__cause__``."""


class PathError(HyperbeamError, ValueError):
    """A malformed HyperPATH / singleton request (runtime §5)."""


class StoreError(HyperbeamError, OSError):
    """A store (runtime §10.3) could not do what was asked: I/O failure, read-only store, ..."""


class InvalidStorePath(StoreError, ValueError):
    """A store path with ``..``/``.``/empty segments, an absolute part, NUL, or outside the root."""


class StoreLinkLoop(StoreError):
    """Links that loop (or chain deeper than the hop limit) while resolving a store path."""


class StoreCorrupt(StoreError):
    """An unreadable or corrupt store entry (unknown tag, dangling link inside a message)."""


class NoViableStore(StoreError):
    """No store of a chain could answer (runtime §10.3 ``no_viable_store``)."""


class ConfigError(HyperbeamError):
    """A configuration file or value that cannot be used."""


class CacheError(HyperbeamError, ValueError):
    """A message the cache cannot write (e.g. a ``device`` key holding a map, runtime §10.2)."""


class UnverifiedCommitment(CacheError):
    """A commitment that does not verify against the message it comes with: the cache never
    links its ID to that content (core §4)."""


class InvalidModule(HyperbeamError, ValueError):
    """A process's ``Module`` (genesis-wasm@1.0) that cannot run: not stored on the node (404),
    not a WASM module (422), or not named at all (400); ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


__all__ = [
    "CacheError",
    "CodecError",
    "ConfigError",
    "DeviceError",
    "DeviceNotFound",
    "HashPathError",
    "HyperbeamError",
    "InvalidModule",
    "InvalidStorePath",
    "NoViableStore",
    "NotFound",
    "PathError",
    "ResolveError",
    "SignatureError",
    "StoreCorrupt",
    "StoreError",
    "StoreLinkLoop",
    "StructuredFieldError",
    "UnverifiedCommitment",
]
