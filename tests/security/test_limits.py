"""Issue 11, items 9 (HTTP and codec) and 10: resource exhaustion over HTTP and replies that
were never sent, each against a real node. Deadlines are generous: they tell a hang or a
lockout from an answer, they do not time anything."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from attack_payloads import multipart
from conftest import start_node
from hyperbeam_fast.node.http import response_to_message
from node_util import NodeProc

INFO = "/~meta@1.0/info"


def _get(node: NodeProc, path: str = INFO, timeout: float = 10) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def _post(node: NodeProc, path: str, headers: dict, body: bytes, timeout: float) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@contextmanager
def _sockets(node: NodeProc, n: int, first: bytes = b"") -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
            if first:
                s.sendall(first)
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


# --- item 9: sockets ----------------------------------------------------------------------------


def test_1100_idle_sockets_do_not_lock_others_out(node: NodeProc) -> None:
    with _sockets(node, 1100):
        assert _get(node) == 200


def test_1100_slowloris_sockets_do_not_lock_others_out(node: NodeProc) -> None:
    stop = threading.Event()
    with _sockets(node, 1100, b"GET /~meta@1.0/info HTTP/1.1\r\nHost: x\r\nX-Slow: ") as socks:

        def dribble() -> None:
            while not stop.is_set():
                for s in socks:
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
                stop.wait(0.5)

        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        try:
            time.sleep(1)
            assert _get(node) == 200
        finally:
            stop.set()
            t.join()


def test_head_deadline_runs_from_accept(tmp_path: Path, key1_path: Path) -> None:
    n = start_node(tmp_path / "node", key1_path, "header_timeout: 1\n")
    try:
        with _sockets(n, 3) as (silent, dribbler, kept):
            dribbler.sendall(b"GET / HTTP/1.1\r\n")
            # a kept-alive connection: one full request, then the next head never completes
            kept.sendall(b"GET /~meta@1.0/info HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n")
            kept.settimeout(10)
            got = b""
            while chunk := kept.recv(65536):  # the reply, then a 408 and the close
                got += chunk
            assert got.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in got
            for s in (silent, dribbler):
                s.settimeout(10)
                got = s.recv(4096)  # a 408, then the close; never an open socket held forever
                assert got == b"" or got.startswith(b"HTTP/1.1 408"), got
    finally:
        n.stop()


# --- item 9: payloads ---------------------------------------------------------------------------


def _key_parts(n: int) -> list[bytes]:
    return [b'content-disposition: form-data;name="k%d"\r\n\r\nv' % i for i in range(n)]


def _still_serving(node: NodeProc, attack) -> tuple:  # noqa: ANN001
    """Run ``attack()`` in a thread; the node must answer GET info meanwhile."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(attack()), daemon=True)
    t.start()
    time.sleep(0.3)
    assert _get(node) == 200
    t.join(60)
    assert out, "the attack request got no answer"
    return out[0]


def test_100k_part_multipart_is_refused_quickly(node: NodeProc) -> None:
    hdrs, body = multipart(_key_parts(100_000))
    st, text = _still_serving(node, lambda: _post(node, "/~message@1.0/k1", hdrs, body, 30))
    assert st == 413 and b"max_message_keys" in text


def test_100k_part_multipart_resolves_in_linear_time(tmp_path: Path, key1_path: Path) -> None:
    n = start_node(tmp_path / "node", key1_path, "max_message_keys: 200000\n")
    try:
        hdrs, body = multipart(_key_parts(100_000))
        st, text = _still_serving(n, lambda: _post(n, "/~message@1.0/k99999", hdrs, body, 30))
        assert (st, text) == (200, b"v")
    finally:
        n.stop()


def test_huge_ao_types_dictionary_answers(node: NodeProc) -> None:
    """250k ``ao-types`` members (5 MB) in a part: structured-field dictionaries parse in
    linear time (RFC 8941 duplicates still replace in place)."""
    types = b", ".join(b'k%d="integer"' % i for i in range(250_000)) + b', k7="atom"'
    part = b'content-disposition: form-data;name="x"\r\nao-types: ' + types + b"\r\nk7: ok"
    hdrs, body = multipart([part])
    st, text = _still_serving(node, lambda: _post(node, "/~message@1.0/x/k7", hdrs, body, 20))
    assert st == 200 and text.strip(b'"') == b"ok"  # the last k7 type (atom) wins


# --- item 10: replies that cannot be headers ------------------------------------------------------


def _raw_get(node: NodeProc, target: str) -> tuple[int, list, bytes]:
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 "), f"no status line for {target}: {data!r}"
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    # field values lose their leading and trailing whitespace, as in every client (RFC 9110 §5.5)
    hdrs = [
        (k, v.strip(" \t")) for k, _, v in (x.decode("latin-1").partition(":") for x in lines[1:])
    ]
    return int(lines[0].split()[1]), hdrs, body


@pytest.mark.parametrize(
    ("query", "key", "value"),
    [
        ("a=%1b", "a", b"\x1b"),  # an escape byte
        ("a=%1b%5b32mgreen%1b%5b0m", "a", b"\x1b[32mgreen\x1b[0m"),  # AOS colour codes
        ("a%20b=1", "a b", b"1"),  # a space in a key
        ("a%3Ab=1", "a:b", b"1"),  # a colon in a key
        ("a=x%07%7fy", "a", b"x\x07\x7fy"),  # control bytes
        ("a=%20x%20", "a", b" x "),  # edge whitespace that a header would lose
        ("content-type=text&a=%1b", "content-type", b"text"),  # the own content-type kept
    ],
)
def test_reply_with_non_header_values_is_sent_intact(
    node: NodeProc, query: str, key: str, value: bytes
) -> None:
    status, hdrs, body = _raw_get(node, f"/~message@1.0&{query}&x=1")
    assert status == 200
    st, msg = response_to_message(status, hdrs, body)
    assert st == "ok" and msg[key] == value and msg["x"] == b"1"


# --- the admission rule itself (no sockets) ----------------------------------------------


class _Conn:
    def __init__(self) -> None:
        self.evicted = False

    def evict(self) -> None:
        self.evicted = True


def test_guard_evicts_oldest_incomplete_then_idle_never_busy() -> None:
    from hyperbeam_fast.node.guard import ConnectionGuard

    g = ConnectionGuard(max_total=3, max_per_ip=2)
    a, b, c, d, e = (_Conn() for _ in range(5))
    assert g.admit(a, "1.1.1.1") and g.admit(b, "2.2.2.2") and g.admit(c, "3.3.3.3")
    g.busy(a)
    g.busy(b)
    g.done(b)  # b: idle keep-alive; c: never sent a request; a: running
    assert g.admit(d, "4.4.4.4") and c.evicted and not b.evicted  # incomplete goes first
    g.busy(d)
    assert g.admit(e, "5.5.5.5") and b.evicted and not a.evicted  # then idle; busy never
    g.busy(e)
    assert not g.admit(_Conn(), "6.6.6.6")  # everything running: refused (503), none evicted
    assert not (a.evicted or d.evicted or e.evicted)


def test_guard_per_address_cap_evicts_only_that_address() -> None:
    from hyperbeam_fast.node.guard import ConnectionGuard

    g = ConnectionGuard(max_total=100, max_per_ip=2)
    other, mine1, mine2, mine3 = (_Conn() for _ in range(4))
    assert g.admit(other, "9.9.9.9") and g.admit(mine1, "1.1.1.1") and g.admit(mine2, "1.1.1.1")
    assert g.admit(mine3, "1.1.1.1") and mine1.evicted and not other.evicted
    g.lost(mine1)  # its connection_lost later: counted once
    assert g.per_ip == {"9.9.9.9": 1, "1.1.1.1": 2}
