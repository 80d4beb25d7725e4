"""Structured (JSON lines) logging with a per-request ID."""

from __future__ import annotations

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
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("hyperbeam_fast.node", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(getattr(logging, str(level).upper(), logging.INFO))
        lg.propagate = False
    return LOGGER


def log(level: int, msg: str, **fields: Any) -> None:
    if LOGGER.isEnabledFor(level):
        LOGGER.log(level, msg, extra={"fields": fields})


def now() -> float:
    return time.perf_counter()
