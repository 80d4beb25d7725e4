"""Erlang map iteration order of binary keys, OTP 25 and OTP 27 (docs/map-order.md).

Maps of up to 32 keys are flatmaps: every primitive visits them in ascending byte order. Larger
maps are HAMTs: ``maps:fold``/``maps:iterator`` visit the keys in the trie's depth-first order F
(ascending by the hash read 4 bits at a time from its low end), and ``maps:to_list``/``keys``/
``values`` in reverse(F). OTP 25.2.3 hashes with Bob Jenkins' lookup2 (32 bits, rehashed with a
per-depth salt when two hashes tie); OTP 27 with a MurmurHash3-derived 64-bit hash (ties go to a
collision node in term order). A pure re-derivation of ``erl_map.c`` / ``utils.c`` /
``erl_term_hashing.c``; the Rust core has the fast one (``rust/hyperbeam-core/src/map_order.rs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

#: The modes: the OTP release whose order is modelled.
OTP25, OTP27 = "otp25", "otp27"
#: ``maps:to_list``/``keys``/``values`` (reverse(F)) and ``maps:fold``/iterators (F).
TO_LIST, FOLD = "to_list", "fold"
#: ``MAP_SMALL_MAP_LIMIT``: maps of more keys are HAMTs.
SMALL_MAP_LIMIT = 32

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF
_HCONST = 0x9E3779B9
_HCONST_13 = 0x08D12E65
_HCONST_22 = 0x98C475E6
_INTERNAL_HASH_SALT = 3432918353


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    """lookup2's ``MIX`` (utils.c), mod 2^32."""
    a = (a - b - c) & _M32
    a ^= c >> 13
    b = (b - c - a) & _M32
    b ^= (a << 8) & _M32
    c = (c - a - b) & _M32
    c ^= b >> 13
    a = (a - b - c) & _M32
    a ^= c >> 12
    b = (b - c - a) & _M32
    b ^= (a << 16) & _M32
    c = (c - a - b) & _M32
    c ^= b >> 5
    a = (a - b - c) & _M32
    a ^= c >> 3
    b = (b - c - a) & _M32
    b ^= (a << 10) & _M32
    c = (c - a - b) & _M32
    c ^= b >> 15
    return a, b, c


def _block_hash(k: bytes, initval: int) -> int:
    a = b = _HCONST
    c = initval
    n = len(k)
    i = 0
    while n - i >= 12:
        a = (a + int.from_bytes(k[i : i + 4], "little")) & _M32
        b = (b + int.from_bytes(k[i + 4 : i + 8], "little")) & _M32
        c = (c + int.from_bytes(k[i + 8 : i + 12], "little")) & _M32
        a, b, c = _mix(a, b, c)
        i += 12
    c = (c + n) & _M32
    tail = k[i:]
    a = (a + int.from_bytes(tail[0:4], "little")) & _M32
    b = (b + int.from_bytes(tail[4:8], "little")) & _M32
    c = (c + (int.from_bytes(tail[8:11], "little") << 8)) & _M32
    return _mix(a, b, c)[2]


def otp25_hash(key: bytes, depth: int = 0) -> int:
    """``make_map_hash(Key, Depth)`` of a binary on OTP <= 26 (32 bits)."""
    salt = 0
    if depth > 0:
        salt = _mix((_HCONST_22 + depth) & _M32, (_HCONST_22 + 1) & _M32, 0)[2]
    con = (_HCONST_13 + (salt ^ _INTERNAL_HASH_SALT)) & _M32
    return con if not key else _block_hash(key, con)


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _M64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _M64
    return k ^ (k >> 33)


_C1, _C2 = 0x87C37B91114253D5, 0x4CF5AD432745937F


def otp27_hash(key: bytes) -> int:
    """``erts_map_hash`` of a binary on 64-bit OTP 27 (``make_internal_hash``, 64 bits)."""
    st = {"alpha": 0, "beta": 0, "ticks": 0}

    def mix_alpha(x: int) -> None:
        x = _rotl((x * _C1) & _M64, 31) * _C2 & _M64
        a = _rotl(st["alpha"] ^ x, 27)
        st["alpha"] = ((a + st["beta"]) * 5 + 0x52DCE729) & _M64
        st["ticks"] += 1

    def mix_beta(x: int) -> None:
        x = _rotl((x * _C2) & _M64, 33) * _C1 & _M64
        b = _rotl(st["beta"] ^ x, 31)
        st["beta"] = ((b + st["alpha"]) * 5 + 0x38495AB5) & _M64
        st["ticks"] += 1

    mix_alpha(11)  # IHASH_TYPE_BINARY
    mix_beta(8 * len(key))
    n = len(key)
    i = 0
    while n - i >= 16:
        mix_alpha(int.from_bytes(key[i : i + 8], "little"))
        mix_beta(int.from_bytes(key[i + 8 : i + 16], "little"))
        i += 16
    tail = key[i:]
    alpha, beta, ticks = st["alpha"], st["beta"], st["ticks"]
    if len(tail) > 8:
        k2 = int.from_bytes(tail[8:], "little")
        beta ^= _rotl((k2 * _C2) & _M64, 33) * _C1 & _M64
    if tail:
        k1 = int.from_bytes(tail[:8], "little")
        alpha ^= _rotl((k1 * _C1) & _M64, 31) * _C2 & _M64
    alpha ^= ticks
    beta ^= ticks
    alpha = (alpha + beta) & _M64
    beta = (beta + alpha) & _M64
    alpha, beta = _fmix64(alpha), _fmix64(beta)
    alpha = (alpha + beta) & _M64
    beta = (beta + alpha) & _M64
    return alpha ^ beta


def _swizzle(h: int, nibbles: int) -> int:
    """The hash with its nibbles reversed: trie slots from the root down, as an integer."""
    out = 0
    for _ in range(nibbles):
        out = (out << 4) | (h & 0xF)
        h >>= 4
    return out


class _Otp25Key:
    """OTP 25.2.3's trie position: 8 levels per hash, then ``make_map_hash(K, 1)``, ... ."""

    __slots__ = ("key", "levels")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.levels = [_swizzle(otp25_hash(key, 0), 8)]

    def level(self, d: int) -> int:
        while len(self.levels) <= d:
            self.levels.append(_swizzle(otp25_hash(self.key, len(self.levels)), 8))
        return self.levels[d]

    def __lt__(self, other: _Otp25Key) -> bool:
        d = 0
        while self.key != other.key and d < 64:
            a, b = self.level(d), other.level(d)
            if a != b:
                return a < b
            d += 1
        return self.key < other.key


def fold_order(keys: Iterable[bytes], mode: str = OTP27) -> list[bytes]:
    """The keys of a map in ``maps:fold``/``maps:iterator`` order (F)."""
    ks = sorted(set(keys))
    if len(ks) <= SMALL_MAP_LIMIT:
        return ks
    if mode == OTP25:
        return sorted(ks, key=_Otp25Key)
    if mode != OTP27:
        raise ValueError(f"unknown map order {mode!r} (otp27 | otp25)")
    return sorted(ks, key=lambda k: (_swizzle(otp27_hash(k), 16), k))


def key_order(keys: Iterable[bytes], walk: str, mode: str = OTP27) -> list[bytes]:
    """The keys of a map in the order of ``walk`` (``TO_LIST`` or ``FOLD``)."""
    f = fold_order(keys, mode)
    if walk == TO_LIST and len(f) > SMALL_MAP_LIMIT:
        f.reverse()
    return f


def order_items(
    items: Iterable[T], key: Callable[[T], bytes], walk: str, mode: str = OTP27
) -> list[T]:
    """``items`` (one per distinct key) in the order ``walk`` visits their map."""
    by_key = {key(it): it for it in items}
    return [by_key[k] for k in key_order(by_key, walk, mode)]
