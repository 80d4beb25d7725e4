//! Pure-Rust core of `hyperbeam_fast`: the AO-Core data layer of HyperBEAM (spec core.md).
//! No PyO3 here; `rust/hyperbeam-py` is the thin binding. The modules form layers (a DAG, checked
//! by `tests/test_architecture_rust.py`); `docs/architecture.md` lists what each may use.
#![forbid(unsafe_code)]

pub mod ans104;
pub mod cache_layout;
pub mod crypto;
pub mod deep_hash;
pub mod error;
pub mod flat;
pub mod hashpath;
pub mod httpsig;
pub mod httpsig_commit;
pub mod httpsig_decode;
pub mod httpsig_encode;
pub mod id_fast;
pub mod ids;
pub mod keys;
pub mod map_order;
pub mod message_id;
pub mod sf;
pub mod sig_base;
pub mod structured;
pub mod value;
pub mod wasm_mem;

pub use error::{Error, Result};
pub use value::{Msg, Value};
