//! `httpsig@1.0` decoding, HTTP -> TABM (spec core §6.2, §6.4): the multipart body, `ao-ids`.
//! Signature fields are left to `httpsig_commit`; `httpsig::from_http` joins the two.

use crate::error::{codec, Error, Result};
use crate::flat::from_flat;
use crate::httpsig_encode::{inline_key, HttpMsg, CRLF};
use crate::sf::{self, Bare, Member};
use crate::value::{Msg, Value};

/// The first position of `needle` in `hay`: a byte scan for its first byte, the rest compared
/// only there (a boundary's `-`/`\r` is rare in a body; comparing at every position was a
/// fifth of a 20-key decode).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let last = hay.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last {
        let at = from + hay[from..=last].iter().position(|&b| b == first)?;
        if hay[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
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

/// HTTP -> TABM (`dev_codec_httpsig_conv:from`, spec core §6.4), without signature decoding:
/// the `signature` fields are dropped, not turned into commitments.
pub fn from_http_unsigned(h: &HttpMsg) -> Result<Msg> {
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
                t = from_flat(&t)?;
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
    Ok(t)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_is_the_first_occurrence() {
        let naive = |h: &[u8], n: &[u8]| -> Option<usize> {
            if n.is_empty() || h.len() < n.len() {
                return None;
            }
            h.windows(n.len()).position(|w| w == n)
        };
        let hays: [&[u8]; 6] = [
            b"",
            b"a",
            b"aaab",
            b"--x\r\n--xy--",
            b"abcabcabd",
            b"\r\n\r\n",
        ];
        let needles: [&[u8]; 7] = [
            b"",
            b"a",
            b"aab",
            b"--xy",
            b"abd",
            b"\r\n\r\n",
            b"zzzzzzzzzz",
        ];
        for h in hays {
            for n in needles {
                assert_eq!(find(h, n), naive(h, n), "{h:?} {n:?}");
            }
        }
        assert_eq!(split_all(b"a--b--", b"--"), [&b"a"[..], b"b", b""]);
    }
}
