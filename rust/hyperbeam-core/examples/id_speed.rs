//! Rough timing of the unsigned-ID pipeline on a 20-key mixed message and variants, through the
//! fast path (`message_id::unsigned_id`) and the general path (`unsigned_id_general`).
use hb_core::{message_id, Msg, Value};
use std::time::Instant;

#[path = "common/msg20.rs"]
mod msg20;
use msg20::{bin, msg20};

fn rate(m: &Msg, f: fn(&Msg) -> hb_core::Result<[u8; 32]>) -> f64 {
    let iters = 200_000;
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(f(std::hint::black_box(m)).unwrap());
    }
    iters as f64 / t.elapsed().as_secs_f64()
}

fn time(label: &str, m: &Msg) {
    assert_eq!(
        message_id::unsigned_id(m).unwrap(),
        message_id::unsigned_id_general(m).unwrap(),
        "{label}: fast and general paths disagree"
    );
    let fast = rate(m, message_id::unsigned_id);
    let general = rate(m, message_id::unsigned_id_general);
    println!("{label:28} {fast:>9.0}/s  (general path {general:.0}/s)");
}

fn main() {
    // `ID_SPEED_PROFILE=1`: only the fast path on msg20, for a while (for `perf record`).
    if std::env::var_os("ID_SPEED_PROFILE").is_some() {
        let m = msg20();
        for _ in 0..10 {
            rate(&m, message_id::unsigned_id);
        }
        return;
    }
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
    time("bench_ids msg20", &msg20());
}
