//! Heap allocations (and reallocations) of one unsigned ID of `bench_ids.py`'s 20-key message
//! through the fast path; `ALLOC_TRACE=1` prints each one's size.
use hb_core::{message_id, Msg, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
struct C;
static N: AtomicUsize = AtomicUsize::new(0);
static R: AtomicUsize = AtomicUsize::new(0);
static P: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for C {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        N.fetch_add(1, Ordering::Relaxed);
        if P.load(Ordering::Relaxed) == 1 {
            eprintln!("alloc {}", l.size());
        }
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        R.fetch_add(1, Ordering::Relaxed);
        if P.load(Ordering::Relaxed) == 1 {
            eprintln!("realloc {} -> {}", l.size(), n);
        }
        System.realloc(p, l, n)
    }
}
#[global_allocator]
static G: C = C;
fn bin(s: &str) -> Value {
    Value::Bin(s.as_bytes().to_vec())
}
fn main() {
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
    let _ = message_id::unsigned_id(&m).unwrap();
    let (a, r) = (N.load(Ordering::Relaxed), R.load(Ordering::Relaxed));
    let trace = std::env::var_os("ALLOC_TRACE").is_some();
    P.store(usize::from(trace), Ordering::Relaxed);
    let _ = message_id::unsigned_id(&m).unwrap();
    P.store(0, Ordering::Relaxed);
    let (a, r) = (N.load(Ordering::Relaxed) - a, R.load(Ordering::Relaxed) - r);
    println!("per ID: {a} allocations, {r} reallocations");
}
