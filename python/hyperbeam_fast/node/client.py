"""Our HTTP client for AO-Core nodes (spec runtime §7.4): messages in, messages out.

``request("POST", "http://127.0.0.1:8734", {"path": "/~meta@1.0/info", "k": "v"}, wallet=w)``
encodes the message with httpsig@1.0 (signed by ``wallet`` when given) or ans104@1.0, sends it,
and decodes the reply into ``(status, value)`` where status is ``ok`` (< 400, ``created`` for 201),
``error`` (4xx) or ``failure`` (5xx); a reply with ``ao-result: K`` gives the value of key K.
A reply that carries a signature must verify (else SignatureError).
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from typing import Any

from ..commitments import commit
from ..exceptions import HyperbeamError
from ..message import convert
from ..wallet import Wallet
from .http import ans104, response_to_message


class ClientError(HyperbeamError):
    """The peer could not be reached, or answered something that is not HTTP."""


_local = threading.local()


def _conn(scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (scheme, netloc)
    c = pool.get(key)
    if c is None:
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        c = pool[key] = cls(netloc, timeout=timeout)
    c.timeout = timeout
    if c.sock is not None:  # a kept-alive connection: the new deadline applies to it too
        c.sock.settimeout(timeout)
    return c


def encode_request(
    msg: dict[str, Any], wallet: Wallet | None = None, codec: str = "httpsig@1.0"
) -> tuple[str, str, dict[str, bytes], bytes]:
    """A request message -> ``(method, path, headers, body)``."""
    msg = dict(msg)
    method = msg.pop("method", "GET")
    method = method.decode() if isinstance(method, bytes) else str(method)
    path = msg.get("path", "/")
    path = path.decode() if isinstance(path, bytes) else str(path)
    if codec == "ans104@1.0":
        mod = ans104()
        if mod is None:
            raise ClientError("ans104@1.0 is not available")
        if wallet is not None:
            msg = commit(msg, wallet, "ans104@1.0")
        body = mod.encode(msg)
        headers = {"codec-device": b"ans104@1.0", "content-type": b"application/ans104"}
        return method, path, headers, body
    if wallet is not None:
        msg = commit(msg, wallet, "httpsig@1.0")
    enc = convert(msg, "httpsig@1.0")
    body = enc.pop("body", b"")
    return method, path, enc, body


def raw(
    method: str,
    url: str,
    path: str = "/",
    headers: dict[str, Any] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP exchange over a kept-alive connection: ``(status, headers, body)``."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise ClientError(f"not an http(s) URL: {url!r}")
    prefix = u.path.rstrip("/")
    target = prefix + (path if path.startswith("/") else "/" + path)
    hdrs = {
        k: (v.decode("latin-1") if isinstance(v, bytes) else str(v))
        for k, v in (headers or {}).items()
    }
    for attempt in (0, 1):
        c = _conn(u.scheme, u.netloc, timeout)
        try:
            c.request(method, target, body=body or None, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, r.getheaders(), data
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            c.close()
            _local.pool.pop((u.scheme, u.netloc), None)
            if attempt:
                raise ClientError(f"{url}: connection closed by peer") from None
        except (OSError, http.client.HTTPException) as e:
            c.close()
            _local.pool.pop((u.scheme, u.netloc), None)
            raise ClientError(f"{url} unreachable: {e}") from None
    raise ClientError(f"{url}: no response")  # pragma: no cover


def request(
    method: str,
    url: str,
    msg: dict[str, Any] | None = None,
    *,
    wallet: Wallet | None = None,
    codec: str = "httpsig@1.0",
    accept_codec: str | None = None,
    timeout: float = 10.0,
) -> tuple[str, Any]:
    """Send ``msg`` (its ``path`` is the HyperPATH) to the node at ``url``; decode the reply."""
    m = dict(msg or {})
    m["method"] = method
    meth, path, headers, body = encode_request(m, wallet, codec)
    if accept_codec:
        headers["accept-codec"] = accept_codec.encode()
    status, rheaders, rbody = raw(meth, url, path, headers, body, timeout)
    return response_to_message(status, rheaders, rbody)


def get(url: str, path: str, **kw: Any) -> tuple[str, Any]:
    """``GET path`` on the node at ``url`` (see :func:`request`): ``(status, message)``."""
    return request("GET", url, {"path": path}, **kw)


def post(url: str, path: str, msg: dict[str, Any] | None = None, **kw: Any) -> tuple[str, Any]:
    """``POST msg`` to ``path`` on the node at ``url`` (:func:`request`): (status, message)."""
    return request("POST", url, {**(msg or {}), "path": path}, **kw)


__all__ = ["ClientError", "encode_request", "get", "post", "raw", "request"]
