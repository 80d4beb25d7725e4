use super::chars::MAX_INT;
use super::*;
use crate::error::Error;

fn tok(s: &str) -> Bare {
    Bare::Token(s.to_string())
}
fn item(b: Bare) -> Item {
    Item::new(b)
}

#[test]
fn sf_many_members_last_duplicate_wins_in_place() {
    // past KeyIndex::LINEAR_MAX the hash index must keep RFC 8941 §4.2.2 semantics
    let n = 5000;
    let mut text: Vec<String> = (0..n).map(|i| format!("k{i}={i}")).collect();
    text.push("k3=-1".into());
    text.push("k4999;p=1;q;p=2".into());
    let d = parse_dict(text.join(", ").as_bytes()).unwrap();
    assert_eq!(d.len(), n);
    assert_eq!(d[3], ("k3".into(), Member::Item(item(Bare::Integer(-1)))));
    assert_eq!(d[0], ("k0".into(), Member::Item(item(Bare::Integer(0)))));
    let params: Vec<String> = (0..40).map(|i| format!(";p{i}={i}")).collect();
    let it = parse_item(format!("x{};p7=?0", params.concat()).as_bytes()).unwrap();
    assert_eq!(it.params.len(), 40);
    assert_eq!(it.params[7], ("p7".into(), Bare::Boolean(false)));
    match &d[n - 1].1 {
        Member::Item(i) => {
            assert_eq!(i.bare, Bare::Boolean(true));
            assert_eq!(
                i.params,
                vec![
                    ("p".into(), Bare::Integer(2)),
                    ("q".into(), Bare::Boolean(true))
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sf_items() {
    assert_eq!(parse_item(b"42").unwrap(), item(Bare::Integer(42)));
    assert_eq!(parse_item(b"  -7  ").unwrap(), item(Bare::Integer(-7)));
    assert_eq!(
        parse_item(b"1.20").unwrap(),
        item(Bare::Decimal {
            mantissa: 12,
            scale: 1
        })
    );
    assert_eq!(
        parse_item(b"1.0").unwrap(),
        item(Bare::Decimal {
            mantissa: 1,
            scale: 0
        })
    );
    assert_eq!(
        parse_item(b"-1.123").unwrap(),
        item(Bare::Decimal {
            mantissa: -1123,
            scale: 3
        })
    );
    assert_eq!(
        parse_item(b"-0.5").unwrap(),
        item(Bare::Decimal {
            mantissa: -5,
            scale: 1
        })
    );
    assert_eq!(
        parse_item(br#""a\"b\\c""#).unwrap(),
        item(Bare::String(br#"a"b\c"#.to_vec()))
    );
    assert_eq!(parse_item(b"foo/bar:1").unwrap(), item(tok("foo/bar:1")));
    assert_eq!(
        parse_item(b":aGVsbG8=:").unwrap(),
        item(Bare::ByteSeq(b"hello".to_vec()))
    );
    assert_eq!(
        parse_item(b":aGVsbG8:").unwrap(),
        item(Bare::ByteSeq(b"hello".to_vec()))
    );
    assert_eq!(parse_item(b"?0").unwrap(), item(Bare::Boolean(false)));
    assert_eq!(parse_item(b"@-0").unwrap(), item(Bare::Date(0)));
    assert_eq!(
        parse_item(br#"%"f%c3%bc""#).unwrap(),
        item(Bare::DisplayString("fü".to_string()))
    );
    let it = parse_item(b"1; a; b=?0").unwrap();
    assert_eq!(
        it.params,
        vec![
            ("a".into(), Bare::Boolean(true)),
            ("b".into(), Bare::Boolean(false))
        ]
    );
    assert_eq!(ser_item(&it).unwrap(), b"1;a;b=?0");
}

#[test]
fn sf_limits() {
    assert_eq!(
        parse_item(b"999999999999999").unwrap(),
        item(Bare::Integer(MAX_INT))
    );
    assert_eq!(
        parse_item(b"-999999999999999").unwrap(),
        item(Bare::Integer(-MAX_INT))
    );
    assert!(parse_item(b"1000000000000000").is_err());
    assert!(parse_item(b"-1000000000000000").is_err());
    assert!(parse_item(b"123456789012.123").is_ok());
    assert!(parse_item(b"1234567890123.1").is_err());
    assert!(parse_item(b"1.1234").is_err());
    assert!(parse_item(b"1.").is_err());
    assert!(parse_item(b"-").is_err());
    // Serialisation never range-checks integers (HyperBEAM).
    assert_eq!(
        ser_item(&item(Bare::Integer(i64::MIN))).unwrap(),
        b"-9223372036854775808"
    );
}

#[test]
fn sf_errors_are_descriptive() {
    match parse_item(b"\"abc") {
        Err(Error::StructuredField(m)) => assert!(m.contains("unterminated string"), "{m}"),
        other => panic!("{other:?}"),
    }
    match parse_dict(b"a=1, b c") {
        Err(Error::StructuredField(m)) => assert!(m.contains("offset"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sf_dict_keys() {
    let d = parse_dict(b"1=\"list\", Ao-Ids=2, %x_y=3, -a, _b, a=4, 1=5").unwrap();
    let keys: Vec<&str> = d.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["1", "Ao-Ids", "%x_y", "-a", "_b", "a"]);
    assert_eq!(d[0].1, Member::Item(item(Bare::Integer(5))));
    for bad in [
        &b"a/b=1"[..],
        b"a?=1",
        b"a&b=1",
        b"a+b=1",
        b"a:b=1",
        b".a=1",
        b"a=1,",
        b"a =1",
    ] {
        assert!(
            parse_dict(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // Parameter keys follow the RFC.
    assert!(parse_dict(b"a=1;B=2").is_err());
    assert!(parse_list(b"a;1=2").is_err());
    assert_eq!(ser_dict(&d).unwrap(), b"1=5, Ao-Ids=2, %x_y=3, -a, _b, a=4");
}

#[test]
fn sf_containers_roundtrip() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"a=1,b=2", b"a=1, b=2"),
        (
            b"a=(1 2);q=1.0, b, c;foo=bar",
            b"a=(1 2);q=1.0, b, c;foo=bar",
        ),
        (b"a=?1;x", b"a;x"),
        (b"a=:AQID:, s=\"x y\"", b"a=:AQID:, s=\"x y\""),
    ];
    for (raw, canon) in cases {
        let d = parse_dict(raw).unwrap();
        let s = ser_dict(&d).unwrap();
        assert_eq!(&s[..], *canon, "{}", String::from_utf8_lossy(&s));
        assert_eq!(parse_dict(&s).unwrap(), d);
    }
    let lists: &[(&[u8], &[u8])] = &[
        (b"(  1  42  )", b"(1 42)"),
        (
            b"(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1",
            b"(\"foo\";a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1",
        ),
        (b"(1),(),(42)", b"(1), (), (42)"),
        (b"", b""),
    ];
    for (raw, canon) in lists {
        let l = parse_list(raw).unwrap();
        let s = ser_list(&l).unwrap();
        assert_eq!(&s[..], *canon, "{}", String::from_utf8_lossy(&s));
        assert_eq!(parse_list(&s).unwrap(), l);
    }
    assert!(parse_list(b"(1\t 42)").is_err());
    assert!(parse_list(b"((1))").is_err());
    assert!(parse_list(b"1, 42,").is_err());
}

#[test]
fn sf_serialise_bare() {
    let s = |b: Bare| String::from_utf8(ser_item(&item(b)).unwrap()).unwrap();
    assert_eq!(
        s(Bare::Decimal {
            mantissa: 1,
            scale: 0
        }),
        "1.0"
    );
    assert_eq!(
        s(Bare::Decimal {
            mantissa: 120,
            scale: 2
        }),
        "1.2"
    );
    assert_eq!(
        s(Bare::Decimal {
            mantissa: -5,
            scale: 1
        }),
        "-0.5"
    );
    assert_eq!(
        s(Bare::Decimal {
            mantissa: 15,
            scale: 4
        }),
        "0.002"
    );
    assert_eq!(
        s(Bare::Decimal {
            mantissa: 25,
            scale: 4
        }),
        "0.002"
    );
    assert_eq!(
        s(Bare::Decimal {
            mantissa: 99995,
            scale: 4
        }),
        "10.0"
    );
    assert_eq!(
        s(Bare::Decimal {
            mantissa: 7,
            scale: 0
        }),
        "7.0"
    );
    assert!(ser_item(&item(Bare::Decimal {
        mantissa: 1_000_000_000_000,
        scale: 0
    }))
    .is_err());
    assert_eq!(
        ser_item(&item(Bare::String(b"a\"\\\t\xff".to_vec()))).unwrap(),
        b"\"a\\\"\\\\\t\xff\"".to_vec()
    );
    assert!(ser_item(&item(tok("1abc"))).is_err());
    assert!(ser_item(&item(tok(""))).is_err());
    assert_eq!(s(Bare::ByteSeq(b"hello".to_vec())), ":aGVsbG8=:");
    assert_eq!(s(Bare::ByteSeq(Vec::new())), "::");
    assert_eq!(
        s(Bare::DisplayString("f\u{fc}%\"".into())),
        "%\"f%c3%bc%25%22\""
    );
    assert_eq!(s(Bare::Date(-62135596800)), "@-62135596800");
    assert_eq!(s(Bare::Integer(0)), "0");
    let bad_key = vec![("A".to_string(), Bare::Integer(1))];
    assert!(ser_item(&Item {
        bare: Bare::Integer(1),
        params: bad_key
    })
    .is_err());
    assert!(ser_dict(&vec![("a b".into(), Member::Item(item(Bare::Integer(1))))]).is_err());
}

#[test]
fn sf_decimal_from_f64() {
    let d = |f: f64| decimal_from_f64(f).unwrap();
    assert_eq!(
        d(0.0015),
        Bare::Decimal {
            mantissa: 2,
            scale: 3
        }
    );
    assert_eq!(
        d(0.0025),
        Bare::Decimal {
            mantissa: 2,
            scale: 3
        }
    );
    assert_eq!(
        d(-0.0015),
        Bare::Decimal {
            mantissa: -2,
            scale: 3
        }
    );
    assert_eq!(
        d(9.9995),
        Bare::Decimal {
            mantissa: 10,
            scale: 0
        }
    );
    assert_eq!(
        d(123456789012.123),
        Bare::Decimal {
            mantissa: 123456789012123,
            scale: 3
        }
    );
    assert_eq!(
        d(1.0),
        Bare::Decimal {
            mantissa: 1,
            scale: 0
        }
    );
    assert!(decimal_from_f64(1000000000000.1).is_err());
    assert!(decimal_from_f64(f64::NAN).is_err());
    assert!(decimal_from_f64(1e300).is_err());
    assert_eq!(
        d(1e-300),
        Bare::Decimal {
            mantissa: 0,
            scale: 0
        }
    );
}

#[test]
fn sf_garbage_never_panics() {
    // Deterministic xorshift over an alphabet rich in SF syntax, plus raw bytes.
    let alphabet = b" \t,;=()\"\\:?@%-.0123456789aAzZ*/_+!#~\x00\x7f\xff";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let raw = next() % 4 == 0;
        let input: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if raw {
                    r as u8
                } else {
                    alphabet[(r % alphabet.len() as u64) as usize]
                }
            })
            .collect();
        if let Ok(v) = parse_item(&input) {
            let s = ser_item(&v).unwrap();
            assert_eq!(parse_item(&s).unwrap(), v);
        }
        if let Ok(v) = parse_list(&input) {
            let s = ser_list(&v).unwrap();
            assert_eq!(parse_list(&s).unwrap(), v);
        }
        if let Ok(v) = parse_dict(&input) {
            let s = ser_dict(&v).unwrap();
            assert_eq!(parse_dict(&s).unwrap(), v);
        }
    }
}
