"""The `hyperbeam-fast` command line: data-layer subcommands over a JSON message.

    hyperbeam-fast id [FILE] [--committers MODE]
    hyperbeam-fast convert --to CODEC [--from CODEC] [FILE]
    hyperbeam-fast hashpath [FILE] [--apply FILE_OR_KEY]
    hyperbeam-fast serve [--port N] [--key FILE] [--store DIR] [--config FILE] [--host ADDR]

FILE is a JSON object (default: stdin). JSON strings are binaries, numbers are integers or
floats, true/false/null are atoms, arrays are lists, objects are nested messages.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from .exceptions import HyperbeamError
from .hashpath import hashpath
from .message import CODECS, convert
from .message import id as message_id


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
    p = argparse.ArgumentParser(prog="hyperbeam-fast", description=__doc__.split("\n")[0])
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
    s.add_argument("--key", help="operator wallet JWK (else config, $HB_KEY, hyperbeam-key.json)")
    s.add_argument("--store", help="store: DIR (RocksDB, default cache-mainnet), fs:DIR, memory")
    s.add_argument("--config", help="config.flat file (else $HB_CONFIG, ./config.flat)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    return p


def _serve(args: argparse.Namespace) -> int:
    from .node import config, server

    overrides = {"port": args.port, "priv_key_location": args.key, "store": args.store}
    opts = config.load(overrides, args.config)
    server.serve(opts, host=args.host)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "serve":
            return _serve(args)
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
