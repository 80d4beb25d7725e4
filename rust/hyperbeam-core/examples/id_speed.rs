//! Rough timing of the unsigned-ID pipeline stages on a 20-key mixed message.
use hb_core::{httpsig, message_id, structured, Msg, Value};
use std::time::Instant;

fn main() {
    let mut m = Msg::new();
    for i in 0..12 {
        m.insert(
            format!("key-{i}").into_bytes(),
            Value::Bin(format!("value-{i}").into_bytes()),
        );
    }
    m.insert(b"count".to_vec(), Value::Int(42));
    m.insert(b"neg".to_vec(), Value::Int(-7));
    m.insert(b"flt".to_vec(), Value::Float(1.5));
    m.insert(b"flag".to_vec(), Value::Atom("true".into()));
    m.insert(
        b"ints".to_vec(),
        Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
    );
    m.insert(
        b"strs".to_vec(),
        Value::List(vec![Value::Bin(b"x".to_vec()), Value::Bin(b"y".to_vec())]),
    );
    let mut n = Msg::new();
    n.insert(b"a".to_vec(), Value::Bin(b"1".to_vec()));
    m.insert(b"nested".to_vec(), Value::Map(n));
    m.insert(b"body".to_vec(), Value::Bin(b"hello body".to_vec()));
    let iters = 200_000;
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(m.clone());
    }
    println!("clone   {:.0}/s", iters as f64 / t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(structured::from_msg(&m).unwrap());
    }
    println!("from    {:.0}/s", iters as f64 / t.elapsed().as_secs_f64());
    let tabm = structured::from_msg(&m).unwrap();
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(httpsig::to_http(&tabm).unwrap());
    }
    println!("to_http {:.0}/s", iters as f64 / t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(message_id::unsigned_id(&m).unwrap());
    }
    println!("id      {:.0}/s", iters as f64 / t.elapsed().as_secs_f64());
}
