//! The single-pass unsigned ID (spec core §4.3) for the common case: a message with normalised
//! keys and no commitments. It classifies each key straight from the rich message, exactly as
//! `structured::from_msg` then `httpsig::to_http` would, borrowing values instead of building
//! both intermediate maps: typed values are encoded into one scratch buffer, the body's parts
//! are borrowed, and the multipart body is hashed as it is written, never assembled. Nested
//! maps still go through `structured::from_msg`. It works over a sorted slice of borrowed
//! entries, so callers that hold the message in another form (the Python binding borrows a
//! `dict`'s strings and bytes) need not build a `Msg`. Tests check it against
//! `message_id::unsigned_id_general` on generated messages.

use std::cmp::Ordering;

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::httpsig_encode::{digest_field, group_maps, Body, Node, Parts, MAX_HEADER_LENGTH};
use crate::keys::{escape_into, is_id_size, is_normalized, is_private, list_to_numbered};
use crate::map_order::{is_hashed, mode, walk_order, Walk};
use crate::sf;
use crate::sig_base::{hmac_ao, is_derived, write_component_line};
use crate::structured::{encode_value_ref, from_msg, is_empty_message, is_regen_key};
use crate::value::{Msg, Value};

// Defined below this module (in `keys` and `value`, which `structured` uses too); re-exported
// here, where the binding imports them.
pub use crate::keys::{key_cmp, key_prefix};
pub use crate::value::{entries_to_msg, Entry, ValueRef};

/// `structured::is_empty_message` of a map given as entries.
fn entries_empty(e: &[Entry<'_>]) -> bool {
    match e {
        [] => true,
        [(k, _)] => *k == b"priv",
        _ => false,
    }
}

/// Keys whose presence sends a message down the general path.
fn is_general_key(k: &[u8]) -> bool {
    match k.len() {
        6 => k == b"ao-ids",
        8 => k == b"ao-types",
        11 => k == b"commitments",
        15 => k == b"signature-input" || k == b"inline-body-key",
        _ => false,
    }
}

/// `Some(id)` when the fast path applies, `None` when the general path must be used.
pub fn try_unsigned_id(m: &Msg) -> Result<Option<[u8; 32]>> {
    let entries: Vec<Entry<'_>> = m
        .iter()
        .map(|(k, v)| (k.as_slice(), ValueRef::from(v)))
        .collect();
    try_unsigned_id_entries(&entries)
}

/// Where a value lives: in the message, or in the scratch buffer of encoded values.
#[derive(Clone, Copy)]
enum Src<'a> {
    Msg(&'a [u8]),
    Scratch(usize, usize),
}

fn resolve<'s>(src: Src<'s>, scratch: &'s [u8]) -> &'s [u8] {
    match src {
        Src::Msg(b) => b,
        Src::Scratch(a, b) => &scratch[a..b],
    }
}

/// A value that goes into the body: a binary, or a nested map's TABM (an index into `tabms`).
enum BodySrc<'a> {
    Bin(Src<'a>),
    Tabm(usize),
    /// A nested map encoded in place: a range of the flat entries.
    Flat(usize, usize),
}

/// A nested map made only of binaries and scalars under normalised keys (the common case),
/// put in TABM form without building one: its entries, as `structured::from_msg` would make
/// them (`ao-types` in its place), are appended to `flat`, values encoded into `scratch`.
/// `None` (nothing written) for any other map, which goes through `from_msg`.
///
/// `x` yields the map's entries in key order (each key once).
fn flat_nested<'a>(
    x: impl Iterator<Item = (&'a [u8], ValueRef<'a>)> + Clone,
    scratch: &mut Vec<u8>,
    flat: &mut Vec<(&'a [u8], Src<'a>)>,
) -> Result<Option<(usize, usize)>> {
    let simple = x.clone().all(|(k, v)| {
        is_normalized(k)
            && k != b"ao-types"
            && match v {
                ValueRef::Bin(_) | ValueRef::Int(_) | ValueRef::BigInt(_) | ValueRef::Atom(_) => {
                    true
                }
                ValueRef::Float(f) => f.is_finite(),
                ValueRef::List(_) | ValueRef::Map(_) | ValueRef::Entries(_) => false,
            }
    });
    if !simple {
        return Ok(None);
    }
    let start = flat.len();
    let mut any_typed = false;
    for (k, v) in x.clone() {
        if is_regen_key(k) || is_private(k) {
            continue;
        }
        match v {
            ValueRef::Bin([]) => any_typed = true,
            ValueRef::Bin(b) => flat.push((k, Src::Msg(b))),
            other => {
                any_typed = true;
                let at = scratch.len();
                encode_value_ref(other, scratch)?;
                flat.push((k, Src::Scratch(at, scratch.len())));
            }
        }
    }
    if any_typed {
        let at = scratch.len();
        for (k, v) in x {
            if is_regen_key(k) || is_private(k) {
                continue;
            }
            let t: &[u8] = match v {
                ValueRef::Bin([]) => b"empty-binary",
                ValueRef::Bin(_) => continue,
                ValueRef::Int(_) | ValueRef::BigInt(_) => b"integer",
                ValueRef::Float(_) => b"float",
                ValueRef::Atom(_) => b"atom",
                // Excluded above.
                ValueRef::List(_) | ValueRef::Map(_) | ValueRef::Entries(_) => continue,
            };
            if scratch.len() > at {
                scratch.extend_from_slice(b", ");
            }
            escape_into(k, scratch);
            // The type names need no escaping: `sf::ser_string` would only add the quotes.
            scratch.extend_from_slice(b"=\"");
            scratch.extend_from_slice(t);
            scratch.push(b'"');
        }
        let pos = start + flat[start..].partition_point(|(k, _)| key_cmp(k, b"ao-types").is_lt());
        flat.insert(pos, (b"ao-types", Src::Scratch(at, scratch.len())));
    }
    Ok(Some((start, flat.len())))
}

/// A signature-base component: whether its name is derived (marked with `@`), name, value.
type Component<'a> = (bool, &'a [u8], &'a [u8]);

/// Order of the marked names (`@` + derived names), without building them.
fn cmp_marked(a: &Component<'_>, b: &Component<'_>) -> Ordering {
    if a.0 == b.0 {
        return key_cmp(a.1, b.1);
    }
    let marked = |c: &Component<'_>| {
        let (derived, name) = (c.0, c.1);
        derived
            .then_some(b'@')
            .into_iter()
            .chain(name.iter().copied())
            .collect::<Vec<u8>>()
    };
    marked(a).cmp(&marked(b))
}

/// Insert `c` into `comps` (sorted by name, none derived) at its place.
fn insert_sorted<'a>(comps: &mut Vec<Component<'a>>, c: Component<'a>) {
    let at = comps.partition_point(|x| key_cmp(x.1, c.1) == Ordering::Less);
    comps.insert(at, c);
}

/// The fast path over a message's entries, which must be sorted by key with no key twice
/// (as a `Msg` iterates); `None` (use the general path) when they are not, or when the
/// message needs the general path.
pub fn try_unsigned_id_entries(entries: &[Entry<'_>]) -> Result<Option<[u8; 32]>> {
    if !entries
        .windows(2)
        .all(|w| key_cmp(w[0].0, w[1].0) == Ordering::Less)
    {
        return Ok(None);
    }
    // One pass over each key's bytes: is it normalised, and does it hold a quote or backslash
    // (which its name in the signature parameters must escape)?
    let mut any_quote = false;
    for (k, _) in entries {
        let (special, quote) = k.iter().fold((false, false), |(s, q), &c| {
            (
                s | c.is_ascii_uppercase() | (c >= 0x80),
                q | (c == b'\\') | (c == b'"'),
            )
        });
        any_quote |= quote;
        if (special && !is_normalized(k)) || is_general_key(k) {
            return Ok(None);
        }
    }
    let present = |k: &[u8]| match entries.binary_search_by(|(e, _)| key_cmp(e, k)) {
        Err(_) => false,
        Ok(i) => match entries[i].1 {
            ValueRef::Bin(b) => !b.is_empty(),
            ValueRef::List(l) => !l.is_empty(),
            ValueRef::Map(x) => !is_empty_message(x),
            ValueRef::Entries(e) => !entries_empty(e),
            _ => true,
        },
    };
    let (add_ikey, ik): (bool, &[u8]) = if present(b"body") {
        (false, b"body")
    } else if present(b"data") {
        (true, b"data")
    } else {
        (false, b"body")
    };
    let mut scratch: Vec<u8> = Vec::with_capacity(512);
    let mut headers: Vec<(&[u8], Src<'_>)> = Vec::with_capacity(entries.len());
    let mut body: Vec<(&[u8], BodySrc<'_>)> = Vec::new();
    let mut tabms: Vec<Msg> = Vec::new();
    let mut flat: Vec<(&[u8], Src<'_>)> = Vec::new();
    let mut ao_types = Vec::new();
    // `group_ids`: the ID keys' binaries, listed in `ao-ids` after the loop
    let mut ids: Vec<(&[u8], Src<'_>)> = Vec::new();
    for &(k, v) in entries {
        if is_regen_key(k) || is_private(k) || k == b"signature" || k == b"body-keys" {
            continue;
        }
        let ty = |ao: &mut Vec<u8>, t: &str| {
            if ao.is_empty() {
                ao.reserve(256);
            } else {
                ao.extend_from_slice(b", ");
            }
            escape_into(k, ao);
            // The type names need no escaping: `sf::ser_string` would only add the quotes.
            ao.extend_from_slice(b"=\"");
            ao.extend_from_slice(t.as_bytes());
            ao.push(b'"');
        };
        let src = match v {
            ValueRef::Bin([]) => {
                ty(&mut ao_types, "empty-binary");
                continue;
            }
            ValueRef::List([]) => {
                ty(&mut ao_types, "empty-list");
                continue;
            }
            ValueRef::Map(x) if is_empty_message(x) => {
                ty(&mut ao_types, "empty-message");
                continue;
            }
            ValueRef::Bin(b) => Src::Msg(b),
            ValueRef::Entries(e) if entries_empty(e) => {
                ty(&mut ao_types, "empty-message");
                continue;
            }
            ValueRef::Map(x) => {
                let it = x.iter().map(|(k, v)| (k.as_slice(), ValueRef::from(v)));
                if let Some((a, b)) = flat_nested(it, &mut scratch, &mut flat)? {
                    body.push((k, BodySrc::Flat(a, b)));
                    continue;
                }
                tabms.push(from_msg(x)?);
                body.push((k, BodySrc::Tabm(tabms.len() - 1)));
                continue;
            }
            ValueRef::Entries(e) => {
                if !e.windows(2).all(|w| key_cmp(w[0].0, w[1].0).is_lt()) {
                    return Ok(None);
                }
                if let Some((a, b)) = flat_nested(e.iter().copied(), &mut scratch, &mut flat)? {
                    body.push((k, BodySrc::Flat(a, b)));
                    continue;
                }
                tabms.push(from_msg(&entries_to_msg(e))?);
                body.push((k, BodySrc::Tabm(tabms.len() - 1)));
                continue;
            }
            ValueRef::List(l) if matches!(l.first(), Some(Value::Map(_) | Value::List(_))) => {
                ty(&mut ao_types, "list");
                tabms.push(from_msg(&list_to_numbered(l))?);
                body.push((k, BodySrc::Tabm(tabms.len() - 1)));
                continue;
            }
            other => {
                let start = scratch.len();
                let t = encode_value_ref(other, &mut scratch)?;
                ty(&mut ao_types, t);
                Src::Scratch(start, scratch.len())
            }
        };
        let bin = resolve(src, &scratch);
        if is_id_size(k.len()) {
            ids.push((k, src));
        } else if k == b"body" || k == ik || bin.len() > MAX_HEADER_LENGTH {
            body.push((k, BodySrc::Bin(src)));
        } else {
            headers.push((k, src));
        }
    }
    // `maps:to_list` of the IDs: key order up to 32, the map order above (docs/map-order.md)
    let mut ao_ids = Vec::new();
    if !ids.is_empty() {
        let mut put = |(k, src): (&[u8], Src<'_>)| {
            if !ao_ids.is_empty() {
                ao_ids.extend_from_slice(b", ");
            }
            ao_ids.extend_from_slice(k);
            ao_ids.push(b'=');
            sf::ser_string(&mut ao_ids, resolve(src, &scratch));
        };
        if is_hashed(ids.len()) {
            let keys: Vec<&[u8]> = ids.iter().map(|(k, _)| *k).collect();
            walk_order(&keys, Walk::ToList, mode())
                .into_iter()
                .for_each(|i| put(ids[i]));
        } else {
            ids.iter().for_each(|&e| put(e));
        }
    }
    // A long `ao-ids` is a body part: the general path encodes it.
    if ao_ids.len() > MAX_HEADER_LENGTH {
        return Ok(None);
    }
    if ao_types.len() > MAX_HEADER_LENGTH {
        let start = scratch.len();
        scratch.extend_from_slice(&ao_types);
        let at = body.partition_point(|(k, _)| *k < b"ao-types".as_slice());
        let src = Src::Scratch(start, scratch.len());
        body.insert(at, (b"ao-types", BodySrc::Bin(src)));
        ao_types.clear();
    }
    let mut content_type = Vec::new();
    let mut digest = Vec::new();
    let mut has_body = false;
    if !body.is_empty() {
        let flat: Vec<(&[u8], &[u8])> = flat
            .iter()
            .map(|&(k, s)| (k, resolve(s, &scratch)))
            .collect();
        let nodes = body.iter().map(|(k, b)| {
            let node = match b {
                BodySrc::Bin(s) => Node::Bin(resolve(*s, &scratch)),
                BodySrc::Tabm(i) => Node::Map(&tabms[*i]),
                BodySrc::Flat(a, b) => Node::Flat(&flat[*a..*b]),
            };
            (*k, node)
        });
        let mut parts = Parts::new();
        group_maps(nodes, &[], &mut parts)?;
        match Body::of(&parts, ik) {
            Body::None => {}
            Body::Single(b) => {
                digest = digest_field(&Sha256::digest(b).into());
                has_body = true;
            }
            Body::Multipart(mp) => {
                let mut h = Sha256::new();
                mp.write_body(|chunk| h.update(chunk));
                digest = digest_field(&h.finalize().into());
                content_type = mp.content_type();
                has_body = true;
            }
        }
    }
    // The headers come in key order; the added fields are put in place, and only derived
    // names (which sort as `@name`) need a full sort.
    let mut comps: Vec<Component<'_>> = Vec::with_capacity(headers.len() + 5);
    let mut any_derived = false;
    for &(k, src) in &headers {
        if k == b"content-type" && !content_type.is_empty() {
            continue;
        }
        let derived = is_derived(k);
        any_derived |= derived;
        comps.push((derived, k, resolve(src, &scratch)));
    }
    if !ao_types.is_empty() {
        insert_sorted(&mut comps, (false, b"ao-types", &ao_types));
    }
    if !ao_ids.is_empty() {
        insert_sorted(&mut comps, (false, b"ao-ids", &ao_ids));
    }
    if add_ikey {
        insert_sorted(&mut comps, (false, b"inline-body-key", b"data"));
    }
    if !content_type.is_empty() {
        insert_sorted(&mut comps, (false, b"content-type", &content_type));
    }
    if has_body {
        insert_sorted(&mut comps, (false, b"content-digest", &digest));
    }
    if any_derived {
        comps.sort_unstable_by(cmp_marked);
    }
    let size: usize = comps.iter().map(|c| 2 * c.1.len() + c.2.len() + 10).sum();
    let mut base = Vec::with_capacity(size + 64);
    for (_, k, v) in &comps {
        write_component_line(k, v, &mut base);
    }
    if comps.is_empty() {
        base.push(b'\n');
    }
    base.extend_from_slice(b"\"@signature-params\": (");
    for (n, (derived, name, _)) in comps.iter().enumerate() {
        if n > 0 {
            base.push(b' ');
        }
        base.push(b'"');
        if *derived {
            base.push(b'@');
        }
        // Only message keys can hold quotes or backslashes (`any_quote` tells whether one does).
        if any_quote && name.iter().any(|&c| c == b'\\' || c == b'"') {
            for &c in *name {
                if c == b'\\' || c == b'"' {
                    base.push(b'\\');
                }
                base.push(c);
            }
        } else {
            base.extend_from_slice(name);
        }
        base.push(b'"');
    }
    base.extend_from_slice(b");alg=\"hmac-sha256\";keyid=\"ao\"");
    Ok(Some(hmac_ao(&base)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsorted_entries_are_left_to_the_general_path() {
        let e: [Entry<'_>; 2] = [(b"b", ValueRef::Int(1)), (b"a", ValueRef::Int(2))];
        assert_eq!(try_unsigned_id_entries(&e).unwrap(), None);
        let e: [Entry<'_>; 2] = [(b"a", ValueRef::Int(1)), (b"a", ValueRef::Int(2))];
        assert_eq!(try_unsigned_id_entries(&e).unwrap(), None);
    }
}
