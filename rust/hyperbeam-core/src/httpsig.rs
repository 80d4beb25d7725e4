//! `httpsig@1.0` encoding: TABM <-> HTTP headers plus a multipart body (spec core §6).
//! Signing and verification live with the commitments; this is the keyless conversion.

use std::collections::BTreeMap;

use crate::error::{codec, Error, Result};
use crate::ids::{b64std, b64url, sha256};
use crate::keys::{is_id_size, normalize_key};
use crate::sf::{self, Bare, Member};
use crate::structured::lossy;
use crate::value::{Msg, Value};

/// An HTTP message: lower-case field names to values; the body is under `body`.
pub type HttpMsg = BTreeMap<Vec<u8>, Vec<u8>>;

/// Binary values longer than this go into the multipart body (spec core §6.1).
pub const MAX_HEADER_LENGTH: usize = 4096;
const CRLF: &[u8] = b"\r\n";

/// `inline_key` (spec core §6.1 step 3): (extra headers, inline body key).
fn inline_key<V>(
    m: &BTreeMap<Vec<u8>, V>,
    as_bin: impl Fn(&V) -> Option<&[u8]>,
) -> (bool, Vec<u8>) {
    if let Some(ik) = m.get(b"inline-body-key".as_slice()).and_then(as_bin) {
        (false, ik.to_vec())
    } else if m.contains_key(b"body".as_slice()) {
        (false, b"body".to_vec())
    } else if m.contains_key(b"data".as_slice()) {
        (true, b"data".to_vec())
    } else {
        (false, b"body".to_vec())
    }
}

/// `content-digest: sha-256=:<b64 sha256(body)>:`.
pub fn content_digest(body: &[u8]) -> Vec<u8> {
    let mut d = b"sha-256=:".to_vec();
    d.extend_from_slice(b64std(&sha256(body)).as_bytes());
    d.push(b':');
    d
}

fn is_hmac_commitment(c: &Msg) -> bool {
    c.get(b"commitment-device".as_slice())
        .and_then(Value::as_bin)
        == Some(b"httpsig@1.0")
        && c.get(b"alg".as_slice()).and_then(Value::as_bin) == Some(b"hmac-sha256")
}

/// TABM -> HTTP (`dev_codec_httpsig_conv:to`, spec core §6.1).
pub fn to_http(tabm: &Msg) -> Result<HttpMsg> {
    let (add_ikey, ik) = inline_key(tabm, |v| v.as_bin());
    let mut enc = HttpMsg::new();
    if add_ikey {
        enc.insert(b"inline-body-key".to_vec(), ik.clone());
    }
    let mut ao_ids: Vec<u8> = Vec::new();
    let mut body_map: Msg = Msg::new();
    for (k, v) in tabm {
        match k.as_slice() {
            b"commitments" | b"signature" | b"signature-input" | b"priv" => continue,
            _ => {}
        }
        if is_id_size(k.len()) {
            if let Value::Bin(b) = v {
                if !ao_ids.is_empty() {
                    ao_ids.extend_from_slice(b", ");
                }
                ao_ids.extend_from_slice(k);
                ao_ids.push(b'=');
                sf::ser_string(&mut ao_ids, b);
                continue;
            }
        }
        match v {
            _ if k == b"body" || *k == ik => {
                body_map.insert(k.clone(), v.clone());
            }
            Value::Map(_) => {
                body_map.insert(k.clone(), v.clone());
            }
            Value::Bin(b) if b.len() <= MAX_HEADER_LENGTH => {
                enc.insert(k.clone(), b.clone());
            }
            Value::Bin(_) => {
                body_map.insert(k.clone(), v.clone());
            }
            other => {
                return codec(format!(
                    "TABM key {:?} holds a {}; TABM leaves must be binaries",
                    lossy(k),
                    other.kind()
                ))
            }
        }
    }
    if !ao_ids.is_empty() {
        enc.insert(b"ao-ids".to_vec(), ao_ids);
    }
    let mut parts: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    group_maps(&body_map, &[], &mut parts)?;
    if parts.len() == 1 && parts.contains_key(&ik) {
        if let Some(Value::Bin(b)) = parts.get(&ik) {
            enc.insert(b"body".to_vec(), b.clone());
        } else {
            multipart(&parts, &ik, &mut enc)?;
        }
    } else if !parts.is_empty() {
        multipart(&parts, &ik, &mut enc)?;
    }
    if let Some(body) = enc.get(b"body".as_slice()) {
        if !body.is_empty() {
            let d = content_digest(body);
            enc.insert(b"content-digest".to_vec(), d);
        }
    }
    add_signature_headers(tabm, &mut enc);
    Ok(enc)
}

/// Step 7 of spec core §6.1: a signed message carries its combined signature dictionaries
/// (from the HMAC commitment) and any `hashpath*` commitment fields as headers.
fn add_signature_headers(tabm: &Msg, enc: &mut HttpMsg) {
    let Some(Value::Map(comms)) = tabm.get(b"commitments".as_slice()) else {
        return;
    };
    let hmac = comms.values().filter_map(Value::as_map).find(|c| {
        is_hmac_commitment(c)
            && c.contains_key(b"signature".as_slice())
            && c.contains_key(b"signature-input".as_slice())
    });
    let Some(hmac) = hmac else { return };
    for c in comms.values().filter_map(Value::as_map) {
        for (k, v) in c {
            if let (true, Value::Bin(b)) = (k.starts_with(b"hashpath"), v) {
                enc.insert(k.clone(), b.clone());
            }
        }
    }
    for key in [b"signature".as_slice(), b"signature-input".as_slice()] {
        if let Some(Value::Bin(b)) = hmac.get(key) {
            enc.insert(key.to_vec(), b.clone());
        }
    }
}

fn join_path(parent: &[u8], k: &[u8]) -> Vec<u8> {
    let nk = normalize_key(k);
    if parent.is_empty() {
        nk
    } else {
        let mut p = parent.to_vec();
        p.push(b'/');
        p.extend_from_slice(&nk);
        p
    }
}

/// `group_maps` (spec core §6.3): flatten nested maps into parts named by their paths.
pub(crate) fn group_maps(
    map: &Msg,
    parent: &[u8],
    top: &mut BTreeMap<Vec<u8>, Value>,
) -> Result<()> {
    let mut flat = Msg::new();
    for (k, v) in map {
        let fk = join_path(parent, k);
        match v {
            Value::Map(inner) => group_maps(inner, &fk, top)?,
            Value::Bin(b) if b.len() > MAX_HEADER_LENGTH => {
                top.insert(fk, v.clone());
            }
            Value::Bin(_) => {
                flat.insert(normalize_key(k), v.clone());
            }
            other => {
                return codec(format!(
                    "TABM key {:?} holds a {}; TABM leaves must be binaries",
                    lossy(&fk),
                    other.kind()
                ))
            }
        }
    }
    if flat.is_empty() {
        return Ok(());
    }
    if parent.is_empty() {
        top.extend(flat);
    } else {
        top.insert(parent.to_vec(), Value::Map(flat));
    }
    Ok(())
}

/// Encode one part (spec core §6.3).
fn encode_part(name: &[u8], v: &Value, ik: &[u8], out: &mut Vec<u8>) {
    let disp = |out: &mut Vec<u8>, n: &[u8]| {
        out.extend_from_slice(b"form-data;name=\"");
        out.extend_from_slice(n);
        out.push(b'"');
    };
    match v {
        Value::Map(m) if m.len() == 1 && m.contains_key(b"body".as_slice()) => {
            out.extend_from_slice(b"content-disposition: ");
            let mut n = name.to_vec();
            n.extend_from_slice(b"/body");
            disp(out, &n);
            out.extend_from_slice(b"\r\n\r\n");
            if let Some(Value::Bin(b)) = m.get(b"body".as_slice()) {
                out.extend_from_slice(b);
            }
        }
        Value::Map(m) => {
            let mut d = Vec::new();
            if name == ik {
                d.extend_from_slice(b"inline");
            } else {
                disp(&mut d, name);
            }
            let cd = b"content-disposition".as_slice();
            let mut first = true;
            let mut line = |out: &mut Vec<u8>, k: &[u8], val: &[u8]| {
                if !first {
                    out.extend_from_slice(CRLF);
                }
                first = false;
                out.extend_from_slice(k);
                out.extend_from_slice(b": ");
                out.extend_from_slice(val);
            };
            let mut cd_done = false;
            for (k, val) in m {
                if !cd_done && k.as_slice() > cd {
                    line(out, cd, &d);
                    cd_done = true;
                }
                if k == b"body" || k.as_slice() == cd {
                    continue;
                }
                if let Value::Bin(b) = val {
                    line(out, k, b);
                }
            }
            if !cd_done {
                line(out, cd, &d);
            }
            if let Some(Value::Bin(b)) = m.get(b"body".as_slice()) {
                if !b.is_empty() {
                    out.extend_from_slice(b"\r\n\r\n");
                    out.extend_from_slice(b);
                }
            }
        }
        Value::Bin(b) => {
            out.extend_from_slice(b"content-disposition: ");
            if name == ik {
                out.extend_from_slice(b"inline");
            } else {
                disp(out, name);
            }
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(b);
        }
        _ => {}
    }
}

/// Build the multipart body, `body-keys` and `content-type` (spec core §6.3).
pub(crate) fn multipart(
    parts: &BTreeMap<Vec<u8>, Value>,
    ik: &[u8],
    enc: &mut HttpMsg,
) -> Result<()> {
    let encoded: Vec<Vec<u8>> = parts
        .iter()
        .map(|(name, v)| {
            let mut p = Vec::new();
            encode_part(name, v, ik, &mut p);
            p
        })
        .collect();
    let boundary = b64url(&sha256(&encoded.join(CRLF)));
    let mut body = Vec::with_capacity(encoded.iter().map(|p| p.len() + 52).sum::<usize>() + 50);
    for (i, p) in encoded.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(CRLF);
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(CRLF);
        body.extend_from_slice(p);
    }
    body.extend_from_slice(b"\r\n--");
    body.extend_from_slice(boundary.as_bytes());
    body.extend_from_slice(b"--");
    let mut keys = Vec::new();
    for (i, name) in parts.keys().enumerate() {
        if i > 0 {
            keys.extend_from_slice(b", ");
        }
        sf::ser_string(&mut keys, name);
    }
    enc.insert(b"body".to_vec(), body);
    enc.insert(b"body-keys".to_vec(), keys);
    let mut ct = b"multipart/form-data; boundary=\"".to_vec();
    ct.extend_from_slice(boundary.as_bytes());
    ct.push(b'"');
    enc.insert(b"content-type".to_vec(), ct);
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split_all<'a>(hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = hay;
    while let Some(p) = find(rest, sep) {
        out.push(&rest[..p]);
        rest = &rest[p + sep.len()..];
    }
    out.push(rest);
    out
}

fn param_text(b: &Bare) -> Option<Vec<u8>> {
    match b {
        Bare::String(s) => Some(s.clone()),
        Bare::Token(t) => Some(t.clone().into_bytes()),
        _ => None,
    }
}

/// HTTP -> TABM (`dev_codec_httpsig_conv:from`, spec core §6.4), without signature decoding.
pub fn from_http(h: &HttpMsg) -> Result<Msg> {
    let body = h.get(b"body".as_slice()).map(Vec::as_slice).unwrap_or(b"");
    let (_, ik) = inline_key(h, |v| Some(v.as_slice()));
    let mut t = Msg::new();
    for (k, v) in h {
        if k != b"body" && k != b"body-keys" {
            t.insert(k.clone(), Value::Bin(v.clone()));
        }
    }
    if !body.is_empty() {
        let boundary = match h.get(b"content-type".as_slice()) {
            Some(ct) => {
                let item = sf::parse_item(ct)
                    .map_err(|e| Error::Codec(format!("content-type is not a valid item: {e}")))?;
                item.params
                    .iter()
                    .find(|(k, _)| k == "boundary")
                    .and_then(|(_, b)| param_text(b))
            }
            None => None,
        };
        match boundary {
            None => {
                t.insert(ik.clone(), Value::Bin(body.to_vec()));
            }
            Some(b) => {
                let mut body_keys = Vec::new();
                parse_multipart(body, &b, &ik, &mut t, &mut body_keys)?;
                let mut bk = Vec::new();
                for (i, k) in body_keys.iter().enumerate() {
                    if i > 0 {
                        bk.extend_from_slice(b", ");
                    }
                    sf::ser_string(&mut bk, k);
                }
                t.insert(b"body-keys".to_vec(), Value::Bin(bk));
                t = crate::flat::from_flat(&t)?;
            }
        }
    }
    ungroup_ids(&mut t)?;
    t.retain(|k, _| {
        !(k == b"signature"
            || k == b"signature-input"
            || k == b"commitments"
            || k == b"content-digest"
            || k.starts_with(b"hashpath"))
    });
    match (
        h.get(b"signature".as_slice()),
        h.get(b"signature-input".as_slice()),
    ) {
        (Some(sig), Some(input)) => {
            crate::httpsig_commit::commitments_from_signature(&t, sig, input)
        }
        _ => Ok(t),
    }
}

fn parse_multipart(
    body: &[u8],
    boundary: &[u8],
    ik: &[u8],
    t: &mut Msg,
    body_keys: &mut Vec<Vec<u8>>,
) -> Result<()> {
    let mut open = b"--".to_vec();
    open.extend_from_slice(boundary);
    open.extend_from_slice(CRLF);
    let mut close = b"\r\n--".to_vec();
    close.extend_from_slice(boundary);
    close.extend_from_slice(b"--");
    let start = find(body, &open).ok_or_else(|| {
        Error::Codec("multipart body does not contain its opening boundary".into())
    })? + open.len();
    let end = find(body, &close).ok_or_else(|| {
        Error::Codec("multipart body does not contain its closing boundary".into())
    })?;
    if end < start {
        return codec("multipart boundaries are out of order");
    }
    let mut sep = b"\r\n--".to_vec();
    sep.extend_from_slice(boundary);
    for part in split_all(&body[start..end], &sep) {
        let part = part.strip_prefix(CRLF).unwrap_or(part);
        let (head, raw) = match find(part, b"\r\n\r\n") {
            Some(p) => (&part[..p], &part[p + 4..]),
            None => (part, &b""[..]),
        };
        let mut headers = Msg::new();
        let mut disposition = None;
        for line in split_all(head, CRLF) {
            let Some(p) = find(line, b": ") else { continue };
            let (name, value) = (&line[..p], &line[p + 2..]);
            if name == b"content-disposition" {
                disposition = Some(value.to_vec());
            } else {
                headers.insert(name.to_vec(), Value::Bin(value.to_vec()));
            }
        }
        let disp = disposition
            .ok_or_else(|| Error::Codec("a multipart part has no content-disposition".into()))?;
        let item =
            sf::parse_item(&disp).map_err(|e| Error::Codec(format!("content-disposition: {e}")))?;
        let name = match &item.bare {
            Bare::Token(tok) if tok == "inline" => ik.to_vec(),
            _ => item
                .params
                .iter()
                .find(|(k, _)| k == "name")
                .and_then(|(_, b)| param_text(b))
                .ok_or_else(|| Error::Codec("a multipart part has no name".into()))?,
        };
        let value = if headers.is_empty() {
            Value::Bin(raw.to_vec())
        } else {
            if !raw.is_empty() {
                headers.insert(b"body".to_vec(), Value::Bin(raw.to_vec()));
            }
            Value::Map(headers)
        };
        let first = name.split(|c| *c == b'/').next().unwrap_or(&[]).to_vec();
        body_keys.push(first);
        t.insert(name, value);
    }
    Ok(())
}

/// Merge the `ao-ids` dictionary back into the message (spec core §6.2).
fn ungroup_ids(t: &mut Msg) -> Result<()> {
    let Some(Value::Bin(ids)) = t.remove(b"ao-ids".as_slice()) else {
        return Ok(());
    };
    for (k, m) in sf::parse_dict(&ids).map_err(|e| Error::Codec(format!("ao-ids: {e}")))? {
        match m {
            Member::Item(sf::Item {
                bare: Bare::String(s),
                ..
            }) => {
                t.insert(k.into_bytes(), Value::Bin(s));
            }
            _ => return codec(format!("ao-ids entry {k:?} is not a string")),
        }
    }
    Ok(())
}
