"""Node options (spec runtime §8): defaults, ``config.flat``, environment, command-line flags.

Precedence (runtime §8.1, §7.1), highest first:

1. start options: command-line flags (``--port``, ``--key``, ``--store``) or ``load(overrides=)``;
2. ``config.flat`` values (loaded into the node message at boot; the file is ``--config``, else
   ``$HB_CONFIG``, else ``./config.flat`` when it exists);
3. environment variables (``HB_PORT``, ``HB_KEY``, ``HB_MODE``, ``HB_PRINT``);
4. the defaults of :data:`DEFAULTS` (``port`` 8734, ...).

Keys are HyperBEAM's option names with ``_`` (``config.flat`` may spell them with ``-``); values
read from ``config.flat`` take the type of the default they replace (``mimic_default_types``).

``config.flat`` is read as HyperBEAM's ``dev_codec_flat:deserialize`` reads it (one ``key: value``
per line), but what HyperBEAM drops without a word is reported here with its line number
(:func:`check_flat`): a line that is not ``key: value`` and a key given twice are errors; a key
that neither HyperBEAM nor this node knows is a warning (HyperBEAM passes it through, and so do
we). ``hyperbeam-fast config check FILE`` prints the same report.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, HyperbeamError
from ..map_order import MODES as MAP_ORDERS

DEFAULT_PORT = 8734
#: ``log_level`` and ``log_format`` values (node/logs.py).
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")

#: HyperBEAM's ``default_message()`` (runtime §8.2), the subset this node uses, plus our limits.
DEFAULTS: dict[str, Any] = {
    "initialized": True,
    "port": DEFAULT_PORT,
    "host": "localhost",
    "gateway": "https://arweave.net",
    "mode": "debug",
    "priv_key_location": "hyperbeam-key.json",
    "hb_config_location": "config.flat",
    "commitment_device": "httpsig@1.0",
    "default_codec": "httpsig@1.0",
    "default_req": "/~meta@1.0/info",
    "cache_control": ["no-cache", "no-store"],
    "http_extra_opts": {"force_message": True, "cache_control": ["always"]},
    "store_all_signed": True,
    # computed process states are written after the slot, off the request (devices/process_writes)
    "process_async_cache": True,
    # Durability of store writes (STORE_SYNC); "none" is what hb_store_fs/rocksdb do.
    "store_sync": "none",
    # Whose Erlang map order serialisation follows above 32 keys (docs/map-order.md): otp27
    # (production HyperBEAM) or otp25 (the golden vectors). Process-wide, set at start-up.
    "map_order": "otp27",
    "force_signed": True,
    "force_signed_requests": False,
    "node_history": [],
    "await_inprogress": "named",
    "client_error_strategy": "throw",
    "http_connect_timeout": 5000,
    "http_keepalive": 120000,
    "http_request_send_timeout": 60000,
    "idle_timeout": 300000,
    "router_preprocess_default": "local",
    "routes": [],
    "on": {},
    "debug_print": False,
    "short_trace_len": 5,
    # --- limits of this implementation (not HyperBEAM options) ---
    "max_body_size": 16 * 1024 * 1024,  # bytes: larger bodies get 413
    "max_header_size": 64 * 1024,  # bytes of request head: larger get 431
    "body_timeout": 30.0,  # seconds to receive a whole body: slower clients get 408
    "header_timeout": 10.0,  # seconds from accept (or a request's first byte) to a full head
    "max_connections": 4096,  # open connections; at the cap the oldest idle one is closed
    "max_connections_per_ip": 1024,  # the same, per client address
    "max_message_keys": 10_000,  # request headers + multipart parts: more get 413
    "resolve_timeout": 60.0,  # seconds for one resolution before 504
    "workers": 0,  # resolver threads per worker process (0 = four per core, at least 8)
    # worker processes of `serve` (--workers; 0 = the core count; >1 needs an lmdb: store)
    "worker_processes": 0,
    "log_requests": True,
    "log_level": "info",  # debug | info | warning | error (--log-level)
    "log_format": "json",  # json | text (--log-format)
    "generate_key": False,  # create a missing priv_key_location (--generate-key)
    "graceful_timeout": 10.0,  # seconds in-flight requests get at shutdown
}

#: Option name -> environment variable (runtime §8.1).
ENV_VARS = {
    "port": "HB_PORT",
    "priv_key_location": "HB_KEY",
    "hb_config_location": "HB_CONFIG",
    "mode": "HB_MODE",
    "debug_print": "HB_PRINT",
    "map_order": "HB_MAP_ORDER",
}


#: HyperBEAM's option names (``hb_opts:default_message/0``) this node does not default itself.
HYPERBEAM_OPTIONS = frozenset(
    """access_remote_cache_for_client ans104_trust_gql bundler_ans104 cache_lookup_hueristics
    compute_mode debug_committers debug_ids debug_metadata debug_print_binary_max
    debug_print_indent debug_print_map_line_threshold debug_print_trace debug_show_priv
    debug_stack_depth http_client load_remote_devices lua_scripts lua_tests preloaded_devices
    process_now_from_cache process_workers relay_http_client scheduler_location_ttl
    scheduling_mode snp_trusted stack_print_prefixes store trusted_device_signers
    wasm_allow_aot""".split()
)
#: Options this node's devices read that have no default in :data:`DEFAULTS`.
NODE_OPTIONS = frozenset(
    """operator operator_signs_path cache_writers cache_lookup_heuristics gateway_max_size
    gateway_miss_max gateway_miss_ttl gateway_subindex gateway_timeout max_depth max_steps
    process_cache_frequency process_compute_timeout process_compute_wait
    process_compute_workers process_live_max process_live_memory process_snapshot_interval
    process_snapshot_seconds genesis_wasm_memory_max genesis_wasm_compute_max
    route_owners verify_assignments""".split()
)


def known_option(key: str) -> bool:
    """Whether ``key`` (``_`` spelling; ``a/b`` by its first part) is an option HyperBEAM or
    this node reads."""
    top = key.split("/", 1)[0]
    return top in DEFAULTS or top in HYPERBEAM_OPTIONS or top in NODE_OPTIONS


def check_flat(data: bytes, name: str = "config.flat") -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` of a ``config.flat`` text, each ``NAME:LINE: what``.

    HyperBEAM splits the text at ``\n`` and each line at ``": "``; a line that does not split
    into exactly a key and a value is dropped there: here it is an error, as is a key given
    twice (HyperBEAM keeps the last). Blank lines are allowed. An unknown key is a warning."""
    errors: list[str] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(data.split(b"\n"), 1):
        line = raw.decode("utf-8", "replace")
        if not line.strip():
            continue
        parts = line.split(": ")
        if len(parts) != 2 or not parts[0].strip():
            why = (
                "more than one ': ' (HyperBEAM drops such a line)"
                if len(parts) > 2
                else "not a 'key: value' line"
            )
            errors.append(f"{name}:{n}: {why}: {line.strip()[:80]!r}")
            continue
        key = norm_key(parts[0])
        if key in seen:
            errors.append(
                f"{name}:{n}: duplicate key {parts[0].strip()!r} (first on line {seen[key]})"
            )
            continue
        seen[key] = n
        if key in DEFAULTS and "/" not in key:
            try:
                mimic(parts[1], DEFAULTS[key])
            except ConfigError as e:
                errors.append(f"{name}:{n}: {parts[0].strip()}: {e}")
        allowed = CHOICES.get(key)
        if allowed is not None and parts[1].strip().lower() not in allowed:
            errors.append(
                f"{name}:{n}: {parts[0].strip()} must be one of {', '.join(allowed)}, "
                f"got {parts[1].strip()!r}"
            )
        if not known_option(key):
            warnings.append(f"{name}:{n}: unknown option {parts[0].strip()!r} (passed through)")
    return errors, warnings


#: ``store_sync`` values: when a store write is acknowledged.
#: ``none``: once the OS has it (RocksDB WAL unsynced, fs files unsynced, as HyperBEAM's
#: ``hb_store_rocksdb``/``hb_store_fs``): survives a crash of the node process, not of the
#: machine (power loss, kernel panic can lose the last writes; RocksDB stays consistent).
#: ``always``: after an fsync (the RocksDB WAL for every write batch; fs files, symlinks and
#: the directories they are in): survives power loss too, at the cost of one sync per write.
STORE_SYNC = ("none", "always")
#: Options whose value is one of a few words (checked with their line in :func:`check_flat`).
CHOICES = {"store_sync": STORE_SYNC, "log_level": LOG_LEVELS, "log_format": LOG_FORMATS}


def store_sync(opts: dict[str, Any]) -> bool:
    """Whether ``opts`` ask for synced store writes (``store_sync``, see :data:`STORE_SYNC`)."""
    v = opts.get("store_sync", "none")
    if isinstance(v, bool):
        return v
    s = _text(v).strip().lower()
    if s not in STORE_SYNC:
        raise ConfigError(f"store_sync must be one of {', '.join(STORE_SYNC)}, got {s!r}")
    return s == "always"


def norm_key(key: str) -> str:
    """``config.flat`` and HTTP spell options with ``-``; the node message uses ``_``."""
    return key.strip().replace("-", "_")


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def mimic(value: Any, default: Any) -> Any:
    """Convert a text value to the type of ``default`` (HyperBEAM's ``mimic_default_types``)."""
    if isinstance(value, dict):
        if isinstance(default, dict):
            return {norm_key(k): mimic(v, default.get(norm_key(k))) for k, v in value.items()}
        return {k: mimic(v, None) for k, v in value.items()}
    if not isinstance(value, (bytes, str)):
        return value
    s = _text(value).strip()
    if isinstance(default, bool):
        if s.lower() in ("true", "1", "yes"):
            return True
        if s.lower() in ("false", "0", "no"):
            return False
        return s  # e.g. initialized: permanent
    if isinstance(default, int):
        try:
            return int(s)
        except ValueError:
            raise ConfigError(f"option value {s!r} is not an integer") from None
    if isinstance(default, float):
        try:
            return float(s)
        except ValueError:
            raise ConfigError(f"option value {s!r} is not a number") from None
    if isinstance(default, list) and not isinstance(value, list):
        return [p.strip() for p in s.split(",") if p.strip()]
    if default is None and s in ("true", "false"):
        return s == "true"
    return s


def line_of(problem: str) -> int:
    """The line number of a :func:`check_flat` problem (``NAME:LINE: what``)."""
    m = re.search(r":(\d+): ", problem)
    return int(m.group(1)) if m else 0


def parse_flat(
    data: bytes, name: str = "config.flat", warnings: list[str] | None = None
) -> dict[str, Any]:
    """Parse ``config.flat`` (``key: value`` lines, ``a/b: v`` for nested keys; runtime §7.1).

    The errors of :func:`check_flat` raise one :class:`ConfigError` listing them all; its
    warnings are appended to ``warnings``."""
    from ..message import convert

    errors, warned = check_flat(data, name)
    if errors:
        raise ConfigError("; ".join(errors))
    if warnings is not None:
        warnings.extend(warned)
    try:
        msg = convert(data, "structured@1.0", "flat@1.0")
    except HyperbeamError as e:
        raise ConfigError(f"config.flat: {e}") from None
    if not isinstance(msg, dict):
        raise ConfigError("config.flat must hold key: value lines")
    return {norm_key(k): mimic(v, DEFAULTS.get(norm_key(k))) for k, v in msg.items()}


def _env(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, var in ENV_VARS.items():
        if var in environ and environ[var] != "":
            raw = environ[var]
            if key == "debug_print":
                out[key] = True if raw in ("1", "true") else raw.split(",")
            else:
                out[key] = mimic(raw, DEFAULTS.get(key))
    return out


def load(
    overrides: dict[str, Any] | None = None,
    config_path: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The node message: defaults < environment < ``config.flat`` < ``overrides``.

    ``config_path`` (or ``$HB_CONFIG``) names the config file; an explicitly named file that is
    missing is an error, the implicit ``./config.flat`` is optional. The file's warnings
    (:func:`check_flat`) are appended to ``warnings``.
    """
    environ = dict(os.environ if environ is None else environ)
    overrides = {norm_key(k): v for k, v in (overrides or {}).items() if v is not None}
    opts = copy.deepcopy(DEFAULTS)
    opts.update(_env(environ))
    explicit = config_path is not None or bool(environ.get("HB_CONFIG"))
    path = Path(config_path or environ.get("HB_CONFIG") or DEFAULTS["hb_config_location"])
    if path.is_file():
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read config file {str(path)!r}: {e.strerror}") from None
        opts.update(parse_flat(data, str(path), warnings))
        opts["hb_config_location"] = str(path)
    elif explicit:
        raise ConfigError(f"config file {str(path)!r} does not exist")
    opts.update(overrides)
    port = opts.get("port")
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer in 0..65535, got {port!r}")
    store_sync(opts)  # a bad value fails at load, not at the first write
    for key, allowed in (("log_level", LOG_LEVELS), ("log_format", LOG_FORMATS)):
        v = _text(opts.get(key)).strip().lower()
        if v not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {opts.get(key)!r}")
        opts[key] = v
    map_order(opts)
    return opts


def map_order(opts: dict[str, Any]) -> str:
    """The ``map_order`` option (``otp27`` | ``otp25``), checked."""
    v = opts.get("map_order", "otp27")
    s = v.decode() if isinstance(v, bytes) else str(v)
    s = s.strip().lower()
    if s not in MAP_ORDERS:
        raise ConfigError(f"map_order must be one of {', '.join(MAP_ORDERS)}, got {v!r}")
    return s


__all__ = [
    "DEFAULTS",
    "DEFAULT_PORT",
    "ENV_VARS",
    "STORE_SYNC",
    "HYPERBEAM_OPTIONS",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "NODE_OPTIONS",
    "CHOICES",
    "ConfigError",
    "check_flat",
    "known_option",
    "line_of",
    "load",
    "map_order",
    "mimic",
    "parse_flat",
    "store_sync",
]
