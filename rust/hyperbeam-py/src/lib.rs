//! Thin PyO3 layer over `hb_core`: conversions and exports only, no protocol logic.

use pyo3::prelude::*;

mod error;
mod sf;

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    sf::register(m)?;
    Ok(())
}
