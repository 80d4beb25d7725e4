//! Hashpaths (spec core §5, runtime §2.11): `base/part`, compressed with `sha-256-chain` or
//! `accumulate-256` when the next message is applied.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};
use crate::ids::{accumulate, human_id, native_id, sha256_chain};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Sha256Chain,
    Accumulate256,
}

impl Alg {
    /// The `hashpath-alg` values HyperBEAM accepts.
    pub fn from_name(name: &[u8]) -> Result<Alg> {
        match name {
            b"sha-256-chain" => Ok(Alg::Sha256Chain),
            b"accumulate-256" => Ok(Alg::Accumulate256),
            other => Err(Error::HashPath(format!(
                "unknown hashpath-alg {:?} (expected sha-256-chain or accumulate-256)",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    pub fn apply(self, a: &[u8], b: &[u8]) -> Result<[u8; 32]> {
        match self {
            Alg::Sha256Chain => sha256_chain(a, b),
            Alg::Accumulate256 => accumulate(a, b),
        }
    }
}

/// Compress a prior hashpath to one human ID: a one-part hashpath is kept; a two-part one
/// `A/B` becomes `alg(native(A), native(B) if B is a 43-char ID else B)`.
pub fn compress(base: &[u8], alg: Alg) -> Result<Vec<u8>> {
    let mut parts = base.split(|c| *c == b'/').filter(|p| !p.is_empty());
    let (p1, p2) = (parts.next(), parts.next());
    if parts.next().is_some() {
        return Err(Error::HashPath("a hashpath has at most two parts".into()));
    }
    match (p1, p2) {
        (Some(p1), None) => Ok(p1.to_vec()),
        (Some(p1), Some(p2)) => {
            let a = native_id(p1)?;
            let h = if p2.len() == 43 {
                alg.apply(&a, &native_id(p2)?)?
            } else {
                alg.apply(&a, p2)?
            };
            human_id(&h)
        }
        _ => Err(Error::HashPath("empty hashpath".into())),
    }
}

/// `combine(base, part)`: the next two-part hashpath.
pub fn combine(base: &[u8], part: &[u8], alg: Alg) -> Result<Vec<u8>> {
    if part.is_empty() {
        return Err(Error::HashPath("empty hashpath part".into()));
    }
    let mut out = compress(base, alg)?;
    out.push(b'/');
    out.extend_from_slice(part);
    Ok(out)
}

/// `combine` for the common all-human case (`A/B` with 43-char `A` and `B`, 43-char part)
/// without heap allocation; returns `None` when the inputs are not of that shape.
pub fn combine_human(base: &[u8], part: &[u8], alg: Alg) -> Option<Result<[u8; 87]>> {
    if base.len() != 87 || base[43] != b'/' || part.len() != 43 {
        return None;
    }
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    let ok = URL_SAFE_NO_PAD.decode_slice(&base[..43], &mut a) == Ok(32)
        && URL_SAFE_NO_PAD.decode_slice(&base[44..], &mut b) == Ok(32);
    if !ok {
        return None;
    }
    Some(alg.apply(&a, &b).map(|h| {
        let mut out = [0u8; 87];
        let _ = URL_SAFE_NO_PAD.encode_slice(h, &mut out[..43]);
        out[43] = b'/';
        out[44..].copy_from_slice(part);
        out
    }))
}

/// Apply many parts in turn to a base hashpath; returns the final hashpath.
pub fn fold(base: &[u8], parts: &[&[u8]], alg: Alg) -> Result<Vec<u8>> {
    let mut hp = base.to_vec();
    for p in parts {
        hp = combine(&hp, p, alg)?;
    }
    Ok(hp)
}

/// Many independent `sha256_chain` steps over packed 32-byte IDs: `out[i] = chain(a[i], b[i])`.
pub fn chain_many(a: &[u8], b: &[u8], alg: Alg) -> Result<Vec<u8>> {
    if !a.len().is_multiple_of(32) || a.len() != b.len() {
        return Err(Error::HashPath(
            "batch inputs must be equal-length runs of 32-byte IDs".into(),
        ));
    }
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.chunks_exact(32).zip(b.chunks_exact(32)) {
        out.extend_from_slice(&alg.apply(x, y)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples() {
        // spec core §5.2
        let hp = b"N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s/Q53TsRwUt9odC2c2Mv0lnGrRX46FfpWHagpceiGpYB4";
        let out = combine(
            hp,
            b"P4K3fjm8dUprHwRLGTXBkwZ0wfuR4V8JkLj3UxN0Bhg",
            Alg::Sha256Chain,
        )
        .unwrap();
        assert!(out.starts_with(b"b1UMT_4zBC3UhzT18PUOGd-p5By4FQrCi9YzvAg9Shs/"));
        let out = combine(
            b"N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s/b",
            b"c",
            Alg::Sha256Chain,
        )
        .unwrap();
        assert_eq!(out, b"_RwvA5z1jX4Xz-A6GedVQBLqmbzhbEkWa6EgOgbuUmQ/c");
        assert!(combine(b"a/b/c", b"d", Alg::Sha256Chain).is_err());
        let part = b"P4K3fjm8dUprHwRLGTXBkwZ0wfuR4V8JkLj3UxN0Bhg";
        let fast = combine_human(hp, part, Alg::Sha256Chain).unwrap().unwrap();
        assert_eq!(fast.to_vec(), combine(hp, part, Alg::Sha256Chain).unwrap());
        assert!(combine_human(
            b"N0nIQ3Vna7YDxuRsaVTYeYS4glkmxD4HrUbZIwIvN_s/b",
            part,
            Alg::Sha256Chain
        )
        .is_none());
        assert!(Alg::from_name(b"md5").is_err());
    }
}
