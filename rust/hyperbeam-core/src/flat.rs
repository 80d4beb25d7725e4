//! `flat@1.0`: nested keys joined with `/`, and its `key: value` text form (spec core §9).

use crate::error::{codec, lossy, Result};
use crate::map_order::{in_walk_order, Walk};
use crate::value::{Msg, Value, MAX_DEPTH};

/// TABM -> flat map (`dev_codec_flat:to`).
pub fn to_flat(tabm: &Msg) -> Result<Msg> {
    let mut out = Msg::new();
    flatten(tabm, &[], &mut out)?;
    Ok(out)
}

fn flatten(m: &Msg, prefix: &[u8], out: &mut Msg) -> Result<()> {
    for (k, v) in m {
        let mut path = prefix.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(k);
        match v {
            Value::Map(inner) => flatten(inner, &path, out)?,
            Value::Bin(_) => {
                out.insert(path, v.clone());
            }
            other => {
                return codec(format!(
                    "key {:?} holds a {}; flat@1.0 values must be binaries",
                    lossy(&path),
                    other.kind()
                ))
            }
        }
    }
    Ok(())
}

/// Flat map -> nested TABM (`dev_codec_flat:from`): split keys on `/`, merge maps,
/// and reject any other collision (`path_collision`).
pub fn from_flat(flat: &Msg) -> Result<Msg> {
    let mut out = Msg::new();
    for (k, v) in flat {
        let parts: Vec<&[u8]> = k.split(|c| *c == b'/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return codec(format!("flat key {:?} has no path segments", lossy(k)));
        }
        if parts.len() > MAX_DEPTH {
            return codec(format!("flat key nests deeper than {MAX_DEPTH} levels"));
        }
        insert_path(&mut out, &parts, v.clone(), k)?;
    }
    Ok(out)
}

fn insert_path(m: &mut Msg, parts: &[&[u8]], v: Value, full: &[u8]) -> Result<()> {
    let (head, rest) = match parts.split_first() {
        Some(x) => x,
        None => return Ok(()),
    };
    if rest.is_empty() {
        match (m.get_mut(*head), v) {
            (None, v) => {
                m.insert(head.to_vec(), v);
            }
            (Some(Value::Map(existing)), Value::Map(new)) => merge(existing, new, full)?,
            (Some(_), _) => return collision(full),
        }
        return Ok(());
    }
    let entry = m
        .entry(head.to_vec())
        .or_insert_with(|| Value::Map(Msg::new()));
    match entry {
        Value::Map(inner) => insert_path(inner, rest, v, full),
        _ => collision(full),
    }
}

fn merge(existing: &mut Msg, new: Msg, full: &[u8]) -> Result<()> {
    for (k, v) in new {
        match (existing.get_mut(&k), v) {
            (None, v) => {
                existing.insert(k, v);
            }
            (Some(Value::Map(a)), Value::Map(b)) => merge(a, b, full)?,
            (Some(_), _) => return collision(full),
        }
    }
    Ok(())
}

fn collision<T>(k: &[u8]) -> Result<T> {
    codec(format!("flat@1.0 path collision at key {:?}", lossy(k)))
}

/// `dev_codec_flat:serialize` of a flat map: `key: value\n` in `maps:keys` order (key order
/// up to 32 keys, the map order above: docs/map-order.md).
pub fn serialize(flat: &Msg) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let entries = in_walk_order(
        flat.iter().collect(),
        |e: &(&Vec<u8>, &Value)| e.0,
        Walk::ToList,
    );
    for (k, v) in entries {
        let Value::Bin(b) = v else {
            return codec(format!("flat key {:?} is not a binary", lossy(k)));
        };
        out.extend_from_slice(k);
        out.extend_from_slice(b": ");
        out.extend_from_slice(b);
        out.push(b'\n');
    }
    Ok(out)
}

/// `dev_codec_flat:deserialize`: lines that split on `": "` into exactly two parts.
pub fn deserialize(text: &[u8]) -> Msg {
    let mut out = Msg::new();
    for line in text.split(|c| *c == b'\n') {
        let mut pieces = Vec::new();
        let mut rest = line;
        while let Some(p) = rest.windows(2).position(|w| w == b": ") {
            pieces.push(&rest[..p]);
            rest = &rest[p + 2..];
        }
        pieces.push(rest);
        if let [k, v] = pieces.as_slice() {
            out.insert(k.to_vec(), Value::Bin(v.to_vec()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(s: &str) -> Value {
        Value::Bin(s.as_bytes().to_vec())
    }

    #[test]
    fn flat_round_trip_and_collisions() {
        let mut c = Msg::new();
        c.insert(b"d".to_vec(), bin("2"));
        let mut a = Msg::new();
        a.insert(b"b".to_vec(), bin("1"));
        a.insert(b"c".to_vec(), Value::Map(c));
        let mut m = Msg::new();
        m.insert(b"a".to_vec(), Value::Map(a));
        m.insert(b"e".to_vec(), bin("3"));
        let f = to_flat(&m).unwrap();
        assert_eq!(serialize(&f).unwrap(), b"a/b: 1\na/c/d: 2\ne: 3\n");
        assert_eq!(from_flat(&f).unwrap(), m);
        assert_eq!(
            deserialize(b"a/b: 1\na/c/d: 2\ne: 3\nbad line\nx: y: z\n"),
            f
        );
        let mut bad = Msg::new();
        bad.insert(b"a".to_vec(), bin("1"));
        bad.insert(b"a/b".to_vec(), bin("2"));
        assert!(from_flat(&bad).is_err());
    }
}
