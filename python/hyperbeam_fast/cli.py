"""The `hyperbeam-fast` command line: data-layer subcommands over a JSON message.

    hyperbeam-fast id [FILE] [--committers MODE]
    hyperbeam-fast convert --to CODEC [--from CODEC] [FILE]
    hyperbeam-fast hashpath [FILE] [--apply FILE_OR_KEY]
    hyperbeam-fast serve [--port N] [--key FILE] [--generate-key] [--store DIR]
                         [--store-sync {none,always}] [--config FILE] [--host ADDR]
                         [--log-level LEVEL] [--log-format {json,text}]
    hyperbeam-fast config check FILE
    hyperbeam-fast --version
    hyperbeam-fast compute PROCESS_ID [--slot N] [--store DIR] [--key FILE] [--no-progress]

FILE is a JSON object (default: stdin). JSON strings are binaries, numbers are integers or
floats, true/false/null are atoms, arrays are lists, objects are nested messages.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from .exceptions import HyperbeamError
from .hashpath import hashpath
from .message import CODECS, convert
from .message import id as message_id
from .node.config import LOG_FORMATS, LOG_LEVELS
from .version import __version__


class CliError(Exception):
    """Bad input given on the command line."""


def _read(path: str | None) -> bytes:
    if path in (None, "-"):
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None


def _load_message(path: str | None) -> Any:
    raw = _read(path)
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise CliError(f"input is not valid JSON: {e}") from None
    if not isinstance(msg, dict):
        raise CliError("input must be a JSON object (a message)")
    return msg


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="backslashreplace")
    return v


def _out(v: Any) -> None:
    if isinstance(v, bytes):
        sys.stdout.buffer.write(v + (b"" if v.endswith(b"\n") else b"\n"))
        return
    sys.stdout.buffer.write(orjson.dumps(_jsonable(v), option=orjson.OPT_INDENT_2) + b"\n")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hyperbeam-fast", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--version", action="version", version=f"hyperbeam-fast {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("id", help="print the message ID")
    i.add_argument("file", nargs="?")
    i.add_argument("--committers", default="none", help="none | all | signed | uncommitted")
    c = sub.add_parser("convert", help="convert a message between codecs")
    c.add_argument("file", nargs="?")
    c.add_argument("--to", required=True, choices=CODECS)
    c.add_argument("--from", dest="source", default="structured@1.0", choices=CODECS)
    h = sub.add_parser("hashpath", help="print the hashpath of a message, or of applying another")
    h.add_argument("file", nargs="?")
    h.add_argument("--apply", help="a JSON file holding the applied message, or a key name")
    s = sub.add_parser("serve", help="run a HyperBEAM-compatible node (default port 8734)")
    s.add_argument("--port", type=int, help="TCP port (else config.flat, $HB_PORT, 8734)")
    s.add_argument(
        "--key",
        help="operator wallet JWK (else config, $HB_KEY, hyperbeam-key.json); a missing file is "
        "an error, except the default hyperbeam-key.json, which is generated",
    )
    s.add_argument(
        "--generate-key",
        action="store_true",
        default=None,
        help="generate a new wallet at --key if that file does not exist",
    )
    s.add_argument(
        "--store",
        help="store: DIR (RocksDB), fs:DIR, memory, +http(s)://peer, +gateway[:URL] (default "
        "cache-mainnet+gateway: the local store, then the node option gateway)",
    )
    s.add_argument(
        "--store-sync",
        choices=["none", "always"],
        help="fsync every store write: always (survives power loss) or none (survives a crash "
        "of the node; the default, as HyperBEAM; else config.flat store_sync)",
    )
    s.add_argument("--config", help="config.flat file (else $HB_CONFIG, ./config.flat)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    s.add_argument(
        "--log-level", choices=LOG_LEVELS, help="least severe level logged (else config, info)"
    )
    s.add_argument(
        "--log-format", choices=LOG_FORMATS, help="json lines or text lines (else config, json)"
    )
    g = sub.add_parser("config", help="check a config.flat file")
    gsub = g.add_subparsers(dest="config_cmd", required=True)
    gc = gsub.add_parser(
        "check", help="report bad lines, duplicate and unknown keys with their line numbers"
    )
    gc.add_argument("file")
    t = sub.add_parser(
        "install-translator",
        help="install npm binaryen@132 (the exnref translator AOS images need) into the user cache",
    )
    t.add_argument("--dir", help="install here instead (then set HYPERBEAM_BINARYEN_DIR to it)")
    k = sub.add_parser(
        "compute",
        help="compute a process (stored in the node's store) to a slot; progress on stderr",
    )
    k.add_argument("process", help="the process ID (its message must be in the store)")
    k.add_argument("--slot", type=int, help="the slot to compute to (default: the latest)")
    k.add_argument(
        "--store", default="cache-mainnet", help="store, as for serve (default: %(default)s)"
    )
    k.add_argument("--key", help="operator wallet JWK (only needed if the process schedules)")
    k.add_argument(
        "--snapshot-interval", type=int, help="store a WASM snapshot every N slots (default 100)"
    )
    k.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    k.add_argument(
        "--full", action="store_true", help="print the whole state, not just its results"
    )
    return p


class _Progress:
    """A text progress bar on stderr, fed by process@1.0's ``process_progress`` hook."""

    WIDTH = 30

    def __init__(self, stream: Any = None, min_interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval = min_interval
        self.t0 = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < self.min_interval:
            return
        self.last = now
        frac = done / total if total > 0 else 1.0
        fill = int(self.WIDTH * frac)
        rate = done / max(now - self.t0, 1e-9)
        eta = (total - done) / rate if rate > 0 else 0.0
        bar = "#" * fill + "-" * (self.WIDTH - fill)
        self.stream.write(
            f"\r[{bar}] {done}/{total} slots {frac * 100:5.1f}% {rate:8.1f} slots/s eta {eta:5.1f}s"
        )
        self.drawn = True
        if done >= total:
            self.stream.write("\n")
            self.drawn = False
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def _compute(args: argparse.Namespace) -> int:
    from . import cache
    from .devices import process as proc_dev
    from .devices import scheduler
    from .exceptions import NotFound
    from .node.server import load_wallet, open_store

    proc_dev.register_process_devices()
    try:
        store = open_store(args.store)
    except HyperbeamError:
        raise
    except Exception as e:  # noqa: BLE001 - e.g. a RocksDB directory locked by a running node
        raise CliError(f"cannot open store {args.store!r}: {e}") from None
    try:
        try:
            pmsg = cache.read(args.process, store)
        except NotFound:
            raise CliError(f"process {args.process} not found in store {args.store}") from None
        if not isinstance(pmsg, dict):
            raise CliError(f"{args.process} is not a process message")
        opts: dict[str, Any] = {"priv_store": store}
        if args.key:
            opts["priv_wallet"] = load_wallet(args.key, create=False)
        if args.snapshot_interval is not None:
            opts["process_snapshot_interval"] = args.snapshot_interval
        pid = proc_dev.process_id(pmsg)
        target = args.slot
        if target is None:
            target = scheduler.server(pid, opts).current
        if target < 0:
            raise CliError(f"process {pid} has no scheduled messages")
        bar = None if args.no_progress else _Progress()
        if bar is not None:
            opts["process_progress"] = bar
        t0 = time.monotonic()
        try:
            status, state = proc_dev.compute_to(pmsg, target, opts)
        finally:
            if bar is not None:
                bar.close()
        dt = time.monotonic() - t0
        if status != "ok" or not isinstance(state, dict):
            print(f"hyperbeam-fast: compute failed: {_jsonable(state)!r:.2000}", file=sys.stderr)
            return 1
        pub = proc_dev.public_state(state)
        if args.full:
            out = {k: v for k, v in pub.items() if k != "snapshot"}
        else:
            out = {
                "process": pid,
                "at-slot": state.get("at-slot"),
                "state-hashpath": state.get("state-hashpath"),
                "results": pub.get("results", {}),
            }
        if not args.no_progress:
            print(f"computed {pid} to slot {target} in {dt:.2f}s", file=sys.stderr)
        sys.stdout.buffer.write(
            orjson.dumps(_jsonable(out), option=orjson.OPT_INDENT_2, default=str) + b"\n"
        )
        return 0
    finally:
        try:
            store.close()
        except Exception:  # noqa: BLE001
            pass


def _serve(args: argparse.Namespace) -> int:
    from .node import config, server

    overrides = {
        "port": args.port,
        "priv_key_location": args.key,
        "generate_key": args.generate_key,
        "store": args.store,
        "store_sync": args.store_sync,
        "log_level": args.log_level,
        "log_format": args.log_format,
    }
    warnings: list[str] = []
    opts = config.load(overrides, args.config, warnings=warnings)
    server.serve(opts, host=args.host, warnings=warnings)
    return 0


def _config_check(path: str) -> int:
    """``config check FILE``: each problem on a line; status 1 when there are errors."""
    from .node import config

    errors, warnings = config.check_flat(_read(path), path)
    for _, text in sorted(
        [(config.line_of(e), f"{e} [error]") for e in errors]
        + [(config.line_of(w), f"{w} [warning]") for w in warnings]
    ):
        print(text)
    print(f"{path}: {len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def _ids_as_positionals(argv: list[str]) -> list[str]:
    """One message ID in 64 starts with ``-`` (base64url); argparse would read it as an option.

    After ``compute``, a 43-character base64url token that is not one of its options is moved
    behind ``--`` so that it is the PROCESS argument (the user may also write ``-- ID``).
    """
    if not argv or argv[0] != "compute" or "--" in argv:
        return argv
    ids = [a for a in argv[1:] if a.startswith("-") and _ID_SHAPE.fullmatch(a)]
    if not ids:
        return argv
    rest = [a for a in argv if a not in ids]
    return [*rest, "--", *ids]


def main(argv: list[str] | None = None) -> int:
    """Run the ``hyperbeam-fast`` command with ``argv`` (default: ``sys.argv``); its exit status."""
    args = _parser().parse_args(_ids_as_positionals(list(sys.argv[1:] if argv is None else argv)))
    try:
        if args.cmd == "serve":
            return _serve(args)
        if args.cmd == "compute":
            return _compute(args)
        if args.cmd == "config":
            return _config_check(args.file)
        if args.cmd == "install-translator":
            from .wasm import translate

            where = translate.install(Path(args.dir) if args.dir else None)
            print(f"binaryen@{translate.BINARYEN_VERSION} installed in {where}", file=sys.stderr)
            return 0
        if args.cmd == "id":
            _out(message_id(_load_message(args.file), args.committers).encode())
        elif args.cmd == "convert":
            src = args.source
            if src == "flat@1.0" or src == "json@1.0":
                data: Any = _read(args.file)
                if src == "json@1.0":
                    data = data.strip()
            else:
                data = _load_message(args.file)
            out = convert(data, args.to, src)
            if args.to == "flat@1.0":  # print the flat@1.0 text form, which --from reads back
                out = b"".join(k.encode() + b": " + v + b"\n" for k, v in sorted(out.items()))
            _out(out)
        else:
            msg = _load_message(args.file)
            applied = args.apply
            if applied and applied.endswith(".json"):
                applied = _load_message(applied)
            _out(hashpath(msg, applied).encode())
    except (CliError, HyperbeamError) as e:
        print(f"hyperbeam-fast: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
