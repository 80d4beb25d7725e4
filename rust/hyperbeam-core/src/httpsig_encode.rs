//! `httpsig@1.0` encoding, TABM -> HTTP headers plus a multipart body (spec core §6.1, §6.3):
//! `to_http`, the body's parts and boundary, `content-digest`. Keyless; the IDs and commitments
//! build on it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::{codec, lossy, Result};
use crate::ids::sha256;
use crate::keys::{is_id_size, is_normalized, normalize_key};
use crate::map_order::{in_walk_order, is_hashed, Walk, SMALL_MAP_LIMIT};
use crate::sf;
use crate::value::{Msg, Value};

/// An HTTP message: lower-case field names to values; the body is under `body`.
pub type HttpMsg = BTreeMap<Vec<u8>, Vec<u8>>;

/// Binary values longer than this go into the multipart body (spec core §6.1).
pub const MAX_HEADER_LENGTH: usize = 4096;
pub(crate) const CRLF: &[u8] = b"\r\n";

/// `inline_key` (spec core §6.1 step 3): (extra headers, inline body key).
pub(crate) fn inline_key<V>(
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
    digest_field(&sha256(body))
}

/// `sha-256=:<b64 hash>:`, the `content-digest` of a body whose SHA-256 is `hash`.
pub(crate) fn digest_field(hash: &[u8; 32]) -> Vec<u8> {
    let mut d = Vec::with_capacity(54);
    d.extend_from_slice(b"sha-256=:");
    d.extend_from_slice(&crate::ids::b64std_32(hash));
    d.push(b':');
    d
}

/// True for the HMAC commitment (`alg` `hmac-sha256`, spec core §7.5).
pub(crate) fn is_hmac_commitment(c: &Msg) -> bool {
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
    // `group_ids`: the ID-sized keys with binary values become one `ao-ids` field, which is
    // then encoded like any other (a body part when longer than a header may be).
    let is_grouped = |k: &[u8], v: &Value| is_id_size(k.len()) && matches!(v, Value::Bin(_));
    let ids: Vec<(&[u8], &[u8])> = tabm
        .iter()
        .filter(|(k, v)| is_grouped(k, v))
        .filter_map(|(k, v)| Some((k.as_slice(), v.as_bin()?)))
        .collect();
    let ao_ids = if ids.is_empty() {
        None
    } else {
        Some(Value::Bin(ao_ids_field(ids)))
    };
    // Body entries in key order, borrowed from the TABM.
    let mut body_entries: Vec<(&[u8], Node<'_>)> = Vec::new();
    let grouped = ao_ids.as_ref().map(|v| (&b"ao-ids"[..], v));
    let fields = tabm
        .iter()
        .map(|(k, v)| (k.as_slice(), v))
        .filter(|(k, v)| !is_grouped(k, v))
        .chain(grouped);
    for (k, v) in fields {
        match k {
            b"commitments" | b"signature" | b"signature-input" | b"priv" => continue,
            _ => {}
        }
        match v {
            _ if k == b"body" || k == ik.as_slice() => body_entries.push((k, Node::from(v))),
            Value::Map(_) => body_entries.push((k, Node::from(v))),
            Value::Bin(b) if b.len() <= MAX_HEADER_LENGTH => {
                enc.insert(k.to_vec(), b.clone());
            }
            Value::Bin(_) => body_entries.push((k, Node::from(v))),
            other => {
                return codec(format!(
                    "TABM key {:?} holds a {}; TABM leaves must be binaries",
                    lossy(k),
                    other.kind()
                ))
            }
        }
    }
    let mut parts = Parts::new();
    group_maps(body_entries.into_iter(), &[], &mut parts)?;
    match Body::of(&parts, &ik) {
        Body::None => {}
        Body::Single(b) => {
            enc.insert(b"body".to_vec(), b.to_vec());
        }
        Body::Multipart(mp) => {
            let mut body = Vec::with_capacity(mp.body_len());
            mp.write_body(|chunk| body.extend_from_slice(chunk));
            enc.insert(b"body".to_vec(), body);
            let mut keys = Vec::new();
            for (i, name) in parts.keys().enumerate() {
                if i > 0 {
                    keys.extend_from_slice(b", ");
                }
                sf::ser_string(&mut keys, name);
            }
            enc.insert(b"body-keys".to_vec(), keys);
            enc.insert(b"content-type".to_vec(), mp.content_type());
        }
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

/// The `ao-ids` dictionary of `ids` (sorted by key): `maps:to_list` of the ID map
/// (`dev_codec_httpsig_conv:group_ids`), so above 32 IDs in the map order (docs/map-order.md).
pub(crate) fn ao_ids_field(ids: Vec<(&[u8], &[u8])>) -> Vec<u8> {
    let ids = in_walk_order(ids, |e| e.0, Walk::ToList);
    let mut out = Vec::with_capacity(ids.len() * 64);
    for (i, (k, b)) in ids.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(k);
        out.push(b'=');
        sf::ser_string(&mut out, b);
    }
    out
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

/// A value met while grouping the body: a binary, a nested map, or (an error) anything else.
#[derive(Clone, Copy)]
pub(crate) enum Node<'a> {
    Bin(&'a [u8]),
    Map(&'a Msg),
    /// A nested map already in TABM form: binaries under normalised keys, in key order
    /// (`ao-types` included), as `structured::from_msg` would make it.
    Flat(&'a [(&'a [u8], &'a [u8])]),
    Other(&'a Value),
}

impl<'a> From<&'a Value> for Node<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Bin(b) => Node::Bin(b),
            Value::Map(m) => Node::Map(m),
            other => Node::Other(other),
        }
    }
}

/// One multipart part: a binary, or a map of binaries (keys normalised).
pub(crate) enum Part<'a> {
    Bin(&'a [u8]),
    Map(BTreeMap<Cow<'a, [u8]>, &'a [u8]>),
}

/// The parts of a body, by path, borrowed from the message.
pub(crate) type Parts<'a> = BTreeMap<Cow<'a, [u8]>, Part<'a>>;

fn norm_key(k: &[u8]) -> Cow<'_, [u8]> {
    if is_normalized(k) {
        Cow::Borrowed(k)
    } else {
        Cow::Owned(normalize_key(k))
    }
}

fn join_path<'a>(parent: &[u8], k: &'a [u8]) -> Cow<'a, [u8]> {
    let nk = norm_key(k);
    if parent.is_empty() {
        nk
    } else {
        let mut p = Vec::with_capacity(parent.len() + 1 + nk.len());
        p.extend_from_slice(parent);
        p.push(b'/');
        p.extend_from_slice(&nk);
        Cow::Owned(p)
    }
}

fn node_entry<'a>((k, v): (&'a Vec<u8>, &'a Value)) -> (&'a [u8], Node<'a>) {
    (k.as_slice(), Node::from(v))
}

fn flat_entry<'a>(&(k, b): &(&'a [u8], &'a [u8])) -> (&'a [u8], Node<'a>) {
    (k, Node::Bin(b))
}

/// `group_maps` (spec core §6.3): flatten nested maps into parts named by their paths.
/// `entries` come in key order, as a map's would.
pub(crate) fn group_maps<'a>(
    entries: impl Iterator<Item = (&'a [u8], Node<'a>)>,
    parent: &[u8],
    top: &mut Parts<'a>,
) -> Result<()> {
    let mut flat: BTreeMap<Cow<'a, [u8]>, &'a [u8]> = BTreeMap::new();
    for (k, v) in entries {
        // The full path (`join_path`) only where it is used: small binaries need the key alone.
        match v {
            Node::Map(inner) => {
                group_maps(inner.iter().map(node_entry), &join_path(parent, k), top)?
            }
            Node::Flat(inner) => {
                group_maps(inner.iter().map(flat_entry), &join_path(parent, k), top)?;
            }
            Node::Bin(b) if b.len() > MAX_HEADER_LENGTH => {
                top.insert(join_path(parent, k), Part::Bin(b));
            }
            Node::Bin(b) => {
                flat.insert(norm_key(k), b);
            }
            Node::Other(other) => {
                return codec(format!(
                    "TABM key {:?} holds a {}; TABM leaves must be binaries",
                    lossy(&join_path(parent, k)),
                    other.kind()
                ))
            }
        }
    }
    if flat.is_empty() {
        return Ok(());
    }
    if parent.is_empty() {
        top.extend(flat.into_iter().map(|(k, b)| (k, Part::Bin(b))));
    } else {
        top.insert(Cow::Owned(parent.to_vec()), Part::Map(flat));
    }
    Ok(())
}

/// How many header lines a part map makes: its keys but `body`, plus `content-disposition`.
fn part_lines(m: &BTreeMap<Cow<'_, [u8]>, &[u8]>) -> usize {
    let has = |k: &[u8]| usize::from(m.contains_key(k));
    m.len() - has(b"body") + 1 - has(b"content-disposition")
}

/// Encode one part (spec core §6.3).
fn encode_part(name: &[u8], v: &Part<'_>, ik: &[u8], out: &mut Vec<u8>) {
    let disp = |out: &mut Vec<u8>, n: &[u8], suffix: &[u8]| {
        out.extend_from_slice(b"form-data;name=\"");
        out.extend_from_slice(n);
        out.extend_from_slice(suffix);
        out.push(b'"');
    };
    match v {
        Part::Map(m) if m.len() == 1 && m.contains_key(b"body".as_slice()) => {
            out.extend_from_slice(b"content-disposition: ");
            disp(out, name, b"/body");
            out.extend_from_slice(b"\r\n\r\n");
            if let Some(b) = m.get(b"body".as_slice()) {
                out.extend_from_slice(b);
            }
        }
        // (a map of under 32 keys makes at most 32 lines: no lookups on the common path)
        Part::Map(m) if m.len() >= SMALL_MAP_LIMIT && is_hashed(part_lines(m)) => {
            // `encode_http_msg`: the lines in `maps:to_list` order of the part's map
            let mut lines: Vec<(&[u8], Option<&[u8]>)> = m
                .iter()
                .filter(|(k, _)| {
                    let k: &[u8] = k;
                    k != b"body" && k != b"content-disposition"
                })
                .map(|(k, v)| (&**k, Some(*v)))
                .collect();
            lines.push((b"content-disposition", None));
            let lines = in_walk_order(lines, |l| l.0, Walk::ToList);
            for (i, (k, v)) in lines.into_iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(CRLF);
                }
                out.extend_from_slice(k);
                out.extend_from_slice(b": ");
                match v {
                    Some(v) => out.extend_from_slice(v),
                    None if name == ik => out.extend_from_slice(b"inline"),
                    None => disp(out, name, b""),
                }
            }
            if let Some(b) = m.get(b"body".as_slice()) {
                if !b.is_empty() {
                    out.extend_from_slice(b"\r\n\r\n");
                    out.extend_from_slice(b);
                }
            }
        }
        Part::Map(m) => {
            let cd = b"content-disposition".as_slice();
            let write_cd = |out: &mut Vec<u8>| {
                out.extend_from_slice(cd);
                out.extend_from_slice(b": ");
                if name == ik {
                    out.extend_from_slice(b"inline");
                } else {
                    disp(out, name, b"");
                }
            };
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !first {
                    out.extend_from_slice(CRLF);
                }
                first = false;
            };
            let mut cd_done = false;
            for (k, val) in m {
                let k: &[u8] = k;
                if !cd_done && k > cd {
                    sep(out);
                    write_cd(out);
                    cd_done = true;
                }
                if k == b"body" || k == cd {
                    continue;
                }
                sep(out);
                out.extend_from_slice(k);
                out.extend_from_slice(b": ");
                out.extend_from_slice(val);
            }
            if !cd_done {
                sep(out);
                write_cd(out);
            }
            if let Some(b) = m.get(b"body".as_slice()) {
                if !b.is_empty() {
                    out.extend_from_slice(b"\r\n\r\n");
                    out.extend_from_slice(b);
                }
            }
        }
        Part::Bin(b) => {
            out.extend_from_slice(b"content-disposition: ");
            if name == ik {
                out.extend_from_slice(b"inline");
            } else {
                disp(out, name, b"");
            }
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(b);
        }
    }
}

/// The body that a message's parts make (spec core §6.1 step 5, §6.3).
pub(crate) enum Body<'p> {
    /// No parts: no body.
    None,
    /// The only part is the inline body key's binary: it is the body.
    Single(&'p [u8]),
    Multipart(Multipart),
}

impl<'p> Body<'p> {
    pub(crate) fn of(parts: &'p Parts<'_>, ik: &[u8]) -> Body<'p> {
        if parts.is_empty() {
            return Body::None;
        }
        if parts.len() == 1 {
            if let Some(Part::Bin(b)) = parts.get(ik) {
                return Body::Single(b);
            }
        }
        Body::Multipart(Multipart::new(parts, ik))
    }
}

/// A multipart body: its parts encoded and joined by CRLF (the text its boundary hashes),
/// and the boundary.
pub(crate) struct Multipart {
    joined: Vec<u8>,
    ends: Vec<usize>,
    boundary: [u8; 43],
}

impl Multipart {
    fn new(parts: &Parts<'_>, ik: &[u8]) -> Multipart {
        let mut joined = Vec::with_capacity(256);
        let mut ends = Vec::with_capacity(parts.len());
        for (i, (name, v)) in parts.iter().enumerate() {
            if i > 0 {
                joined.extend_from_slice(CRLF);
            }
            encode_part(name, v, ik, &mut joined);
            ends.push(joined.len());
        }
        let boundary = crate::ids::b64url_32(&sha256(&joined));
        Multipart {
            joined,
            ends,
            boundary,
        }
    }

    /// The body's length in bytes.
    pub(crate) fn body_len(&self) -> usize {
        let b = self.boundary.len();
        self.joined.len() + self.ends.len() * (b + 4) + b + 6
    }

    /// Write the body through `sink`, in pieces: each part after `--boundary`, then the closing
    /// boundary.
    pub(crate) fn write_body(&self, mut sink: impl FnMut(&[u8])) {
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            if i > 0 {
                sink(CRLF);
            }
            sink(b"--");
            sink(&self.boundary[..]);
            sink(CRLF);
            sink(&self.joined[start..end]);
            start = end + CRLF.len();
        }
        sink(b"\r\n--");
        sink(&self.boundary[..]);
        sink(b"--");
    }

    /// `multipart/form-data; boundary="..."`.
    pub(crate) fn content_type(&self) -> Vec<u8> {
        let mut ct = Vec::with_capacity(self.boundary.len() + 32);
        ct.extend_from_slice(b"multipart/form-data; boundary=\"");
        ct.extend_from_slice(&self.boundary[..]);
        ct.push(b'"');
        ct
    }
}
