//! Unsigned message IDs: HMAC-SHA256 (key `ao`) over the RFC 9421 signature base of the
//! message's httpsig@1.0 encoding (spec core §4.3, §7.2).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{codec, Error, Result};
use crate::httpsig::{content_digest, to_http, HttpMsg};
use crate::keys::normalize_key;
use crate::sf::{self, Bare, Member};
use crate::structured::{from_msg, lossy};
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

fn is_hmac(c: &Msg) -> bool {
    c.get(b"commitment-device".as_slice())
        .and_then(Value::as_bin)
        == Some(b"httpsig@1.0")
        && c.get(b"alg".as_slice()).and_then(Value::as_bin) == Some(b"hmac-sha256")
}

/// The combined `signature`/`signature-input` dictionaries of all non-HMAC commitments,
/// keyed (and so sorted) by signature name (spec core §4.3 step 3, §7.5).
pub fn combined_signatures(
    tabm: &Msg,
) -> Result<(BTreeMap<String, Member>, BTreeMap<String, Member>)> {
    let mut sigs = BTreeMap::new();
    let mut inputs = BTreeMap::new();
    if let Some(Value::Map(comms)) = tabm.get(b"commitments".as_slice()) {
        for c in comms.values() {
            let Value::Map(c) = c else {
                return codec("a commitment is not a map");
            };
            if is_hmac(c) {
                continue;
            }
            for (key, dest) in [
                (b"signature".as_slice(), &mut sigs),
                (b"signature-input".as_slice(), &mut inputs),
            ] {
                if let Some(Value::Bin(text)) = c.get(key) {
                    for (name, m) in sf::parse_dict(text)? {
                        dest.insert(name, m);
                    }
                }
            }
        }
    }
    Ok((sigs, inputs))
}

/// The unsigned ID of a rich message (spec core §4.3), as 32 raw bytes.
pub fn unsigned_id(msg: &Msg) -> Result<[u8; 32]> {
    match crate::id_fast::try_unsigned_id(msg)? {
        Some(id) => Ok(id),
        None => unsigned_id_general(msg),
    }
}

/// The unsigned ID through the general path: structured `from`, then httpsig `to`.
pub fn unsigned_id_general(msg: &Msg) -> Result<[u8; 32]> {
    let renamed;
    let msg = if msg.keys().any(|k| normalize_key(k) == b"signature-input") {
        let mut m = Msg::new();
        for (k, v) in msg {
            let nk = normalize_key(k);
            if nk == b"signature-input" {
                m.insert(b"x-signature-input".to_vec(), v.clone());
            } else {
                m.insert(k.clone(), v.clone());
            }
        }
        renamed = m;
        &renamed
    } else {
        msg
    };
    let mut tabm = from_msg(msg)?;
    let (_, inputs) = combined_signatures(&tabm)?;
    tabm.remove(b"commitments".as_slice());
    tabm_hmac_id(&tabm, inputs.values().next())
}

/// The HMAC ID of a TABM without commitments; `first_input` is the first member of the
/// combined `signature-input`, whose components (if any) are the ones hashed.
pub fn tabm_hmac_id(tabm: &Msg, first_input: Option<&Member>) -> Result<[u8; 32]> {
    let mut enc = to_http(tabm)?;
    enc.remove(b"body-keys".as_slice());
    if let Some(body) = enc.remove(b"body".as_slice()) {
        enc.insert(b"content-digest".to_vec(), content_digest(&body));
    }
    let mut comps: Vec<Vec<u8>> = match first_input {
        Some(Member::Inner(il)) => il
            .items
            .iter()
            .map(|it| match &it.bare {
                Bare::String(s) => Ok(s.clone()),
                _ => codec("signature-input components must be strings"),
            })
            .collect::<Result<_>>()?,
        Some(Member::Item(_)) => return codec("signature-input member is not an inner list"),
        None => enc.keys().cloned().collect(),
    };
    for c in &mut comps {
        *c = mark_derived(c);
    }
    comps.sort();
    let base = signature_base(&comps, &enc, &[("alg", b"hmac-sha256"), ("keyid", b"ao")])?;
    Ok(hmac_ao(&base))
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
