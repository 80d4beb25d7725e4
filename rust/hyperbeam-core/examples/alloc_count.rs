//! Heap allocations (and reallocations) of one unsigned ID of `bench_ids.py`'s 20-key message
//! through the fast path; `ALLOC_TRACE=1` prints each one's size.
use hb_core::message_id;

#[path = "common/msg20.rs"]
mod msg20;
use msg20::msg20;
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
fn main() {
    let m = msg20();
    let _ = message_id::unsigned_id(&m).unwrap();
    let (a, r) = (N.load(Ordering::Relaxed), R.load(Ordering::Relaxed));
    let trace = std::env::var_os("ALLOC_TRACE").is_some();
    P.store(usize::from(trace), Ordering::Relaxed);
    let _ = message_id::unsigned_id(&m).unwrap();
    P.store(0, Ordering::Relaxed);
    let (a, r) = (N.load(Ordering::Relaxed) - a, R.load(Ordering::Relaxed) - r);
    println!("per ID: {a} allocations, {r} reallocations");
}
