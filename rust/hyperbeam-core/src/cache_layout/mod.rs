//! The message cache's store layout (spec runtime §10.2, §10.4), computed in one pass.
//!
//! A message (TABM) is written as one group per (sub-)message, named by its unsigned ID, with
//! one link per key: `<ID>/<key> -> data/<b64url(sha256(bytes))>` for binaries and
//! `<ID>/<key> -> <SubID>` for nested messages. [`write_ops`] produces exactly the store
//! operations Python's `cache.writing.ops_for` does, in the same order (children before their
//! group, a group before its links). It declines (`Ok(None)`) whatever the Python path must
//! handle itself so that it raises its typed errors: a key that is not a valid store path
//! segment or not UTF-8, a `device` key holding a map, a leaf that is not a binary.
//!
//! A sub-message's group is named by [`group_id`]: its unsigned ID when that ID covers every
//! key, else a hash of all of its content (two commitments that differ only in `signature`
//! have one unsigned ID, core §4.3, and must not share a group).

use crate::ids::{b64url, sha256};
use crate::keys::normalize_key;
use crate::message_id::unsigned_id;
use crate::{Msg, Result, Value};

/// Keys the unsigned ID leaves out of its signature base (core §4.3: the commitments, and the
/// httpsig headers `signature`, `body-keys`, `content-digest` that its encoding recomputes).
pub const UNCOVERED_KEYS: [&[u8]; 4] = [
    b"commitments",
    b"signature",
    b"body-keys",
    b"content-digest",
];

/// True when the unsigned ID of a map with key `k` does not depend on `k`'s value.
pub fn uncovered(k: &[u8]) -> bool {
    UNCOVERED_KEYS.contains(&normalize_key(k).as_slice())
}

/// The store group name of the TABM map `m`: its unsigned ID when no key of `m` is
/// [`uncovered`], else [`content_id`]; `Ok(None)` for a map that is not plain TABM.
pub fn group_id(m: &Msg) -> Result<Option<String>> {
    if m.keys().any(|k| uncovered(k)) {
        return Ok(content_id(m));
    }
    Ok(Some(b64url(&unsigned_id(m)?)))
}

/// SHA-256 of an injective encoding of the TABM map `m` (every key and byte, commitments and
/// signatures included), base64url; `None` when a value is neither a binary nor a map.
pub fn content_id(m: &Msg) -> Option<String> {
    let mut enc = Vec::with_capacity(256);
    enc.extend_from_slice(b"hb-cache-content/1\0");
    encode_content(m, &mut enc, 0)?;
    Some(b64url(&sha256(&enc)))
}

fn encode_content(m: &Msg, out: &mut Vec<u8>, depth: usize) -> Option<()> {
    if depth > crate::value::MAX_DEPTH {
        return None;
    }
    out.push(b'M');
    put_varint(out, m.len());
    for (k, v) in m {
        put_varint(out, k.len());
        out.extend_from_slice(k);
        match v {
            Value::Bin(b) => {
                out.push(b'B');
                put_varint(out, b.len());
                out.extend_from_slice(b);
            }
            Value::Map(sub) => encode_content(sub, out, depth + 1)?,
            _ => return None,
        }
    }
    Some(())
}

/// One store operation of a message's write set.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `("write", path, bytes)`
    Write(String, Vec<u8>),
    /// `("group", path)`
    Group(String),
    /// `("link", existing, new)`
    Link(String, String),
}

/// The `data/<b64url(sha256(bytes))>` path of a binary.
pub fn data_path(b: &[u8]) -> String {
    let mut s = String::with_capacity(48);
    s.push_str("data/");
    s.push_str(&b64url(&sha256(b)));
    s
}

/// False when `path` is a `data/<h>` content path and `b` does not hash to `<h>`: a corrupt
/// blob, never to be served (runtime §10.2).
pub fn data_matches(path: &str, b: &[u8]) -> bool {
    match path.strip_prefix("data/") {
        Some(h) => b64url(&sha256(b)) == h,
        None => true,
    }
}

/// Whether `k` is a valid single store path segment (runtime §10.3), as UTF-8 text.
pub fn segment(k: &[u8]) -> Option<&str> {
    if k.is_empty() || k == b"." || k == b".." || k.contains(&b'/') || k.contains(&0) {
        return None;
    }
    std::str::from_utf8(k).ok()
}

/// The operations writing the TABM `tabm` under `uid` (its unsigned ID, computed when `None`);
/// `Ok(None)` when the message needs the general (Python) path.
pub fn write_ops(tabm: &Msg, uid: Option<String>) -> Result<Option<(String, Vec<Op>)>> {
    let mut ops = Vec::with_capacity(tabm.len() * 2 + 1);
    let uid = match uid {
        Some(u) => u,
        None => b64url(&unsigned_id(tabm)?),
    };
    if map_ops(tabm, &uid, &mut ops, 0)? {
        Ok(Some((uid, ops)))
    } else {
        Ok(None)
    }
}

fn map_ops(m: &Msg, uid: &str, ops: &mut Vec<Op>, depth: usize) -> Result<bool> {
    if depth > crate::value::MAX_DEPTH {
        return Ok(false);
    }
    let mut links: Vec<Op> = Vec::with_capacity(m.len());
    for (k, v) in m {
        if k.starts_with(b"priv") {
            continue;
        }
        let Some(name) = segment(k) else {
            return Ok(false);
        };
        let target = match v {
            Value::Bin(b) => {
                let p = data_path(b);
                ops.push(Op::Write(p.clone(), b.clone()));
                p
            }
            Value::Map(sub) => {
                if k == b"device" {
                    return Ok(false);
                }
                let Some(sub_id) = group_id(sub)? else {
                    return Ok(false);
                };
                if !map_ops(sub, &sub_id, ops, depth + 1)? {
                    return Ok(false);
                }
                sub_id
            }
            _ => return Ok(false),
        };
        let mut path = String::with_capacity(uid.len() + 1 + name.len());
        path.push_str(uid);
        path.push('/');
        path.push_str(name);
        links.push(Op::Link(target, path));
    }
    ops.push(Op::Group(uid.to_owned()));
    ops.extend(links);
    Ok(true)
}

// ---- packed groups (the RocksDB store's compact message encoding) ---------------------------

/// Version byte that starts every packed table.
pub const PACK_VERSION: u8 = 1;
/// Kind byte of a packed child that is a link (payload: the UTF-8 target path).
pub const PACKED_LINK: u8 = 1;
/// Kind byte of a packed child that is raw bytes (payload: the bytes).
pub const PACKED_RAW: u8 = 2;
/// Most children a packed group takes: finding one child decodes the whole table, so bigger
/// messages keep the plain layout ([`packed_ops`] declines them).
pub const MAX_PACKED_CHILDREN: usize = 1024;
/// Largest packed table, in bytes (the same reason).
pub const MAX_PACKED_BYTES: usize = 1 << 16;

/// One child of a packed group, borrowed from the encoded table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child<'a> {
    /// A link to the path it names.
    Link(&'a str),
    /// Raw bytes stored inline.
    Raw(&'a [u8]),
}

/// A message's write set in the packed layout: the `data/<h>` values too big to inline, and
/// one packed table per (sub-)message, sub-messages before the messages that link to them.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedSet {
    /// The message's unsigned ID (the key of the last table).
    pub uid: String,
    /// `(data/<b64url(sha256(bytes))>, bytes)` for every binary longer than the inline limit.
    pub data: Vec<(String, Vec<u8>)>,
    /// `(group key, packed table)`, each group once.
    pub groups: Vec<(String, Vec<u8>)>,
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn corrupt<T>(what: &str) -> Result<T> {
    crate::error::codec(format!("corrupt packed group: {what}"))
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<usize> {
    let mut n: u64 = 0;
    let mut shift = 0u32;
    loop {
        let Some(&byte) = b.get(*pos) else {
            return corrupt("truncated length");
        };
        *pos += 1;
        if shift > 56 {
            return corrupt("length too long");
        }
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    match usize::try_from(n) {
        Ok(n) if n <= b.len() => Ok(n),
        _ => corrupt("length past the end"),
    }
}

fn take<'a>(b: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8]> {
    match pos.checked_add(len) {
        Some(end) if end <= b.len() => {
            let s = &b[*pos..end];
            *pos = end;
            Ok(s)
        }
        _ => corrupt("truncated entry"),
    }
}

/// Append the packed table of `children` (names strictly ascending, valid segments) to `out`:
/// `PACK_VERSION`, the count, then per child `len name kind len payload` (LEB128 lengths).
pub fn pack_into(out: &mut Vec<u8>, children: &[(&str, Child<'_>)]) {
    out.push(PACK_VERSION);
    put_varint(out, children.len());
    for (name, child) in children {
        put_varint(out, name.len());
        out.extend_from_slice(name.as_bytes());
        let (kind, payload) = match child {
            Child::Link(t) => (PACKED_LINK, t.as_bytes()),
            Child::Raw(b) => (PACKED_RAW, *b),
        };
        out.push(kind);
        put_varint(out, payload.len());
        out.extend_from_slice(payload);
    }
}

/// Decode a packed table, validating all of it: the version, every length, names that are
/// valid path segments in strictly ascending order, known kinds, UTF-8 link targets and no
/// trailing bytes. Errors (never panics) on anything else.
pub fn unpack(b: &[u8]) -> Result<Vec<(&str, Child<'_>)>> {
    if b.first() != Some(&PACK_VERSION) {
        return corrupt("unknown version");
    }
    let mut pos = 1;
    let n = get_varint(b, &mut pos)?;
    // Each child takes at least 4 bytes: a count larger than that is corrupt (and is never
    // used to reserve memory).
    if n > b.len() / 4 {
        return corrupt("count past the end");
    }
    let mut out: Vec<(&str, Child<'_>)> = Vec::with_capacity(n);
    for _ in 0..n {
        let len = get_varint(b, &mut pos)?;
        let name = take(b, &mut pos, len)?;
        let Some(name) = segment(name) else {
            return corrupt("bad child name");
        };
        if let Some((prev, _)) = out.last() {
            if prev.as_bytes() >= name.as_bytes() {
                return corrupt("child names out of order");
            }
        }
        let kind = take(b, &mut pos, 1)?[0];
        let len = get_varint(b, &mut pos)?;
        let payload = take(b, &mut pos, len)?;
        let child = match kind {
            PACKED_LINK => match std::str::from_utf8(payload) {
                Ok(t) if !t.is_empty() => Child::Link(t),
                _ => return corrupt("bad link target"),
            },
            PACKED_RAW => Child::Raw(payload),
            _ => return corrupt("unknown child kind"),
        };
        out.push((name, child));
    }
    if pos != b.len() {
        return corrupt("trailing bytes");
    }
    Ok(out)
}

/// The child `name` of a packed table (the whole table is validated), or `None`.
pub fn packed_child<'a>(b: &'a [u8], name: &str) -> Result<Option<Child<'a>>> {
    let all = unpack(b)?;
    Ok(all
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
        .ok()
        .map(|i| all[i].1))
}

/// The packed write set of the TABM `tabm` under `uid` (computed when `None`): binaries of at
/// most `inline_max` bytes are stored inside their group's table, longer ones once under
/// `data/<h>` and linked. `Ok(None)` when [`write_ops`] declines, and for a (sub-)message
/// with more than [`MAX_PACKED_CHILDREN`] children or a table over [`MAX_PACKED_BYTES`].
pub fn packed_ops(tabm: &Msg, uid: Option<String>, inline_max: usize) -> Result<Option<PackedSet>> {
    let uid = match uid {
        Some(u) => u,
        None => b64url(&unsigned_id(tabm)?),
    };
    let mut set = PackedSet {
        uid: String::new(),
        data: Vec::new(),
        groups: Vec::new(),
    };
    if pack_map(tabm, &uid, &mut set, inline_max, 0)? {
        set.uid = uid;
        Ok(Some(set))
    } else {
        Ok(None)
    }
}

fn pack_map(
    m: &Msg,
    uid: &str,
    set: &mut PackedSet,
    inline_max: usize,
    depth: usize,
) -> Result<bool> {
    if depth > crate::value::MAX_DEPTH {
        return Ok(false);
    }
    // Targets of links (data paths, sub-message IDs), owned until the table is packed.
    let mut targets: Vec<String> = Vec::new();
    enum Slot<'a> {
        Raw(&'a [u8]),
        Link(usize),
    }
    let mut slots: Vec<(&str, Slot<'_>)> = Vec::with_capacity(m.len());
    for (k, v) in m {
        if k.starts_with(b"priv") {
            continue;
        }
        let Some(name) = segment(k) else {
            return Ok(false);
        };
        match v {
            Value::Bin(b) if b.len() <= inline_max => slots.push((name, Slot::Raw(b))),
            Value::Bin(b) => {
                let p = data_path(b);
                if !set.data.iter().any(|(q, _)| *q == p) {
                    set.data.push((p.clone(), b.clone()));
                }
                targets.push(p);
                slots.push((name, Slot::Link(targets.len() - 1)));
            }
            Value::Map(sub) => {
                if k == b"device" {
                    return Ok(false);
                }
                let Some(sub_id) = group_id(sub)? else {
                    return Ok(false);
                };
                if !set.groups.iter().any(|(g, _)| *g == sub_id)
                    && !pack_map(sub, &sub_id, set, inline_max, depth + 1)?
                {
                    return Ok(false);
                }
                targets.push(sub_id);
                slots.push((name, Slot::Link(targets.len() - 1)));
            }
            _ => return Ok(false),
        }
    }
    if slots.len() > MAX_PACKED_CHILDREN {
        return Ok(false);
    }
    let children: Vec<(&str, Child<'_>)> = slots
        .iter()
        .map(|(n, s)| {
            let c = match s {
                Slot::Raw(b) => Child::Raw(b),
                Slot::Link(i) => Child::Link(targets[*i].as_str()),
            };
            (*n, c)
        })
        .collect();
    let size: usize = children
        .iter()
        .map(|(n, c)| {
            n.len()
                + 12
                + match c {
                    Child::Raw(b) => b.len(),
                    Child::Link(t) => t.len(),
                }
        })
        .sum();
    if size > MAX_PACKED_BYTES {
        return Ok(false);
    }
    let mut table = Vec::with_capacity(size + 8);
    pack_into(&mut table, &children);
    if !set.groups.iter().any(|(g, _)| g == uid) {
        set.groups.push((uid.to_owned(), table));
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
