//! Pure-Rust core of `hyperbeam_fast`: the AO-Core data layer of HyperBEAM (spec core.md).
//! No PyO3 here; `rust/hyperbeam-py` is the thin binding.
#![forbid(unsafe_code)]

pub mod error;
pub mod sf;

pub use error::{Error, Result};
