//! The RFC 9421 signature base as HyperBEAM builds it (spec core §4.3, §7.2): component lines,
//! derived-component names, the `@signature-params` line, and HMAC-SHA256 keyed `ao`. Shared by
//! the unsigned IDs (`message_id`, `id_fast`) and the commitments (`httpsig_commit`).

use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{lossy, Error, Result};
use crate::httpsig_encode::HttpMsg;
use crate::keys::normalize_key;
use crate::sf;
use crate::value::{Msg, Value};

/// Component names that RFC 9421 derives; HyperBEAM marks them with `@` (spec core §4.3 step 6).
const DERIVED: [&[u8]; 9] = [
    b"method",
    b"target-uri",
    b"authority",
    b"scheme",
    b"request-target",
    b"path",
    b"query",
    b"query-param",
    b"status",
];

/// True for the RFC 9421 derived component names (without `@`).
#[inline]
pub fn is_derived(name: &[u8]) -> bool {
    // By length first: most names are not derived and are rejected without a comparison.
    match name.len() {
        4 | 5 | 6 | 9 | 10 | 11 | 14 => DERIVED.contains(&name),
        _ => false,
    }
}

/// Strip a leading `@`, then add `@` to the derived component names.
pub fn mark_derived(name: &[u8]) -> Vec<u8> {
    let bare = name.strip_prefix(b"@").unwrap_or(name);
    if DERIVED.contains(&bare) {
        let mut v = Vec::with_capacity(bare.len() + 1);
        v.push(b'@');
        v.extend_from_slice(bare);
        v
    } else {
        bare.to_vec()
    }
}

/// The signature base (spec core §7.2): one `"name": value` line per component, then the
/// `@signature-params` line. `params` are written in the order given.
pub fn signature_base(
    components: &[Vec<u8>],
    enc: &HttpMsg,
    params: &[(&str, &[u8])],
) -> Result<Vec<u8>> {
    let mut base = Vec::with_capacity(256);
    component_lines(components, enc, &mut base)?;
    base.extend_from_slice(b"\"@signature-params\": ");
    params_line(components, params, &mut base);
    Ok(base)
}

/// The component lines of a signature base; an empty component list still ends in `\n`.
pub fn component_lines(components: &[Vec<u8>], enc: &HttpMsg, base: &mut Vec<u8>) -> Result<()> {
    for c in components {
        let name = normalize_key(c.strip_prefix(b"@").unwrap_or(c));
        let value = enc.get(&name).ok_or_else(|| {
            Error::Codec(format!(
                "signature component {:?} is missing from the message",
                lossy(&name)
            ))
        })?;
        write_component_line(&name, value, base);
    }
    if components.is_empty() {
        base.push(b'\n');
    }
    Ok(())
}

/// `enc` plus each signed component that the encoding moved into the body: the message's
/// inline key (`inline-body-key`, e.g. `data`), which a client may have sent, and signed, as a
/// header (aoconnect's `request()` sends a short `data` so). Its line is then the key's binary
/// value, as that header carried it; other missing components stay missing.
pub fn with_inlined_components<'a>(
    components: &[Vec<u8>],
    enc: &'a HttpMsg,
    tabm: &Msg,
) -> std::borrow::Cow<'a, HttpMsg> {
    let mut out = std::borrow::Cow::Borrowed(enc);
    let Some(inline) = enc.get(b"inline-body-key".as_slice()) else {
        return out;
    };
    for c in components {
        let name = normalize_key(c.strip_prefix(b"@").unwrap_or(c));
        if &name != inline || enc.contains_key(&name) {
            continue;
        }
        if let Some(Value::Bin(v)) = tabm.get(&name) {
            out.to_mut().insert(name, v.clone());
        }
    }
    out
}

/// `"name": value\n`, the value trimmed of spaces and with LF turned into a space (§7.2).
#[inline]
pub fn write_component_line(name: &[u8], value: &[u8], base: &mut Vec<u8>) {
    let value = trim_spaces(value);
    base.reserve(name.len() + value.len() + 5);
    base.push(b'"');
    base.extend_from_slice(name);
    base.extend_from_slice(b"\": ");
    // Scanned without an early exit, so the check vectorises; LFs are rare.
    if value.iter().fold(false, |a, &c| a | (c == b'\n')) {
        base.extend(value.iter().map(|&c| if c == b'\n' { b' ' } else { c }));
    } else {
        base.extend_from_slice(value);
    }
    base.push(b'\n');
}

/// `v` without leading and trailing spaces.
#[inline]
fn trim_spaces(v: &[u8]) -> &[u8] {
    match (v.first(), v.last()) {
        (Some(b' '), _) | (_, Some(b' ')) => {
            let start = v.iter().position(|c| *c != b' ').unwrap_or(v.len());
            let end = v.iter().rposition(|c| *c != b' ').map_or(start, |p| p + 1);
            v.get(start..end).unwrap_or(&[])
        }
        _ => v,
    }
}

/// `("c1" "c2");name="value"...`: the components as an SF inner list, then the parameters.
pub fn params_line(components: &[Vec<u8>], params: &[(&str, &[u8])], out: &mut Vec<u8>) {
    out.push(b'(');
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        sf::ser_string(out, &c.to_ascii_lowercase());
    }
    out.push(b')');
    for (k, v) in params {
        out.push(b';');
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        sf::ser_string(out, v);
    }
}

/// HMAC-SHA256 with the key `ao` (the keyed state is computed once and cloned).
pub fn hmac_ao(data: &[u8]) -> [u8; 32] {
    static KEYED: OnceLock<Option<Hmac<Sha256>>> = OnceLock::new();
    let Some(mut mac) = KEYED
        .get_or_init(|| Hmac::<Sha256>::new_from_slice(b"ao").ok())
        .clone()
    else {
        return [0; 32]; // unreachable: HMAC accepts keys of any length
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}
