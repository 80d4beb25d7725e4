use super::*;

fn bin(s: &str) -> Value {
    Value::Bin(s.as_bytes().to_vec())
}

#[test]
fn layout_of_a_nested_message() {
    let mut inner = Msg::new();
    inner.insert(b"x".to_vec(), bin("1"));
    let mut m = Msg::new();
    m.insert(b"a".to_vec(), bin("hello"));
    m.insert(b"n".to_vec(), Value::Map(inner.clone()));
    m.insert(b"priv-x".to_vec(), bin("secret"));
    let (uid, ops) = write_ops(&m, None).unwrap().unwrap();
    let sub = b64url(&unsigned_id(&inner).unwrap());
    assert_eq!(
        ops,
        vec![
            Op::Write(data_path(b"hello"), b"hello".to_vec()),
            Op::Write(data_path(b"1"), b"1".to_vec()),
            Op::Group(sub.clone()),
            Op::Link(data_path(b"1"), format!("{sub}/x")),
            Op::Group(uid.clone()),
            Op::Link(data_path(b"hello"), format!("{uid}/a")),
            Op::Link(sub, format!("{uid}/n")),
        ]
    );
    assert_eq!(
        data_path(b""),
        "data/47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
    );
    assert!(data_matches(&data_path(b"hello"), b"hello"));
    assert!(!data_matches(&data_path(b"hello"), b"hellO"));
    assert!(data_matches("abc/x", b"anything"));
}

#[test]
fn groups_of_maps_with_uncovered_keys_are_named_by_content() {
    let mut a = Msg::new();
    a.insert(b"x".to_vec(), bin("1"));
    a.insert(b"signature".to_vec(), bin("one"));
    let mut b = a.clone();
    b.insert(b"signature".to_vec(), bin("two"));
    assert_eq!(unsigned_id(&a).unwrap(), unsigned_id(&b).unwrap());
    let (ga, gb) = (
        group_id(&a).unwrap().unwrap(),
        group_id(&b).unwrap().unwrap(),
    );
    assert_ne!(ga, gb);
    assert_eq!(Some(ga), content_id(&a));
    let mut plain = Msg::new();
    plain.insert(b"x".to_vec(), bin("1"));
    let uid = b64url(&unsigned_id(&plain).unwrap());
    assert_eq!(group_id(&plain).unwrap(), Some(uid));
    let mut outer = Msg::new();
    outer.insert(b"c".to_vec(), Value::Map(a.clone()));
    let (_, ops) = write_ops(&outer, Some("u".into())).unwrap().unwrap();
    assert!(ops.contains(&Op::Group(content_id(&a).unwrap())));
    let mut odd = Msg::new();
    odd.insert(b"signature".to_vec(), Value::Int(1));
    assert_eq!(content_id(&odd), None);
}

#[test]
fn declines_what_python_must_reject() {
    for bad in [&b".."[..], b"a/b", b"", b"x\0"] {
        let mut m = Msg::new();
        m.insert(bad.to_vec(), bin("v"));
        assert!(write_ops(&m, Some("u".into())).unwrap().is_none());
    }
    let mut m = Msg::new();
    m.insert(b"device".to_vec(), Value::Map(Msg::new()));
    assert!(write_ops(&m, Some("u".into())).unwrap().is_none());
    let mut m = Msg::new();
    m.insert(b"n".to_vec(), Value::Int(1));
    assert!(write_ops(&m, Some("u".into())).unwrap().is_none());
}

#[test]
fn packed_round_trip_and_lookup() {
    let mut inner = Msg::new();
    inner.insert(b"x".to_vec(), bin("1"));
    let mut m = Msg::new();
    m.insert(b"a".to_vec(), bin("hello"));
    m.insert(b"big".to_vec(), bin(&"z".repeat(40)));
    m.insert(b"n".to_vec(), Value::Map(inner.clone()));
    m.insert(b"same".to_vec(), Value::Map(inner.clone()));
    m.insert(b"priv-x".to_vec(), bin("secret"));
    let set = packed_ops(&m, None, 16).unwrap().unwrap();
    let sub = b64url(&unsigned_id(&inner).unwrap());
    assert_eq!(set.uid, b64url(&unsigned_id(&m).unwrap()));
    let big = "z".repeat(40).into_bytes();
    assert_eq!(set.data, vec![(data_path(&big), big.clone())]);
    assert_eq!(set.groups.len(), 2);
    assert_eq!(set.groups[0].0, sub);
    assert_eq!(
        unpack(&set.groups[0].1).unwrap(),
        vec![("x", Child::Raw(b"1"))]
    );
    let (top, table) = &set.groups[1];
    assert_eq!(top, &set.uid);
    let dp = data_path(&big);
    assert_eq!(
        unpack(table).unwrap(),
        vec![
            ("a", Child::Raw(b"hello")),
            ("big", Child::Link(&dp)),
            ("n", Child::Link(&sub)),
            ("same", Child::Link(&sub)),
        ]
    );
    assert_eq!(packed_child(table, "n").unwrap(), Some(Child::Link(&sub)));
    assert_eq!(packed_child(table, "nope").unwrap(), None);
    // Declines exactly what write_ops declines.
    let mut bad = Msg::new();
    bad.insert(b"a/b".to_vec(), bin("v"));
    assert!(packed_ops(&bad, Some("u".into()), 16).unwrap().is_none());
    let mut empty = Vec::new();
    pack_into(&mut empty, &[]);
    assert_eq!(unpack(&empty).unwrap(), vec![]);
}

#[test]
fn big_groups_are_declined() {
    let mut m = Msg::new();
    for i in 0..=MAX_PACKED_CHILDREN {
        m.insert(format!("k{i}").into_bytes(), bin("v"));
    }
    assert!(packed_ops(&m, Some("u".into()), 256).unwrap().is_none());
    assert!(write_ops(&m, Some("u".into())).unwrap().is_some());
    let mut m = Msg::new();
    for i in 0..300 {
        m.insert(format!("k{i}").into_bytes(), bin(&"x".repeat(250)));
    }
    assert!(packed_ops(&m, Some("u".into()), 256).unwrap().is_none());
    assert!(packed_ops(&m, Some("u".into()), 100).unwrap().is_some());
}

#[test]
fn corrupt_tables_are_errors_not_panics() {
    let mut t = Vec::new();
    pack_into(
        &mut t,
        &[("a", Child::Raw(b"1")), ("b", Child::Link("data/x"))],
    );
    for cut in 0..t.len() {
        assert!(unpack(&t[..cut]).is_err(), "prefix {cut}");
    }
    let mut extra = t.clone();
    extra.push(0);
    assert!(unpack(&extra).is_err());
    for (i, byte) in [(0, 9u8), (4, 7), (2, 0)] {
        let mut bad = t.clone();
        bad[i] = byte;
        assert!(unpack(&bad).is_err());
    }
    let mut order = Vec::new();
    pack_into(
        &mut order,
        &[("b", Child::Raw(b"")), ("a", Child::Raw(b""))],
    );
    assert!(unpack(&order).is_err());
    let mut dup = Vec::new();
    pack_into(&mut dup, &[("a", Child::Raw(b"")), ("a", Child::Raw(b""))]);
    assert!(unpack(&dup).is_err());
    let mut dots = Vec::new();
    pack_into(&mut dots, &[("..", Child::Raw(b""))]);
    assert!(unpack(&dots).is_err());
    assert!(unpack(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
    // Arbitrary bytes never panic.
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let mut b = vec![1u8];
        for _ in 0..(x % 24) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b.push((x >> 16) as u8);
        }
        let _ = unpack(&b);
    }
}
