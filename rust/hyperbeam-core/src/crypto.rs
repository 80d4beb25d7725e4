//! RSA-PSS signatures and keys (spec core §11), on OpenSSL: constant-time, and the fastest RSA
//! measured on this machine (see docs/crypto.md).
//! httpsig uses RSA-PSS-SHA512 with a 64-byte salt; ANS-104 uses RSA-PSS-SHA256 with 32.
//! Verification accepts any salt length, as HyperBEAM's `rsa_pss` does.

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
    rsa: Rsa<Public>,
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
        let key = PKey::from_rsa(rsa.clone()).map_err(sig_err("public key"))?;
        Ok(PublicKey { key, rsa })
    }

    /// True when `sig` is a valid RSASSA-PSS signature of `data` (any salt length).
    /// The RSA operation is OpenSSL's; the EMSA-PSS check (RFC 8017 §9.1.2) runs here, which
    /// skips OpenSSL 3's per-call context and algorithm fetch (a tenth of a verification).
    pub fn verify(&self, digest: Digest, data: &[u8], sig: &[u8]) -> bool {
        let k = self.rsa.size() as usize;
        if sig.len() != k {
            return false;
        }
        let mut em = vec![0u8; k];
        match self.rsa.public_decrypt(sig, &mut em, Padding::NONE) {
            Ok(n) if n == k => emsa_pss_verify(digest, data, &em, self.rsa.n().num_bits()),
            _ => false,
        }
    }

    /// The same check entirely through OpenSSL's EVP interface (kept to cross-check in tests).
    pub fn verify_evp(&self, digest: Digest, data: &[u8], sig: &[u8]) -> bool {
        let run = || -> std::result::Result<bool, openssl::error::ErrorStack> {
            let mut v = Verifier::new(digest.md(), &self.key)?;
            v.set_rsa_padding(Padding::PKCS1_PSS)?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(-2))?; // RSA_PSS_SALTLEN_AUTO
            v.set_rsa_mgf1_md(digest.md())?;
            v.update(data)?;
            v.verify(sig)
        };
        run().unwrap_or(false)
    }
}

fn hash(digest: Digest, parts: &[&[u8]]) -> Vec<u8> {
    use sha2::Digest as _;
    match digest {
        Digest::Sha512 => {
            let mut h = sha2::Sha512::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        Digest::Sha256 => {
            let mut h = sha2::Sha256::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
    }
}

/// EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with MGF1 over the same digest and any salt length, on
/// the encoded message `em` (the raw RSA public operation's output, `k` bytes).
fn emsa_pss_verify(digest: Digest, data: &[u8], em: &[u8], mod_bits: i32) -> bool {
    let h_len = match digest {
        Digest::Sha512 => 64,
        Digest::Sha256 => 32,
    };
    let em_bits = match usize::try_from(mod_bits - 1) {
        Ok(b) if b > 0 => b,
        _ => return false,
    };
    let em_len = em_bits.div_ceil(8);
    // The raw output has k bytes; any leading bytes beyond emLen must be zero.
    let Some(lead) = em.len().checked_sub(em_len) else {
        return false;
    };
    if em[..lead].iter().any(|b| *b != 0) {
        return false;
    }
    let em = &em[lead..];
    if em_len < h_len + 2 || em[em_len - 1] != 0xbc {
        return false;
    }
    let db_len = em_len - h_len - 1;
    let (masked_db, rest) = em.split_at(db_len);
    let h = &rest[..h_len];
    let top_bits = 8 * em_len - em_bits; // bits of the first byte that must be zero
    let top_mask = if top_bits >= 8 { 0 } else { 0xffu8 >> top_bits };
    if masked_db[0] & !top_mask != 0 {
        return false;
    }
    // DB = maskedDB xor MGF1(H, dbLen)
    let mut db = masked_db.to_vec();
    let mut counter = 0u32;
    let mut off = 0;
    while off < db_len {
        let block = hash(digest, &[h, &counter.to_be_bytes()]);
        for (d, m) in db[off..].iter_mut().zip(block.iter()) {
            *d ^= m;
        }
        off += block.len();
        counter += 1;
    }
    db[0] &= top_mask;
    let Some(one) = db.iter().position(|b| *b != 0) else {
        return false;
    };
    if db[one] != 0x01 {
        return false;
    }
    let salt = &db[one + 1..];
    let m_hash = hash(digest, &[data]);
    hash(digest, &[&[0u8; 8], &m_hash, salt]) == h
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

    #[test]
    fn sign_verify_and_tamper() {
        let k = PrivateKey::generate(2048).unwrap();
        let p = PublicKey::from_modulus(k.modulus()).unwrap();
        for d in [Digest::Sha512, Digest::Sha256] {
            let sig = k.sign(d, b"hello").unwrap();
            assert!(p.verify(d, b"hello", &sig));
            assert!(!p.verify(d, b"hellO", &sig));
            let mut bad = sig.clone();
            bad[10] ^= 1;
            assert!(!p.verify(d, b"hello", &bad));
            assert!(!p.verify(d, b"hello", &sig[1..]));
            // The native EMSA-PSS check agrees with OpenSSL's EVP verifier.
            assert!(p.verify_evp(d, b"hello", &sig));
            for i in [0usize, 1, 100, 255] {
                let mut t = sig.clone();
                t[i] ^= 0x80;
                assert_eq!(p.verify(d, b"hello", &t), p.verify_evp(d, b"hello", &t));
            }
            assert!(!p.verify(d, b"hello", &vec![0u8; sig.len()]));
            assert!(!p.verify(d, b"hello", &vec![0xffu8; sig.len()]));
        }
        assert!(format!("{k:?}").starts_with("PrivateKey(bits="));
        // A modulus whose bit length is 1 mod 8: the raw output has a leading zero byte.
        let odd = PrivateKey::generate(1025).unwrap();
        let po = PublicKey::from_modulus(odd.modulus()).unwrap();
        let sig = odd.sign(Digest::Sha256, b"odd").unwrap();
        assert!(
            po.verify(Digest::Sha256, b"odd", &sig) && po.verify_evp(Digest::Sha256, b"odd", &sig)
        );
        assert!(!po.verify(Digest::Sha256, b"odD", &sig));
        assert!(PublicKey::from_modulus(&[1, 2, 3]).is_err());
    }
}
