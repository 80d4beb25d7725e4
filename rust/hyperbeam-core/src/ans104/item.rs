//! One data item whose data is bytes (spec core §8.1, §8.2): validation, the binary layout
//! (serialise, parse), the deep hash that is signed, and signature checking.

use super::tags::{decode_tags, encode_tags, take};
use super::*;
use crate::crypto::{Digest, PublicKey};
use crate::deep_hash::{self, Hash48};
use crate::ids::sha256;

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

    pub(super) fn owner_bytes(&self) -> &[u8] {
        if self.owner.is_empty() {
            &ZEROS
        } else {
            &self.owner
        }
    }

    pub(super) fn signature_bytes(&self) -> &[u8] {
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

    /// `sha256(signature)` when signed, else 32 zero bytes.
    pub fn id(&self) -> [u8; 32] {
        if self.is_signed() {
            sha256(&self.signature)
        } else {
            [0u8; 32]
        }
    }

    pub(super) fn clone_without_data(&self) -> DataItem {
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

    pub(super) fn data_bytes(&self) -> Result<&[u8]> {
        match &self.data {
            Data::Bytes(b) => Ok(b),
            _ => codec("ans104: internal: item not normalised"),
        }
    }

    pub(super) fn signature_data_with_owner(&self, owner: &[u8]) -> Result<Hash48> {
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

    pub(super) fn unsigned_id_normalized(&self) -> Result<[u8; 32]> {
        Ok(sha256(&self.signature_data_with_owner(&ZEROS)?))
    }

    pub(super) fn serialize_normalized(&self) -> Result<Vec<u8>> {
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

    pub(super) fn verify_normalized(&self) -> bool {
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

    pub(super) fn tag(&self, name: &[u8]) -> Option<&[u8]> {
        self.tags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}
