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
use crate::httpsig::{digest_field, group_maps, Body, Node, Parts, MAX_HEADER_LENGTH};
use crate::keys::{escape_into, is_id_size, is_normalized, is_private, list_to_numbered};
use crate::message_id::{hmac_ao, is_derived, write_component_line};
use crate::sf;
use crate::structured::{encode_value_ref, from_msg, is_empty_message, is_regen_key};
use crate::value::{Msg, Value};

/// A borrowed view of a rich value (spec core §2.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Bin(&'a [u8]),
    Int(i64),
    /// An integer outside i64, as its decimal text.
    BigInt(&'a str),
    Float(f64),
    /// Any atom; `true`, `false` and `null` included.
    Atom(&'a str),
    List(&'a [Value]),
    Map(&'a Msg),
    /// A nested map as borrowed entries, which must be sorted by key with no key twice
    /// (otherwise the fast path leaves the message to the general path).
    Entries(&'a [Entry<'a>]),
}

impl ValueRef<'_> {
    /// The owned value.
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Bin(b) => Value::Bin(b.to_vec()),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::BigInt(s) => Value::BigInt(s.to_owned()),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Atom(a) => Value::Atom(a.to_owned()),
            ValueRef::List(l) => Value::List(l.to_vec()),
            ValueRef::Map(m) => Value::Map(m.clone()),
            ValueRef::Entries(e) => Value::Map(entries_to_msg(e)),
        }
    }
}

/// The owned map of `entries`.
pub fn entries_to_msg(entries: &[Entry<'_>]) -> Msg {
    entries
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_value()))
        .collect()
}

/// `structured::is_empty_message` of a map given as entries.
fn entries_empty(e: &[Entry<'_>]) -> bool {
    match e {
        [] => true,
        [(k, _)] => *k == b"priv",
        _ => false,
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Bin(b) => ValueRef::Bin(b),
            Value::Int(i) => ValueRef::Int(*i),
            Value::BigInt(s) => ValueRef::BigInt(s),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Atom(a) => ValueRef::Atom(a),
            Value::List(l) => ValueRef::List(l),
            Value::Map(m) => ValueRef::Map(m),
        }
    }
}

/// One key of a message and its value, borrowed.
pub type Entry<'a> = (&'a [u8], ValueRef<'a>);

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

/// The first 8 bytes of a key, zero-padded, as a big-endian integer: keys whose prefixes
/// differ sort as their prefixes do.
#[inline]
pub fn key_prefix(k: &[u8]) -> u64 {
    let n = k.len();
    if let Some(p) = k.first_chunk::<8>() {
        return u64::from_be_bytes(*p);
    }
    // Shorter keys: two overlapping loads; the overlapping bytes are the same, so OR is exact.
    let (hi, lo) = if n >= 4 {
        let a = u32::from_be_bytes([k[0], k[1], k[2], k[3]]);
        let b = u32::from_be_bytes([k[n - 4], k[n - 3], k[n - 2], k[n - 1]]);
        (u64::from(a) << 32, u64::from(b) << (8 * (8 - n)))
    } else if n >= 2 {
        let a = u16::from_be_bytes([k[0], k[1]]);
        let b = u16::from_be_bytes([k[n - 2], k[n - 1]]);
        (u64::from(a) << 48, u64::from(b) << (8 * (8 - n)))
    } else if n == 1 {
        (u64::from(k[0]) << 56, 0)
    } else {
        (0, 0)
    };
    hi | lo
}

/// Byte order of keys, deciding most comparisons on a zero-padded 8-byte prefix without a
/// `memcmp` call (a prefix that sorts lower belongs to a key that sorts lower).
#[inline]
pub fn key_cmp(a: &[u8], b: &[u8]) -> Ordering {
    match key_prefix(a).cmp(&key_prefix(b)) {
        Ordering::Equal => a.cmp(b),
        other => other,
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
    let mut ao_ids = Vec::new();
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
            if !ao_ids.is_empty() {
                ao_ids.extend_from_slice(b", ");
            }
            ao_ids.extend_from_slice(k);
            ao_ids.push(b'=');
            sf::ser_string(&mut ao_ids, bin);
        } else if k == b"body" || k == ik || bin.len() > MAX_HEADER_LENGTH {
            body.push((k, BodySrc::Bin(src)));
        } else {
            headers.push((k, src));
        }
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
    fn key_order_matches_byte_order() {
        let keys: [&[u8]; 14] = [
            b"",
            b"a",
            b"a\0",
            b"a\0b",
            b"ab",
            b"abc",
            b"abcd",
            b"abcde",
            b"abcdefg",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefghi",
            b"b",
            b"\xff\xff",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(key_cmp(a, b), a.cmp(b), "{a:?} {b:?}");
                if key_prefix(a) < key_prefix(b) {
                    assert!(a < b);
                }
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_general_path() {
        let bin = |s: &str| Value::Bin(s.as_bytes().to_vec());
        let map = |kv: &[(&str, Value)]| -> Msg {
            kv.iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
                .collect()
        };
        let cases = [
            // A nested map whose only keys are private-looking (dropped): no body at all.
            map(&[("x", Value::Map(map(&[("priva", bin("1"))])))]),
            map(&[(
                "x",
                Value::List(vec![Value::Map(map(&[("privz", bin("1"))]))]),
            )]),
            map(&[("a", bin("1")), ("path", bin("/p")), ("method", bin("GET"))]),
            map(&[
                ("body", bin("b")),
                ("content-type", bin("text/plain")),
                (
                    "n",
                    Value::Map(map(&[
                        ("k", Value::Int(1)),
                        ("big", bin(&"x".repeat(5000))),
                    ])),
                ),
            ]),
            map(&[(
                "n",
                Value::Map(map(&[
                    ("a", Value::Atom("x".into())),
                    ("ao", bin("")),
                    ("aq", bin("q")),
                    ("b", Value::BigInt("123456789012345678901234567890".into())),
                    ("f", Value::Float(-2.5)),
                    ("privy", bin("p")),
                    ("z", Value::Atom("null".into())),
                ])),
            )]),
            map(&[
                ("body", bin("b")),
                (
                    "m",
                    Value::Map(map(&[("k", bin("v")), ("k2", Value::Int(-7))])),
                ),
                (
                    "m2",
                    Value::Map(map(&[("k", Value::Map(map(&[("j", Value::Int(1))])))])),
                ),
            ]),
            map(&[
                ("data", bin("d")),
                ("f", Value::Float(0.1)),
                ("g", Value::Float(1.5)),
            ]),
            map(&[
                (&"k".repeat(43), Value::Int(5)),
                ("l", Value::List(vec![bin("a\"b")])),
            ]),
        ];
        for m in &cases {
            let fast = try_unsigned_id(m).unwrap().expect("fast path applies");
            assert_eq!(
                fast,
                crate::message_id::unsigned_id_general(m).unwrap(),
                "{m:?}"
            );
        }
    }

    #[test]
    fn nested_entries_agree_with_nested_maps() {
        let inner: [Entry<'_>; 3] = [
            (b"a", ValueRef::Int(1)),
            (b"b", ValueRef::Bin(b"x")),
            (b"c", ValueRef::Float(0.5)),
        ];
        let outer: [Entry<'_>; 2] = [
            (b"body", ValueRef::Bin(b"hello")),
            (b"n", ValueRef::Entries(&inner)),
        ];
        let msg: Msg = outer
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_value()))
            .collect();
        let general = crate::message_id::unsigned_id_general(&msg).unwrap();
        assert_eq!(try_unsigned_id_entries(&outer).unwrap(), Some(general));
        // Unsorted nested entries: left to the general path.
        let bad: [Entry<'_>; 2] = [(b"b", ValueRef::Int(1)), (b"a", ValueRef::Int(2))];
        let outer: [Entry<'_>; 1] = [(b"n", ValueRef::Entries(&bad))];
        assert_eq!(try_unsigned_id_entries(&outer).unwrap(), None);
    }

    #[test]
    fn unsorted_entries_are_left_to_the_general_path() {
        let e: [Entry<'_>; 2] = [(b"b", ValueRef::Int(1)), (b"a", ValueRef::Int(2))];
        assert_eq!(try_unsigned_id_entries(&e).unwrap(), None);
        let e: [Entry<'_>; 2] = [(b"a", ValueRef::Int(1)), (b"a", ValueRef::Int(2))];
        assert_eq!(try_unsigned_id_entries(&e).unwrap(), None);
    }
}
