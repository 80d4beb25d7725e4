//! The message cache's store layout (spec runtime §10.2, §10.4), computed in one pass.
//!
//! A message (TABM) is written as one group per (sub-)message, named by its unsigned ID, with
//! one link per key: `<ID>/<key> -> data/<b64url(sha256(bytes))>` for binaries and
//! `<ID>/<key> -> <SubID>` for nested messages. [`write_ops`] produces exactly the store
//! operations Python's `cache._ops_for` does, in the same order (children before their group,
//! a group before its links). It declines (`Ok(None)`) whatever the Python path must handle
//! itself so that it raises its typed errors: a key that is not a valid store path segment or
//! not UTF-8, a `device` key holding a map, a leaf that is not a binary.

use crate::ids::{b64url, sha256};
use crate::message_id::unsigned_id;
use crate::{Msg, Result, Value};

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
                let sub_id = b64url(&unsigned_id(sub)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(s: &str) -> Value {
        Value::Bin(s.as_bytes().to_vec())
    }

    #[test]
    fn layout_of_a_nested_message() {
        let mut inner = Msg::new();
        inner.insert(b"x".to_vec(), bin("1"));
        let mut m = Msg::new();
        m.insert(b"a".to_vec(), bin("hello"));
        m.insert(b"n".to_vec(), Value::Map(inner.clone()));
        m.insert(b"priv-x".to_vec(), bin("secret"));
        let (uid, ops) = write_ops(&m, None).unwrap().unwrap();
        let sub = b64url(&unsigned_id(&inner).unwrap());
        assert_eq!(
            ops,
            vec![
                Op::Write(data_path(b"hello"), b"hello".to_vec()),
                Op::Write(data_path(b"1"), b"1".to_vec()),
                Op::Group(sub.clone()),
                Op::Link(data_path(b"1"), format!("{sub}/x")),
                Op::Group(uid.clone()),
                Op::Link(data_path(b"hello"), format!("{uid}/a")),
                Op::Link(sub, format!("{uid}/n")),
            ]
        );
        assert_eq!(
            data_path(b""),
            "data/47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn declines_what_python_must_reject() {
        for bad in [&b".."[..], b"a/b", b"", b"x\0"] {
            let mut m = Msg::new();
            m.insert(bad.to_vec(), bin("v"));
            assert!(write_ops(&m, Some("u".into())).unwrap().is_none());
        }
        let mut m = Msg::new();
        m.insert(b"device".to_vec(), Value::Map(Msg::new()));
        assert!(write_ops(&m, Some("u".into())).unwrap().is_none());
        let mut m = Msg::new();
        m.insert(b"n".to_vec(), Value::Int(1));
        assert!(write_ops(&m, Some("u".into())).unwrap().is_none());
    }
}
