"""RFC 9421 Appendix B through an independent implementation (PyPI ``http-message-signatures``)
driven by OUR primitives: it builds the signature bases, our RSA-PSS and HMAC sign and verify.
And the reverse: a signature our primitive makes verifies under the library's own OpenSSL-backed
(cryptography) algorithm. Keys and signatures are the RFC's published test material.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest

hms = pytest.importorskip("http_message_signatures", reason="http-message-signatures not installed")
from http_message_signatures import algorithms  # noqa: E402
from hyperbeam_fast import _native  # noqa: E402
from hyperbeam_fast.wallet import verify_signature  # noqa: E402

# RFC 9421 B.1.2 test-key-rsa-pss (public modulus) and B.1.5 test-shared-secret.
RSA_PSS_N = base64.urlsafe_b64decode(
    "r4tmm3r20Wd_PbqvP1s2-QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct-Lh1GH45x28Rw3Ry53mm-oAXjyQ86"
    "OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHqgDsznjPFmTOtCEcN2Z1FpWgchwuYLPL-Wok"
    "qltd11nqqzi-bJ9cvSKADYdUAAN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq"
    "4aOT9v6d-nb4bnNkQVklLQ3fVAvJm-xdDOp9LCNCN48V2pnDOkFV6-U9nV5oyc6XI2w=="
)
SHARED_SECRET = base64.b64decode(
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
)
DIGEST = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"  # noqa: E501


def test_request(**signature_headers: str) -> SimpleNamespace:
    headers = {
        "Host": "example.com",
        "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "Content-Type": "application/json",
        "Content-Digest": DIGEST,
        "Content-Length": "18",
        **signature_headers,
    }
    return SimpleNamespace(
        method="POST", url="https://example.com/foo?param=Value&Pet=dog", headers=headers
    )


test_request.__test__ = False  # a helper, not a test


class OurRsaPssSha512(hms.HTTPSignatureAlgorithm):
    """rsa-pss-sha512 on hyperbeam_fast's native RSA (OpenSSL through Rust)."""

    algorithm_id = "rsa-pss-sha512"

    def __init__(self, public_key=None, private_key=None):
        self.modulus, self.wallet = public_key, private_key

    def sign(self, message: bytes) -> bytes:
        return self.wallet.sign(message, "sha512")

    def verify(self, signature: bytes, message: bytes) -> None:
        if not verify_signature(self.modulus, message, signature, "sha512"):
            raise hms.InvalidSignature("hyperbeam_fast: RSA-PSS verification failed")


class OurHmacSha256(hms.HTTPSignatureAlgorithm):
    """hmac-sha256 on hyperbeam_fast's native HMAC."""

    algorithm_id = "hmac-sha256"

    def __init__(self, public_key=None, private_key=None):
        self.key = public_key or private_key

    def sign(self, message: bytes) -> bytes:
        return _native.hmac_sha256(self.key, message)

    def verify(self, signature: bytes, message: bytes) -> None:
        if _native.hmac_sha256(self.key, message) != signature:
            raise hms.InvalidSignature("hyperbeam_fast: HMAC mismatch")


class Keys(hms.HTTPSignatureKeyResolver):
    def __init__(self, public, private=None):
        self.public, self.private = public, private

    def resolve_public_key(self, key_id: str):
        return self.public

    def resolve_private_key(self, key_id: str):
        return self.private


B21 = (
    'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
    "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wg"
    "GxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWh"
    "zx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5Tmc"
    "AnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
    None,
)
B22 = (
    'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473'
    ';keyid="test-key-rsa-pss";tag="header-example"',
    "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJ"
    "yE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYh"
    "pTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBV"
    "kSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:",
    "header-example",
)
B23 = (
    'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" '
    '"content-length");created=1618884473;keyid="test-key-rsa-pss"',
    "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+q"
    "RpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh"
    "/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+Q"
    "IF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
    None,
)


@pytest.mark.parametrize("example", [B21, B22, B23], ids=["B.2.1", "B.2.2", "B.2.3"])
def test_rfc9421_rsa_pss_examples_verify_with_our_rsa(example):
    sig_input, sig, tag = example
    verifier = hms.HTTPMessageVerifier(
        signature_algorithm=OurRsaPssSha512, key_resolver=Keys(RSA_PSS_N)
    )
    msg = test_request(**{"Signature-Input": sig_input, "Signature": sig})
    results = verifier.verify(msg, max_age=None, expect_tag=tag)
    assert [r.label for r in results] == [sig_input.split("=", 1)[0]]


def test_tampered_rfc_example_fails_with_our_rsa():
    sig_input, sig, _ = B23
    verifier = hms.HTTPMessageVerifier(
        signature_algorithm=OurRsaPssSha512, key_resolver=Keys(RSA_PSS_N)
    )
    msg = test_request(**{"Signature-Input": sig_input, "Signature": sig})
    msg.headers["Content-Length"] = "19"
    with pytest.raises(hms.InvalidSignature):
        verifier.verify(msg, max_age=None)


def test_rfc9421_hmac_example_is_reproduced_byte_for_byte():
    """B.2.5: signing with our HMAC gives the RFC's exact signature."""
    import datetime

    signer = hms.HTTPMessageSigner(
        signature_algorithm=OurHmacSha256, key_resolver=Keys(None, SHARED_SECRET)
    )
    msg = test_request()
    signer.sign(
        msg,
        key_id="test-shared-secret",
        created=datetime.datetime.fromtimestamp(1618884473, datetime.UTC),
        label="sig-b25",
        include_alg=False,
        covered_component_ids=("date", "@authority", "content-type"),
        use_existing_digest=True,
    )
    assert msg.headers["Signature"] == "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"
    verifier = hms.HTTPMessageVerifier(
        signature_algorithm=OurHmacSha256, key_resolver=Keys(SHARED_SECRET)
    )
    assert verifier.verify(msg, max_age=None)


def test_our_rsa_signature_verifies_under_the_library_own_rsa(shared_dir):
    """Reverse direction: the library signs through our wallet, then verifies with its own
    cryptography-backed RSA_PSS_SHA512 (no hyperbeam_fast code involved in verifying)."""
    import datetime

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
    from hyperbeam_fast import Wallet

    wallet = Wallet.from_file(shared_dir / "fixtures" / "hyperbeam" / "key-1.json")
    signer = hms.HTTPMessageSigner(
        signature_algorithm=OurRsaPssSha512, key_resolver=Keys(None, wallet)
    )
    msg = test_request()
    signer.sign(
        msg,
        key_id="key-1",
        created=datetime.datetime.now(datetime.UTC),
        label="ours",
        covered_component_ids=("@method", "@authority", "content-digest"),
        use_existing_digest=True,
    )
    public = RSAPublicNumbers(65537, int.from_bytes(wallet.modulus, "big")).public_key()
    verifier = hms.HTTPMessageVerifier(
        signature_algorithm=algorithms.RSA_PSS_SHA512, key_resolver=Keys(public)
    )
    assert verifier.verify(msg)
    msg.headers["Date"] = "Wed, 21 Apr 2021 02:07:55 GMT"  # not covered: still verifies
    assert verifier.verify(msg)
    msg.url = "https://example.org/foo?param=Value&Pet=dog"  # @authority is covered: must fail
    with pytest.raises(hms.InvalidSignature):
        verifier.verify(msg)
