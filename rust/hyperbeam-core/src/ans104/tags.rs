//! The Avro tag block of a data item (spec core §8.1): zigzag varint counts and lengths.

use super::{codec, Tag};
use crate::error::Result;

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

pub(super) fn take<'a>(buf: &'a [u8], pos: &mut usize, len: u64, what: &str) -> Result<&'a [u8]> {
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
        // an empty name is a tag like any other (HyperBEAM writes `{<<>>, V}` for an empty key;
        // arbundles reads and writes it)
        let nlen = get_zigzag(buf, &mut pos)?;
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
