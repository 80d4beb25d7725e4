//! The single-pass unsigned ID (spec core §4.3) for the common case: a message with normalised
//! keys and no commitments. It classifies each key straight from the rich message, exactly as
//! `structured::from_msg` then `httpsig::to_http` would, borrowing values instead of building
//! both intermediate maps; nested maps still go through the general multipart code. Tests check
//! it against `message_id::unsigned_id_general` on generated messages.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::Result;
use crate::httpsig::{content_digest, group_maps, multipart, HttpMsg, MAX_HEADER_LENGTH};
use crate::keys::{escape_into, is_id_size, is_normalized, is_private, list_to_numbered};
use crate::message_id::{hmac_ao, is_derived, write_component_line};
use crate::sf;
use crate::structured::{encode_value, from_msg, is_empty_message, is_regen_key};
use crate::value::{Msg, Value};

/// A header name and value, borrowed from the message where possible.
type Header<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

fn marked(derived: bool, name: &[u8]) -> impl Iterator<Item = u8> + '_ {
    derived
        .then_some(b'@')
        .into_iter()
        .chain(name.iter().copied())
}

/// Keys whose presence sends a message down the general path.
const GENERAL_KEYS: [&[u8]; 5] = [
    b"commitments",
    b"signature-input",
    b"ao-types",
    b"ao-ids",
    b"inline-body-key",
];

/// `Some(id)` when the fast path applies, `None` when the general path must be used.
pub fn try_unsigned_id(m: &Msg) -> Result<Option<[u8; 32]>> {
    if !m
        .keys()
        .all(|k| is_normalized(k) && !GENERAL_KEYS.contains(&k.as_slice()))
    {
        return Ok(None);
    }
    let present = |k: &[u8]| match m.get(k) {
        None => false,
        Some(Value::Bin(b)) => !b.is_empty(),
        Some(Value::List(l)) => !l.is_empty(),
        Some(Value::Map(x)) => !is_empty_message(x),
        Some(_) => true,
    };
    let (add_ikey, ik): (bool, &[u8]) = if present(b"body") {
        (false, b"body")
    } else if present(b"data") {
        (true, b"data")
    } else {
        (false, b"body")
    };
    let mut headers: Vec<Header<'_>> = Vec::with_capacity(m.len() + 4);
    let mut ao_types = Vec::new();
    let mut ao_ids = Vec::new();
    let mut body_map = Msg::new();
    for (k, v) in m {
        if is_regen_key(k) || is_private(k) || k == b"signature" || k == b"body-keys" {
            continue;
        }
        let ty = |ao: &mut Vec<u8>, t: &str| {
            if !ao.is_empty() {
                ao.extend_from_slice(b", ");
            }
            escape_into(k, ao);
            ao.push(b'=');
            sf::ser_string(ao, t.as_bytes());
        };
        let bin: Cow<'_, [u8]> = match v {
            Value::Bin(b) if b.is_empty() => {
                ty(&mut ao_types, "empty-binary");
                continue;
            }
            Value::List(l) if l.is_empty() => {
                ty(&mut ao_types, "empty-list");
                continue;
            }
            Value::Map(x) if is_empty_message(x) => {
                ty(&mut ao_types, "empty-message");
                continue;
            }
            Value::Bin(b) => Cow::Borrowed(b.as_slice()),
            Value::Map(x) => {
                body_map.insert(k.clone(), Value::Map(from_msg(x)?));
                continue;
            }
            Value::List(l) if matches!(l.first(), Some(Value::Map(_) | Value::List(_))) => {
                ty(&mut ao_types, "list");
                body_map.insert(k.clone(), Value::Map(from_msg(&list_to_numbered(l))?));
                continue;
            }
            other => {
                let mut enc = Vec::new();
                let t = encode_value(other, &mut enc)?;
                ty(&mut ao_types, t);
                Cow::Owned(enc)
            }
        };
        if is_id_size(k.len()) {
            if !ao_ids.is_empty() {
                ao_ids.extend_from_slice(b", ");
            }
            ao_ids.extend_from_slice(k);
            ao_ids.push(b'=');
            sf::ser_string(&mut ao_ids, &bin);
        } else if k == b"body" || k.as_slice() == ik || bin.len() > MAX_HEADER_LENGTH {
            body_map.insert(k.clone(), Value::Bin(bin.into_owned()));
        } else {
            headers.push((Cow::Borrowed(k.as_slice()), bin));
        }
    }
    if !ao_types.is_empty() {
        if ao_types.len() > MAX_HEADER_LENGTH {
            body_map.insert(b"ao-types".to_vec(), Value::Bin(ao_types));
        } else {
            headers.push((Cow::Borrowed(b"ao-types"), Cow::Owned(ao_types)));
        }
    }
    if !ao_ids.is_empty() {
        headers.push((Cow::Borrowed(b"ao-ids"), Cow::Owned(ao_ids)));
    }
    if add_ikey {
        headers.push((Cow::Borrowed(b"inline-body-key"), Cow::Borrowed(b"data")));
    }
    if !body_map.is_empty() {
        let mut parts = BTreeMap::new();
        group_maps(&body_map, &[], &mut parts)?;
        let body = match parts.get(ik) {
            Some(Value::Bin(b)) if parts.len() == 1 => b.clone(),
            _ => {
                let mut extra = HttpMsg::new();
                multipart(&parts, ik, &mut extra)?;
                headers.retain(|(k, _)| k.as_ref() != b"content-type");
                let ct = extra.remove(b"content-type".as_slice()).unwrap_or_default();
                headers.push((Cow::Borrowed(b"content-type"), Cow::Owned(ct)));
                extra.remove(b"body".as_slice()).unwrap_or_default()
            }
        };
        headers.push((
            Cow::Borrowed(b"content-digest"),
            Cow::Owned(content_digest(&body)),
        ));
    }
    // Sort as the marked names (`@` + derived names) without allocating them.
    let mut comps: Vec<(bool, &[u8], usize)> = headers
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (is_derived(k), k.as_ref(), i))
        .collect();
    comps.sort_by(|a, b| marked(a.0, a.1).cmp(marked(b.0, b.1)));
    let mut base = Vec::with_capacity(512);
    for (_, k, i) in &comps {
        write_component_line(k, &headers[*i].1, &mut base);
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
        for &c in *name {
            if c == b'\\' || c == b'"' {
                base.push(b'\\');
            }
            base.push(c);
        }
        base.push(b'"');
    }
    base.extend_from_slice(b");alg=\"hmac-sha256\";keyid=\"ao\"");
    Ok(Some(hmac_ao(&base)))
}
