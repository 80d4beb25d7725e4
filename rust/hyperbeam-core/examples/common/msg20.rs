//! The 20-key mixed message of benches/bench_ids.py, shared by the examples
//! (`#[path = "common/msg20.rs"] mod msg20;`).
use hb_core::{Msg, Value};

pub fn bin(s: &str) -> Value {
    Value::Bin(s.as_bytes().to_vec())
}

/// `msg20` of benches/bench_ids.py.
pub fn msg20() -> Msg {
    let mut m = Msg::new();
    let atom = |a: &str| Value::Atom(a.into());
    for (k, v) in [
        ("action", bin("Transfer")),
        (
            "recipient",
            bin("vh-NTHVvlKZqRxc8LyyTNok65yQ55a_PJ1zWLb9G2JI"),
        ),
        ("target", bin("xU9zFkq3X2ZQ6olwNVvr1vUWIjc3kXTWr7xKQD6dh10")),
        ("quantity", Value::Int(1_000_001)),
        ("fee", Value::Int(3)),
        ("nonce", Value::Int(1)),
        ("price", Value::Float(1.5)),
        ("ratio", Value::Float(0.25)),
        ("enabled", atom("true")),
        ("disabled", atom("false")),
        ("nothing", atom("null")),
        ("mode", atom("fast")),
        (
            "tags",
            Value::List(vec![bin("alpha"), bin("beta"), Value::Int(3)]),
        ),
        (
            "meta",
            Value::Map(Msg::from([
                (b"k1".to_vec(), bin("v1")),
                (b"k2".to_vec(), Value::Int(7)),
            ])),
        ),
        ("data-protocol", bin("ao")),
        ("variant", bin("ao.TN.1")),
        ("type", bin("Message")),
        ("name", bin("bench")),
        ("ttl", Value::Int(3600)),
        ("body", Value::Bin(b"hello world ".repeat(8))),
    ] {
        m.insert(k.as_bytes().to_vec(), v);
    }
    m
}
