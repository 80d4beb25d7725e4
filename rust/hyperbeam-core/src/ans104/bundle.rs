//! Bundles (spec core §8.4, §8.6): nested items normalised into bundle bytes plus bundle tags,
//! and bundle bytes un-bundled back into items (a map through the manifest, or a list).

use super::manifest::{manifest_json, parse_manifest_json};
use super::tags::take;
use super::*;
use crate::ids::{b64url, b64url_decode};
use crate::map_order::{mode, walk_order, Walk};

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
        // `serialize_bundle_data` writes the items in `maps:values` order and the manifest
        // with `json:encode`, which folds: above 32 keys, opposite map orders (docs/map-order.md).
        let mut done: Vec<Option<([u8; 32], Vec<u8>)>> = Vec::with_capacity(entries.len());
        for (_, item) in &entries {
            let norm = item.normalize_depth(depth + 1)?;
            let bytes = norm.serialize_normalized()?;
            let uid = norm.unsigned_id_normalized()?;
            done.push(Some((uid, bytes)));
        }
        let keys: Vec<&[u8]> = entries.iter().map(|(k, _)| k.as_slice()).collect();
        let index: Vec<(&[u8], String)> = walk_order(&keys, Walk::Fold, mode())
            .into_iter()
            .filter_map(|i| done[i].as_ref().map(|(uid, _)| (keys[i], b64url(uid))))
            .collect();
        let mut pairs: Vec<([u8; 32], Vec<u8>)> = Vec::with_capacity(entries.len() + 1);
        for i in walk_order(&keys, Walk::ToList, mode()) {
            pairs.extend(done[i].take());
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

/// How a bundle writes its item count and sizes (spec core §8.4): HyperBEAM's
/// `finalize_bundle_data` writes 256-bit big-endian; the ANS-104 standard (arbundles, bundlers,
/// gateways) writes 256-bit little-endian and indexes items by their (signed) ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleLayout {
    /// `u256be` count and sizes, unsigned IDs in the index (HyperBEAM).
    HyperBeam,
    /// `u256le` count and sizes, item IDs in the index (ANS-104 standard).
    Standard,
}

fn u256(n: usize, layout: BundleLayout) -> [u8; 32] {
    let mut out = [0u8; 32];
    match layout {
        BundleLayout::HyperBeam => out[24..].copy_from_slice(&(n as u64).to_be_bytes()),
        BundleLayout::Standard => out[..8].copy_from_slice(&(n as u64).to_le_bytes()),
    }
    out
}

/// `finalize_bundle_data`: `u256be(count) ‖ (u256be(size) ‖ id)* ‖ items`.
pub fn bundle_bytes(items: &[([u8; 32], Vec<u8>)]) -> Vec<u8> {
    bundle_bytes_layout(items, BundleLayout::HyperBeam)
}

/// Bundle bytes in the given layout: `u256(count) ‖ (u256(size) ‖ id)* ‖ items`.
pub fn bundle_bytes_layout(items: &[([u8; 32], Vec<u8>)], layout: BundleLayout) -> Vec<u8> {
    let total: usize = items.iter().map(|(_, b)| b.len() + 64).sum();
    let mut out = Vec::with_capacity(32 + total);
    out.extend_from_slice(&u256(items.len(), layout));
    for (id, bytes) in items {
        out.extend_from_slice(&u256(bytes.len(), layout));
        out.extend_from_slice(id);
    }
    for (_, bytes) in items {
        out.extend_from_slice(bytes);
    }
    out
}

/// A 256-bit number that fits a `usize`, else `None`. `b` is 32 bytes.
fn read_u256(b: &[u8], layout: BundleLayout) -> Option<usize> {
    let (high, low): (&[u8], [u8; 8]) = match layout {
        BundleLayout::HyperBeam => (&b[..24], b[24..32].try_into().ok()?),
        BundleLayout::Standard => (&b[8..32], b[..8].try_into().ok()?),
    };
    if high.iter().any(|&x| x != 0) {
        return None;
    }
    let n = match layout {
        BundleLayout::HyperBeam => u64::from_be_bytes(low),
        BundleLayout::Standard => u64::from_le_bytes(low),
    };
    usize::try_from(n).ok()
}

/// The item sizes of `buf` read in `layout`, when they account for every byte exactly.
fn sizes_in(buf: &[u8], layout: BundleLayout) -> Option<Vec<usize>> {
    let count = read_u256(&buf[..32], layout).filter(|&c| c <= (buf.len() - 32) / 64)?;
    let body = buf.len() - 32 - count * 64;
    let mut sizes = Vec::with_capacity(count);
    let mut sum = 0usize;
    for i in 0..count {
        let at = 32 + i * 64;
        let size = read_u256(&buf[at..at + 32], layout)?;
        sum = sum.checked_add(size).filter(|&s| s <= body)?;
        sizes.push(size);
    }
    (sum == body).then_some(sizes)
}

/// Which layout `buf` is in: the one whose count and sizes account for every byte. Both
/// layouts read an all-zero header alike (the empty bundle); any other header fits at most
/// one, and a bundle that fits neither (or, in principle, both differently) is an error.
pub fn bundle_layout(buf: &[u8]) -> Result<(BundleLayout, Vec<usize>)> {
    if buf.len() < 32 {
        return codec("ans104: truncated bundle (no item count)");
    }
    let be = sizes_in(buf, BundleLayout::HyperBeam);
    let le = sizes_in(buf, BundleLayout::Standard);
    match (be, le) {
        (Some(b), Some(l)) if b == l => Ok((BundleLayout::HyperBeam, b)),
        (Some(_), Some(_)) => codec("ans104: bundle header fits both big- and little-endian sizes"),
        (Some(b), None) => Ok((BundleLayout::HyperBeam, b)),
        (None, Some(l)) => Ok((BundleLayout::Standard, l)),
        (None, None) => codec(
            "ans104: bundle item count and sizes do not fit the bundle size \
             (neither big- nor little-endian)",
        ),
    }
}

/// Splits bundle bytes (either layout, see [`bundle_layout`]) into `(id from the index, parsed
/// item)`; the index must account for every byte exactly. IDs in the index are not trusted:
/// each item's unsigned ID is recomputed.
pub fn parse_bundle(buf: &[u8]) -> Result<Vec<([u8; 32], DataItem)>> {
    let (_, sizes) = bundle_layout(buf)?;
    let mut pos = 32 + sizes.len() * 64;
    let mut out = Vec::with_capacity(sizes.len());
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
    serialize_bundle_layout(items, BundleLayout::HyperBeam)
}

/// A bundle of items in `layout`: HyperBEAM's indexes normalised items by unsigned ID; the
/// standard's indexes each item by its ID (`sha256(signature)`, zeros when unsigned).
pub fn serialize_bundle_layout(items: &[DataItem], layout: BundleLayout) -> Result<Vec<u8>> {
    let mut pairs = Vec::with_capacity(items.len());
    for item in items {
        let norm = item.normalize()?;
        let id = match layout {
            BundleLayout::HyperBeam => norm.unsigned_id_normalized()?,
            BundleLayout::Standard => norm.id(),
        };
        pairs.push((id, norm.serialize_normalized()?));
    }
    Ok(bundle_bytes_layout(&pairs, layout))
}
