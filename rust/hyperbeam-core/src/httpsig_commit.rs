//! httpsig@1.0 commitments (spec core §7): sign (RSA-PSS-SHA512 over the RFC 9421 signature base),
//! verify, the combined HMAC commitment (`reset_hmac`, §4.3/§7.5) and decoding signatures from
//! HTTP headers (`commitments_from_signature`, §7.7). All functions work on TABMs.

use std::collections::BTreeMap;

use crate::crypto::{Digest, PrivateKey, PublicKey};
use crate::error::{Error, Result};
use crate::httpsig_encode::{content_digest, is_hmac_commitment, to_http, HttpMsg};
use crate::ids::{b64std, b64url, b64url_decode, sha256};
use crate::keys::normalize_keys;
use crate::message_id::{combined_signatures, tabm_hmac_id};
use crate::sf::{self, Bare, Item, Member};
use crate::sig_base::{
    component_lines, mark_derived, params_line, signature_base, with_inlined_components,
};
use crate::value::{Msg, Value};

/// Signature parameters kept when a base is rebuilt: HyperBEAM's (§7.2; note `expired`) and
/// RFC 9421's `expires` (dropping a signed parameter would only make honest signatures fail).
const KNOWN_PARAMS: [&str; 7] = [
    "created", "expired", "expires", "nonce", "alg", "keyid", "tag",
];

fn bin(s: &[u8]) -> Value {
    Value::Bin(s.to_vec())
}

fn sig_err<T>(m: impl Into<String>) -> Result<T> {
    Err(Error::Signature(m.into()))
}

/// `http-sig-` + hex of address bytes 1..9 (§7.1).
pub fn signature_name(address: &[u8]) -> Result<String> {
    if address.len() < 9 {
        return sig_err("a committer address must be 32 bytes");
    }
    let mut s = String::from("http-sig-");
    for b in &address[1..9] {
        s.push_str(&format!("{b:02x}"));
    }
    Ok(s)
}

/// The encoding whose fields are signed: `to_http` without signature fields and `body-keys`,
/// the body replaced by its `content-digest` (§7.3).
fn signing_encoding(tabm: &Msg) -> Result<HttpMsg> {
    let mut enc = to_http(tabm)?;
    for k in [
        b"signature".as_slice(),
        b"signature-input",
        b"body-keys",
        b"priv",
    ] {
        enc.remove(k);
    }
    if let Some(body) = enc.remove(b"body".as_slice()) {
        enc.insert(b"content-digest".to_vec(), content_digest(&body));
    }
    Ok(enc)
}

/// The RSA signature base and `signature-input` inner list that `commit` signs (§7.3).
pub fn signing_base(
    tabm: &Msg,
    modulus: &[u8],
    hashpath: Option<&[u8]>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let n = normalize_keys(tabm);
    let enc = signing_encoding(&n)?;
    let comps: Vec<Vec<u8>> = enc.keys().map(|k| mark_derived(k)).collect();
    let keyid = b64url(modulus);
    let mut params: Vec<(&str, &[u8])> =
        vec![("alg", b"rsa-pss-sha512"), ("keyid", keyid.as_bytes())];
    if let Some(hp) = hashpath {
        params.push(("tag", hp));
    }
    let base = signature_base(&comps, &enc, &params)?;
    let mut input = Vec::new();
    params_line(&comps, &params, &mut input);
    Ok((base, input))
}

/// `commit`: add an RSA commitment by `key` and refresh the HMAC commitment (§7.3).
pub fn commit(tabm: &Msg, key: &PrivateKey, hashpath: Option<&[u8]>) -> Result<Msg> {
    let (base, input) = signing_base(tabm, key.modulus(), hashpath)?;
    let sig = key.sign(Digest::Sha512, &base)?;
    let name = signature_name(&key.address())?;
    let mut c = Msg::new();
    c.insert(b"alg".to_vec(), bin(b"rsa-pss-sha512"));
    c.insert(b"commitment-device".to_vec(), bin(b"httpsig@1.0"));
    c.insert(
        b"committer".to_vec(),
        bin(b64url(&key.address()).as_bytes()),
    );
    let mut s = format!("{name}=:").into_bytes();
    s.extend_from_slice(b64std(&sig).as_bytes());
    s.push(b':');
    c.insert(b"signature".to_vec(), Value::Bin(s));
    let mut si = format!("{name}=").into_bytes();
    si.extend_from_slice(&input);
    c.insert(b"signature-input".to_vec(), Value::Bin(si));
    let mut out = normalize_keys(tabm);
    let mut comms = match out.remove(b"commitments".as_slice()) {
        Some(Value::Map(m)) => m,
        _ => Msg::new(),
    };
    comms.insert(b64url(&sha256(&sig)).into_bytes(), Value::Map(c));
    out.insert(b"commitments".to_vec(), Value::Map(comms));
    reset_hmac(&out)
}

/// `reset_hmac` (§4.3, §7.5): replace the HMAC commitment with one keyed by the unsigned ID and
/// holding the combined signature dictionaries of all RSA commitments.
pub fn reset_hmac(tabm: &Msg) -> Result<Msg> {
    let (sigs, inputs) = combined_signatures(tabm)?;
    let mut out = tabm.clone();
    let mut comms = match out.remove(b"commitments".as_slice()) {
        Some(Value::Map(m)) => m,
        _ => Msg::new(),
    };
    comms.retain(|_, c| !c.as_map().is_some_and(is_hmac_commitment));
    let id = tabm_hmac_id(&out, inputs.values().next())?;
    let mut h = Msg::new();
    h.insert(b"alg".to_vec(), bin(b"hmac-sha256"));
    h.insert(b"commitment-device".to_vec(), bin(b"httpsig@1.0"));
    if !sigs.is_empty() {
        let to_dict = |m: &BTreeMap<String, Member>| -> Result<Vec<u8>> {
            sf::ser_dict(&m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        };
        h.insert(b"signature".to_vec(), Value::Bin(to_dict(&sigs)?));
        h.insert(b"signature-input".to_vec(), Value::Bin(to_dict(&inputs)?));
    }
    comms.insert(b64url(&id).into_bytes(), Value::Map(h));
    out.insert(b"commitments".to_vec(), Value::Map(comms));
    Ok(out)
}

fn string_param<'a>(params: &'a [(String, Bare)], name: &str) -> Option<&'a [u8]> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, b)| match b {
            Bare::String(s) => Some(s.as_slice()),
            _ => None,
        })
}

fn first_member<'a>(dict: &'a sf::Dict, name: &str) -> Option<&'a Member> {
    dict.iter().rev().find(|(k, _)| k == name).map(|(_, m)| m)
}

/// Verify the RSA commitment `id` of a TABM (§4.6, §7.4). `Ok(false)` for a wrong signature;
/// an error only for a commitment that cannot be checked at all.
pub fn verify(tabm: &Msg, id: &[u8]) -> Result<bool> {
    let Some(Value::Map(comms)) = tabm.get(b"commitments".as_slice()) else {
        return sig_err("the message has no commitments");
    };
    let Some(Value::Map(c)) = comms.get(id) else {
        return sig_err(format!("no commitment {:?}", String::from_utf8_lossy(id)));
    };
    let committer = match c.get(b"committer".as_slice()) {
        Some(Value::Bin(a)) => {
            b64url_decode(a).map_err(|_| Error::Signature("bad committer".into()))?
        }
        _ => return sig_err("the commitment has no committer"),
    };
    let name = signature_name(&committer)?;
    let get = |k: &[u8]| c.get(k).and_then(Value::as_bin);
    let (Some(sig_text), Some(input_text)) = (get(b"signature"), get(b"signature-input")) else {
        return sig_err("the commitment has no signature or signature-input");
    };
    let inputs = sf::parse_dict(input_text)?;
    let Some(Member::Inner(inner)) = first_member(&inputs, &name) else {
        return Ok(false);
    };
    let alg = string_param(&inner.params, "alg").unwrap_or_default();
    if Some(alg) != get(b"alg") {
        return sig_err(format!(
            "commitment_alg_mismatch: {:?} vs {:?}",
            String::from_utf8_lossy(get(b"alg").unwrap_or_default()),
            String::from_utf8_lossy(alg)
        ));
    }
    if alg != b"rsa-pss-sha512" {
        return sig_err(format!(
            "unsupported_alg {:?}",
            String::from_utf8_lossy(alg)
        ));
    }
    let Some(keyid) = string_param(&inner.params, "keyid") else {
        return Ok(false);
    };
    let Ok(n) = b64url_decode(keyid) else {
        return Ok(false);
    };
    if sha256(&n).as_slice() != committer.as_slice() {
        return Ok(false);
    }
    let sigs = sf::parse_dict(sig_text)?;
    let Some(Member::Item(Item {
        bare: Bare::ByteSeq(sig),
        ..
    })) = first_member(&sigs, &name)
    else {
        return Ok(false);
    };
    let mut base_msg = tabm.clone();
    base_msg.remove(b"commitments".as_slice());
    let enc = signing_encoding(&base_msg)?;
    let mut comps = Vec::with_capacity(inner.items.len());
    for it in &inner.items {
        match &it.bare {
            Bare::String(s) => comps.push(s.clone()),
            _ => return Ok(false),
        }
    }
    let mut params: Vec<(String, Vec<u8>)> = Vec::new();
    for (k, b) in &inner.params {
        if !KNOWN_PARAMS.contains(&k.as_str()) {
            continue;
        }
        let mut v = Vec::new();
        match b {
            Bare::String(s) => {
                sf::ser_string(&mut v, s);
            }
            Bare::Token(t) => sf::ser_string(&mut v, t.as_bytes()),
            other => sf::ser_bare(&mut v, other)?,
        }
        params.push((k.clone(), v));
    }
    let enc = with_inlined_components(&comps, &enc, &base_msg);
    let mut base = Vec::with_capacity(1024);
    if component_lines(&comps, &enc, &mut base).is_err() {
        return Ok(false); // a signed component is missing: the message was altered
    }
    base.extend_from_slice(b"\"@signature-params\": ");
    rebuild_params(&comps, &params, &mut base);
    Ok(PublicKey::cached(&n)?.verify(Digest::Sha512, &base, sig))
}

/// `(...)` then `;name=<already serialised value>` for each kept parameter, in order.
fn rebuild_params(comps: &[Vec<u8>], params: &[(String, Vec<u8>)], out: &mut Vec<u8>) {
    params_line(comps, &[], out);
    for (k, v) in params {
        out.push(b';');
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v);
    }
}

/// `commitments_from_signature` (§7.7): rebuild RSA commitments from `signature` and
/// `signature-input` headers, then the HMAC commitment.
pub fn commitments_from_signature(
    tabm: &Msg,
    signature: &[u8],
    signature_input: &[u8],
) -> Result<Msg> {
    let sigs = sf::parse_dict(signature)?;
    let inputs = sf::parse_dict(signature_input)?;
    let mut out = tabm.clone();
    let mut comms = match out.remove(b"commitments".as_slice()) {
        Some(Value::Map(m)) => m,
        _ => Msg::new(),
    };
    for (name, sig_member) in &sigs {
        let Member::Item(Item {
            bare: Bare::ByteSeq(raw),
            ..
        }) = sig_member
        else {
            return sig_err(format!("signature {name:?} is not a byte sequence"));
        };
        let Some(input @ Member::Inner(inner)) = first_member(&inputs, name) else {
            return sig_err(format!("signature-input has no inner list for {name:?}"));
        };
        let keyid = string_param(&inner.params, "keyid")
            .ok_or_else(|| Error::Signature(format!("signature {name:?} has no keyid")))?;
        let alg = string_param(&inner.params, "alg")
            .ok_or_else(|| Error::Signature(format!("signature {name:?} has no alg")))?;
        let n =
            b64url_decode(keyid).map_err(|_| Error::Signature("keyid is not base64url".into()))?;
        let mut c = Msg::new();
        c.insert(b"alg".to_vec(), bin(alg));
        c.insert(b"commitment-device".to_vec(), bin(b"httpsig@1.0"));
        c.insert(b"committer".to_vec(), bin(b64url(&sha256(&n)).as_bytes()));
        let one = |m: &Member| sf::ser_dict(&vec![(name.clone(), m.clone())]);
        c.insert(b"signature".to_vec(), Value::Bin(one(sig_member)?));
        c.insert(b"signature-input".to_vec(), Value::Bin(one(input)?));
        comms.insert(b64url(&sha256(raw)).into_bytes(), Value::Map(c));
    }
    if !comms.is_empty() {
        out.insert(b"commitments".to_vec(), Value::Map(comms));
    }
    reset_hmac(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::httpsig_decode::from_http_unsigned;

    /// aoconnect's form: a short `data` signed as a header (RFC 9421 over the fields as sent),
    /// which our encoding inlines as the body; the commitment still verifies, only as signed.
    #[test]
    fn a_data_header_signed_as_sent_verifies() {
        let key = PrivateKey::generate(2048).expect("key");
        let keyid = b64url(key.modulus());
        let name = signature_name(&key.address()).expect("name");
        let params = format!("(\"action\" \"data\");alg=\"rsa-pss-sha512\";keyid=\"{keyid}\"");
        let base =
            format!("\"action\": Eval\n\"data\": return 1 + 1\n\"@signature-params\": {params}");
        let sig = key.sign(Digest::Sha512, base.as_bytes()).expect("sign");
        let mut h = HttpMsg::new();
        h.insert(b"action".to_vec(), b"Eval".to_vec());
        h.insert(b"data".to_vec(), b"return 1 + 1".to_vec());
        let sig_field = format!("{name}=:{}:", b64std(&sig));
        let input = format!("{name}={params}");
        let tabm = commitments_from_signature(
            &from_http_unsigned(&h).expect("decodes"),
            sig_field.as_bytes(),
            input.as_bytes(),
        )
        .expect("its commitments, the HMAC one included");
        assert_eq!(tabm.get(b"data".as_slice()), Some(&bin(b"return 1 + 1")));
        let id = b64url(&sha256(&sig)).into_bytes();
        assert!(verify(&tabm, &id).expect("checkable"));
        let mut tampered = tabm.clone();
        tampered.insert(b"data".to_vec(), bin(b"return 2 + 2"));
        assert!(!verify(&tampered, &id).expect("checkable"));
    }
}
