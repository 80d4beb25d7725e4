"""A process's results as pages, as the ao compute unit answers ``GET /results/<ProcID>``
(``servers/cu`` ``routes/results.js``, ``lib/gatherResults.js``; aoconnect's ``results``).

The node answers that path (node/pipeline.py) with process@1.0's ``cu-results``: the process is
computed to its current slot, and the slots whose timestamp and slot number lie after ``from``
(exclusive) and up to ``to`` (inclusive) are listed in ``sort`` order (``ASC``, default, or
``DESC``), ``limit`` (default 25) at a time:
``{pageInfo: {hasNextPage}, edges: [{cursor, node: {Messages, Assignments, Spawns, Output,
Error}}]}``. As in the CU, slots whose result has an ``Error`` are left out of a page (after the
limit is applied, so a page can be shorter), ``from``/``to`` are either an edge's ``cursor``
(base64 of ``{timestamp, ordinate, sort}``; its ``sort`` wins over the request's) or a
timestamp, and each node is the compute unit's JSON of that slot (``results/json``).
Assignment timestamps never decrease with the slot, so a range is a run of slots, found by
bisection: a page reads ``O(log n + limit)`` assignments and results.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from typing import Any

import orjson

from ..message import id as msg_id
from . import process_compute
from . import scheduler as sched

DEFAULT_LIMIT = 25
#: The most slots one page lists (the CU allows any number; each costs a read here).
MAX_LIMIT = 1000


def _text(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return "" if v is None else str(v)


def _query(request: dict[str, Any], key: str) -> str | None:
    v = request.get(key)
    if v is None or v is True:
        return None
    t = urllib.parse.unquote_plus(_text(v)).strip()
    return t or None


class _Bad(ValueError):
    pass


def _bound(raw: str | None, bare: int) -> tuple[tuple[int, int] | None, str | None]:
    """A ``from``/``to`` value: ``((timestamp, slot), the cursor's sort)``; a bare timestamp
    takes slot ``bare`` (the CU's evaluation IDs: ``from`` then includes that millisecond's
    slots, ``to`` too)."""
    if raw is None:
        return None, None
    try:  # a cursor: base64 JSON (the CU's maybeBase64Object)
        doc = orjson.loads(base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        doc = None
    if isinstance(doc, dict) and "timestamp" in doc:
        try:
            ts = int(doc["timestamp"])
            slot = int(doc["ordinate"]) if doc.get("ordinate") not in (None, "") else None
        except (TypeError, ValueError, OverflowError):
            raise _Bad(f"cursor {raw[:60]!r} has no numeric timestamp/ordinate") from None
        sort = doc.get("sort") if doc.get("sort") in ("ASC", "DESC") else None
        return (ts, slot if slot is not None else bare), sort
    try:  # else a timestamp
        return (int(raw), bare), None
    except ValueError:
        raise _Bad(f"{raw[:60]!r} is neither a cursor nor a timestamp") from None


def cursor(timestamp: int, slot: int, sort: str) -> str:
    """The CU's ``evaluationToCursor``: ``btoa(JSON.stringify({timestamp, ordinate, sort}))``
    (no ``cron``: these slots are not cron results)."""
    doc = {"timestamp": timestamp, "ordinate": str(slot), "sort": sort}
    return base64.b64encode(orjson.dumps(doc)).decode("ascii")


def _timestamp(srv: Any, slot: int) -> int:
    a = srv.read(slot)
    try:
        return int(_text(a.get("timestamp"))) if isinstance(a, dict) else 0
    except ValueError:
        return 0


def _first_after(srv: Any, cur: int, bound: tuple[int, int]) -> int:
    """The first slot in ``0..cur`` whose ``(timestamp, slot)`` is after ``bound``."""
    lo, hi = 0, cur + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if (_timestamp(srv, mid), mid) > bound:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _node(state: Any) -> dict[str, Any] | None:
    """The CU's output of a slot (``results/json``), None when it has an ``Error``."""
    res = state.get("results") if isinstance(state, dict) else None
    doc: Any = {}
    j = res.get("json") if isinstance(res, dict) else None
    body = j.get("body") if isinstance(j, dict) else j
    if isinstance(body, (bytes, bytearray, str)) and body:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = {}
    if not isinstance(doc, dict):
        doc = {}
    if isinstance(res, dict) and res.get("error") and "Error" not in doc:
        doc = {**doc, "Error": _text(res["error"])}
    if doc.get("Error") is not None:
        return None
    node = {
        "Messages": doc.get("Messages") or [],
        "Assignments": doc.get("Assignments") or [],
        "Spawns": doc.get("Spawns") or [],
    }
    if "Output" in doc:
        node["Output"] = doc["Output"]
    return node


def results_page(
    base: dict[str, Any], request: dict[str, Any], opts: dict[str, Any]
) -> tuple[str, Any]:
    """process@1.0 ``cu-results``: one page of the process's results (module docstring)."""
    try:
        sort = (_query(request, "sort") or "ASC").upper()
        if sort not in ("ASC", "DESC"):
            raise _Bad(f"sort must be ASC or DESC, not {sort[:20]!r}")
        raw_limit = _query(request, "limit")
        try:
            limit = DEFAULT_LIMIT if raw_limit is None else int(float(raw_limit))
        except (ValueError, OverflowError):
            raise _Bad(f"limit {(raw_limit or '')[:20]!r} is not a number") from None
        if limit < 1:
            raise _Bad("limit must be at least 1")
        limit = min(limit, MAX_LIMIT)
        lo_b, lo_sort = _bound(_query(request, "from"), -1)
        hi_b, hi_sort = _bound(_query(request, "to"), 1 << 62)
    except _Bad as e:
        return "error", {"status": 400, "body": str(e)}
    sort = lo_sort or hi_sort or sort  # a cursor's sort wins (gatherResults)
    d = process_compute.definition(base)
    pid = msg_id(d, "all")
    srv = sched.server(pid, opts)
    cur = srv.current
    if cur >= 0:
        status, _ = process_compute.compute_to(base, cur, opts)
        if status != "ok":
            return status, _
    first = 0 if lo_b is None else _first_after(srv, cur, lo_b)  # from: exclusive
    last = cur if hi_b is None else _first_after(srv, cur, hi_b) - 1  # to: inclusive
    slots = list(range(first, last + 1))
    if sort == "DESC":
        slots.reverse()
    taken = slots[: limit + 1]  # one more, to know whether another page exists
    edges = []
    for n in taken:
        status, state = process_compute.compute_to(base, n, opts)
        if status != "ok":
            return status, state
        node = _node(state)
        if node is not None:
            edges.append({"cursor": cursor(_timestamp(srv, n), n, sort), "node": node})
    body = {"pageInfo": {"hasNextPage": len(edges) > limit}, "edges": edges[:limit]}
    return "ok", {"status": 200, "content-type": "application/json", "body": orjson.dumps(body)}
