//! Bundles (spec core §8.4, §8.6): nested items normalised into bundle bytes plus bundle tags,
//! and bundle bytes un-bundled back into items (a map through the manifest, or a list).

use super::manifest::{manifest_json, parse_manifest_json};
use super::tags::take;
use super::*;
use crate::ids::{b64url, b64url_decode};

impl DataItem {
    /// `normalize`: map and list data become bundle bytes and bundle tags (spec core §8.6),
    /// recursively. Items whose data is already bytes come back unchanged.
    pub fn normalize(&self) -> Result<DataItem> {
        self.normalize_depth(0)
    }

    pub(super) fn normalize_depth(&self, depth: usize) -> Result<DataItem> {
        if depth > MAX_BUNDLE_DEPTH {
            return codec("ans104: bundles nested too deeply");
        }
        let (entries, is_list): (Vec<(Vec<u8>, &DataItem)>, bool) = match &self.data {
            Data::Bytes(_) => return Ok(self.clone()),
            Data::Map(m) => {
                let mut v: Vec<(Vec<u8>, &DataItem)> =
                    m.iter().map(|(k, it)| (k.clone(), it)).collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                if v.windows(2).any(|w| w[0].0 == w[1].0) {
                    return codec("ans104: duplicate key in bundle map");
                }
                (v, false)
            }
            Data::List(l) => {
                let mut v: Vec<(Vec<u8>, &DataItem)> = l
                    .iter()
                    .enumerate()
                    .map(|(i, it)| ((i + 1).to_string().into_bytes(), it))
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                (v, true)
            }
        };
        // Each item: normalise, serialise, unsigned ID; the manifest maps key -> unsigned ID.
        let mut pairs: Vec<([u8; 32], Vec<u8>)> = Vec::with_capacity(entries.len() + 1);
        let mut index: Vec<(&[u8], String)> = Vec::with_capacity(entries.len());
        for (key, item) in &entries {
            let norm = item.normalize_depth(depth + 1)?;
            let bytes = norm.serialize_normalized()?;
            let uid = norm.unsigned_id_normalized()?;
            index.push((key.as_slice(), b64url(&uid)));
            pairs.push((uid, bytes));
        }
        let manifest = DataItem {
            tags: vec![
                (b"data-protocol".to_vec(), b"bundle-map".to_vec()),
                (b"variant".to_vec(), b"0.0.1".to_vec()),
            ],
            data: Data::Bytes(manifest_json(&index)?),
            ..DataItem::default()
        };
        let manifest_uid = manifest.unsigned_id_normalized()?;
        pairs.insert(0, (manifest_uid, manifest.serialize_normalized()?));
        let data = bundle_bytes(&pairs);
        // tags: BUNDLE_TAGS ++ (Tags -- BUNDLE_TAGS) [++ map-format:list], minus any bundle-map,
        // then bundle-map
        let mut rest = self.tags.clone();
        for (n, v) in BUNDLE_TAGS {
            if let Some(i) = rest.iter().position(|(a, b)| a == n && b == v) {
                rest.remove(i);
            }
        }
        let mut tags: Vec<Tag> = BUNDLE_TAGS
            .iter()
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        tags.extend(rest);
        if is_list {
            tags.push((b"map-format".to_vec(), b"list".to_vec()));
        }
        tags.retain(|(n, _)| n != b"bundle-map");
        tags.push((b"bundle-map".to_vec(), b64url(&manifest_uid).into_bytes()));
        Ok(DataItem {
            tags,
            data: Data::Bytes(data),
            ..self.clone_without_data()
        })
    }

    /// Runs `f` on the normalised item, without copying when it already is.
    pub(super) fn with_normalized<R>(&self, f: impl FnOnce(&DataItem) -> Result<R>) -> Result<R> {
        match self.data {
            Data::Bytes(_) => f(self),
            _ => f(&self.normalize()?),
        }
    }

    /// Parses and un-bundles recursively (`ar_bundles:deserialize`).
    pub fn parse_unbundled(buf: &[u8]) -> Result<DataItem> {
        DataItem::parse(buf)?.unbundle_depth(0)
    }

    /// `maybe_unbundle`: when `bundle-format: binary` and `bundle-version: 2.0.0` are the first
    /// tags of those names, the data becomes the items: a map through the `bundle-map` manifest,
    /// else a list. Empty bundle data stays empty bytes ("detached").
    pub fn unbundle(self) -> Result<DataItem> {
        self.unbundle_depth(0)
    }

    pub(super) fn unbundle_depth(mut self, depth: usize) -> Result<DataItem> {
        if self.tag(b"bundle-format") != Some(b"binary")
            || self.tag(b"bundle-version") != Some(b"2.0.0")
        {
            return Ok(self);
        }
        if depth >= MAX_BUNDLE_DEPTH {
            return codec("ans104: bundles nested too deeply");
        }
        let Data::Bytes(bytes) = &self.data else {
            return Ok(self);
        };
        if bytes.is_empty() {
            return Ok(self);
        }
        let raw = parse_bundle(bytes)?;
        let mut items = Vec::with_capacity(raw.len());
        for (uid, item) in raw {
            items.push((uid, item.unbundle_depth(depth + 1)?));
        }
        let manifest_id = self.tag(b"bundle-map").map(|v| v.to_vec());
        self.data = match manifest_id {
            None => Data::List(items.into_iter().map(|(_, it)| it).collect()),
            Some(mid) => {
                let mid = b64url_decode(&mid)
                    .map_err(|_| Error::Codec("ans104: bad bundle-map ID".into()))?;
                let find = |id: &[u8]| -> Result<&DataItem> {
                    items
                        .iter()
                        .find(|(u, _)| u.as_slice() == id)
                        .map(|(_, it)| it)
                        .ok_or_else(|| {
                            Error::Codec(format!("ans104: cannot find bundle item {}", b64url(id)))
                        })
                };
                let manifest = find(&mid)?;
                let Data::Bytes(json) = &manifest.data else {
                    return codec("ans104: the bundle manifest is itself a bundle");
                };
                let index = parse_manifest_json(json)?;
                let mut map = Vec::with_capacity(index.len());
                for (key, id) in index {
                    let id = b64url_decode(id.as_bytes())
                        .map_err(|_| Error::Codec("ans104: bad ID in bundle manifest".into()))?;
                    map.push((key.into_bytes(), find(&id)?.clone()));
                }
                Data::Map(map)
            }
        };
        Ok(self)
    }
}

fn u256(n: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&(n as u64).to_be_bytes());
    out
}

/// `finalize_bundle_data`: `u256be(count) ‖ (u256be(size) ‖ id)* ‖ items`.
pub fn bundle_bytes(items: &[([u8; 32], Vec<u8>)]) -> Vec<u8> {
    let total: usize = items.iter().map(|(_, b)| b.len() + 64).sum();
    let mut out = Vec::with_capacity(32 + total);
    out.extend_from_slice(&u256(items.len()));
    for (id, bytes) in items {
        out.extend_from_slice(&u256(bytes.len()));
        out.extend_from_slice(id);
    }
    for (_, bytes) in items {
        out.extend_from_slice(bytes);
    }
    out
}

fn read_u256(b: &[u8]) -> Option<usize> {
    if b[..24].iter().any(|&x| x != 0) {
        return None;
    }
    usize::try_from(u64::from_be_bytes(b[24..32].try_into().ok()?)).ok()
}

/// Splits bundle bytes into `(id from the index, parsed item)`; the index must account for
/// every byte exactly. IDs in the index are not trusted: each item's unsigned ID is recomputed.
pub fn parse_bundle(buf: &[u8]) -> Result<Vec<([u8; 32], DataItem)>> {
    if buf.len() < 32 {
        return codec("ans104: truncated bundle (no item count)");
    }
    let count = read_u256(&buf[..32])
        .filter(|&c| c <= (buf.len() - 32) / 64)
        .ok_or_else(|| Error::Codec("ans104: bundle item count exceeds the bundle size".into()))?;
    let mut pos = 32usize;
    let mut sizes = Vec::with_capacity(count);
    for _ in 0..count {
        let entry = &buf[pos..pos + 64];
        let size = read_u256(&entry[..32])
            .ok_or_else(|| Error::Codec("ans104: bundle item size too large".into()))?;
        sizes.push(size);
        pos += 64;
    }
    let mut out = Vec::with_capacity(count);
    for size in sizes {
        let bytes = take(buf, &mut pos, size as u64, "bundle item")?;
        let item = DataItem::parse(bytes)?;
        let uid = item.unsigned_id()?;
        out.push((uid, item));
    }
    if pos != buf.len() {
        return codec("ans104: trailing bytes after the bundle items");
    }
    Ok(out)
}

/// A bundle of items (the data of a list bundle, without manifest), for `serialize([...])`.
pub fn serialize_bundle(items: &[DataItem]) -> Result<Vec<u8>> {
    let mut pairs = Vec::with_capacity(items.len());
    for item in items {
        let norm = item.normalize()?;
        pairs.push((norm.unsigned_id_normalized()?, norm.serialize_normalized()?));
    }
    Ok(bundle_bytes(&pairs))
}
