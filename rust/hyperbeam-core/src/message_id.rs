//! Unsigned message IDs: HMAC-SHA256 (key `ao`) over the RFC 9421 signature base of the
//! message's httpsig@1.0 encoding (spec core §4.3, §7.2).

use std::collections::BTreeMap;

use crate::error::{codec, Result};
use crate::httpsig_encode::{content_digest, is_hmac_commitment, to_http};
use crate::id_fast::try_unsigned_id;
use crate::keys::normalize_key;
use crate::sf::{self, Bare, Member};
use crate::sig_base::{hmac_ao, mark_derived, signature_base, with_inlined_components};
use crate::structured::from_msg;
use crate::value::{Msg, Value};

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
            if is_hmac_commitment(c) {
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
    match try_unsigned_id(msg)? {
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
    let enc = with_inlined_components(&comps, &enc, tabm);
    let base = signature_base(&comps, &enc, &[("alg", b"hmac-sha256"), ("keyid", b"ao")])?;
    Ok(hmac_ao(&base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_fast::try_unsigned_id_entries;
    use crate::value::{Entry, ValueRef};

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
            let fast = crate::id_fast::try_unsigned_id(m)
                .unwrap()
                .expect("fast path applies");
            assert_eq!(fast, unsigned_id_general(m).unwrap(), "{m:?}");
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
        let general = unsigned_id_general(&msg).unwrap();
        assert_eq!(try_unsigned_id_entries(&outer).unwrap(), Some(general));
        // Unsorted nested entries: left to the general path.
        let bad: [Entry<'_>; 2] = [(b"b", ValueRef::Int(1)), (b"a", ValueRef::Int(2))];
        let outer: [Entry<'_>; 1] = [(b"n", ValueRef::Entries(&bad))];
        assert_eq!(try_unsigned_id_entries(&outer).unwrap(), None);
    }
}
