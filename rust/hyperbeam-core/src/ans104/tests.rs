use super::manifest::manifest_json;
use super::*;
use crate::crypto::PrivateKey;
use crate::ids::{b64url, sha256};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn spec_item() -> DataItem {
    DataItem {
        tags: vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"caps".to_vec(), b"X".to_vec()),
        ],
        data: Data::Bytes(b"hello".to_vec()),
        ..DataItem::default()
    }
}

#[test]
fn avro_vector() {
    let t = encode_tags(&spec_item().tags);
    assert_eq!(t, hex("04026102310863617073025800"));
    let (back, used) = decode_tags(&t).unwrap();
    assert_eq!(used, t.len());
    assert_eq!(back, spec_item().tags);
    assert!(encode_tags(&[]).is_empty());
}

#[test]
fn spec_layout_and_unsigned_id() {
    let it = spec_item();
    let bytes = it.serialize().unwrap();
    let mut want = vec![1u8, 0];
    want.extend_from_slice(&[0u8; 1024]);
    want.extend_from_slice(&[0, 0]);
    want.extend_from_slice(&hex("02000000000000000d00000000000000"));
    want.extend_from_slice(&hex("04026102310863617073025800"));
    want.extend_from_slice(b"hello");
    assert_eq!(bytes, want);
    assert_eq!(
        b64url(&it.unsigned_id().unwrap()),
        "ssQWGu7dyUQzNHDeMpbWDDMjQb0xDUnn-IZdKDwRjRo"
    );
    assert_eq!(it.id(), [0u8; 32]);
    let back = DataItem::parse(&bytes).unwrap();
    assert_eq!(back.tags, it.tags);
    assert_eq!(back.data, it.data);
    assert_eq!(back.serialize().unwrap(), bytes);
}

#[test]
fn sign_verify_tamper() {
    let key = PrivateKey::generate(4096).unwrap();
    let signed = spec_item().sign(&key).unwrap();
    assert!(signed.verify());
    assert_eq!(signed.id(), sha256(&signed.signature));
    let bytes = signed.serialize().unwrap();
    assert!(DataItem::parse(&bytes).unwrap().verify());
    assert_eq!(
        verify_many(&[&bytes, &bytes[..100], &bytes], 2),
        vec![true, false, true]
    );
    for pos in [5usize, 600, bytes.len() - 1, bytes.len() - 8] {
        let mut bad = bytes.clone();
        bad[pos] ^= 1;
        assert!(
            !DataItem::parse(&bad).map(|i| i.verify()).unwrap_or(false),
            "{pos}"
        );
    }
    assert_eq!(
        signed.unsigned_id().unwrap(),
        spec_item().unsigned_id().unwrap()
    );
    let small = PrivateKey::generate(2048).unwrap();
    assert!(matches!(spec_item().sign(&small), Err(Error::Signature(_))));
}

#[test]
fn bad_input_never_panics() {
    let bytes = spec_item().serialize().unwrap();
    for n in 0..bytes.len() {
        let _ = DataItem::parse(&bytes[..n]);
    }
    assert!(DataItem::parse(&bytes[..1000]).is_err());
    let mut two = bytes.clone();
    two[0] = 2;
    assert!(matches!(DataItem::parse(&two), Err(Error::Signature(_))));
    let mut presence = bytes.clone();
    presence[1026] = 7;
    assert!(DataItem::parse(&presence).is_err());
    // hostile varints and counts
    assert!(decode_tags(&[0xff; 20]).is_err());
    assert!(decode_tags(&[0x7e]).is_err());
    assert!(decode_tags(&[0x02, 0x00]).is_err()); // empty name, then no value
    assert!(parse_bundle(&[0xff; 40]).is_err());
    assert!(parse_manifest_json(b"{\"a\":").is_err());
    let bad_sig = DataItem {
        signature: vec![1; 65],
        ..spec_item()
    };
    assert!(bad_sig.serialize().is_err());
    assert!(!bad_sig.verify());
}

#[test]
fn bundles_round_trip() {
    let child = DataItem {
        tags: vec![(b"ao-type".to_vec(), b"binary".to_vec())],
        data: Data::Bytes(vec![b'z'; 200]),
        ..DataItem::default()
    };
    let outer = DataItem {
        tags: vec![(b"a".to_vec(), b"1".to_vec())],
        data: Data::Map(vec![(b"big".to_vec(), child.clone())]),
        ..DataItem::default()
    };
    let norm = outer.normalize().unwrap();
    let names: Vec<&[u8]> = norm.tags.iter().map(|(n, _)| n.as_slice()).collect();
    assert_eq!(
        names,
        vec![
            &b"bundle-format"[..],
            b"bundle-version",
            b"a",
            b"bundle-map"
        ]
    );
    let bytes = outer.serialize().unwrap();
    let back = DataItem::parse_unbundled(&bytes).unwrap();
    match &back.data {
        Data::Map(m) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].0, b"big");
            assert_eq!(m[0].1.data, child.data);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(back.serialize().unwrap(), bytes);
    let list = DataItem {
        data: Data::List(vec![child.clone(), child]),
        ..DataItem::default()
    };
    let lb = list.serialize().unwrap();
    assert!(matches!(
        DataItem::parse_unbundled(&lb).unwrap().data,
        Data::Map(_)
    ));
    let empty = serialize_bundle(&[]).unwrap();
    assert_eq!(parse_bundle(&empty).unwrap().len(), 0);
}

#[test]
fn manifest_json_round_trip() {
    let idx = [(&b"k\"\\\n\x01\xc3\xa9"[..], "id".to_string())];
    let j = manifest_json(&idx).unwrap();
    assert_eq!(j, b"{\"k\\\"\\\\\\n\\u0001\xc3\xa9\":\"id\"}".to_vec());
    let back = parse_manifest_json(&j).unwrap();
    assert_eq!(back[0].0.as_bytes(), idx[0].0);
}

#[test]
fn empty_tag_names_and_values_round_trip() {
    let tags = vec![(Vec::new(), b"v".to_vec()), (b"e".to_vec(), Vec::new())];
    let block = encode_tags(&tags);
    assert_eq!(block, vec![0x04, 0x00, 0x02, b'v', 0x02, b'e', 0x00, 0x00]);
    assert_eq!(decode_tags(&block).unwrap(), (tags.clone(), block.len()));
    let item = DataItem {
        tags,
        ..spec_item()
    };
    let bytes = item.serialize().unwrap();
    assert_eq!(DataItem::parse(&bytes).unwrap().serialize().unwrap(), bytes);
}

#[test]
fn bundle_layouts() {
    let a = DataItem {
        tags: vec![(b"k".to_vec(), b"v".to_vec())],
        data: Data::Bytes(b"one".to_vec()),
        ..DataItem::default()
    };
    let b = DataItem {
        data: Data::Bytes(vec![7; 300]),
        ..DataItem::default()
    };
    let items = [a.clone(), b.clone()];
    let be = serialize_bundle(&items).unwrap();
    let le = serialize_bundle_layout(&items, BundleLayout::Standard).unwrap();
    assert_eq!(be[31], 2); // u256be count
    assert_eq!(le[0], 2); // u256le count
    assert!(be[32 + 128..] == le[32 + 128..]); // the same items after the index
    assert_eq!(bundle_layout(&be).unwrap().0, BundleLayout::HyperBeam);
    assert_eq!(bundle_layout(&le).unwrap().0, BundleLayout::Standard);
    for raw in [&be, &le] {
        let got = parse_bundle(raw).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.serialize().unwrap(), a.serialize().unwrap());
        assert_eq!(got[1].1.serialize().unwrap(), b.serialize().unwrap());
    }
    // the empty bundle reads alike in both layouts
    let empty = serialize_bundle_layout(&[], BundleLayout::Standard).unwrap();
    assert_eq!(empty, vec![0u8; 32]);
    assert_eq!(
        bundle_layout(&empty).unwrap(),
        (BundleLayout::HyperBeam, vec![])
    );
    // sizes that fit neither layout: one byte short, one byte over, a huge count
    for bad in [
        &le[..le.len() - 1],
        &[&le[..], &[0u8]].concat()[..],
        &[0xff; 96][..],
    ] {
        assert!(matches!(bundle_layout(bad), Err(Error::Codec(_))));
        assert!(parse_bundle(bad).is_err());
    }
    assert!(bundle_layout(&[0u8; 31]).is_err());
    let mut huge = le.clone();
    huge[32..64].fill(0xff); // a size past usize
    assert!(parse_bundle(&huge).is_err());
}
