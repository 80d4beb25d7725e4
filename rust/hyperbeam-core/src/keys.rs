//! Key normalisation, private keys, `hb_escape` (spec core §1.5, §2.2, §2.3) and the byte order
//! of keys.

use std::cmp::Ordering;

use crate::value::{Msg, Value};

/// True for the key sizes that HyperBEAM treats as IDs (`?IS_ID`, spec core §1.2).
pub fn is_id_size(len: usize) -> bool {
    matches!(len, 32 | 42 | 43)
}

/// True when `normalize_key(k) == k` (checked without allocating).
pub fn is_normalized(k: &[u8]) -> bool {
    is_id_size(k.len())
        // Scanned without an early exit, so the check vectorises (keys are short).
        || !k
            .iter()
            .fold(false, |a, c| a | c.is_ascii_uppercase() | (*c >= 0x80))
        || std::str::from_utf8(k).is_ok_and(|s| s.to_lowercase() == s)
}

/// `hb_ao:normalize_key` for binaries: lowercase, except keys of 32, 42 or 43 bytes.
pub fn normalize_key(k: &[u8]) -> Vec<u8> {
    if is_id_size(k.len()) || !k.iter().any(|c| c.is_ascii_uppercase() || *c >= 0x80) {
        return k.to_vec();
    }
    match std::str::from_utf8(k) {
        Ok(s) => s.to_lowercase().into_bytes(),
        Err(_) => k.to_ascii_lowercase(),
    }
}

/// `hb_private:is_private`: the normalised key starts with `priv` (spec core §2.3). An ID-sized
/// key keeps its case under `normalize_key`, so a 43-byte `PrIV...` is not private.
pub fn is_private(k: &[u8]) -> bool {
    if is_id_size(k.len()) {
        return k.starts_with(b"priv");
    }
    k.len() >= 4 && k[..4].eq_ignore_ascii_case(b"priv")
}

/// `normalize_keys` on a map: when two keys collapse, the last in sorted order wins (§2.2).
pub fn normalize_keys(m: &Msg) -> Msg {
    if m.keys().all(|k| is_normalized(k)) {
        return m.clone();
    }
    m.iter()
        .map(|(k, v)| (normalize_key(k), v.clone()))
        .collect()
}

/// `normalize_keys` on a list: a numbered map `"1".."N"`.
pub fn list_to_numbered(l: &[Value]) -> Msg {
    l.iter()
        .enumerate()
        .map(|(i, v)| ((i + 1).to_string().into_bytes(), v.clone()))
        .collect()
}

fn escape_passes(c: u8) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || matches!(c, b'.' | b'-' | b'_' | b'/' | b'?' | b'&' | b'+')
}

/// `hb_escape:encode`: every byte outside `a-z 0-9 . - _ / ? & +` becomes `%hh` (lowercase hex).
pub fn escape(k: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(k.len());
    escape_into(k, &mut out);
    out
}

/// `hb_escape:encode`, appending to `out`.
pub fn escape_into(k: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if k.iter().fold(true, |a, &c| a & escape_passes(c)) {
        out.extend_from_slice(k);
        return;
    }
    for &c in k {
        if escape_passes(c) {
            out.push(c);
        } else {
            out.extend_from_slice(&[b'%', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
        }
    }
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `hb_escape:decode`: `%HH` (either case) to a byte; everything else is copied.
pub fn unescape(k: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(k.len());
    let mut i = 0;
    while i < k.len() {
        if k[i] == b'%' && i + 2 < k.len() {
            if let (Some(h), Some(l)) = (hexval(k[i + 1]), hexval(k[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(k[i]);
        i += 1;
    }
    out
}

/// The first 8 bytes of a key, zero-padded, as a big-endian integer: keys whose prefixes
/// differ sort as their prefixes do.
#[inline]
pub fn key_prefix(k: &[u8]) -> u64 {
    let n = k.len();
    if let Some(p) = k.first_chunk::<8>() {
        return u64::from_be_bytes(*p);
    }
    // Shorter keys: two overlapping loads; the overlapping bytes are the same, so OR is exact.
    let (hi, lo) = if n >= 4 {
        let a = u32::from_be_bytes([k[0], k[1], k[2], k[3]]);
        let b = u32::from_be_bytes([k[n - 4], k[n - 3], k[n - 2], k[n - 1]]);
        (u64::from(a) << 32, u64::from(b) << (8 * (8 - n)))
    } else if n >= 2 {
        let a = u16::from_be_bytes([k[0], k[1]]);
        let b = u16::from_be_bytes([k[n - 2], k[n - 1]]);
        (u64::from(a) << 48, u64::from(b) << (8 * (8 - n)))
    } else if n == 1 {
        (u64::from(k[0]) << 56, 0)
    } else {
        (0, 0)
    };
    hi | lo
}

/// Byte order of keys, deciding most comparisons on a zero-padded 8-byte prefix without a
/// `memcmp` call (a prefix that sorts lower belongs to a key that sorts lower).
#[inline]
pub fn key_cmp(a: &[u8], b: &[u8]) -> Ordering {
    match key_prefix(a).cmp(&key_prefix(b)) {
        Ordering::Equal => a.cmp(b),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_sized_keys_keep_their_case_for_privacy() {
        assert!(is_private(b"priv") && is_private(b"Private") && is_private(b"PRIVx"));
        let id = b"PrIVlzud59PtwPoCMle4GeIHbG9DlGeL505Aeht6lLZ";
        assert_eq!(id.len(), 43);
        assert!(!is_private(id)); // normalize_key keeps an ID's case: not `priv...`
        assert!(is_private(b"privlzud59PtwPoCMle4GeIHbG9DlGeL505Aeht6lLZ"));
        assert!(!is_private(b"pri") && !is_private(b"xpriv"));
    }

    #[test]
    fn key_order_matches_byte_order() {
        let keys: [&[u8]; 14] = [
            b"",
            b"a",
            b"a\0",
            b"a\0b",
            b"ab",
            b"abc",
            b"abcd",
            b"abcde",
            b"abcdefg",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefghi",
            b"b",
            b"\xff\xff",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(key_cmp(a, b), a.cmp(b), "{a:?} {b:?}");
                if key_prefix(a) < key_prefix(b) {
                    assert!(a < b);
                }
            }
        }
    }

    #[test]
    fn escapes_like_hyperbeam() {
        assert_eq!(escape(b"Odd Key"), b"%4fdd%20%4bey");
        assert_eq!(escape("café".as_bytes()), b"caf%c3%a9");
        assert_eq!(escape(b"testABC"), b"test%41%42%43");
        assert_eq!(unescape(b"%4fdd%20%4Bey"), b"Odd Key");
        assert_eq!(unescape(b"100%"), b"100%");
        assert_eq!(unescape(b"%4"), b"%4");
    }

    #[test]
    fn normalises_keys() {
        assert_eq!(normalize_key(b"Content-Type"), b"content-type");
        let id = [b'A'; 43];
        assert_eq!(normalize_key(&id), id.to_vec());
        assert!(is_private(b"PRIVacy"));
        assert!(!is_private(b"pri"));
    }
}
