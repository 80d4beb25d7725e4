//! A parsed data item -> its TABM (`dev_codec_ans104:from/1`, spec core §8.7), the same result
//! as `hyperbeam_fast.codecs.ans104.from_tx` on the `ans104_parse` dict, without building the
//! tx dict or any Python object.
//!
//! Items whose tag names or bundle keys are not ASCII give `None`: their keys are normalised
//! with Unicode lower-casing, which stays with the Python path (`_key`).

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::ids::{b64url, sha256};
use crate::map_order::{mode, walk_order, Walk};
use crate::value::{Msg, Value};

/// `hb_message:default_tx_list()` field names (record fields, not message keys).
pub(super) fn is_tx_field(k: &[u8]) -> bool {
    matches!(
        k,
        b"format"
            | b"id"
            | b"unsigned_id"
            | b"last_tx"
            | b"owner"
            | b"tags"
            | b"target"
            | b"quantity"
            | b"data"
            | b"manifest"
            | b"data_size"
            | b"data_tree"
            | b"data_root"
            | b"signature"
            | b"reward"
            | b"denomination"
            | b"signature_type"
    )
}

/// Tag names that never become message keys: record fields that are not forced tags, the
/// message's `commitments` / `original-tags` (issue 13) and `content-digest` (structured@1.0
/// drops it); in a signed item also the keys `from` removes to make the commitment.
pub(super) fn shadowed(k: &[u8], signed: bool) -> bool {
    matches!(
        k,
        b"format"
            | b"id"
            | b"unsigned_id"
            | b"last_tx"
            | b"owner"
            | b"tags"
            | b"target"
            | b"data"
            | b"signature"
            | b"commitments"
            | b"original-tags"
            | b"content-digest"
    ) || is_private(k)
        || (signed && matches!(k, b"commitment-device" | b"committer" | b"alg"))
}

/// Tags that bundle normalisation writes (spec core §8.6).
fn is_normalize_tag(k: &[u8]) -> bool {
    matches!(
        k,
        b"bundle-format" | b"bundle-map" | b"bundle-version" | b"map-format"
    )
}

const BUNDLE_KEYS: [&[u8]; 3] = [b"bundle-format", b"bundle-map", b"bundle-version"];
const DEVICE: &[u8] = b"ans104@1.0";
/// Tag values longer than this (or not UTF-8) do not survive re-encoding as tags.
const MAX_TAG_VALUE: usize = 128;

pub(super) fn is_id_len(n: usize) -> bool {
    matches!(n, 32 | 42 | 43)
}

/// `hb_ao:normalize_key` of an ASCII name: lower-case unless ID-sized; `None` when not ASCII.
pub(super) fn key_of(name: &[u8]) -> Option<Vec<u8>> {
    if !name.is_ascii() {
        return None;
    }
    Some(if is_id_len(name.len()) {
        name.to_vec()
    } else {
        name.to_ascii_lowercase()
    })
}

/// `hb_private:is_private` of a normalised ASCII key.
fn is_private(k: &[u8]) -> bool {
    k.starts_with(b"priv")
}

/// Repeated tag values as a structured-fields list of strings: `"a", "b"`.
fn sf_string_list(values: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.push(b'"');
        for &b in *v {
            if b == b'\\' || b == b'"' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
    out
}

/// `deduplicating_from_list`: normalised name -> value (or the list of repeated values).
fn dedup(tags: &[Tag]) -> Option<BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut agg: BTreeMap<Vec<u8>, Vec<&[u8]>> = BTreeMap::new();
    for (n, v) in tags {
        agg.entry(key_of(n)?).or_default().push(v);
    }
    Some(
        agg.into_iter()
            .map(|(k, vs)| {
                let v = if vs.len() == 1 {
                    vs[0].to_vec()
                } else {
                    sf_string_list(&vs)
                };
                (k, v)
            })
            .collect(),
    )
}

/// Whether the tags are the ones `to` rebuilds from the message alone (normalised, distinct,
/// re-encodable values, in `maps:to_list` order among the message's other keys); else the
/// item records `original-tags` (see `_reproducible`, issue 13 item 5). ASCII names only.
fn reproducible(tags: &[Tag], bundled: bool, signed: bool, others: &[&[u8]]) -> bool {
    let mut names: Vec<&[u8]> = Vec::with_capacity(tags.len());
    let mut seen: BTreeSet<&[u8]> = BTreeSet::new();
    for (n, v) in tags {
        let n = n.as_slice();
        if bundled && is_normalize_tag(n) {
            continue;
        }
        let lower = !n.iter().any(u8::is_ascii_uppercase);
        if (!is_id_len(n.len()) && !lower) || seen.contains(n) {
            return false;
        }
        if v.is_empty() || v.len() > MAX_TAG_VALUE || std::str::from_utf8(v).is_err() {
            return false;
        }
        if shadowed(n, signed) || (!bundled && BUNDLE_KEYS.contains(&n)) {
            return false; // a bundle key of an item that is no bundle: `from` drops it
        }
        seen.insert(n);
        names.push(n);
    }
    let mut keys = names.clone();
    keys.extend(others.iter().filter(|k| !seen.contains(*k)));
    let mut rank = walk_order(&keys, Walk::ToList, mode())
        .into_iter()
        .filter(|&i| i < names.len());
    (0..names.len()).all(|i| rank.next() == Some(i))
}

fn tags_map(tags: &[Tag]) -> Msg {
    let mut m = Msg::new();
    for (i, (n, v)) in tags.iter().enumerate() {
        let mut t = Msg::new();
        t.insert(b"name".to_vec(), Value::Bin(n.clone()));
        t.insert(b"value".to_vec(), Value::Bin(v.clone()));
        m.insert((i + 1).to_string().into_bytes(), Value::Map(t));
    }
    m
}

fn bin(v: &[u8]) -> Value {
    Value::Bin(v.to_vec())
}

fn first_tag<'a>(tags: &'a [Tag], name: &[u8]) -> Option<&'a [u8]> {
    tags.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

/// The TABM of a parsed (un-bundled) data item, or the binary of an `ao-type: binary` item;
/// `None` when a tag name or bundle key (at any depth) is not ASCII.
pub fn item_to_tabm(item: DataItem) -> Result<Option<Value>> {
    from_item(item, 0)
}

fn from_item(item: DataItem, depth: usize) -> Result<Option<Value>> {
    if depth > MAX_BUNDLE_DEPTH {
        return codec("ans104: items nested too deeply");
    }
    if let Some((_, v)) = item.tags.iter().find(|(n, _)| n == b"ao-type") {
        if v == b"binary" {
            return match item.data {
                Data::Bytes(b) => Ok(Some(Value::Bin(b))),
                Data::Map(_) => codec("ans104: expected a binary, got dict"),
                Data::List(_) => codec("ans104: expected a binary, got list"),
            };
        }
    }
    if matches!(&item.data, Data::Bytes(_))
        && first_tag(&item.tags, b"bundle-format") == Some(&b"binary"[..])
        && first_tag(&item.tags, b"bundle-version") == Some(&b"2.0.0"[..])
    {
        // detached (empty) bundle data: the Python path re-serialises the tx, which validates
        item.validate()?;
    }
    let Some(tag_map) = dedup(&item.tags) else {
        return Ok(None);
    };
    let signed = item.is_signed();
    let sig = item.signature_bytes().to_vec();
    let owner = item.owner_bytes().to_vec();
    let mut msg = Msg::new();
    let bundled = !matches!(item.data, Data::Bytes(_));
    let DataItem {
        tags,
        target,
        anchor,
        data,
        ..
    } = item;
    let mut data_bytes = None;
    match data {
        Data::Map(entries) => {
            for (k, child) in entries {
                let Some(key) = key_of(&k) else {
                    return Ok(None);
                };
                let Some(v) = from_item(child, depth + 1)? else {
                    return Ok(None);
                };
                msg.insert(key, v);
            }
        }
        Data::List(items) => {
            for (i, child) in items.into_iter().enumerate() {
                let Some(v) = from_item(child, depth + 1)? else {
                    return Ok(None);
                };
                msg.insert((i + 1).to_string().into_bytes(), v);
            }
        }
        Data::Bytes(b) => data_bytes = Some(b),
    }
    let id = if signed { sha256(&sig) } else { [0u8; 32] };
    // the record fields, then the tags (which never shadow them); default values are not
    // message keys (structured `to` drops them)
    let zeros: &[u8] = &ZEROS;
    let fields: [(&[u8], &[u8], &[u8]); 5] = [
        (b"id", &id, &[0u8; 32]),
        (b"last_tx", &anchor, b""),
        (b"owner", &owner, zeros),
        (b"target", &target, b""),
        (b"signature", &sig, zeros),
    ];
    for (k, v, default) in fields {
        if v == default {
            msg.remove(k);
        } else {
            msg.insert(k.to_vec(), bin(v));
        }
    }
    let mut tag_keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    for (k, v) in tag_map {
        if !shadowed(&k, signed) {
            msg.insert(k.clone(), Value::Bin(v));
            tag_keys.insert(k);
        }
    }
    if let Some(b) = data_bytes {
        if !b.is_empty() {
            msg.insert(b"data".to_vec(), Value::Bin(b));
        }
    }
    let others: Vec<&[u8]> = msg
        .keys()
        .map(Vec::as_slice)
        .filter(|k| !tag_keys.contains(*k) && !is_tx_field(k))
        .collect();
    let normal = reproducible(&tags, bundled, signed, &others);
    if !signed {
        if !normal {
            let mut c = Msg::new();
            c.insert(b"commitment-device".to_vec(), bin(DEVICE));
            c.insert(b"alg".to_vec(), bin(b"unsigned"));
            c.insert(b"original-tags".to_vec(), Value::Map(tags_map(&tags)));
            let mut comms = Msg::new();
            comms.insert(b64url(&[0u8; 32]).into_bytes(), Value::Map(c));
            msg.insert(b"commitments".to_vec(), Value::Map(comms));
        }
    } else {
        for k in [
            &b"id"[..],
            b"owner",
            b"signature",
            b"commitment-device",
            b"committer",
            b"alg",
            b"original-tags",
        ] {
            msg.remove(k);
        }
        let mut c = Msg::new();
        c.insert(b"commitment-device".to_vec(), bin(DEVICE));
        c.insert(b"alg".to_vec(), bin(b"rsa-pss"));
        c.insert(
            b"committer".to_vec(),
            Value::Bin(b64url(&sha256(&owner)).into_bytes()),
        );
        c.insert(b"owner".to_vec(), Value::Bin(owner));
        if !normal {
            c.insert(b"original-tags".to_vec(), Value::Map(tags_map(&tags)));
        }
        c.insert(b"signature".to_vec(), Value::Bin(sig));
        let mut comms = Msg::new();
        comms.insert(b64url(&id).into_bytes(), Value::Map(c));
        msg.insert(b"commitments".to_vec(), Value::Map(comms));
    }
    for k in BUNDLE_KEYS {
        msg.remove(k);
    }
    Ok(Some(Value::Map(msg)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::PrivateKey;

    fn item(tags: &[(&str, &str)], data: Data) -> DataItem {
        DataItem {
            tags: tags
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            data,
            ..DataItem::default()
        }
    }

    fn decode(it: &DataItem) -> Result<Option<Value>> {
        item_to_tabm(DataItem::parse_unbundled(&it.serialize()?)?)
    }

    fn map(v: Option<Value>) -> Msg {
        match v {
            Some(Value::Map(m)) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    fn get<'a>(m: &'a Msg, k: &str) -> Option<&'a Value> {
        m.get(k.as_bytes())
    }

    #[test]
    fn normal_tags_become_keys() {
        let it = item(&[("a", "1"), ("caps", "X")], Data::Bytes(b"hello".to_vec()));
        let m = map(decode(&it).unwrap());
        let keys: Vec<&[u8]> = m.keys().map(Vec::as_slice).collect();
        assert_eq!(keys, [&b"a"[..], b"caps", b"data"]);
        assert_eq!(get(&m, "caps"), Some(&bin(b"X")));
    }

    #[test]
    fn unnormalised_tags_keep_original_tags() {
        let it = item(
            &[("B", "2"), ("a", "x"), ("a", "q\"\\"), ("id", "shadowed")],
            Data::Bytes(Vec::new()),
        );
        let m = map(decode(&it).unwrap());
        assert_eq!(get(&m, "b"), Some(&bin(b"2")));
        assert_eq!(get(&m, "a"), Some(&bin(br#""x", "q\"\\""#)));
        assert!(get(&m, "id").is_none() && get(&m, "data").is_none());
        let comms = get(&m, "commitments").and_then(Value::as_map).unwrap();
        let (cid, c) = comms.iter().next().unwrap();
        assert_eq!(cid, &b64url(&[0u8; 32]).into_bytes());
        let c = c.as_map().unwrap();
        assert_eq!(get(c, "alg"), Some(&bin(b"unsigned")));
        let orig = get(c, "original-tags").and_then(Value::as_map).unwrap();
        assert_eq!(orig.len(), 4);
    }

    #[test]
    fn signed_items_carry_their_commitment() {
        let key = PrivateKey::generate(4096).unwrap();
        let it = item(&[("a", "1")], Data::Bytes(b"d".to_vec()))
            .sign(&key)
            .unwrap();
        let m = map(decode(&it).unwrap());
        assert!(get(&m, "owner").is_none() && get(&m, "signature").is_none());
        let comms = get(&m, "commitments").and_then(Value::as_map).unwrap();
        let (cid, c) = comms.iter().next().unwrap();
        assert_eq!(cid, &b64url(&sha256(&it.signature)).into_bytes());
        let c = c.as_map().unwrap();
        assert_eq!(
            get(c, "committer"),
            Some(&Value::Bin(b64url(&sha256(&it.owner)).into_bytes()))
        );
        assert!(get(c, "original-tags").is_none());
    }

    #[test]
    fn a_bundle_key_of_an_item_that_is_no_bundle_is_kept_in_original_tags() {
        let it = item(&[("bundle-format", "binary")], Data::Bytes(b"x".to_vec()));
        let m = map(decode(&it).unwrap());
        assert!(get(&m, "bundle-format").is_none() && get(&m, "commitments").is_some());
    }

    #[test]
    fn bundles_binaries_and_non_ascii() {
        let child = item(&[("x", "1")], Data::Bytes(b"c".to_vec()));
        let blob = item(&[("ao-type", "binary")], Data::Bytes(b"raw".to_vec()));
        let top = item(
            &[],
            Data::Map(vec![(b"k".to_vec(), child.clone()), (b"b".to_vec(), blob)]),
        );
        let m = map(decode(&top).unwrap());
        assert_eq!(get(&m, "b"), Some(&bin(b"raw")));
        assert!(get(&m, "k").and_then(Value::as_map).is_some());
        assert!(get(&m, "bundle-format").is_none() && get(&m, "commitments").is_none());
        let list = item(&[], Data::List(vec![child.clone(), child.clone()]));
        let m = map(decode(&list).unwrap());
        assert!(get(&m, "1").is_some() && get(&m, "2").is_some());
        assert!(get(&m, "map-format").is_some());
        let odd = item(&[], Data::Map(vec![("ключ".as_bytes().to_vec(), child)]));
        assert_eq!(decode(&odd).unwrap(), None);
        let odd = item(&[("Ü", "1")], Data::Bytes(Vec::new()));
        assert_eq!(decode(&odd).unwrap(), None);
    }

    /// Deterministic xorshift: random bytes, and a valid bundle with flipped bytes or cut short,
    /// parsed and converted: errors, never a panic.
    #[test]
    fn garbage_never_panics() {
        let child = item(&[("x", "1"), ("Y", "")], Data::Bytes(b"c".to_vec()));
        let top = item(
            &[("bundle-format", "binary"), ("a", "b")],
            Data::Map(vec![
                (b"k".to_vec(), child.clone()),
                (b"l".to_vec(), item(&[], Data::List(vec![child]))),
            ]),
        );
        let good = top.serialize().unwrap();
        assert!(item_to_tabm(DataItem::parse_unbundled(&good).unwrap()).is_ok());
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let run = |buf: &[u8]| {
            if let Ok(it) = DataItem::parse_unbundled(buf) {
                let _ = item_to_tabm(it);
            }
        };
        for n in 0..good.len() {
            run(&good[..n]);
        }
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..=(next() % 3) {
                let at = (next() as usize) % b.len();
                b[at] ^= 1 << (next() % 8);
            }
            run(&b);
            let len = (next() % 1500) as usize;
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            run(&junk);
        }
    }

    #[test]
    fn deep_and_wide_input_is_bounded() {
        // 64 nested bundles parse; the conversion walks them without overflowing
        let mut it = item(&[("leaf", "1")], Data::Bytes(b"x".to_vec()));
        for _ in 0..63 {
            it = item(&[], Data::Map(vec![(b"n".to_vec(), it)]));
        }
        assert!(decode(&it).unwrap().is_some());
        // many tags, all distinct or all one name
        let many: Vec<Tag> = (0..20_000)
            .map(|i| (format!("t{i}").into_bytes(), b"v".to_vec()))
            .collect();
        let wide = DataItem {
            tags: many,
            ..DataItem::default()
        };
        assert_eq!(map(decode(&wide).unwrap()).len(), 20_001);
        let same = DataItem {
            tags: vec![(b"t".to_vec(), b"v".to_vec()); 20_000],
            ..DataItem::default()
        };
        assert!(decode(&same).is_ok());
    }
}
