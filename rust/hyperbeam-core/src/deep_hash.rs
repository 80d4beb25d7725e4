//! The Arweave deep hash (`ar_deep_hash`, spec core §8.3), over SHA-384 (OpenSSL's, which
//! is several times faster than a portable SHA-512 core on this machine).
//!
//! ```text
//! DH(blob b)  = SHA384( SHA384("blob" ++ ascii(len(b))) ++ SHA384(b) )
//! DH(list L)  = acc = SHA384("list" ++ ascii(len(L))); for e in L: acc = SHA384(acc ++ DH(e))
//! ```

use openssl::sha::{sha384, Sha384};

/// A deep-hash digest: 48 bytes of SHA-384.
pub type Hash48 = [u8; 48];

/// A value to deep-hash: a blob (binary) or a list of values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeepHash<'a> {
    Blob(&'a [u8]),
    List(Vec<DeepHash<'a>>),
}

fn tagged(tag: &[u8], len: usize) -> Hash48 {
    let mut h = Sha384::new();
    h.update(tag);
    h.update(crate::structured::decimal(len as u128, &mut [0u8; 40]));
    h.finish()
}

fn pair(a: &Hash48, b: &Hash48) -> Hash48 {
    let mut h = Sha384::new();
    h.update(a);
    h.update(b);
    h.finish()
}

/// `DH(blob)`.
pub fn blob(data: &[u8]) -> Hash48 {
    let tag = tagged(b"blob", data.len());
    let body: Hash48 = sha384(data);
    pair(&tag, &body)
}

/// `DH(list)` of values whose own deep hashes are already known, in order.
pub fn list_of<I: IntoIterator<Item = Hash48>>(len: usize, hashes: I) -> Hash48 {
    let mut acc = tagged(b"list", len);
    for h in hashes {
        acc = pair(&acc, &h);
    }
    acc
}

/// `DH(list of blobs)`: the common case (data item signature data), without building a tree.
pub fn list_of_blobs(items: &[&[u8]]) -> Hash48 {
    list_of(items.len(), items.iter().map(|b| blob(b)))
}

/// Deep hashes that every type-1 data item shares, computed once (each saves 3 to 9 SHA-384
/// blocks per item; a data item's deep hash is ~45 blocks, all of its cost).
struct Consts {
    /// `acc` after the list tag (8 elements), `"dataitem"`, `"1"` (version), `"1"` (type 1).
    item_prefix: Hash48,
    /// `DH(<<>>)`: an absent target or anchor.
    empty: Hash48,
    /// `DH(512 zero bytes)`: the owner of an unsigned item and of every unsigned ID.
    zero_owner: Hash48,
}

static ZEROS_512: [u8; 512] = [0u8; 512];

fn consts() -> &'static Consts {
    static C: std::sync::OnceLock<Consts> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let mut acc = tagged(b"list", 8);
        for b in [&b"dataitem"[..], b"1", b"1"] {
            acc = pair(&acc, &blob(b));
        }
        Consts {
            item_prefix: acc,
            empty: blob(b""),
            zero_owner: blob(&ZEROS_512),
        }
    })
}

/// `DH(blob)`, answered from the constants for the empty blob and 512 zero bytes.
fn blob_cached(data: &[u8]) -> Hash48 {
    if data.is_empty() {
        consts().empty
    } else if data.len() == ZEROS_512.len() && data == ZEROS_512 {
        consts().zero_owner
    } else {
        blob(data)
    }
}

/// The signature data of a type-1 data item: equal to [`list_of_blobs`] of
/// `["dataitem", "1", "1", owner, target, anchor, tags, data]`, with the shared leading part
/// and the common constant fields (empty target/anchor, zero owner) taken precomputed.
pub fn data_item_type1(
    owner: &[u8],
    target: &[u8],
    anchor: &[u8],
    tags: &[u8],
    data: &[u8],
) -> Hash48 {
    let mut acc = consts().item_prefix;
    for b in [owner, target, anchor] {
        acc = pair(&acc, &blob_cached(b));
    }
    acc = pair(&acc, &blob(tags));
    pair(&acc, &blob(data))
}

/// The deep hash of any value.
pub fn hash(value: &DeepHash<'_>) -> Hash48 {
    match value {
        DeepHash::Blob(b) => blob(b),
        DeepHash::List(items) => list_of(items.len(), items.iter().map(hash)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::b64url;

    #[test]
    fn spec_vector() {
        // spec core §8.3: DH(["a","bc",["d"]])
        let v = DeepHash::List(vec![
            DeepHash::Blob(b"a"),
            DeepHash::Blob(b"bc"),
            DeepHash::List(vec![DeepHash::Blob(b"d")]),
        ]);
        assert_eq!(
            b64url(&hash(&v)),
            "uHrn3Pm23-9ax7MMeUAVJMYcFcKxr0hwrYRNuyp1QBD-dNRL0LBApDcJhQZeFVzM"
        );
    }

    #[test]
    fn empty_list_and_flat_list() {
        assert_eq!(
            b64url(&hash(&DeepHash::List(vec![]))),
            "pp59N_3H8ECp7Baq6E3iT6tKZT2sTeC9JH42urn-RdkonFoEqJPJUoWBL1zvyXB6"
        );
        let flat = list_of_blobs(&[b"dataitem", b"1"]);
        assert_eq!(
            b64url(&flat),
            "nyeCVdIQhzb7zSSwMKCMhL2pMlYHd7vCWvW_S3kVfCDNeUQ-zH7l8nyKvo-yDKEP"
        );
        let tree = DeepHash::List(vec![DeepHash::Blob(b"dataitem"), DeepHash::Blob(b"1")]);
        assert_eq!(hash(&tree), flat);
    }

    #[test]
    fn data_item_shortcut_equals_the_plain_deep_hash() {
        let zeros = [0u8; 512];
        let owner: Vec<u8> = (0..512u32).map(|i| (i * 7) as u8).collect();
        let t32 = [9u8; 32];
        let data: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
        for owner in [&zeros[..], &owner[..], b"", b"x"] {
            for (target, anchor) in [(&b""[..], &b""[..]), (&t32[..], &b""[..]), (&t32, &t32)] {
                for tags in [&b""[..], b"\x02\x02ab\x00", &zeros[..]] {
                    for data in [&b""[..], &zeros[..], &data[..]] {
                        let plain = list_of_blobs(&[
                            b"dataitem",
                            b"1",
                            b"1",
                            owner,
                            target,
                            anchor,
                            tags,
                            data,
                        ]);
                        assert_eq!(data_item_type1(owner, target, anchor, tags, data), plain);
                    }
                }
            }
        }
    }
}
