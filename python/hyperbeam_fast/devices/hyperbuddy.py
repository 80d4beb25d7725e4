"""``hyperbuddy@1.0``: the node's web console (HyperBEAM ``dev_hyperbuddy``; ours is written
from scratch, docs/node.md "Web console").

``GET /~hyperbuddy@1.0/<name>`` serves one of the files in :data:`ROUTES` from the package's
``console/`` folder, with the content type its suffix gives; ``index`` is the page. Only the
names listed are served: a key is looked up in the table, never joined to a path, so no request
reaches another file (``../``, absolute paths, encoded slashes are all just unknown keys -> 404).
The files are read once and kept.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

#: Key -> file in ``hyperbeam_fast/console/``.
ROUTES = {
    "index": "index.html",
    "index.html": "index.html",
    "console.js": "console.js",
    "console.css": "console.css",
}
#: Content type per file suffix (fixed: never taken from the request).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_files: dict[str, bytes] = {}
_files_lock = threading.Lock()


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def file_bytes(name: str) -> bytes:
    """The bytes of console file ``name`` (a value of :data:`ROUTES`), read once."""
    data = _files.get(name)
    if data is None:
        with _files_lock:
            data = resources.files("hyperbeam_fast").joinpath("console", name).read_bytes()
            _files[name] = data
    return data


def serve(key: str, base: Any = None, req: Any = None, opts: Any = None) -> tuple[str, Any]:
    """The console file for ``key`` as a message (``body`` and ``content-type``); 404 for a key
    that is not in :data:`ROUTES` (reached only by a direct call: the device's exports are the
    names in the table)."""
    name = ROUTES.get(_text(key))
    if name is None:
        return "error", {"status": 404, "body": f"hyperbuddy@1.0 serves no file {_text(key)!r}."}
    suffix = name[name.rfind(".") :]
    return "ok", {"body": file_bytes(name), "content-type": CONTENT_TYPES[suffix]}


class _Named(dict[str, Any]):
    name = "hyperbuddy@1.0"


#: The file keys go to :func:`serve`; any other (``set``, ``keys``, an unknown name) falls back
#: to message@1.0 as in ``dev_hyperbuddy``, so an unknown name is a 404 ``not_found``.
DEVICE = _Named({"info": {"handler": serve, "exports": list(ROUTES)}})

__all__ = ["CONTENT_TYPES", "DEVICE", "ROUTES", "file_bytes", "serve"]
