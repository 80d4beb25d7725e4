//! Base64url, ID forms and hash primitives (spec core §1.1-§1.3).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Unpadded base64url (`hb_util:encode`).
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Unpadded base64url of a 32-byte hash (an ID's 43 characters), without allocating.
pub fn b64url_32(data: &[u8; 32]) -> [u8; 43] {
    let mut out = [0u8; 43];
    // 32 bytes always encode to exactly 43 characters.
    let _ = URL_SAFE_NO_PAD.encode_slice(data, &mut out);
    out
}

/// Padded standard base64 of a 32-byte hash (44 characters), without allocating.
pub fn b64std_32(data: &[u8; 32]) -> [u8; 44] {
    let mut out = [0u8; 44];
    let _ = STANDARD.encode_slice(data, &mut out);
    out
}

/// Append unpadded base64url of `data` to `out`.
pub fn b64url_into(data: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(
        start + base64::encoded_len(data.len(), false).unwrap_or(0),
        0,
    );
    let n = URL_SAFE_NO_PAD
        .encode_slice(data, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + n);
}

/// `hb_util:decode`: accepts base64url or standard alphabet, padded or not.
pub fn b64url_decode(text: &[u8]) -> Result<Vec<u8>> {
    let mapped: Vec<u8> = text
        .iter()
        .map(|&c| match c {
            b'+' => b'-',
            b'/' => b'_',
            c => c,
        })
        .collect();
    URL_LENIENT
        .decode(&mapped)
        .map_err(|e| Error::HashPath(format!("invalid base64url: {e}")))
}

/// Standard base64 with padding (used inside structured-field byte sequences).
pub fn b64std(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// `hb_util:native_id`: 43 chars decode, 32 and 42 bytes pass through; other sizes are errors.
pub fn native_id(id: &[u8]) -> Result<Vec<u8>> {
    match id.len() {
        43 => {
            let raw = b64url_decode(id)?;
            if raw.len() == 32 {
                Ok(raw)
            } else {
                Err(Error::HashPath(
                    "43-character ID does not decode to 32 bytes".into(),
                ))
            }
        }
        32 | 42 => Ok(id.to_vec()),
        n => Err(Error::HashPath(format!(
            "not an ID: {n} bytes (IDs are 32 raw bytes or 43 base64url characters)"
        ))),
    }
}

/// `hb_util:human_id`: 32 bytes encode, 43 and 42 pass through; other sizes are errors.
pub fn human_id(id: &[u8]) -> Result<Vec<u8>> {
    match id.len() {
        32 => Ok(b64url(id).into_bytes()),
        42 | 43 => Ok(id.to_vec()),
        n => Err(Error::HashPath(format!(
            "not an ID: {n} bytes (IDs are 32 raw bytes or 43 base64url characters)"
        ))),
    }
}

/// `hb_crypto:sha256_chain`: sha256(ID1[0:32] ++ ID2); ID1 must be an ID.
pub fn sha256_chain(id1: &[u8], id2: &[u8]) -> Result<[u8; 32]> {
    if !crate::keys::is_id_size(id1.len()) {
        return Err(Error::HashPath(format!(
            "cannot chain: first argument is {} bytes, not an ID",
            id1.len()
        )));
    }
    let mut h = Sha256::new();
    h.update(&id1[..32]);
    h.update(id2);
    Ok(h.finalize().into())
}

/// `hb_crypto:accumulate`: (int(ID1) + int(sha256_chain(ID1, ID2))) mod 2^256, big-endian.
pub fn accumulate(id1: &[u8], id2: &[u8]) -> Result<[u8; 32]> {
    if id1.len() != 32 {
        return Err(Error::HashPath(format!(
            "cannot accumulate: first argument is {} bytes, not a 32-byte ID",
            id1.len()
        )));
    }
    let c = sha256_chain(id1, id2)?;
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = u16::from(id1[i]) + u16::from(c[i]) + carry;
        out[i] = (s & 0xff) as u8;
        carry = s >> 8;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let raw = [7u8; 32];
        let h = human_id(&raw).unwrap();
        assert_eq!(h.len(), 43);
        assert_eq!(native_id(&h).unwrap(), raw.to_vec());
        assert!(native_id(b"short").is_err());
        assert!(b64url_decode(b"a+b/").is_ok());
    }

    #[test]
    fn chain_vector() {
        let mut a = [0u8; 32];
        a[31] = 1;
        let mut b = [0u8; 32];
        b[31] = 2;
        let mut cat = a.to_vec();
        cat.extend_from_slice(&b);
        assert_eq!(sha256_chain(&a, &b).unwrap(), sha256(&cat));
        let acc = accumulate(&a, &b).unwrap();
        assert_eq!(acc[31], sha256(&cat)[31].wrapping_add(1));
    }
}
