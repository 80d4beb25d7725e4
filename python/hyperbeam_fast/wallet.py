"""Wallets: HyperBEAM/Arweave JWK key files, RSA-4096 keys, addresses (spec core §11)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from . import _native
from .exceptions import SignatureError

_PRIVATE_FIELDS = ("d", "p", "q", "dp", "dq", "qi")


def _num(jwk: dict[str, Any], name: str, required: bool = True) -> bytes | None:
    v = jwk.get(name)
    if v is None:
        if required:
            raise SignatureError(f"key file is missing the field {name!r}")
        return None
    if not isinstance(v, str):
        raise SignatureError(f"key field {name!r} must be a base64url string")
    try:
        return _native.b64url_decode(v)
    except Exception:
        raise SignatureError(f"key field {name!r} is not valid base64url") from None


def _need(jwk: dict[str, Any], name: str) -> bytes:
    v = _num(jwk, name)
    if v is None:  # _num raises for a missing required field; this is for the type checker
        raise SignatureError(f"key file is missing the field {name!r}")
    return v


class Wallet:
    """An RSA wallet. Its repr, str and errors never include private key material."""

    __slots__ = ("_key",)

    def __init__(self, key: _native.RsaPrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls, bits: int = 4096) -> Wallet:
        """A new RSA key with e = 65537 (``ar_wallet:new``)."""
        return cls(_native.RsaPrivateKey.generate(bits))

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> Wallet:
        """From a JWK dict (``kty: RSA``; ``n``, ``e``, ``d`` and optionally the CRT parts)."""
        if not isinstance(jwk, dict):
            raise SignatureError("a JWK must be a JSON object")
        if jwk.get("kty") != "RSA":
            raise SignatureError(f"only RSA keys can sign (kty={jwk.get('kty')!r})")
        n, e, d = _need(jwk, "n"), _need(jwk, "e"), _need(jwk, "d")
        crt = [_num(jwk, f, required=False) for f in ("p", "q", "dp", "dq", "qi")]
        return cls(_native.RsaPrivateKey(n, e, d, *crt))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Wallet:
        """Load a HyperBEAM/Arweave JWK key file."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise SignatureError(f"cannot read key file {os.fspath(path)}: {e.strerror}") from None
        try:
            jwk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise SignatureError(f"key file {os.fspath(path)} is not valid JSON") from None
        return cls.from_jwk(jwk)

    def to_jwk(self) -> dict[str, Any]:
        """The JWK form (private): ``kty, ext, e, n, d, p, q, dp, dq, qi``."""
        e, *priv = self._key.export_private()
        jwk: dict[str, Any] = {"kty": "RSA", "ext": True, "e": _native.b64url_encode(e)}
        jwk["n"] = _native.b64url_encode(self._key.modulus)
        for name, value in zip(_PRIVATE_FIELDS, priv, strict=True):
            jwk[name] = _native.b64url_encode(value)
        return jwk

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the key file with mode 0600 (created that way, never world-readable)."""
        data = orjson.dumps(self.to_jwk())
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.chmod(path, 0o600)

    @property
    def modulus(self) -> bytes:
        """The public modulus ``n`` (512 bytes for RSA-4096)."""
        return self._key.modulus

    @property
    def address(self) -> str:
        """``b64url(sha256(n))``, 43 characters."""
        return _native.human_id(self._key.address)

    @property
    def native_address(self) -> bytes:
        """The wallet's address as 32 raw bytes (SHA-256 of the modulus)."""
        return self._key.address

    def sign(self, data: bytes, digest: str = "sha512") -> bytes:
        """RSA-PSS: ``sha512`` (salt 64, httpsig@1.0) or ``sha256`` (salt 32, ans104@1.0)."""
        return self._key.sign(digest, data)

    def __repr__(self) -> str:
        return f"Wallet(address={self.address!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("wallets are not picklable (they hold private key material)")


def verify_signature(modulus: bytes, data: bytes, signature: bytes, digest: str = "sha512") -> bool:
    """RSA-PSS verification under ``modulus`` (e = 65537); any salt length is accepted."""
    return _native.rsa_verify(modulus, digest, data, signature)
