//! ANS-104 data items and bundles (`ar_bundles`, spec core §8.1-§8.4, §8.6, §13, §14).
//!
//! Binary layout (`ar_bundles:serialize`):
//! `u16le type (1) | 512 sig | 512 owner | target (00 | 01 + 32) | anchor (00 | 01 + 32) |
//!  u64le n_tags | u64le tag_bytes | avro tags | data`.
//! The signature is RSA-PSS-SHA256 (salt 32) over the SHA-384 deep hash of
//! `["dataitem", "1", "1", owner, target, anchor, avro_tags, data]`; the ID is `sha256(signature)`
//! and the unsigned ID is `sha256(deep hash with owner = 512 zero bytes)`.
//!
//! Every parser here is bounds-checked and returns `Error::Codec` on bad input; nothing panics.

use crate::crypto::{Digest, PrivateKey, PublicKey};
use crate::deep_hash::{self, Hash48};
use crate::error::{Error, Result};
use crate::ids::{b64url, b64url_decode, sha256};

/// Signature and owner size for signature type 1 (RSA-4096).
pub const SIG_LEN: usize = 512;
pub const OWNER_LEN: usize = 512;
/// `enforce_valid_tx`: tag names and values up to 3072 bytes serialise.
pub const MAX_TAG_BYTES: usize = 3072;
/// `verify_item`: at most 128 tags, names <= 1024 bytes, values <= 3072 bytes.
pub const MAX_VERIFY_TAGS: usize = 128;
pub const MAX_VERIFY_NAME: usize = 1024;
/// How deep bundles may nest when parsing (guards the stack against hostile input).
pub const MAX_BUNDLE_DEPTH: usize = 64;

const BUNDLE_TAGS: [(&[u8], &[u8]); 2] =
    [(b"bundle-format", b"binary"), (b"bundle-version", b"2.0.0")];

pub type Tag = (Vec<u8>, Vec<u8>);

fn codec<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Codec(msg.into()))
}

/// The data of an item: raw bytes, or a bundle (a map of named items, or a list of items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    Bytes(Vec<u8>),
    Map(Vec<(Vec<u8>, DataItem)>),
    List(Vec<DataItem>),
}

/// One ANS-104 data item (the fields of HyperBEAM's `#tx` record that reach the wire).
/// An empty `signature` / `owner` stands for 512 zero bytes (unsigned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    pub signature_type: u16,
    pub signature: Vec<u8>,
    pub owner: Vec<u8>,
    pub target: Vec<u8>,
    pub anchor: Vec<u8>,
    pub tags: Vec<Tag>,
    pub data: Data,
}

impl Default for DataItem {
    fn default() -> Self {
        DataItem {
            signature_type: 1,
            signature: Vec::new(),
            owner: Vec::new(),
            target: Vec::new(),
            anchor: Vec::new(),
            tags: Vec::new(),
            data: Data::Bytes(Vec::new()),
        }
    }
}

const ZEROS: [u8; 512] = [0u8; 512];

// --- Avro tags ----------------------------------------------------------------------------------

fn put_zigzag(out: &mut Vec<u8>, n: u64) {
    let mut z = n << 1;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The Avro tag block: `zigzag(count)`, then `zigzag(len) bytes` for each name and value, then
/// `00`. No tags: the empty block.
pub fn encode_tags(tags: &[Tag]) -> Vec<u8> {
    if tags.is_empty() {
        return Vec::new();
    }
    let size: usize = tags.iter().map(|(n, v)| n.len() + v.len() + 6).sum();
    let mut out = Vec::with_capacity(size + 4);
    put_zigzag(&mut out, tags.len() as u64);
    for (name, value) in tags {
        put_zigzag(&mut out, name.len() as u64);
        out.extend_from_slice(name);
        put_zigzag(&mut out, value.len() as u64);
        out.extend_from_slice(value);
    }
    out.push(0);
    out
}

/// Reads one zigzag varint at `*pos`; negative values (Avro blocks with a byte size) and
/// varints longer than 10 bytes are errors.
fn get_zigzag(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let mut result: u64 = 0;
    let mut shift = 0u32;
    loop {
        let Some(&byte) = buf.get(*pos) else {
            return codec("ans104: truncated Avro varint in the tag block");
        };
        *pos += 1;
        if shift >= 64 {
            return codec("ans104: Avro varint too long");
        }
        result |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    if result & 1 == 1 {
        return codec("ans104: negative Avro count (blocked encoding is not supported)");
    }
    Ok(result >> 1)
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, len: u64, what: &str) -> Result<&'a [u8]> {
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| pos.checked_add(l))
        .filter(|&e| e <= buf.len());
    match end {
        Some(end) => {
            let s = &buf[*pos..end];
            *pos = end;
            Ok(s)
        }
        None => codec(format!("ans104: {what} runs past the end of the item")),
    }
}

/// Decodes an Avro tag block at the start of `buf`; returns the tags and the bytes consumed.
pub fn decode_tags(buf: &[u8]) -> Result<(Vec<Tag>, usize)> {
    let mut pos = 0usize;
    let count = get_zigzag(buf, &mut pos)?;
    // each tag takes at least 2 bytes: a hostile count cannot make us allocate
    if count > (buf.len() as u64) {
        return codec("ans104: Avro tag count exceeds the item size");
    }
    let mut tags = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let nlen = get_zigzag(buf, &mut pos)?;
        if nlen == 0 {
            return codec("ans104: empty tag name");
        }
        let name = take(buf, &mut pos, nlen, "tag name")?.to_vec();
        let vlen = get_zigzag(buf, &mut pos)?;
        let value = take(buf, &mut pos, vlen, "tag value")?.to_vec();
        tags.push((name, value));
    }
    match buf.get(pos) {
        Some(0) => Ok((tags, pos + 1)),
        Some(_) => codec("ans104: the Avro tag block lacks its 00 terminator"),
        None => codec("ans104: truncated Avro tag block (no terminator)"),
    }
}

// --- validation, normalisation, IDs -------------------------------------------------------------

fn check_size(field: &str, v: &[u8], allowed: &[usize]) -> Result<()> {
    if allowed.contains(&v.len()) {
        Ok(())
    } else {
        codec(format!(
            "ans104: invalid field {field}: {} bytes (allowed: {allowed:?})",
            v.len()
        ))
    }
}

impl DataItem {
    /// `enforce_valid_tx` for the fields that reach the wire (spec core §8.2), plus signature
    /// type 1 only (the one HyperBEAM can serialise).
    pub fn validate(&self) -> Result<()> {
        if self.signature_type != 1 {
            return Err(Error::Signature(format!(
                "ans104: unsupported signature type {} (only 1, RSA-4096)",
                self.signature_type
            )));
        }
        check_size("target", &self.target, &[0, 32])?;
        check_size("last_tx", &self.anchor, &[0, 32])?;
        check_size("owner", &self.owner, &[0, OWNER_LEN])?;
        if !(self.signature.is_empty() || self.signature.len() == SIG_LEN) {
            return Err(Error::Signature(format!(
                "ans104: a signature of {} bytes does not fit signature type 1 (512 bytes)",
                self.signature.len()
            )));
        }
        for (name, value) in &self.tags {
            if name.len() > MAX_TAG_BYTES {
                return codec(format!("ans104: tag name of {} bytes", name.len()));
            }
            if value.len() > MAX_TAG_BYTES {
                return codec(format!("ans104: tag value of {} bytes", value.len()));
            }
        }
        Ok(())
    }

    fn owner_bytes(&self) -> &[u8] {
        if self.owner.is_empty() {
            &ZEROS
        } else {
            &self.owner
        }
    }

    fn signature_bytes(&self) -> &[u8] {
        if self.signature.is_empty() {
            &ZEROS
        } else {
            &self.signature
        }
    }

    /// Signed: the signature is present and not all zeros.
    pub fn is_signed(&self) -> bool {
        self.signature.iter().any(|&b| b != 0)
    }

    /// `normalize`: map and list data become bundle bytes and bundle tags (spec core §8.6),
    /// recursively. Items whose data is already bytes come back unchanged.
    pub fn normalize(&self) -> Result<DataItem> {
        self.normalize_depth(0)
    }

    fn normalize_depth(&self, depth: usize) -> Result<DataItem> {
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

    fn clone_without_data(&self) -> DataItem {
        DataItem {
            signature_type: self.signature_type,
            signature: self.signature.clone(),
            owner: self.owner.clone(),
            target: self.target.clone(),
            anchor: self.anchor.clone(),
            tags: self.tags.clone(),
            data: Data::Bytes(Vec::new()),
        }
    }

    fn data_bytes(&self) -> Result<&[u8]> {
        match &self.data {
            Data::Bytes(b) => Ok(b),
            _ => codec("ans104: internal: item not normalised"),
        }
    }

    /// Runs `f` on the normalised item, without copying when it already is.
    fn with_normalized<R>(&self, f: impl FnOnce(&DataItem) -> Result<R>) -> Result<R> {
        match self.data {
            Data::Bytes(_) => f(self),
            _ => f(&self.normalize()?),
        }
    }

    fn signature_data_with_owner(&self, owner: &[u8]) -> Result<Hash48> {
        self.validate()?;
        let tags = encode_tags(&self.tags);
        // `["dataitem", "1", "1", owner, target, anchor, tags, data]` (validate: type 1)
        Ok(deep_hash::data_item_type1(
            owner,
            &self.target,
            &self.anchor,
            &tags,
            self.data_bytes()?,
        ))
    }

    /// `data_item_signature_data(TX, signed)`: the deep hash that is signed.
    pub fn signature_data(&self) -> Result<Hash48> {
        self.with_normalized(|it| it.signature_data_with_owner(it.owner_bytes()))
    }

    /// `data_item_signature_data(TX, unsigned)`: the deep hash with owner = 512 zero bytes.
    pub fn unsigned_signature_data(&self) -> Result<Hash48> {
        self.with_normalized(|it| it.signature_data_with_owner(&ZEROS))
    }

    fn unsigned_id_normalized(&self) -> Result<[u8; 32]> {
        Ok(sha256(&self.signature_data_with_owner(&ZEROS)?))
    }

    /// `sha256(unsigned signature data)`.
    pub fn unsigned_id(&self) -> Result<[u8; 32]> {
        Ok(sha256(&self.unsigned_signature_data()?))
    }

    /// `sha256(signature)` when signed, else 32 zero bytes.
    pub fn id(&self) -> [u8; 32] {
        if self.is_signed() {
            sha256(&self.signature)
        } else {
            [0u8; 32]
        }
    }

    fn serialize_normalized(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let tags = encode_tags(&self.tags);
        let data = self.data_bytes()?;
        let mut out = Vec::with_capacity(1024 + 2 + 66 + 16 + tags.len() + data.len());
        out.extend_from_slice(&self.signature_type.to_le_bytes());
        out.extend_from_slice(self.signature_bytes());
        out.extend_from_slice(self.owner_bytes());
        for opt in [&self.target, &self.anchor] {
            if opt.is_empty() {
                out.push(0);
            } else {
                out.push(1);
                out.extend_from_slice(opt);
            }
        }
        let (n, size) = if self.tags.is_empty() {
            (0u64, 0u64)
        } else {
            (self.tags.len() as u64, tags.len() as u64)
        };
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&tags);
        out.extend_from_slice(data);
        Ok(out)
    }

    /// `ar_bundles:serialize`: the binary data item (bundles are normalised first).
    pub fn serialize(&self) -> Result<Vec<u8>> {
        self.with_normalized(|it| it.serialize_normalized())
    }

    /// `sign_item`: normalise, set the owner, sign the deep hash with RSA-PSS-SHA256 (salt 32).
    pub fn sign(&self, key: &PrivateKey) -> Result<DataItem> {
        let n = key.modulus();
        if n.len() != OWNER_LEN {
            return Err(Error::Signature(format!(
                "ans104 signs with RSA-4096 keys only (this modulus is {} bytes)",
                n.len()
            )));
        }
        let mut item = self.normalize()?;
        item.signature_type = 1;
        item.owner = n.to_vec();
        let digest = item.signature_data_with_owner(n)?;
        item.signature = key.sign(Digest::Sha256, &digest)?;
        Ok(item)
    }

    /// `verify_item`: a valid RSA-PSS-SHA256 signature over the deep hash, and the tag limits
    /// (<= 128 tags, names <= 1024 bytes, values <= 3072 bytes). Unsigned items do not verify.
    /// Never fails: malformed items are simply not valid.
    pub fn verify(&self) -> bool {
        self.with_normalized(|it| Ok(it.verify_normalized()))
            .unwrap_or(false)
    }

    fn verify_normalized(&self) -> bool {
        if !self.is_signed() || self.signature.len() != SIG_LEN || self.owner.len() != OWNER_LEN {
            return false;
        }
        if self.tags.len() > MAX_VERIFY_TAGS
            || self
                .tags
                .iter()
                .any(|(n, v)| n.len() > MAX_VERIFY_NAME || v.len() > MAX_TAG_BYTES)
        {
            return false;
        }
        let Ok(digest) = self.signature_data_with_owner(&self.owner) else {
            return false;
        };
        match PublicKey::from_modulus(&self.owner) {
            Ok(pk) => pk.verify(Digest::Sha256, &digest, &self.signature),
            Err(_) => false,
        }
    }

    /// Parses a binary data item; the data stays raw bytes (see [`DataItem::unbundle`]).
    pub fn parse(buf: &[u8]) -> Result<DataItem> {
        if buf.len() < 2 {
            return codec("ans104: truncated data item (no signature type)");
        }
        let sig_type = u16::from_le_bytes([buf[0], buf[1]]);
        if sig_type != 1 {
            return Err(Error::Signature(format!(
                "ans104: unsupported signature type {sig_type} (only 1, RSA-4096)"
            )));
        }
        let mut pos = 2usize;
        let signature = take(buf, &mut pos, SIG_LEN as u64, "signature")?.to_vec();
        let owner = take(buf, &mut pos, OWNER_LEN as u64, "owner")?.to_vec();
        let mut opts: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        for (slot, what) in opts.iter_mut().zip(["target", "anchor"]) {
            match buf.get(pos) {
                Some(0) => pos += 1,
                Some(1) => {
                    pos += 1;
                    *slot = take(buf, &mut pos, 32, what)?.to_vec();
                }
                Some(b) => return codec(format!("ans104: bad {what} presence byte {b}")),
                None => return codec(format!("ans104: truncated data item (no {what})")),
            }
        }
        let header = take(buf, &mut pos, 16, "tag header")?;
        let tags = if header.iter().all(|&b| b == 0) {
            Vec::new()
        } else {
            let (tags, used) = decode_tags(&buf[pos..])?;
            // The header's tag count and byte length must describe the Avro block (HyperBEAM
            // ignores them; arbundles rejects a mismatch). Unchecked, they are bytes a third
            // party could change without breaking the signature.
            let count = u64::from_le_bytes(header[..8].try_into().unwrap_or([0xff; 8]));
            let size = u64::from_le_bytes(header[8..].try_into().unwrap_or([0xff; 8]));
            if count != tags.len() as u64 || size != used as u64 {
                return codec(format!(
                    "ans104: tag header says {count} tags in {size} bytes, the tag block has {} in {used}",
                    tags.len()
                ));
            }
            pos += used;
            tags
        };
        let [target, anchor] = opts;
        Ok(DataItem {
            signature_type: 1,
            signature,
            owner,
            target,
            anchor,
            tags,
            data: Data::Bytes(buf[pos..].to_vec()),
        })
    }

    /// Parses and un-bundles recursively (`ar_bundles:deserialize`).
    pub fn parse_unbundled(buf: &[u8]) -> Result<DataItem> {
        DataItem::parse(buf)?.unbundle_depth(0)
    }

    fn tag(&self, name: &[u8]) -> Option<&[u8]> {
        self.tags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// `maybe_unbundle`: when `bundle-format: binary` and `bundle-version: 2.0.0` are the first
    /// tags of those names, the data becomes the items: a map through the `bundle-map` manifest,
    /// else a list. Empty bundle data stays empty bytes ("detached").
    pub fn unbundle(self) -> Result<DataItem> {
        self.unbundle_depth(0)
    }

    fn unbundle_depth(mut self, depth: usize) -> Result<DataItem> {
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

// --- bundles ------------------------------------------------------------------------------------

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

// --- the JSON manifest --------------------------------------------------------------------------

fn json_string(out: &mut Vec<u8>, s: &[u8]) -> Result<()> {
    if std::str::from_utf8(s).is_err() {
        return codec("ans104: a bundle key is not valid UTF-8 (the JSON manifest needs text)");
    }
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04X}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
    Ok(())
}

/// Compact JSON `{"key":"id",...}` in the given (sorted) order, as OTP's `json:encode`.
fn manifest_json(index: &[(&[u8], String)]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(index.len() * 56 + 2);
    out.push(b'{');
    for (i, (k, v)) in index.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_string(&mut out, k)?;
        out.push(b':');
        json_string(&mut out, v.as_bytes())?;
    }
    out.push(b'}');
    Ok(out)
}

struct Json<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Json<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<()> {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            codec(format!(
                "ans104: bad bundle manifest JSON (expected {:?})",
                c as char
            ))
        }
    }
    fn hex4(&mut self) -> Result<u32> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| Error::Codec("ans104: bad \\u escape in bundle manifest".into()))?;
        self.pos += 4;
        Ok(h)
    }
    fn string(&mut self) -> Result<String> {
        self.eat(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return codec("ans104: unterminated string in bundle manifest");
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return codec("ans104: bad escape in bundle manifest");
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.s.get(self.pos) == Some(&b'\\')
                            {
                                self.pos += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000
                                    + ((cp - 0xd800) << 10)
                                    + (lo.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).ok_or_else(|| {
                                Error::Codec("ans104: bad code point in bundle manifest".into())
                            })?;
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return codec("ans104: bad escape in bundle manifest"),
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out)
            .map_err(|_| Error::Codec("ans104: bundle manifest is not UTF-8".into()))
    }
}

/// Parses the manifest `{"key": "id", ...}` (string values only), in document order.
pub fn parse_manifest_json(s: &[u8]) -> Result<Vec<(String, String)>> {
    let mut p = Json { s, pos: 0 };
    let mut out = Vec::new();
    p.eat(b'{')?;
    p.ws();
    if p.s.get(p.pos) == Some(&b'}') {
        p.pos += 1;
    } else {
        loop {
            p.ws();
            let k = p.string()?;
            p.eat(b':')?;
            p.ws();
            let v = p.string()?;
            out.push((k, v));
            p.ws();
            match p.s.get(p.pos) {
                Some(b',') => p.pos += 1,
                Some(b'}') => {
                    p.pos += 1;
                    break;
                }
                _ => return codec("ans104: bad bundle manifest JSON"),
            }
        }
    }
    p.ws();
    if p.pos != s.len() {
        return codec("ans104: trailing bytes after the bundle manifest JSON");
    }
    Ok(out)
}

/// Verifies many binary data items on `threads` native threads (0 = available parallelism).
/// A malformed item is simply not valid.
pub fn verify_many(items: &[&[u8]], threads: usize) -> Vec<bool> {
    let check = |b: &[u8]| DataItem::parse(b).map(|it| it.verify()).unwrap_or(false);
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .min(items.len().max(1));
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(|b| check(b)).collect();
    }
    let mut out = vec![false; items.len()];
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (ins, outs) in items.chunks(chunk).zip(out.chunks_mut(chunk)) {
            s.spawn(move || {
                for (i, o) in ins.iter().zip(outs.iter_mut()) {
                    *o = check(i);
                }
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn spec_item() -> DataItem {
        DataItem {
            tags: vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"caps".to_vec(), b"X".to_vec()),
            ],
            data: Data::Bytes(b"hello".to_vec()),
            ..DataItem::default()
        }
    }

    #[test]
    fn avro_vector() {
        let t = encode_tags(&spec_item().tags);
        assert_eq!(t, hex("04026102310863617073025800"));
        let (back, used) = decode_tags(&t).unwrap();
        assert_eq!(used, t.len());
        assert_eq!(back, spec_item().tags);
        assert!(encode_tags(&[]).is_empty());
    }

    #[test]
    fn spec_layout_and_unsigned_id() {
        let it = spec_item();
        let bytes = it.serialize().unwrap();
        let mut want = vec![1u8, 0];
        want.extend_from_slice(&[0u8; 1024]);
        want.extend_from_slice(&[0, 0]);
        want.extend_from_slice(&hex("02000000000000000d00000000000000"));
        want.extend_from_slice(&hex("04026102310863617073025800"));
        want.extend_from_slice(b"hello");
        assert_eq!(bytes, want);
        assert_eq!(
            b64url(&it.unsigned_id().unwrap()),
            "ssQWGu7dyUQzNHDeMpbWDDMjQb0xDUnn-IZdKDwRjRo"
        );
        assert_eq!(it.id(), [0u8; 32]);
        let back = DataItem::parse(&bytes).unwrap();
        assert_eq!(back.tags, it.tags);
        assert_eq!(back.data, it.data);
        assert_eq!(back.serialize().unwrap(), bytes);
    }

    #[test]
    fn sign_verify_tamper() {
        let key = PrivateKey::generate(4096).unwrap();
        let signed = spec_item().sign(&key).unwrap();
        assert!(signed.verify());
        assert_eq!(signed.id(), sha256(&signed.signature));
        let bytes = signed.serialize().unwrap();
        assert!(DataItem::parse(&bytes).unwrap().verify());
        assert_eq!(
            verify_many(&[&bytes, &bytes[..100], &bytes], 2),
            vec![true, false, true]
        );
        for pos in [5usize, 600, bytes.len() - 1, bytes.len() - 8] {
            let mut bad = bytes.clone();
            bad[pos] ^= 1;
            assert!(
                !DataItem::parse(&bad).map(|i| i.verify()).unwrap_or(false),
                "{pos}"
            );
        }
        assert_eq!(
            signed.unsigned_id().unwrap(),
            spec_item().unsigned_id().unwrap()
        );
        let small = PrivateKey::generate(2048).unwrap();
        assert!(matches!(spec_item().sign(&small), Err(Error::Signature(_))));
    }

    #[test]
    fn bad_input_never_panics() {
        let bytes = spec_item().serialize().unwrap();
        for n in 0..bytes.len() {
            let _ = DataItem::parse(&bytes[..n]);
        }
        assert!(DataItem::parse(&bytes[..1000]).is_err());
        let mut two = bytes.clone();
        two[0] = 2;
        assert!(matches!(DataItem::parse(&two), Err(Error::Signature(_))));
        let mut presence = bytes.clone();
        presence[1026] = 7;
        assert!(DataItem::parse(&presence).is_err());
        // hostile varints and counts
        assert!(decode_tags(&[0xff; 20]).is_err());
        assert!(decode_tags(&[0x7e]).is_err());
        assert!(decode_tags(&[0x02, 0x00]).is_err()); // empty name
        assert!(parse_bundle(&[0xff; 40]).is_err());
        assert!(parse_manifest_json(b"{\"a\":").is_err());
        let bad_sig = DataItem {
            signature: vec![1; 65],
            ..spec_item()
        };
        assert!(bad_sig.serialize().is_err());
        assert!(!bad_sig.verify());
    }

    #[test]
    fn bundles_round_trip() {
        let child = DataItem {
            tags: vec![(b"ao-type".to_vec(), b"binary".to_vec())],
            data: Data::Bytes(vec![b'z'; 200]),
            ..DataItem::default()
        };
        let outer = DataItem {
            tags: vec![(b"a".to_vec(), b"1".to_vec())],
            data: Data::Map(vec![(b"big".to_vec(), child.clone())]),
            ..DataItem::default()
        };
        let norm = outer.normalize().unwrap();
        let names: Vec<&[u8]> = norm.tags.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(
            names,
            vec![
                &b"bundle-format"[..],
                b"bundle-version",
                b"a",
                b"bundle-map"
            ]
        );
        let bytes = outer.serialize().unwrap();
        let back = DataItem::parse_unbundled(&bytes).unwrap();
        match &back.data {
            Data::Map(m) => {
                assert_eq!(m.len(), 1);
                assert_eq!(m[0].0, b"big");
                assert_eq!(m[0].1.data, child.data);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(back.serialize().unwrap(), bytes);
        let list = DataItem {
            data: Data::List(vec![child.clone(), child]),
            ..DataItem::default()
        };
        let lb = list.serialize().unwrap();
        assert!(matches!(
            DataItem::parse_unbundled(&lb).unwrap().data,
            Data::Map(_)
        ));
        let empty = serialize_bundle(&[]).unwrap();
        assert_eq!(parse_bundle(&empty).unwrap().len(), 0);
    }

    #[test]
    fn manifest_json_round_trip() {
        let idx = [(&b"k\"\\\n\x01\xc3\xa9"[..], "id".to_string())];
        let j = manifest_json(&idx).unwrap();
        assert_eq!(j, b"{\"k\\\"\\\\\\n\\u0001\xc3\xa9\":\"id\"}".to_vec());
        let back = parse_manifest_json(&j).unwrap();
        assert_eq!(back[0].0.as_bytes(), idx[0].0);
    }
}
