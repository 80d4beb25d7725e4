"""The node's logs: JSON lines (default) or text, with a per-request ID.

Every record carries ``ts``, ``level``, ``msg``, the ``request_id`` of the request it belongs to
(also sent as the reply's ``x-request-id`` header, see :mod:`.app`) and its own fields. One line
per request (``msg: "request"``): ``info`` for replies below 400, ``warning`` for 4xx and
``error`` for 5xx, the last two with the ``reason`` (the start of the reply body).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import os
import sys
import time
from typing import IO, Any

import orjson

from .config import LOG_FORMATS, LOG_LEVELS

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
#: The reason of the current request's error reply (set where the reply is written).
reason: contextvars.ContextVar[str] = contextvars.ContextVar("reason", default="")
_counter = itertools.count(1)
_PREFIX = os.urandom(3).hex()


def _new_run() -> None:
    """A forked process (a ``serve --workers`` worker) numbers its requests under its own
    prefix: request IDs stay unique across the workers of one node."""
    global _counter, _PREFIX
    _counter = itertools.count(1)
    _PREFIX = os.urandom(3).hex()


os.register_at_fork(after_in_child=_new_run)

LOGGER = logging.getLogger("hyperbeam_fast.node")

#: ``--log-format`` and ``--log-level`` values (node/config.py holds them).
FORMATS = LOG_FORMATS
LEVELS = LOG_LEVELS
#: Characters of a reply body kept as an error's ``reason``.
REASON_MAX = 300


def new_request_id() -> str:
    """A short ID unique within this process run (``<run prefix>-<counter>``)."""
    return f"{_PREFIX}-{next(_counter)}"


def level_of(name: str) -> int:
    """The ``logging`` level named ``name`` (one of :data:`LEVELS`); ValueError otherwise."""
    n = str(name).strip().lower()
    if n not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {name!r}")
    return int(getattr(logging, n.upper()))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rid = getattr(record, "request_id", None) or request_id.get()
    if rid != "-":
        out["request_id"] = rid
    fields = getattr(record, "fields", None)
    if fields:
        out.update(fields)
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, msg, request_id and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object (a traceback as ``error``)."""
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def text_line(ts: float, level: str, msg: str, fields: dict[str, Any]) -> str:
    """``2026-01-02T03:04:05.678Z WARNING msg key=value ...`` (values with spaces quoted)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
    parts = [stamp, level.upper(), msg]
    for k, v in fields.items():
        s = v if isinstance(v, str) else orjson.dumps(v, default=str).decode()
        if not s or any(c in ' "=' or c < " " or c == "\x7f" for c in s):
            s = orjson.dumps(s).decode()  # quoted, control characters escaped (no injection)
        parts.append(f"{k}={s}")
    return " ".join(parts)


class TextFormatter(logging.Formatter):
    """One human-readable line per record (:func:`text_line`), tracebacks below it."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one text line (a traceback on the lines below)."""
        line = text_line(record.created, record.levelname, record.getMessage(), _fields(record))
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


#: The handler :func:`setup` installed: per-request lines go straight to its stream, batched.
_HANDLER: logging.StreamHandler[IO[str]] | None = None
_FORMAT = "json"
_pending: list[bytes] = []


def setup(level: str = "info", stream: IO[str] | None = None, fmt: str = "json") -> logging.Logger:
    """Route the node's logs (and uvicorn's) to ``stream`` (stderr) at ``level`` and up, as
    JSON lines (``fmt="json"``) or text lines (``fmt="text"``)."""
    global _HANDLER, _FORMAT
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    lvl = level_of(level)
    handler: logging.StreamHandler[IO[str]] = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for name in ("hyperbeam_fast.node", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(lvl)
        lg.propagate = False
    _HANDLER = handler
    _FORMAT = fmt
    return LOGGER


def _flush_requests() -> None:
    handler = _HANDLER
    lines = b"".join(_pending)
    _pending.clear()
    if handler is None or not lines:
        return
    with handler.lock:  # type: ignore[union-attr]
        try:
            handler.stream.write(lines.decode())
            handler.flush()
        except (OSError, ValueError):
            pass  # a closed or full stderr must never fail a request


def request_line(
    rid: str, method: str, path: str, status: int, seconds: float, why: str = ""
) -> None:
    """The per-request log line (``msg: "request"``, the same fields as :func:`log`; ``why``,
    the reason of an error reply, as ``reason``) without the ``logging`` machinery: built
    directly and written once per event-loop iteration (every line written in that iteration
    in one ``write``), so logging stays cheap under load."""
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if not LOGGER.isEnabledFor(level):
        return
    ms = round(seconds * 1000, 3)
    fields: dict[str, Any] = {"method": method, "path": path, "status": status, "ms": ms}
    if level > logging.INFO:
        fields["reason"] = why
    if _HANDLER is None or _HANDLER not in LOGGER.handlers:
        log(level, "request", **fields)
        return
    name = logging.getLevelName(level).lower()
    ts = time.time()
    if _FORMAT == "text":
        line = (text_line(ts, name, "request", {"request_id": rid, **fields}) + "\n").encode()
    else:
        line = orjson.dumps(
            {"ts": round(ts, 3), "level": name, "msg": "request", "request_id": rid, **fields},
            option=orjson.OPT_APPEND_NEWLINE,
        )
    _pending.append(line)
    if len(_pending) == 1:
        try:
            asyncio.get_running_loop().call_soon(_flush_requests)
        except RuntimeError:  # no running loop: write now
            _flush_requests()


def log(level: int, msg: str, **fields: Any) -> None:
    """Log ``msg`` at ``level`` with ``fields`` (and the current request ID)."""
    if LOGGER.isEnabledFor(level):
        LOGGER.log(level, msg, extra={"fields": fields})


def banner(msg: str, **fields: Any) -> None:
    """Log ``msg`` with ``fields`` as an ``info`` record whatever the level (the start-up
    banner: the settings in force are always shown)."""
    rec = LOGGER.makeRecord(LOGGER.name, logging.INFO, "", 0, msg, (), None)
    rec.fields = fields
    LOGGER.handle(rec)


def now() -> float:
    """A monotonic clock for request durations (seconds)."""
    return time.perf_counter()
