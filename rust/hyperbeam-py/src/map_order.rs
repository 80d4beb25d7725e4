//! The Erlang map order (docs/map-order.md): the process-wide mode and key orders.

use hb_core::map_order::{self as core_order, MapOrder, Walk};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn parse_mode(s: &str) -> PyResult<MapOrder> {
    match s {
        "otp27" => Ok(MapOrder::Otp27),
        "otp25" => Ok(MapOrder::Otp25),
        _ => Err(PyValueError::new_err(format!(
            "unknown map order {s:?} (otp27 | otp25)"
        ))),
    }
}

fn mode_name(m: MapOrder) -> &'static str {
    match m {
        MapOrder::Otp27 => "otp27",
        MapOrder::Otp25 => "otp25",
    }
}

/// Set the process-wide map order (`otp27` | `otp25`); returns the previous one.
#[pyfunction]
fn set_map_order(mode: &str) -> PyResult<&'static str> {
    let new = parse_mode(mode)?;
    let old = core_order::mode();
    core_order::set_mode(new);
    Ok(mode_name(old))
}

/// The process-wide map order.
#[pyfunction]
#[pyo3(name = "map_order")]
fn current_map_order() -> &'static str {
    mode_name(core_order::mode())
}

/// The positions of `keys` (distinct byte strings) in the order `walk` (`to_list` | `fold`)
/// visits their map, in `mode` (default: the process-wide one).
#[pyfunction]
#[pyo3(signature = (keys, walk, mode=None))]
fn map_walk_order(keys: Vec<Vec<u8>>, walk: &str, mode: Option<&str>) -> PyResult<Vec<usize>> {
    let walk = match walk {
        "to_list" => Walk::ToList,
        "fold" => Walk::Fold,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown map walk {walk:?} (to_list | fold)"
            )))
        }
    };
    let mode = match mode {
        Some(m) => parse_mode(m)?,
        None => core_order::mode(),
    };
    let mut seen: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(PyValueError::new_err("map keys must be distinct"));
    }
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    Ok(core_order::walk_order(&refs, walk, mode))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_map_order, m)?)?;
    m.add_function(wrap_pyfunction!(current_map_order, m)?)?;
    m.add_function(wrap_pyfunction!(map_walk_order, m)?)?;
    Ok(())
}
