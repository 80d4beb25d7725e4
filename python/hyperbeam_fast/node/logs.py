"""Structured (JSON lines) logging with a per-request ID."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import os
import sys
import time
from typing import Any

import orjson

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_counter = itertools.count(1)
_PREFIX = os.urandom(3).hex()

LOGGER = logging.getLogger("hyperbeam_fast.node")


def new_request_id() -> str:
    """A short ID unique within this process run (``<run prefix>-<counter>``)."""
    return f"{_PREFIX}-{next(_counter)}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, msg, request_id and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid != "-":
            out["request_id"] = rid
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def setup(level: str = "info", stream: Any = None) -> logging.Logger:
    """Route the node's logs (and uvicorn's) as JSON lines to ``stream`` (stderr)."""
    global _HANDLER
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("hyperbeam_fast.node", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(getattr(logging, str(level).upper(), logging.INFO))
        lg.propagate = False
    _HANDLER = handler
    return LOGGER


#: The handler :func:`setup` installed: per-request lines go straight to its stream, batched.
_HANDLER: logging.StreamHandler | None = None
_pending: list[bytes] = []


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


def request_line(rid: str, method: str, path: str, status: int, seconds: float) -> None:
    """The per-request log line (``msg: "request"``, the same JSON fields as :func:`log`) without
    the ``logging`` machinery: built with orjson and written once per event-loop iteration
    (every line written in that iteration in one ``write``), so logging stays cheap under load."""
    if not LOGGER.isEnabledFor(logging.INFO):
        return
    if _HANDLER is None or _HANDLER not in LOGGER.handlers:
        ms = round(seconds * 1000, 3)
        log(logging.INFO, "request", method=method, path=path, status=status, ms=ms)
        return
    line = orjson.dumps(
        {
            "ts": round(time.time(), 3),
            "level": "info",
            "msg": "request",
            "request_id": rid,
            "method": method,
            "path": path,
            "status": status,
            "ms": round(seconds * 1000, 3),
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )
    _pending.append(line)
    if len(_pending) == 1:
        try:
            asyncio.get_running_loop().call_soon(_flush_requests)
        except RuntimeError:  # no running loop: write now
            _flush_requests()


def log(level: int, msg: str, **fields: Any) -> None:
    if LOGGER.isEnabledFor(level):
        LOGGER.log(level, msg, extra={"fields": fields})


def now() -> float:
    return time.perf_counter()
