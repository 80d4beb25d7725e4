//! A signed data item's message, signature check and committed keys in one pass (spec core
//! §8.7, §8.8), for the plain items clients send: what `decode` then `verify` then
//! `committed` give on the same bytes, without re-encoding the message twice.
//!
//! Only items whose message re-encodes to exactly these bytes take this path (the checks of
//! `plain`): then verifying the bytes is verifying the message. Anything else gives `None` and
//! stays with the general path.

use super::message::{is_id_len, is_tx_field, key_of, shadowed};
use super::*;
use crate::map_order::{mode, walk_order, Walk, SMALL_MAP_LIMIT};
use crate::structured;
use crate::value::{Msg, Value};

/// The outcome of [`decode_verified`].
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The rich message (`decode`), with its one `rsa-pss` commitment.
    pub msg: Msg,
    /// Whether the RSA-PSS-SHA256 signature over the item's deep hash verifies (`verify_item`).
    pub valid: bool,
    /// `hb_message:committed` of the message: the keys the commitment covers, in its order.
    pub committed: Vec<Vec<u8>>,
}

/// §8.8 `COMMITTED_TAGS`: always reported as committed.
const COMMITTED_TAGS: [&[u8]; 6] = [
    b"id",
    b"last_tx",
    b"owner",
    b"target",
    b"signature",
    b"data",
];

/// A tag that becomes a plain binary key and back: an ASCII name that is no record field,
/// commitment key, private key, ID-sized name, typing (`ao-type`, `ao-types`), bundle or
/// `trusted-keys` tag; a value that is not empty (structured@1.0 moves `""` into `ao-types`).
fn plain_tag(name: &[u8], value: &[u8]) -> bool {
    let Some(k) = key_of(name) else {
        return false;
    };
    !k.is_empty()
        && !value.is_empty()
        && !is_id_len(k.len())
        && !is_tx_field(&k)
        && !shadowed(&k, true)
        && !matches!(
            k.as_slice(),
            b"ao-type"
                | b"ao-types"
                | b"trusted-keys"
                | b"bundle-format"
                | b"bundle-version"
                | b"bundle-map"
                | b"map-format"
        )
}

/// Whether the item is signed (type 1, full-size owner and signature), has bytes for data
/// (not 43 bytes: `to` reads such data as an ID) and at most `SMALL_MAP_LIMIT` plain tags.
fn plain(it: &DataItem) -> bool {
    let Data::Bytes(data) = &it.data else {
        return false;
    };
    it.is_signed()
        && it.signature.len() == SIG_LEN
        && it.owner.len() == OWNER_LEN
        && data.len() != 43
        && it.tags.len() <= SMALL_MAP_LIMIT
        && it.tags.iter().all(|(n, v)| plain_tag(n, v))
}

/// The keys `committed_keys` gives for the item (§8.8), on the message merged with its
/// commitment (`dev_message`): with original tags, their names (`maps:values` of the numbered
/// map, taken twice as `dev_codec_ans104` does; byte order of "1".."n" for up to 32 tags),
/// then the nested `commitments` and `original-tags`; else the tags `to` writes for the merged
/// message (the item's, `alg` and `committer`, in `maps:to_list` order), then `commitments`;
/// then `COMMITTED_TAGS`. Last, `committed`'s first occurrences, reversed.
fn committed_of(tags: &[Tag], original: bool) -> Vec<Vec<u8>> {
    let names: Vec<&[u8]> = tags.iter().map(|(n, _)| n.as_slice()).collect();
    let mut all: Vec<Vec<u8>> = if original {
        let idx: Vec<Vec<u8>> = (1..=names.len())
            .map(|i| i.to_string().into_bytes())
            .collect();
        let mut perm: Vec<usize> = (0..names.len()).collect();
        perm.sort_by(|&a, &b| idx[a].cmp(&idx[b]));
        let once: Vec<&[u8]> = perm.iter().map(|&j| names[j]).collect();
        let mut out: Vec<Vec<u8>> = perm.iter().filter_map(|&j| key_of(once[j])).collect();
        out.extend([b"commitments".to_vec(), b"original-tags".to_vec()]);
        out
    } else {
        let mut keys: Vec<Vec<u8>> = names.iter().filter_map(|n| key_of(n)).collect();
        keys.extend([b"alg".to_vec(), b"committer".to_vec()]);
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let mut out: Vec<Vec<u8>> = walk_order(&refs, Walk::ToList, mode())
            .into_iter()
            .map(|i| keys[i].clone())
            .collect();
        out.push(b"commitments".to_vec());
        out
    };
    all.extend(COMMITTED_TAGS.iter().map(|k| k.to_vec()));
    let mut first: Vec<Vec<u8>> = Vec::with_capacity(all.len());
    for k in all {
        if !first.contains(&k) {
            first.push(k);
        }
    }
    first.reverse();
    first
}

fn has_original_tags(tabm: &Msg) -> bool {
    let Some(Value::Map(comms)) = tabm.get(&b"commitments"[..]) else {
        return false;
    };
    comms
        .values()
        .any(|c| matches!(c, Value::Map(c) if c.contains_key(&b"original-tags"[..])))
}

/// Parse a binary data item, check its signature and build its message and committed keys;
/// `None` when the item is not `plain` (or does not parse: the general path gives the error).
pub fn decode_verified(buf: &[u8]) -> Option<Verified> {
    let item = DataItem::parse(buf).ok()?;
    if !plain(&item) {
        return None;
    }
    let valid = item.verify_normalized();
    let tags = item.tags.clone();
    let Ok(Some(Value::Map(tabm))) = item_to_tabm(item) else {
        return None;
    };
    let committed = committed_of(&tags, has_original_tags(&tabm));
    let msg = structured::to_msg(&tabm).ok()?;
    Some(Verified {
        msg,
        valid,
        committed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::PrivateKey;

    fn signed(tags: &[(&str, &str)], data: &[u8], key: &PrivateKey) -> Vec<u8> {
        DataItem {
            tags: tags
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            data: Data::Bytes(data.to_vec()),
            ..DataItem::default()
        }
        .sign(key)
        .unwrap()
        .serialize()
        .unwrap()
    }

    #[test]
    fn plain_items_verify_and_list_their_keys() {
        let key = PrivateKey::generate(4096).unwrap();
        let raw = signed(&[("action", "Eval"), ("type", "Message")], b"1 + 1", &key);
        let v = decode_verified(&raw).unwrap();
        assert!(v.valid);
        let want: Vec<&[u8]> = vec![
            b"data",
            b"signature",
            b"target",
            b"owner",
            b"last_tx",
            b"id",
            b"commitments",
            b"type",
            b"committer",
            b"alg",
            b"action",
        ];
        assert_eq!(v.committed, want);
        assert_eq!(
            v.msg.get(&b"action"[..]),
            Some(&Value::Bin(b"Eval".to_vec()))
        );
        // a flipped data byte: the same message shape, a signature that does not verify
        let mut bad = raw.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(!decode_verified(&bad).unwrap().valid);
        // upper-case names: original tags, in their order
        let raw = signed(&[("Type", "Message"), ("Action", "Eval")], b"", &key);
        let v = decode_verified(&raw).unwrap();
        assert!(v.valid);
        let tail = &v.committed[v.committed.len() - 4..];
        assert_eq!(
            tail,
            [&b"original-tags"[..], b"commitments", b"action", b"type"]
        );
    }

    #[test]
    fn unusual_items_take_the_general_path() {
        let key = PrivateKey::generate(4096).unwrap();
        for (tags, data) in [
            (vec![("ao-types", "n=\"integer\"")], &b""[..]),
            (vec![("empty", "")], b""),
            (vec![("Data", "x")], b""),
            (vec![("bundle-format", "binary")], b""),
            (vec![("ключ", "x")], b""),
            (vec![("a", "1")], &[b'a'; 43][..]),
        ] {
            assert!(decode_verified(&signed(&tags, data, &key)).is_none());
        }
        let unsigned = DataItem::default().serialize().unwrap();
        assert!(decode_verified(&unsigned).is_none());
        assert!(decode_verified(b"\x01\x00garbage").is_none());
    }
}
