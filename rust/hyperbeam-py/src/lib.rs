//! Thin PyO3 layer over `hb_core`: conversions and exports only, no protocol logic.

use pyo3::prelude::*;

/// mimalloc: the codecs allocate many small buffers; it is measurably faster than glibc here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod ans104;
mod cache_layout;
mod codec;
mod commit;
mod convert;
mod crypto;
mod error;
mod hashpath;
mod sf;
mod wasm_mem;

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The deepest nesting of maps a message may have (codecs, cache layout, cache reads).
    m.add("MAX_DEPTH", hb_core::value::MAX_DEPTH)?;
    sf::register(m)?;
    codec::register(m)?;
    hashpath::register(m)?;
    crypto::register(m)?;
    commit::register(m)?;
    ans104::register(m)?;
    cache_layout::register(m)?;
    wasm_mem::register(m)?;
    Ok(())
}
