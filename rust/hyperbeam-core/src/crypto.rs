//! RSA-PSS signatures and keys (spec core §11), on OpenSSL: constant-time, and the fastest RSA
//! measured on this machine (see docs/crypto.md).
//! httpsig uses RSA-PSS-SHA512 with a 64-byte salt; ANS-104 uses RSA-PSS-SHA256 with 32.
//! Verification is OpenSSL's own PSS verifier and accepts any salt length, as HyperBEAM's
//! `rsa_pss` does.

use std::collections::HashMap;

use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};

use crate::error::{Error, Result};
use crate::ids::sha256;

/// The only public exponent HyperBEAM uses.
pub const E: u32 = 65537;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// httpsig@1.0: SHA-512, salt 64.
    Sha512,
    /// ans104@1.0: SHA-256, salt 32.
    Sha256,
}

impl Digest {
    fn md(self) -> MessageDigest {
        match self {
            Digest::Sha512 => MessageDigest::sha512(),
            Digest::Sha256 => MessageDigest::sha256(),
        }
    }
    fn salt(self) -> i32 {
        match self {
            Digest::Sha512 => 64,
            Digest::Sha256 => 32,
        }
    }
}

fn sig_err(what: &str) -> impl Fn(openssl::error::ErrorStack) -> Error + '_ {
    move |e| Error::Signature(format!("{what}: {e}"))
}

/// The parts of an RSA private key, each big-endian unsigned (a JWK's `n, d, p, q, dp, dq, qi`).
pub struct PrivateParts<'a> {
    pub n: &'a [u8],
    pub e: &'a [u8],
    pub d: &'a [u8],
    pub p: Option<&'a [u8]>,
    pub q: Option<&'a [u8]>,
    pub dp: Option<&'a [u8]>,
    pub dq: Option<&'a [u8]>,
    pub qi: Option<&'a [u8]>,
}

/// An RSA private key. Its `Debug` never shows key material.
#[derive(Clone)]
pub struct PrivateKey {
    key: PKey<Private>,
    n: Vec<u8>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey(bits={})", self.n.len() * 8)
    }
}

fn bn(b: &[u8]) -> Result<BigNum> {
    BigNum::from_slice(b).map_err(sig_err("bad key number"))
}

impl PrivateKey {
    /// Generate an RSA key with e = 65537 (`ar_wallet:new`, 4096 bits).
    pub fn generate(bits: u32) -> Result<PrivateKey> {
        let e = BigNum::from_u32(E).map_err(sig_err("exponent"))?;
        let rsa = Rsa::generate_with_e(bits, &e).map_err(sig_err("key generation"))?;
        Self::from_rsa(rsa)
    }

    pub fn from_parts(p: &PrivateParts<'_>) -> Result<PrivateKey> {
        if p.n.is_empty() || p.d.is_empty() || p.e.is_empty() {
            return Err(Error::Signature("an RSA key needs n, e and d".into()));
        }
        let rsa = match (p.p, p.q, p.dp, p.dq, p.qi) {
            (Some(pp), Some(q), Some(dp), Some(dq), Some(qi)) => Rsa::from_private_components(
                bn(p.n)?,
                bn(p.e)?,
                bn(p.d)?,
                bn(pp)?,
                bn(q)?,
                bn(dp)?,
                bn(dq)?,
                bn(qi)?,
            ),
            _ => Rsa::from_private_components(
                bn(p.n)?,
                bn(p.e)?,
                bn(p.d)?,
                BigNum::new().map_err(sig_err("bn"))?,
                BigNum::new().map_err(sig_err("bn"))?,
                BigNum::new().map_err(sig_err("bn"))?,
                BigNum::new().map_err(sig_err("bn"))?,
                BigNum::new().map_err(sig_err("bn"))?,
            ),
        }
        .map_err(sig_err("invalid RSA key"))?;
        if rsa.size() < 128 {
            return Err(Error::Signature("RSA modulus is too small".into()));
        }
        Self::from_rsa(rsa)
    }

    fn from_rsa(rsa: Rsa<Private>) -> Result<PrivateKey> {
        let n = rsa.n().to_vec();
        let key = PKey::from_rsa(rsa).map_err(sig_err("key"))?;
        Ok(PrivateKey { key, n })
    }

    /// The modulus, big-endian (the JWK `n`, the httpsig `keyid`, the ANS-104 owner).
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// sha256 of the modulus (spec core §11).
    pub fn address(&self) -> [u8; 32] {
        sha256(&self.n)
    }

    /// The private parts `(e, d, p, q, dp, dq, qi)`, for saving a key file.
    pub fn export(&self) -> Result<[Vec<u8>; 7]> {
        let rsa = self.key.rsa().map_err(sig_err("key"))?;
        let opt = |b: Option<&openssl::bn::BigNumRef>| b.map(|x| x.to_vec()).unwrap_or_default();
        Ok([
            rsa.e().to_vec(),
            rsa.d().to_vec(),
            opt(rsa.p()),
            opt(rsa.q()),
            opt(rsa.dmp1()),
            opt(rsa.dmq1()),
            opt(rsa.iqmp()),
        ])
    }

    /// RSASSA-PSS with MGF1 over the same digest and a salt of the digest length.
    pub fn sign(&self, digest: Digest, data: &[u8]) -> Result<Vec<u8>> {
        let mut s = Signer::new(digest.md(), &self.key).map_err(sig_err("sign"))?;
        s.set_rsa_padding(Padding::PKCS1_PSS)
            .map_err(sig_err("sign"))?;
        s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(digest.salt()))
            .map_err(sig_err("sign"))?;
        s.set_rsa_mgf1_md(digest.md()).map_err(sig_err("sign"))?;
        s.update(data).map_err(sig_err("sign"))?;
        s.sign_to_vec().map_err(sig_err("sign"))
    }
}

/// An RSA public key (modulus with e = 65537).
#[derive(Clone)]
pub struct PublicKey {
    key: PKey<Public>,
}

/// Recently used public keys: building one (and its Montgomery context) costs about as much as
/// a verification, and a node sees the same signers again and again.
static KEY_CACHE: std::sync::Mutex<Option<HashMap<Vec<u8>, PublicKey>>> =
    std::sync::Mutex::new(None);
const KEY_CACHE_SIZE: usize = 4096;

impl PublicKey {
    /// `from_modulus`, through a bounded cache of recently used keys.
    pub fn cached(n: &[u8]) -> Result<PublicKey> {
        if let Ok(mut guard) = KEY_CACHE.lock() {
            let map = guard.get_or_insert_with(HashMap::new);
            if let Some(k) = map.get(n) {
                return Ok(k.clone());
            }
            let k = PublicKey::from_modulus(n)?;
            if map.len() >= KEY_CACHE_SIZE {
                map.clear();
            }
            map.insert(n.to_vec(), k.clone());
            return Ok(k);
        }
        PublicKey::from_modulus(n)
    }

    pub fn from_modulus(n: &[u8]) -> Result<PublicKey> {
        if n.len() < 128 || n.len() > 2048 {
            return Err(Error::Signature(format!(
                "an RSA modulus of {} bytes is not usable",
                n.len()
            )));
        }
        let e = BigNum::from_u32(E).map_err(sig_err("exponent"))?;
        let rsa = Rsa::from_public_components(bn(n)?, e).map_err(sig_err("public key"))?;
        let key = PKey::from_rsa(rsa).map_err(sig_err("public key"))?;
        Ok(PublicKey { key })
    }

    /// True when `sig` is a valid RSASSA-PSS signature of `data` under OpenSSL's verifier:
    /// MGF1 over the same digest, any salt length (`RSA_PSS_SALTLEN_AUTO`, as HyperBEAM's
    /// `rsa_pss` accepts). Any failure, malformed input included, is `false`.
    pub fn verify(&self, digest: Digest, data: &[u8], sig: &[u8]) -> bool {
        if sig.len() != self.key.size() {
            return false;
        }
        let run = || -> std::result::Result<bool, openssl::error::ErrorStack> {
            let mut v = Verifier::new(digest.md(), &self.key)?;
            v.set_rsa_padding(Padding::PKCS1_PSS)?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(-2))?; // RSA_PSS_SALTLEN_AUTO
            v.set_rsa_mgf1_md(digest.md())?;
            v.verify_oneshot(sig, data)
        };
        run().unwrap_or(false)
    }
}

/// HMAC-SHA256 with any key (RFC 2104).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return [0; 32]; // unreachable: HMAC accepts keys of any length
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RSA-PSS with MGF1 over `digest` and an explicit salt length (what other signers use).
    fn sign_salt(k: &PrivateKey, digest: Digest, salt: i32, data: &[u8]) -> Vec<u8> {
        let mut s = Signer::new(digest.md(), &k.key).unwrap();
        s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt)).unwrap();
        s.set_rsa_mgf1_md(digest.md()).unwrap();
        s.update(data).unwrap();
        s.sign_to_vec().unwrap()
    }

    #[test]
    fn good_signatures_verify_and_tampered_ones_do_not() {
        let k = PrivateKey::generate(2048).unwrap();
        let p = PublicKey::from_modulus(k.modulus()).unwrap();
        for d in [Digest::Sha512, Digest::Sha256] {
            let sig = k.sign(d, b"hello").unwrap();
            assert!(p.verify(d, b"hello", &sig));
            assert!(!p.verify(d, b"hellO", &sig));
            let other = if d == Digest::Sha512 {
                Digest::Sha256
            } else {
                Digest::Sha512
            };
            assert!(!p.verify(other, b"hello", &sig));
            for i in [0usize, 1, 100, 255] {
                let mut t = sig.clone();
                t[i] ^= 0x80;
                assert!(!p.verify(d, b"hello", &t));
            }
        }
        assert!(format!("{k:?}").starts_with("PrivateKey(bits="));
    }

    #[test]
    fn any_salt_length_is_accepted() {
        let k = PrivateKey::generate(2048).unwrap();
        let p = PublicKey::from_modulus(k.modulus()).unwrap();
        for d in [Digest::Sha512, Digest::Sha256] {
            // 256-byte modulus: the largest salt is 256 - hLen - 2.
            let max = 256 - if d == Digest::Sha512 { 64 } else { 32 } - 2;
            for salt in [0, 1, 20, 32, 64, max] {
                let sig = sign_salt(&k, d, salt, b"salted");
                assert!(p.verify(d, b"salted", &sig), "salt {salt}");
                assert!(!p.verify(d, b"salteD", &sig), "salt {salt}");
            }
        }
        // A modulus whose bit length is 1 mod 8 (the encoded message is one byte shorter).
        let odd = PrivateKey::generate(1025).unwrap();
        let po = PublicKey::from_modulus(odd.modulus()).unwrap();
        let sig = odd.sign(Digest::Sha256, b"odd").unwrap();
        assert!(po.verify(Digest::Sha256, b"odd", &sig));
        assert!(!po.verify(Digest::Sha256, b"odD", &sig));
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let k = PrivateKey::generate(2048).unwrap();
        let p = PublicKey::from_modulus(k.modulus()).unwrap();
        let sig = k.sign(Digest::Sha512, b"x").unwrap();
        let mut long = sig.clone();
        long.push(0);
        let mut lead = vec![0u8];
        lead.extend_from_slice(&sig[1..]);
        let n = k.modulus().to_vec();
        for bad in [
            vec![],
            vec![0u8],
            sig[1..].to_vec(),
            long,
            lead,
            vec![0u8; sig.len()],
            vec![1u8; sig.len()],
            vec![0xffu8; sig.len()], // larger than the modulus
            n.clone(),               // equal to the modulus
            vec![0xaau8; 10_000],
        ] {
            for d in [Digest::Sha512, Digest::Sha256] {
                assert!(!p.verify(d, b"x", &bad));
            }
        }
        assert!(PublicKey::from_modulus(&[1, 2, 3]).is_err());
        assert!(PublicKey::from_modulus(&vec![7u8; 4096]).is_err());
        // Moduli that are no RSA modulus at all: building or verifying never panics.
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        let mut tiny = vec![0u8; 255];
        tiny.push(3);
        for m in [vec![0u8; 256], vec![0xffu8; 256], even, tiny] {
            if let Ok(q) = PublicKey::from_modulus(&m) {
                for s in [&sig[..], &vec![0u8; 256][..], &vec![2u8; 256][..], &[][..]] {
                    assert!(!q.verify(Digest::Sha512, b"x", s));
                }
            }
        }
    }
}
