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

//!
//! Layers, each using only those above it: `tags` (Avro tag block) and `manifest` (the bundle's
//! JSON index), `item` (one item whose data is bytes: validation, layout, deep hash), `bundle`
//! (nested items to and from bundle bytes), `api` (the operations on any item, normalised first),
//! `message` (a parsed item -> its TABM, `dev_codec_ans104:from`), `verified` (a plain signed
//! item's message, signature check and committed keys in one pass).

mod api;
mod bundle;
mod item;
mod manifest;
mod message;
mod tags;
#[cfg(test)]
mod tests;
mod verified;

pub use api::verify_many;
pub use bundle::{
    bundle_bytes, bundle_bytes_layout, bundle_layout, parse_bundle, serialize_bundle,
    serialize_bundle_layout, BundleLayout,
};
pub use manifest::parse_manifest_json;
pub use message::item_to_tabm;
pub use tags::{decode_tags, encode_tags};
pub use verified::{decode_verified, Verified};

use crate::error::{Error, Result};

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
