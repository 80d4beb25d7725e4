//! Rough timing of the unsigned-ID pipeline on a 20-key mixed message and variants.
use hb_core::{message_id, Msg, Value};
use std::time::Instant;

fn bin(s: &str) -> Value {
    Value::Bin(s.as_bytes().to_vec())
}

fn time(label: &str, m: &Msg) {
    let iters = 200_000;
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(message_id::unsigned_id(m).unwrap());
    }
    println!(
        "{label:28} {:.0}/s",
        iters as f64 / t.elapsed().as_secs_f64()
    );
}

fn main() {
    let mut m = Msg::new();
    for i in 0..12 {
        m.insert(format!("key-{i}").into_bytes(), bin(&format!("value-{i}")));
    }
    time("12 strings", &m);
    m.insert(b"count".to_vec(), Value::Int(42));
    m.insert(b"neg".to_vec(), Value::Int(-7));
    m.insert(b"flt".to_vec(), Value::Float(1.5));
    m.insert(b"flag".to_vec(), Value::Atom("true".into()));
    time("+4 scalars", &m);
    m.insert(
        b"ints".to_vec(),
        Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
    );
    m.insert(b"strs".to_vec(), Value::List(vec![bin("x"), bin("y")]));
    time("+2 lists", &m);
    m.insert(b"body".to_vec(), bin("hello body"));
    time("+body", &m);
    let mut n = Msg::new();
    n.insert(b"a".to_vec(), bin("1"));
    m.insert(b"nested".to_vec(), Value::Map(n));
    time("+nested (20 keys)", &m);
}
