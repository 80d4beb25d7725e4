"""Wallets: JWK key files, generation, addresses; no key material in reprs or errors (core §11)."""

from __future__ import annotations

import json
import os
import pickle
import stat

import hyperbeam_fast as hb
import pytest
from hyperbeam_fast import SignatureError, Wallet
from hyperbeam_fast.wallet import verify_signature

KEY1_ADDRESS = "vcaPe4JWnrSOCktDHBgXge-zWUb6JRkqbom5w9t7i-4"


@pytest.fixture(scope="module")
def key1_path(shared_dir):
    return shared_dir / "fixtures" / "hyperbeam" / "key-1.json"


@pytest.fixture(scope="module")
def key1(key1_path) -> Wallet:
    return Wallet.from_file(key1_path)


def test_loads_hyperbeam_key_file_with_its_address(key1, key1_path):
    assert key1.address == KEY1_ADDRESS
    jwk = json.loads(key1_path.read_text())
    assert hb.b64url_encode(key1.modulus) == jwk["n"]
    assert len(key1.modulus) == 512


def test_save_and_reload_is_identical_and_private(key1, tmp_path):
    path = tmp_path / "wallet.json"
    key1.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = Wallet.from_file(path)
    assert again.address == key1.address
    sig = again.sign(b"data")
    assert verify_signature(key1.modulus, b"data", sig)


def test_generate_rsa_4096_with_e_65537(tmp_path):
    w = Wallet.generate()
    assert len(w.modulus) == 512
    jwk = w.to_jwk()
    assert jwk["e"] == "AQAB" and jwk["kty"] == "RSA"
    assert len(w.address) == 43
    w.save(tmp_path / "k.json")
    assert Wallet.from_file(tmp_path / "k.json").address == w.address


def test_no_private_material_in_repr_str_or_pickle(key1):
    d = key1.to_jwk()["d"]
    for text in (repr(key1), str(key1), repr(key1._key)):
        assert d[:16] not in text and "d=" not in text
        assert KEY1_ADDRESS in text or "bits=4096" in text
    with pytest.raises(TypeError):
        pickle.dumps(key1)


def test_signatures_pss_sha512_and_sha256(key1):
    for digest in ("sha512", "sha256"):
        sig = key1.sign(b"payload", digest)
        assert len(sig) == 512
        assert verify_signature(key1.modulus, b"payload", sig, digest)
        other = "sha256" if digest == "sha512" else "sha512"
        assert not verify_signature(key1.modulus, b"payload", sig, other)
        assert not verify_signature(key1.modulus, b"payloaD", sig, digest)
        assert not verify_signature(key1.modulus, b"payload", sig[:-1], digest)


@pytest.mark.parametrize(
    ("jwk", "needle"),
    [
        ({"kty": "EC", "crv": "secp256k1"}, "only RSA"),
        ({"kty": "RSA", "e": "AQAB", "d": "AQAB"}, "'n'"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "'d'"),
        ({"kty": "RSA", "n": "!!!", "e": "AQAB", "d": "AQAB"}, "base64url"),
        ({"kty": "RSA", "n": 5, "e": "AQAB", "d": "AQAB"}, "base64url string"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}, "RSA"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_jwks_are_typed_errors_without_key_material(jwk, needle):
    with pytest.raises(SignatureError, match=needle) as err:
        Wallet.from_jwk(jwk)
    assert "AQAB" not in str(err.value)


def test_bad_key_files(tmp_path):
    with pytest.raises(SignatureError, match="cannot read"):
        Wallet.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SignatureError, match="not valid JSON"):
        Wallet.from_file(bad)


def test_verify_rejects_unusable_moduli():
    with pytest.raises(SignatureError):
        verify_signature(b"\x01\x02", b"x", b"\x00" * 512)


@pytest.mark.parametrize("salt", [0, 20, 32, 64, 190])
@pytest.mark.parametrize(("digest", "algo"), [("sha512", "SHA512"), ("sha256", "SHA256")])
def test_verify_accepts_any_pss_salt_length_from_an_independent_signer(salt, digest, algo):
    """HyperBEAM's rsa_pss accepts any salt length (spec core §11.3); signatures made by the
    `cryptography` package (OpenSSL) with several salt lengths verify under our native check,
    and a changed message does not."""
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = crypto.generate_private_key(public_exponent=65537, key_size=2048)
    n = key.public_key().public_numbers().n.to_bytes(256, "big")
    h = getattr(hashes, algo)()
    sig = key.sign(b"message", padding.PSS(mgf=padding.MGF1(h), salt_length=salt), h)
    assert verify_signature(n, b"message", sig, digest)
    assert not verify_signature(n, b"messagE", sig, digest)
