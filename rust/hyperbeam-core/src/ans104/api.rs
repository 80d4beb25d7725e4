//! The operations on any data item, bundles normalised first (spec core §8.2, §8.3): signature
//! data, IDs, serialise, sign, verify, and verifying many items on native threads.

use super::*;
use crate::crypto::{Digest, PrivateKey};
use crate::deep_hash::Hash48;
use crate::ids::sha256;

impl DataItem {
    /// `data_item_signature_data(TX, signed)`: the deep hash that is signed.
    pub fn signature_data(&self) -> Result<Hash48> {
        self.with_normalized(|it| it.signature_data_with_owner(it.owner_bytes()))
    }

    /// `data_item_signature_data(TX, unsigned)`: the deep hash with owner = 512 zero bytes.
    pub fn unsigned_signature_data(&self) -> Result<Hash48> {
        self.with_normalized(|it| it.signature_data_with_owner(&ZEROS))
    }

    /// `sha256(unsigned signature data)`.
    pub fn unsigned_id(&self) -> Result<[u8; 32]> {
        Ok(sha256(&self.unsigned_signature_data()?))
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
