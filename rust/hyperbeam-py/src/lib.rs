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
mod map_order;
mod sf;
mod wasm_mem;

extern "C" {
    /// mimalloc's `mi_collect` (mimalloc.h): free the calling thread's retained pages, and with
    /// `force` purge them back to the system now instead of after a later allocation.
    fn mi_collect(force: bool);
}

/// Give memory the allocator keeps after a large request back to the system (issue 11: RSS
/// stayed at 2.5x after a 5 MB `ao-types` request, retained by mimalloc). Acts on the calling
/// thread's heap and the shared arenas; the GIL is released meanwhile.
#[pyfunction]
fn release_memory(py: Python<'_>) {
    // SAFETY: mi_collect takes no pointers and is safe to call from any thread at any time.
    py.detach(|| unsafe { mi_collect(true) });
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The deepest nesting of maps a message may have (codecs, cache layout, cache reads).
    m.add("MAX_DEPTH", hb_core::value::MAX_DEPTH)?;
    // the package version: Cargo.toml's workspace version, the one maturin puts on the wheel
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    sf::register(m)?;
    codec::register(m)?;
    hashpath::register(m)?;
    crypto::register(m)?;
    commit::register(m)?;
    ans104::register(m)?;
    cache_layout::register(m)?;
    map_order::register(m)?;
    wasm_mem::register(m)?;
    m.add_function(wrap_pyfunction!(release_memory, m)?)?;
    Ok(())
}
